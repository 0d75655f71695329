"""Runtime speed and size, each against a reference measured in the same run.

    python benchmarks/runtime.py [--model MODEL_DIR] [--rows 200000] [--memory-rows 1000000]

Prints medians and ratios (these machines are noisy: compare ratios, not
absolute times):

* ``Scorer.score(dict)`` p50 vs a raw ``InferenceSession.run`` on prebuilt tensors (goal <= 5x);
* ``Scorer.score_columns`` rows/s vs raw onnxruntime rows/s on the same arrays (goal >= 0.8x);
* ``loanscore score`` CSV -> CSV rows/s (goal >= 50,000) and its peak RSS on a large file (goal <= 300 MB);
* ``loanscore score`` of a one-row file, process start to exit (goal <= 0.5 s);
* reason codes (``--reasons 3``): ``Scorer.score`` and ``loanscore score`` with them, next to without;
* ``loanscore monitor`` of the same CSV against the model's reference population, rows/s next to ``score``'s;
* ``loanscore backtest`` of the same CSV with an outcome column added, rows/s next to ``score``'s;
* ``loanscore compare`` of that file, the model against itself (each row scored twice), rows/s next to ``score``'s;
* ``loanscore fairness`` of that file (the protected fields, calibration by group), rows/s next to ``score``'s;
* ``loanscore overrides`` of that file with final decisions and branches added at random, rows/s next to ``score``'s;
* ``loanscore report monitoring`` of that file: its seconds next to the four checks run one by one;
* ``loanscore score --shadow`` (the model in its own shadow: each row scored twice), ``--points --grade`` and
  ``-o FILE.xlsx`` (an Excel workbook out), rows/s next to ``score``'s;
* the installed size of the runtime's dependencies (goal <= 150 MB);
* with TensorFlow installed and ``artifacts/run`` present: Keras ``predict`` on the same rows, for reference.

Runs with the runtime-only install; the Keras reference is skipped without TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np

from loanscore.runtime import Scorer
from loanscore.runtime.model import default_model_dir

ROOT = Path(__file__).resolve().parents[1]
LOANSCORE = [str(Path(sys.executable).parent / "loanscore")]  # the console script, as a user runs it


def p50(fn, n: int, warmup: int = 100) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def best_rate(fn, rows: int, repeats: int = 5) -> float:
    """Rows per second from the median of ``repeats`` timed calls."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return rows / statistics.median(times)


def generated_columns(scorer: Scorer, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Valid applicants as float arrays, from the golden cases resampled (no training data needed)."""
    cases = json.loads((scorer.model.directory / "golden.json").read_text())["cases"]
    records = [c["record"] for c in cases if c["name"].startswith("generated")]
    idx = np.random.default_rng(seed).integers(0, len(records), n)
    return {c.name: np.array([records[i][c.name] for i in idx], dtype=np.float64) for c in scorer.schema.columns()}


def run_cli(args: list[str], ok: tuple[int, ...] = (0,)) -> float:
    """Wall seconds of one ``loanscore`` run that exits with a status in ``ok``."""
    t = time.perf_counter()
    done = subprocess.run(LOANSCORE + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if done.returncode not in ok:
        raise subprocess.CalledProcessError(done.returncode, ["loanscore", *args])
    return time.perf_counter() - t


def installed_size_mb(root: str = "loanscore") -> tuple[float, list[str]]:
    """Size of ``root`` and everything it requires (without extras), as installed."""
    seen: set[str] = set()
    todo = [root]
    total = 0
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for f in dist.files or []:
            path = Path(str(dist.locate_file(f)))
            if path.is_file():
                total += path.stat().st_size
        for req in dist.requires or []:
            if "extra ==" in req:
                continue
            todo.append(req.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].split("!")[0].split("~")[0].strip())
    return total / 1e6, sorted(seen)


def keras_reference(columns: dict[str, np.ndarray], n_rows: int) -> tuple[float, float] | None:
    run = ROOT / "artifacts" / "run"
    try:
        import pandas as pd

        from loanscore.train.run import TrainedRun
    except ImportError:
        return None
    if not (run / "model.keras").is_file():
        return None
    trained = TrainedRun.load(run)
    X = pd.DataFrame(columns)
    one = X.iloc[:1]
    t1 = p50(lambda: trained.model.predict(trained.features(one), verbose=0), 30, warmup=3)
    F = trained.features(X)
    rate = best_rate(lambda: trained.model.predict(F, batch_size=4096, verbose=0), n_rows, repeats=3)
    return t1, rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--rows", type=int, default=200_000, help="rows for the batch and CSV measurements")
    ap.add_argument("--memory-rows", type=int, default=1_000_000, help="rows of the file whose peak RSS is measured (0: skip)")
    args = ap.parse_args()

    scorer = Scorer.load(args.model)
    model_dir = str(args.model or default_model_dir())
    session = scorer.model.session
    cols = generated_columns(scorer, args.rows)
    feeds = {k: v.astype(np.float32).reshape(-1, 1) for k, v in cols.items()}
    one_record = {k: float(v[0]) for k, v in cols.items()}
    one_feeds = {k: v[:1] for k, v in feeds.items()}
    results: dict[str, float] = {}

    raw_1 = p50(lambda: session.run(["probability"], one_feeds), 3000)
    api_1 = p50(lambda: scorer.score(one_record), 3000)
    results.update(raw_one_us=raw_1 * 1e6, score_one_us=api_1 * 1e6, score_one_ratio=api_1 / raw_1)
    print(f"one applicant   raw session.run p50 {raw_1 * 1e6:8.1f} us | Scorer.score(dict) p50 {api_1 * 1e6:8.1f} us | "
          f"ratio {api_1 / raw_1:.2f}x (goal <= 5x)")

    if "population" in scorer.model.manifest:
        why_1 = p50(lambda: scorer.score(one_record, reasons=3), 1000)
        results.update(score_one_reasons_us=why_1 * 1e6, score_one_reasons_ratio=why_1 / api_1)
        print(f"with reasons    Scorer.score(dict, reasons=3) p50 {why_1 * 1e6:8.1f} us = {why_1 / api_1:.2f}x Scorer.score "
              f"({len(scorer.explainer.groups)} groups, each a rescoring where not already typical)")

    raw_rate = best_rate(lambda: session.run(["probability"], feeds), args.rows)
    api_rate = best_rate(lambda: scorer.score_columns(cols), args.rows)
    results.update(raw_rows_per_s=raw_rate, columns_rows_per_s=api_rate, columns_ratio=api_rate / raw_rate)
    print(f"batch {args.rows:,}   raw onnxruntime {raw_rate:10,.0f} rows/s | score_columns {api_rate:10,.0f} rows/s | "
          f"ratio {api_rate / raw_rate:.2f}x (goal >= 0.8x)")

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.csv"
        subprocess.run(LOANSCORE + ["generate", "--rows", str(args.rows), "--seed", "1", "--out", str(src)],
                       check=True, stderr=subprocess.DEVNULL)
        secs = [run_cli(["score", str(src), "-o", str(Path(tmp) / "out.csv"), "--quiet", "--model", model_dir])
                for _ in range(3)]
        csv_rate = args.rows / statistics.median(secs)
        alone: dict[str, float] = {}  # median seconds of each check run as its own command, for the report
        results["cli_csv_rows_per_s"] = csv_rate
        print(f"CLI CSV->CSV    {csv_rate:10,.0f} rows/s over {args.rows:,} rows (median of 3, includes start-up; goal >= 50,000)")
        if "population" in scorer.model.manifest:
            secs = [run_cli(["score", str(src), "-o", str(Path(tmp) / "why.csv"), "--quiet", "--reasons", "3",
                             "--model", model_dir]) for _ in range(3)]
            why_rate = args.rows / statistics.median(secs)
            results.update(cli_reasons_rows_per_s=why_rate, cli_reasons_ratio=why_rate / csv_rate)
            print(f"CLI --reasons 3 {why_rate:10,.0f} rows/s on the same file (median of 3) = {why_rate / csv_rate:.2f}x score's")
        secs = [run_cli(["score", str(src), "-o", str(Path(tmp) / "shadow.csv"), "--quiet", "--model", model_dir,
                         "--shadow", model_dir]) for _ in range(3)]
        shadow_rate = args.rows / statistics.median(secs)
        results.update(cli_shadow_rows_per_s=shadow_rate, cli_shadow_ratio=shadow_rate / csv_rate)
        print(f"CLI --shadow    {shadow_rate:10,.0f} rows/s, the model in its own shadow (two scorings a row; median "
              f"of 3) = {shadow_rate / csv_rate:.2f}x score's")
        secs = [run_cli(["score", str(src), "-o", str(Path(tmp) / "out.xlsx"), "--quiet", "--model", model_dir])
                for _ in range(3)]
        xlsx_rate = args.rows / statistics.median(secs)
        results.update(cli_xlsx_out_rows_per_s=xlsx_rate, cli_xlsx_out_ratio=xlsx_rate / csv_rate)
        print(f"CLI -o .xlsx    {xlsx_rate:10,.0f} rows/s, the same scores as an Excel workbook (median of 3) = "
              f"{xlsx_rate / csv_rate:.2f}x score's")
        secs = [run_cli(["score", str(src), "-o", str(Path(tmp) / "points.csv"), "--quiet", "--model", model_dir,
                         "--points", "--grade"]) for _ in range(3)]
        points_rate = args.rows / statistics.median(secs)
        results.update(cli_points_grade_rows_per_s=points_rate, cli_points_grade_ratio=points_rate / csv_rate)
        print(f"CLI --points --grade {points_rate:5,.0f} rows/s (median of 3) = {points_rate / csv_rate:.2f}x score's")
        if "population" in scorer.model.manifest:  # generated applicants differ from the real ones: exit 4 (shift)
            secs = [run_cli(["monitor", str(src), "--quiet", "--model", model_dir], ok=(0, 4)) for _ in range(3)]
            monitor_rate = args.rows / statistics.median(secs)
            alone["monitor"] = statistics.median(secs)
            results.update(cli_monitor_rows_per_s=monitor_rate, cli_monitor_ratio=monitor_rate / csv_rate)
            print(f"CLI monitor     {monitor_rate:10,.0f} rows/s on the same file (median of 3) = "
                  f"{monitor_rate / csv_rate:.2f}x score's")

        labelled = Path(tmp) / "labelled.csv"  # outcomes drawn at 22 %: the back-test's figures do not matter here
        outcome = scorer.schema.label
        draws = iter(np.random.default_rng(2).random(args.rows) < 0.22)
        with open(src) as fh, open(labelled, "w") as out:
            out.write(fh.readline().rstrip("\n") + f",{outcome}\n")
            out.writelines(f"{line.rstrip(chr(10))},{int(next(draws))}\n" for line in fh)
        secs = [run_cli(["backtest", str(labelled), "--quiet", "--model", model_dir], ok=(0, 4)) for _ in range(3)]
        backtest_rate = args.rows / statistics.median(secs)
        alone["backtest"] = statistics.median(secs)
        results.update(cli_backtest_rows_per_s=backtest_rate, cli_backtest_ratio=backtest_rate / csv_rate)
        print(f"CLI backtest    {backtest_rate:10,.0f} rows/s on the same file with outcomes (median of 3) = "
              f"{backtest_rate / csv_rate:.2f}x score's")
        secs = [run_cli(["compare", str(labelled), "--quiet", "--model", model_dir, "--challenger", model_dir])
                for _ in range(3)]
        compare_rate = args.rows / statistics.median(secs)
        results.update(cli_compare_rows_per_s=compare_rate, cli_compare_ratio=compare_rate / csv_rate)
        print(f"CLI compare     {compare_rate:10,.0f} rows/s, the model against itself (two scorings a row; median "
              f"of 3) = {compare_rate / csv_rate:.2f}x score's")

        secs = [run_cli(["fairness", str(labelled), "--quiet", "--model", model_dir], ok=(0, 4)) for _ in range(3)]
        fairness_rate = args.rows / statistics.median(secs)
        alone["fairness"] = statistics.median(secs)
        results.update(cli_fairness_rows_per_s=fairness_rate, cli_fairness_ratio=fairness_rate / csv_rate)
        print(f"CLI fairness    {fairness_rate:10,.0f} rows/s, by the protected fields, outcomes too (median of 3) = "
              f"{fairness_rate / csv_rate:.2f}x score's")

        decided = Path(tmp) / "decided.csv"  # final decisions and branches at random: the figures do not matter here
        draws = np.random.default_rng(3).random(args.rows)
        with open(labelled) as fh, open(decided, "w") as out:
            out.write(fh.readline().rstrip("\n") + ",final_decision,branch\n")
            out.writelines(f"{line.rstrip(chr(10))},{'approved' if u < 0.7 else 'declined'},B{int(u * 60) % 6}\n"
                           for line, u in zip(fh, draws))
        secs = [run_cli(["overrides", str(decided), "--by", "branch", "--quiet", "--model", model_dir], ok=(0, 4))
                for _ in range(3)]
        overrides_rate = args.rows / statistics.median(secs)
        alone["overrides"] = statistics.median(secs)
        results.update(cli_overrides_rows_per_s=overrides_rate, cli_overrides_ratio=overrides_rate / csv_rate)
        print(f"CLI overrides   {overrides_rate:10,.0f} rows/s, by branch, outcomes too (median of 3) = "
              f"{overrides_rate / csv_rate:.2f}x score's")
        secs = [run_cli(["report", "monitoring", str(decided), "--output", str(Path(tmp) / "monitoring.html"),
                         "--by", "branch", "--model", model_dir], ok=(0, 4)) for _ in range(3)]
        report_s, separately = statistics.median(secs), sum(alone.values())
        results.update(cli_report_monitoring_s=report_s, cli_report_monitoring_ratio=report_s / separately)
        print(f"report monitoring {report_s:7.2f} s, {len(alone)} checks in one file (median of 3) = "
              f"{report_s / separately:.2f}x the time of {', '.join(alone)} run one by one ({separately:.2f} s)")

        tiny = Path(tmp) / "one.csv"
        with open(src) as fh, open(tiny, "w") as out:
            out.write(fh.readline() + fh.readline())
        starts = [run_cli(["score", str(tiny), "-o", str(Path(tmp) / "one_out.csv"), "--quiet", "--model", model_dir])
                  for _ in range(7)]
        baseline = statistics.median(
            [run_cli_plain([sys.executable, "-c", "pass"]) for _ in range(7)])
        results.update(one_row_process_s=statistics.median(starts), python_start_s=baseline)
        print(f"one-row file    {statistics.median(starts):.3f} s process start to exit (median of 7; bare python "
              f"start {baseline:.3f} s; goal <= 0.5 s)")
        if os.environ.get("PYTHONDONTWRITEBYTECODE"):
            print("                PYTHONDONTWRITEBYTECODE is set: modules installed without a .pyc (an editable "
                  "install) are compiled at every start, ~0.05-0.1 s more than a user sees")

        if args.memory_rows:
            big = Path(tmp) / "big.csv"
            subprocess.run(LOANSCORE + ["generate", "--rows", str(args.memory_rows), "--seed", "2", "--out", str(big)],
                           check=True, stderr=subprocess.DEVNULL)
            seconds, peak = run_memory(["score", str(big), "-o", str(Path(tmp) / "big_out.csv"), "--quiet", "--model", model_dir])
            results.update(memory_rows=args.memory_rows, memory_peak_mb=peak, memory_rows_per_s=args.memory_rows / seconds)
            print(f"{args.memory_rows:,}-row CSV  peak RSS {peak:.0f} MB (goal <= 300 MB), {args.memory_rows / seconds:,.0f} rows/s, "
                  f"input {big.stat().st_size / 1e6:.0f} MB")

    size, dists = installed_size_mb()
    results["runtime_install_mb"] = size
    print(f"runtime install {size:.0f} MB for {', '.join(dists)} (goal <= 150 MB)")

    ref = keras_reference({k: v[:20000] for k, v in cols.items()}, 20000)
    if ref is None:
        print("Keras reference: skipped (needs the [train] extra and artifacts/run)")
    else:
        results.update(keras_one_ms=ref[0] * 1e3, keras_rows_per_s=ref[1])
        print(f"Keras reference model.predict: one row {ref[0] * 1e3:.1f} ms (Scorer.score is {ref[0] / api_1:.0f}x faster); "
              f"batched {ref[1]:,.0f} rows/s on preprocessed features (score_columns / Keras = {api_rate / ref[1]:.2f}x, "
              "validation and preprocessing included)")
    print(json.dumps({k: round(v, 4) for k, v in results.items()}))


def run_cli_plain(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t


def run_memory(args: list[str]) -> tuple[float, float]:
    """Run one child alone so RUSAGE_CHILDREN's peak is its own: a fresh Python measures it."""
    code = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(json.dumps([time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, *LOANSCORE, *args], check=True, capture_output=True, text=True)
    seconds, peak = json.loads(out.stdout)
    return seconds, peak


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main()
