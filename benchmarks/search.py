"""Screen LSTM-CNN training variants in parallel, with the quality benchmark's folds and protocol.

Usage::

    python benchmarks/search.py VARIANTS.json [--folds 5] [--workers N] [--gpu-workers G]
                                [--deadline SECONDS] [--out results.json] [--reference earlier.json]

``VARIANTS.json`` maps a name to overrides of the default ``TrainConfig``,
e.g. ``{"baseline": {}, "refit": {"refit": true}, "wide_lstm": {"network":
{"lstm_units": 48}}}``. Every (variant, outer fold) pair is one task; tasks run
in worker processes, CPU workers pinned to one core each, and each is scored
exactly as ``quality.py`` scores the LSTM-CNN (same outer folds, same inner
split, the test fold only scored). The table compares each variant to the
first one fold by fold (paired), because seed and fold noise dwarf most
differences: quote the paired delta and how many folds it wins, not a single
mean. ``--reference`` takes the first variant's results from an earlier run's
``--out`` file instead of training it again: training is deterministic on one
machine, but not across CPUs with other instruction sets, so use it only for
runs on the same machine.

Runs on any Keras 3 backend (``KERAS_BACKEND``); ``search/device.sh`` runs it
with JAX on the device machine, whose 16 cores screen a dozen variants in a
few minutes. Compare variants only within one run's backend and device: JAX
on the GPU (TF32 matrix products) scored 0.003-0.006 lower per fold than JAX
on the CPU, and JAX-CPU and TensorFlow differ by about a seed's noise. The
default model itself is always trained with TensorFlow on the CPU by
``loanscore train``. No new task starts after ``--deadline`` seconds, and
results are written after every task, so a cut-off run still returns what it
finished.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
KEYS = ("roc_auc", "pr_auc", "brier", "ece", "f1", "seconds")


def make_config(overrides: dict):
    from dataclasses import replace

    from loanscore.runtime.schema import Schema
    from loanscore.train.network import NetworkConfig
    from loanscore.train.preprocess import derivable
    from loanscore.train.threshold import ThresholdRule
    from loanscore.train.trainer import TrainConfig

    base = TrainConfig()
    overrides = dict(overrides)
    network = NetworkConfig.from_dict({**base.network.to_dict(), **overrides.pop("network", {})})
    threshold = ThresholdRule(**{**base.threshold.to_dict(), **overrides.pop("threshold", {})})
    if "monotone_roles" in overrides:
        overrides["monotone_roles"] = tuple(overrides["monotone_roles"])
    if "derived" in overrides:
        overrides["derived"] = tuple(overrides["derived"])
        derivable(Schema.default(), overrides["derived"])  # a channel name of another commit fails here
    return replace(base, network=network, threshold=threshold, **overrides)


def _worker(slot: int, gpu: bool, data: str, folds: int, deadline: float, tasks, results) -> None:
    if gpu:
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    else:
        os.environ["JAX_PLATFORMS"] = "cpu"
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cores[slot % len(cores)]})
        for var in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
            os.environ[var] = "1"
    sys.path.insert(0, str(HERE))
    import quality

    from loanscore.runtime.schema import Schema
    from loanscore.train.data import load_dataset

    schema = Schema.default()
    ds = load_dataset(data, schema)
    splits = quality.outer_folds(ds.labels, folds)
    while True:
        task = tasks.get()
        if task is None or time.time() > deadline:
            results.put(None)
            return
        name, overrides, k = task
        try:
            m = quality.run_fold("lstm_cnn", ds, schema, *splits[k], config=make_config(overrides))
            results.put({"variant": name, "fold": k + 1, "device": "gpu" if gpu else "cpu",
                         **{key: float(m[key]) for key in KEYS}, "epochs": m["info"]["epochs"],
                         "later_lowers": m.get("later_lowers"), "riskier_lowers": m.get("riskier_lowers"),
                         "riskier_lowers_on_time": m.get("riskier_lowers_on_time")})
        except Exception as exc:  # one broken variant must not stop the others
            results.put({"variant": name, "fold": k + 1, "error": f"{type(exc).__name__}: {exc}"})


def summarize(variants: dict, done: list[dict], folds: int) -> list[dict]:
    by = {n: {r["fold"]: r for r in done if r["variant"] == n and "error" not in r} for n in variants}
    base = next(iter(variants))
    rows = []
    for name in variants:
        got = by[name]
        if not got:
            continue
        row = {"variant": name, "folds": len(got)}
        for key in KEYS:
            row[key] = float(np.mean([r[key] for r in got.values()]))
        paired = [got[f]["roc_auc"] - by[base][f]["roc_auc"] for f in got if f in by[base]]
        row["delta_auc"] = float(np.mean(paired)) if paired else float("nan")
        row["wins"] = f"{sum(d > 0 for d in paired)}/{len(paired)}"
        worst = [max(r["later_lowers"]) for r in got.values() if r.get("later_lowers")]
        row["later_lowers_worst"] = float(np.mean(worst)) if worst else float("nan")
        rows.append(row)
    return sorted(rows, key=lambda r: (-r["folds"], -r["roc_auc"]))


def table(rows: list[dict], folds: int) -> str:
    lines = ["| variant | folds | ROC AUC | Δ vs first (paired) | wins | PR AUC | Brier | ECE | F1 | later month lowers P "
             "(worst month) | s/fold |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['variant']} | {r['folds']}/{folds} | {r['roc_auc']:.4f} | {r['delta_auc']:+.4f} | "
                     f"{r['wins']} | {r['pr_auc']:.4f} | {r['brier']:.5f} | {r['ece']:.4f} | {r['f1']:.4f} | "
                     f"{r.get('later_lowers_worst', float('nan')):.1%} | {r['seconds']:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("variants", type=Path, help="JSON: name -> TrainConfig overrides; the first is the reference")
    parser.add_argument("--data", help="development CSV (default: $LOANSCORE_DEV_DATA or ../shared/data/...)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--gpu-workers", type=int, default=0, help="of the workers, how many use the GPU")
    parser.add_argument("--deadline", type=float, default=float("inf"), help="seconds after which no task starts")
    parser.add_argument("--out", type=Path, help="write every finished task and the summary here (JSON)")
    parser.add_argument("--reference", type=Path,
                        help="an earlier --out file (same machine): pair against its first variant instead of running one")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from quality import find_data

    data = str(find_data(args.data))
    variants = json.loads(args.variants.read_text())
    for name, overrides in variants.items():
        try:
            make_config(overrides)  # a typo fails now, not in every worker
        except (TypeError, ValueError) as exc:
            parser.error(f"variant {name!r} in {args.variants}: {exc}")
    done: list[dict] = []
    if args.reference:
        earlier = json.loads(args.reference.read_text())
        name, overrides = next(iter(earlier["variants"].items()))
        done = [t for t in earlier["tasks"] if t["variant"] == name and "error" not in t]
        variants = {name: overrides, **variants}
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    ctx = mp.get_context("spawn")
    tasks, results = ctx.Queue(), ctx.Queue()
    for name, overrides in variants.items():
        if any(t["variant"] == name for t in done):
            continue
        for k in range(args.folds):
            tasks.put((name, overrides, k))
    for _ in range(args.workers):
        tasks.put(None)
    started = time.time()
    deadline = started + args.deadline
    procs = [ctx.Process(target=_worker, args=(i, i < args.gpu_workers, data, args.folds, deadline, tasks, results))
             for i in range(args.workers)]
    for p in procs:
        p.start()
    running = len(procs)
    while running:
        r = results.get()
        if r is None:
            running -= 1
            continue
        done.append(r)
        status = r.get("error") or f"ROC AUC {r['roc_auc']:.4f}  Brier {r['brier']:.5f}  [{r['seconds']:.0f} s, {r['device']}]"
        print(f"[{time.time() - started:5.0f} s] {r['variant']} fold {r['fold']}: {status}", file=sys.stderr, flush=True)
        if args.out:
            tmp = args.out.with_suffix(".tmp")
            tmp.write_text(json.dumps({"folds": args.folds, "backend": backend, "variants": variants, "tasks": done,
                                       "summary": summarize(variants, done, args.folds)}, indent=1) + "\n")
            tmp.replace(args.out)
    for p in procs:
        p.join()
    print(f"{args.folds}-fold CV, {len(done)} tasks in {time.time() - started:.0f} s "
          f"(backend {backend})\n")
    print(table(summarize(variants, done, args.folds), args.folds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
