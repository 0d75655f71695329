"""How the LSTM-CNN and the tuned LightGBM grow with the number of training rows, on the benchmark's folds.

Usage::

    python benchmarks/learning_curve.py [--data PATH] [--folds 5] [--fractions 0.1,0.25,0.5,0.75,1]
                                        [--shuffle 42] [--workers N] [--out results.json] [--plot curve.png]

Two questions a lender asks before trusting the benchmark: does the network's
lead over boosted trees hold on a smaller portfolio than these 19,200 training
rows, and would more rows like these close the gap to issue 3's 0.790? Each
outer fold's training rows are cut to a stratified fraction (the same random
order for every fraction, so a smaller set is part of every larger one); both
models are then fitted on it exactly as ``quality.py`` fits them (its inner
split, the LSTM-CNN pinned to one core as in ``ceiling.py``) and scored on the
whole, unchanged test fold. At fraction 1 the rows are the benchmark's own, so
that column reproduces ``ceiling.py``'s folds. ``--shuffle 43`` (44, …) uses the
outer folds of ``quality.py --repeats`` instead: how much of a step is one split's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FRACTIONS = (0.1, 0.25, 0.5, 0.75, 1.0)
MODELS = ("lstm_cnn", "lightgbm")


def nested_subsample(rows: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """``fraction`` of ``rows`` (indices into ``y``), stratified by ``y``, sorted.

    Each class is put in one random order fixed by ``seed`` and its first ``round(fraction * n)`` rows are
    kept, so every smaller subset lies inside every larger one and fraction 1 returns ``rows`` themselves:
    the curve measures more rows, not other rows.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    rng = np.random.default_rng(seed)
    kept = []
    for label in np.unique(y[rows]):
        members = rows[y[rows] == label]
        kept.append(rng.permutation(members)[: round(fraction * len(members))])
    return np.sort(np.concatenate(kept))


def _fit_and_score(data: str, folds: int, shuffle: int, model: str, fraction: float, k: int):
    """Fit ``model`` on ``fraction`` of outer fold ``k``'s training rows; its probabilities on the test rows."""
    sys.path.insert(0, str(HERE))
    import quality
    from sklearn.model_selection import train_test_split

    from loanscore.runtime.schema import Schema
    from loanscore.train.data import load_dataset

    schema = Schema.default()
    ds = load_dataset(data, schema)
    tr, te = quality.outer_folds(ds.labels, folds, shuffle)[k]
    tr = nested_subsample(tr, ds.labels, fraction, quality.SEED)
    itr, iva = train_test_split(tr, test_size=quality.INNER_VALIDATION, stratify=ds.labels[tr], random_state=quality.SEED)
    started = time.perf_counter()
    predict, _, _ = quality.FITTERS[model](ds, schema, itr, iva)
    return model, fraction, k, len(tr), np.asarray(predict(te), dtype=np.float64), time.perf_counter() - started


def plot(curve: list[dict], folds: int, path: Path) -> None:
    """Mean test ROC AUC against training rows per model, each fold faint behind it, the goal dashed."""
    import matplotlib
    import quality

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    for model in MODELS:
        label, color = quality.STYLE[model]
        rows = [r for r in curve if r["model"] == model]
        x = [r["training_rows"] for r in rows]
        for fold in range(len(rows[0]["folds"])):
            ax.plot(x, [r["folds"][fold] for r in rows], color=color, alpha=0.18, linewidth=0.8)
        ax.plot(x, [r["mean"] for r in rows], color=color, marker="o", linewidth=2, label=label)
    ax.axhline(quality.GOAL_AUC, color="0.4", linestyle="--", linewidth=1,
               label=f"issue 3's goal ({quality.GOAL_AUC:.3f})")
    ax.set_xscale("log")
    xs = sorted({r["training_rows"] for r in curve})
    ax.set_xticks(xs, [f"{x:,}" for x in xs])
    ax.minorticks_off()
    ax.set_xlabel("training rows per outer fold (mean over folds)")
    ax.set_ylabel("ROC AUC on the test fold")
    ax.set_title(f"Learning curve: {folds}-fold CV on the development data", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="development CSV (default: $LOANSCORE_DEV_DATA or ../shared/data/...)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--fractions", default=",".join(f"{f:g}" for f in FRACTIONS),
                        help="comma-separated shares of each training fold, in (0, 1]")
    parser.add_argument("--shuffle", type=int, help="the outer folds' shuffle seed (default: the benchmark's, 42)")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--out", type=Path, help="write the per-fold figures as JSON here")
    parser.add_argument("--plot", type=Path, help="draw the curve as a PNG here")
    args = parser.parse_args(argv)
    fractions = sorted({float(f) for f in args.fractions.split(",")})
    if not all(0 < f <= 1 for f in fractions):
        parser.error(f"--fractions must lie in (0, 1], got {args.fractions}")
    sys.path.insert(0, str(HERE))
    import ceiling
    import quality
    from sklearn.metrics import roc_auc_score

    from loanscore.runtime.schema import Schema
    from loanscore.train.data import load_dataset

    path = quality.find_data(args.data)
    y = load_dataset(path, Schema.default()).labels
    shuffle = quality.SEED if args.shuffle is None else args.shuffle
    tests = [te for _, te in quality.outer_folds(y, args.folds, shuffle)]
    started = time.perf_counter()
    p: dict[tuple[str, float, int], np.ndarray] = {}
    n_rows: dict[float, list[int]] = {f: [] for f in fractions}
    seconds: dict[tuple[str, float], list[float]] = {(m, f): [] for m in MODELS for f in fractions}
    # The largest LSTM-CNN fits first, so the small ones fill the cores at the end.
    tasks = sorted(((m, f, k) for k in range(args.folds) for f in fractions for m in MODELS),
                   key=lambda t: (t[0] != "lstm_cnn", -t[1], t[2]))
    with ceiling.pinned_pool(args.workers) as pool:
        futures = [pool.submit(_fit_and_score, str(path), args.folds, shuffle, m, f, k) for m, f, k in tasks]
        for done, future in enumerate(futures, 1):
            model, fraction, k, rows, probs, s = future.result()
            p[model, fraction, k] = probs
            seconds[model, fraction].append(s)
            if model == MODELS[0]:
                n_rows[fraction].append(rows)
            print(f"[{done}/{len(tasks)}] {model} on {fraction:g} of fold {k + 1}'s training rows ({rows:,}): "
                  f"ROC AUC {roc_auc_score(y[tests[k]], probs):.4f} [{s:.0f} s]", file=sys.stderr, flush=True)

    by = {(m, f): {"model": m, "fraction": f, "training_rows": round(float(np.mean(n_rows[f]))),
                   **ceiling.fold_aucs(y, tests, [p[m, f, k] for k in range(args.folds)]),
                   "seconds_median": float(np.median(seconds[m, f]))}
          for m in MODELS for f in fractions}
    margins = []
    for f in fractions:
        diffs = [x - z for x, z in zip(by["lstm_cnn", f]["folds"], by["lightgbm", f]["folds"])]
        margins.append({"fraction": f, "folds": diffs, "mean": float(np.mean(diffs)),
                        "wins": int(sum(d > 0 for d in diffs))})
    print(f"{args.folds}-fold CV (shuffle seed {shuffle}) on {path.name}, {len(y)} rows; "
          f"total {time.perf_counter() - started:.0f} s\n")
    print("| share of the training fold | training rows | LSTM-CNN | LightGBM tuned | LSTM-CNN − LightGBM (wins) "
          "| LSTM-CNN s/fold |\n| --- | --- | --- | --- | --- | --- |")
    for f, m in zip(fractions, margins):
        a, b = by["lstm_cnn", f], by["lightgbm", f]
        print(f"| {f:g} | {a['training_rows']:,} | {a['mean']:.4f} | {b['mean']:.4f} | {m['mean']:+.4f} "
              f"({m['wins']}/{args.folds}) | {a['seconds_median']:.0f} |")
    if args.out:
        args.out.write_text(json.dumps({"data": {"file": path.name, "rows": int(len(y))}, "folds": args.folds,
                                        "seed": shuffle, "curve": list(by.values()), "margin": margins},
                                       indent=2) + "\n")
    if args.plot:
        plot(list(by.values()), args.folds, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
