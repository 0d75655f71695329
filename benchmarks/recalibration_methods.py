"""Which ``loanscore recalibrate`` method, with how many outcomes? Real applicants, a lender that defaults less.

Usage::

    python benchmarks/recalibration_methods.py [--model MODEL_DIR] [--data DEV.csv] [--lender fewer_defaults]
                                               [--keep 0.4]
                                               [--sizes 750,1500,3000] [--repeats 200] [--out results.json]
                                               [--plot methods.png]

The lender's clients are CV fold 1's test rows of ``quality.py`` (4,800 real
clients), with one of two ``--lender`` stories:

* ``fewer_defaults`` (the default): their real outcomes, keeping every client
  who repaid and a seeded random ``--keep`` share of those who defaulted. A
  pure shift in the default rate (about 10 % instead of 22 % at 0.4) with
  each class's applicants as before, so Bayes' rule gives the right map:
  ``logit P' = logit P + log(keep)``, for a model calibrated on the
  development mix.
* ``scaled``: all 4,800, with outcomes drawn at ``--keep`` times the model's
  P(default) (docs/strategy.md's example): the right map is ``P' = keep * P``,
  which bends the log-odds, so the slope of Platt scaling has something to
  fit. Real fields, simulated outcomes.

The model must not have seen these rows: ``--model`` is one trained on fold
1's other 19,200 rows; without it the script trains one with ``loanscore
train`` and ``loanscore export`` (about 3 minutes on 2 cores).

For each fit size and repeat, a random fit sample of the lender's clients is
drawn and the rest are the test rows. Fitted on the sample, scored on the
test rows:

* ``none``: the model as it is;
* ``platt`` and ``intercept``: ``loanscore recalibrate --method`` on the
  sample's outcomes (skipped when it has fewer than 50 of either class, as
  the command refuses);
* ``default_rate``: ``--default-rate`` with the lender's rate over all its
  clients (what it would know from its books), on the sample's applicants
  alone;
* ``oracle``: the story's right map, fitted on nothing (a reference no
  lender has).

It prints and writes each method's median and interquartile range of the
test rows' Brier score, ECE (10 bins), log loss, mean P minus the observed
rate, and expected cost per applicant at the model's threshold (5:1), and
counts how often the command would suggest ``--method intercept`` (Platt's
slope interval holds 1), and checks once per method that the command writes
the map computed here.
Needs the ``[train]`` and ``[bench]`` extras and the development data.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402 - the folds and the data, as every benchmark finds them

from loanscore.export.recalibrate import MIN_EACH, recalibrate  # noqa: E402
from loanscore.runtime import Scorer  # noqa: E402
from loanscore.runtime.performance import brier_score, expected_calibration_error  # noqa: E402
from loanscore.train.calibration import mapped, platt, shift_to_rate, standard_errors  # noqa: E402

METHODS = ("none", "platt", "intercept", "default_rate", "oracle")
METRICS = ("brier", "ece", "log_loss", "mean_minus_rate", "cost")
LOANSCORE = str(Path(sys.executable).parent / "loanscore")


def fold_model(data: pd.DataFrame, label: str, work: Path) -> Path:
    """A model trained and exported on CV fold 1's training rows, as a user would with the commands."""
    train, _ = quality.outer_folds(data[label].to_numpy(), 5)[0]
    data.iloc[train].to_csv(work / "train.csv", index=False)
    for command in (["train", "--data", "train.csv", "--out", "run"],
                    ["export", "run", "--out", "model", "--data", "train.csv"]):
        print(f"$ loanscore {' '.join(command)}", file=sys.stderr, flush=True)
        subprocess.run([LOANSCORE, *command], cwd=work, check=True)
    return work / "model"


def fit(method: str, p: np.ndarray, y: np.ndarray, rate: float) -> tuple[float, float] | None:
    """``(scale, shift)`` of ``method`` fitted on a sample's probabilities ``p`` and outcomes ``y``."""
    if method == "none":
        return 1.0, 0.0
    if method == "default_rate":
        return 1.0, shift_to_rate(p, rate)
    if min(y.sum(), len(y) - y.sum()) < MIN_EACH:
        return None
    return platt(p, y) if method == "platt" else (1.0, shift_to_rate(p, float(y.mean())))


def figures(y: np.ndarray, p: np.ndarray, threshold: float, costs: tuple[float, float]) -> dict[str, float]:
    q = np.clip(p, 1e-7, 1 - 1e-7)
    declined = p >= threshold
    cost = (costs[0] * np.sum(y * ~declined) + costs[1] * np.sum((1 - y) * declined)) / len(y)
    return {"brier": brier_score(y, p), "ece": expected_calibration_error(y, p),
            "log_loss": float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))),
            "mean_minus_rate": float(p.mean() - y.mean()), "cost": float(cost)}


def command_agrees(model: Path, frame: pd.DataFrame, label: str, method: str, rate: float,
                   expected: tuple[float, float], work: Path) -> float:
    """Run ``recalibrate`` itself on one sample; the largest difference from this script's map."""
    path = work / f"sample_{method}.csv"
    frame.to_csv(path, index=False)
    result = recalibrate(model, path, work / f"recalibrated_{method}", outcome=label,
                         method=method, default_rate=rate if method == "default_rate" else None,
                         progress=lambda s: None)
    return max(abs(result.scale - expected[0]), abs(result.shift - expected[1]))


def quartiles(rows: list[dict]) -> dict | None:
    if not rows:
        return None
    return {k: dict(zip(("q25", "median", "q75"), map(float, np.percentile([r[k] for r in rows], [25, 50, 75])),
                        strict=True)) for k in METRICS}


def against_platt(rows: list[dict], method: str) -> dict:
    """Paired over the repeats that fitted Platt: the median difference from it and how often ``method`` is lower."""
    out = {}
    for k in ("brier", "ece", "log_loss", "cost"):
        d = np.array([r[method][k] - r["platt"][k] for r in rows])
        q25, median, q75 = (float(v) for v in np.percentile(d, [25, 50, 75]))
        out[k] = {"median_difference": median, "q25": q25, "q75": q75, "lower": int(np.sum(d < 0)), "of": len(d)}
    return out


def report(summary: dict, fitted: dict, paired: dict, sizes: list[int], repeats: int) -> str:
    lines = ["| fit sample | method | " + " | ".join(METRICS) + " |", "| --- " * (2 + len(METRICS)) + "|"]
    for n in sizes:
        for method in METHODS:
            s = summary[str(n)][method]
            cells = (" – |" * len(METRICS) if s is None else " " + " | ".join(
                f"{s[k]['median']:+.4f}" if k == "mean_minus_rate" else f"{s[k]['median']:.4f}" for k in METRICS)
                + " |")
            lines.append(f"| {n:,} | {method} |{cells}")
    lines += ["", "Paired with platt over the repeats it could fit (median difference; repeats lower):",
              "| fit sample | outcome fits | method | Brier | ECE | log loss | cost |", "| --- " * 7 + "|"]
    for n in sizes:
        for method, d in paired[str(n)].items():
            lines.append(f"| {n:,} | {fitted[str(n)]} of {repeats} | {method} | " + " | ".join(
                f"{d[k]['median_difference']:+.4f} ({d[k]['lower']})" for k in ("brier", "ece", "log_loss", "cost"))
                + " |")
    return "\n".join(lines)


def plot(path: Path, summary: dict, paired: dict, sizes: list[int], rate: float, story: str) -> None:
    """ECE and cost per method (the uncalibrated model named in the titles, far above), and log loss paired
    with Platt's: below zero the method beat Platt on the same test rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"platt": "#1f77b4", "intercept": "#d62728", "default_rate": "#2ca02c", "oracle": "black"}
    none = summary[str(sizes[0])]["none"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), dpi=110)
    panels = ((axes[0], "ece", f"ECE (10 bins) on the test rows (none: {none['ece']['median']:.3f})"),
              (axes[2], "cost", f"cost per applicant, 5:1 (none: {none['cost']['median']:.3f})"))
    for ax, metric, title in panels:
        for method, color in colors.items():
            have = [(n, summary[str(n)][method][metric]) for n in sizes if summary[str(n)][method]]
            ax.plot([n for n, _ in have], [m["median"] for _, m in have], marker="o", color=color, label=method,
                    ls="--" if method == "oracle" else "-")
            ax.fill_between([n for n, _ in have], [m["q25"] for _, m in have], [m["q75"] for _, m in have],
                            color=color, alpha=0.12)
        ax.set_title(title, fontsize=10)
    ax = axes[1]
    ax.axhline(0, color=colors["platt"], lw=1.5, label="platt")
    for method in ("intercept", "default_rate", "oracle"):
        d = [paired[str(n)][method]["log_loss"] for n in sizes]
        ax.plot(sizes, [x["median_difference"] for x in d], marker="o", color=colors[method], label=method,
                ls="--" if method == "oracle" else "-")
        ax.fill_between(sizes, [x["q25"] for x in d], [x["q75"] for x in d], color=colors[method], alpha=0.12)
    ax.set_title("log loss minus Platt's, same test rows", fontsize=10)
    ax.legend(fontsize=8)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xticks(sizes, [f"{n:,}" for n in sizes])
        ax.minorticks_off()
        ax.set_xlabel("applicants in the fit sample")
        ax.grid(alpha=0.3)
    fig.suptitle(f"Recalibrating to a lender with a {rate:.1%} default rate ({story}): medians and quartiles "
                 "over the repeats", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="a model trained on CV fold 1's training rows only")
    parser.add_argument("--data", help="development CSV (default: $LOANSCORE_DEV_DATA or ../shared/data/...)")
    parser.add_argument("--lender", choices=("fewer_defaults", "scaled"), default="fewer_defaults")
    parser.add_argument("--keep", type=float, default=0.4,
                        help="fewer_defaults: the share of defaulters kept; scaled: the factor on P(default)")
    parser.add_argument("--sizes", default="750,1500,3000")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--seed", type=int, default=quality.SEED)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    started = time.perf_counter()
    data = pd.read_csv(quality.find_data(args.data))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        scorer = Scorer.load(args.model or fold_model(data, "default.payment.next.month", work))
        label = scorer.schema.label
        _, test = quality.outer_folds(data[label].to_numpy(), 5)[0]
        fold = data.iloc[test]
        rng = np.random.default_rng(args.seed)
        if args.lender == "fewer_defaults":
            lender = fold[(fold[label].to_numpy() == 0) | (rng.random(len(fold)) < args.keep)].reset_index(drop=True)
        else:
            lender = fold.reset_index(drop=True)
        p_all = scorer.score_columns({c: lender[c].to_numpy() for c in scorer.schema.input_names}).probability
        if args.lender == "scaled":
            lender[label] = (rng.random(len(lender)) < args.keep * p_all).astype(int)
        y_all = lender[label].to_numpy().astype(int)
        oracle = ((lambda p: mapped(p, 1.0, float(np.log(args.keep)))) if args.lender == "fewer_defaults"
                  else (lambda p: args.keep * p))
        rate = float(y_all.mean())
        inputs = scorer.model.manifest["threshold"].get("inputs", {})
        costs = (float(inputs.get("cost_default", 5.0)), float(inputs.get("cost_decline_good", 1.0)))
        print(f"lender ({args.lender}, {args.keep:g}): {len(lender):,} of fold 1's {len(fold):,} test clients, "
              f"{y_all.sum():,} defaults "
              f"({rate:.2%}); threshold {scorer.threshold:.4g}, costs {costs[0]:g}:{costs[1]:g}", flush=True)

        repeats: dict[str, list[dict]] = {str(n): [] for n in sizes}  # per repeat: method -> figures or None
        for n in sizes:
            for _ in range(args.repeats):
                order = rng.permutation(len(lender))
                f, t = order[:n], order[n:]
                maps = {m: fit(m, p_all[f], y_all[f], rate) for m in METHODS if m != "oracle"}
                row: dict[str, Any] = {m: figures(y_all[t], mapped(p_all[t], *v), scorer.threshold, costs) if v else None
                       for m, v in maps.items()}
                row["oracle"] = figures(y_all[t], oracle(p_all[t]), scorer.threshold, costs)
                if maps["platt"]:  # the command's hint: does the slope's 95 % interval hold 1?
                    a = maps["platt"][0]
                    row["slope_holds_1"] = bool(abs(a - 1) <= 1.96 * standard_errors(p_all[f], *maps["platt"],
                                                                                      slope=True)["scale"])
                repeats[str(n)].append(row)
        agree = {}
        f = rng.permutation(len(lender))[:sizes[-1]]
        for method in ("platt", "intercept", "default_rate"):
            expected = fit(method, p_all[f], y_all[f], rate)
            assert expected is not None, f"the {sizes[-1]}-row sample has too few of one outcome to fit {method}"
            agree[method] = command_agrees(scorer.model.directory, lender.iloc[f], label, method, rate, expected,
                                           work)

    summary = {str(n): {m: quartiles([r[m] for r in repeats[str(n)] if r[m]]) for m in METHODS} for n in sizes}
    fitted = {str(n): sum(r["platt"] is not None for r in repeats[str(n)]) for n in sizes}
    paired = {str(n): {m: against_platt([r for r in repeats[str(n)] if r["platt"]], m)
                       for m in ("intercept", "default_rate", "oracle")} for n in sizes}
    hint = {str(n): sum(r.get("slope_holds_1", False) for r in repeats[str(n)]) for n in sizes}
    print(report(summary, fitted, paired, sizes, args.repeats))
    print("repeats where Platt's slope interval holds 1 (the command suggests --method intercept): "
          + ", ".join(f"{hint[str(n)]} of {fitted[str(n)]} at {n:,}" for n in sizes))
    print("the command's map against this script's, largest |difference| in a or b: "
          + ", ".join(f"{m} {d:.1e}" for m, d in agree.items()))
    print(f"{time.perf_counter() - started:.0f} s", flush=True)
    if args.out:
        args.out.write_text(json.dumps({
            "lender": {"rows": len(y_all), "defaults": int(y_all.sum()), "rate": rate, "story": args.lender,
                       "keep": args.keep, "source": "quality.outer_folds fold 1 test rows"},
            "model_sha256": scorer.model.manifest["sha256"], "repeats": args.repeats, "seed": args.seed,
            "outcome_fits": fitted, "slope_holds_1": hint, "summary": summary, "against_platt": paired,
            "command_agrees": agree}, indent=1) + "\n")
    if args.plot:
        plot(args.plot, summary, paired, sizes, rate, args.lender)
    return 0


if __name__ == "__main__":
    sys.exit(main())
