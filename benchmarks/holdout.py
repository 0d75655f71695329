"""The shipped model against LightGBM on clients it never saw: the held-back test of the quality issue.

Usage::

    python benchmarks/holdout.py HELD_BACK.csv [--model MODEL_DIR] [--data DEV.csv] [--models ...]
                                 [--bootstrap 2000] [--out results.json] [--plot holdout.png]

``HELD_BACK.csv`` is a labelled file with the development data's columns (e.g.
the 6,000 clients kept aside from the UCI set). It is scored by

* ``shipped``: the model in ``MODEL_DIR`` (default: the shipped one), through
  the runtime's ``Scorer`` with its manifest threshold, i.e. exactly what a
  branch office gets;
* the other models of ``quality.py`` (``lightgbm_reference``: the data README's
  plain LightGBM; ``lightgbm``: tuned on an inner split; ``lightgbm_refit``: that
  choice refitted on all development rows; ``logreg``), fitted on the
  development rows exactly as ``quality.py`` fits them on a training fold, each
  with its threshold from the inner validation split (``--models``: a subset).

It prints and writes every model's metrics on the held-back rows, and for the
shipped model against each other one a paired bootstrap of the differences in
ROC AUC and Brier score (rows resampled together; 95 % interval and the share
of resamples the shipped model wins), because on a few thousand rows an AUC
difference of a few thousandths is within sampling noise. ``--plot`` draws
the ROC curves and a reliability diagram (its deciles are in the JSON).
It warns when the file repeats development rows (then it is not held back),
compares the file with the model's reference population as ``loanscore
monitor`` does (population stability index of the score and of each field),
and back-tests the shipped model against its own out-of-fold figures as
``loanscore backtest`` does (ROC AUC and calibration per score band).

Needs the ``[train]`` and ``[bench]`` extras.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402 - the comparators' fitting code, shared with the CV benchmark

COMPARATORS = ("lightgbm_reference", "lightgbm", "lightgbm_refit", "logreg")
COLUMNS = ("roc_auc", "pr_auc", "ks", "brier", "ece", "threshold", "approval_rate", "precision", "recall", "f1")


def paired_bootstrap(y: np.ndarray, p_a: np.ndarray, p_b: np.ndarray, resamples: int, seed: int = quality.SEED) -> dict:
    """Differences a - b in ROC AUC and Brier score over ``resamples`` row resamples (the same rows for both)."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    n = len(y)
    auc_diffs, brier_diffs = [], []
    for _ in range(resamples):
        i = rng.integers(0, n, n)
        if y[i].min() == y[i].max():  # a resample with one class has no AUC
            continue
        auc_diffs.append(roc_auc_score(y[i], p_a[i]) - roc_auc_score(y[i], p_b[i]))
        brier_diffs.append(np.mean((p_a[i] - y[i]) ** 2) - np.mean((p_b[i] - y[i]) ** 2))
    d_auc, d_brier = np.array(auc_diffs), np.array(brier_diffs)
    return {
        "resamples": int(len(d_auc)),
        "roc_auc_diff": float(roc_auc_score(y, p_a) - roc_auc_score(y, p_b)),
        "roc_auc_diff_ci95": [float(np.quantile(d_auc, 0.025)), float(np.quantile(d_auc, 0.975))],
        "share_a_higher_auc": float(np.mean(d_auc > 0)),
        "brier_diff": float(np.mean((p_a - y) ** 2) - np.mean((p_b - y) ** 2)),
        "brier_diff_ci95": [float(np.quantile(d_brier, 0.025)), float(np.quantile(d_brier, 0.975))],
        "share_a_lower_brier": float(np.mean(d_brier < 0)),
    }


def score_shipped(model_dir: Path | None, path: Path):
    """Probabilities from the runtime, as a branch office would get them, the ``Scorer``, and the file's
    population stability against the model's reference (``None`` without one); refuses rejected rows.

    A held-back file drawn from the training population should be stable; if it
    is not, the held-back figures measure a new population, not only new clients.
    """
    from loanscore.runtime import Scorer
    from loanscore.train.data import read_text_frame
    from loanscore.train.reports.evaluation import population_stability

    scorer = Scorer.load(model_dir) if model_dir else Scorer.load()
    frame = read_text_frame(path, "Held-back data")
    columns = {c: frame[c].to_numpy() for c in frame.columns}
    checked, p = scorer.check_and_run(columns, len(frame))
    if checked.errors:
        first = next(iter(checked.errors.values()))
        sys.exit(f"error: the model rejected {len(checked.errors)} held-back rows, e.g. {first[0]}")
    return p, scorer, population_stability(scorer, checked.feeds, p, path.name)


def table(results: dict) -> str:
    lines = [f"| model | {' | '.join(COLUMNS)} |", "| --- |" + " --- |" * len(COLUMNS)]
    for name, m in results.items():
        lines.append(f"| {name} | " + " | ".join(f"{m[k]:.4f}" for k in COLUMNS) + " |")
    return "\n".join(lines)


def plot(path: Path, y: np.ndarray, predictions: dict, results: dict, deciles: dict) -> None:
    """Left: every model's ROC curve. Right: reliability by decile of score for the models it can show apart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    fig, (ax, right) = plt.subplots(1, 2, figsize=(11, 4.8), dpi=110)
    for name, p in predictions.items():
        fpr, tpr, _ = roc_curve(y, p)
        label, color = quality.STYLE[name]
        ax.plot(fpr, tpr, lw=2 if name == "shipped" else 1.2, color=color,
                label=f"{label} (AUC {results[name]['roc_auc']:.4f})")
    ax.plot([0, 1], [0, 1], color="0.7", lw=0.8, ls="--")
    ax.set(xlabel="false positive rate (payers declined)", ylabel="true positive rate (defaults caught)",
           title="ROC curves")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    quality.draw_calibration(right, [(f"{quality.STYLE[n][0]} (Brier {results[n]['brier']:.4f}, ECE "
                                      f"{results[n]['ece']:.4f})", quality.STYLE[n][1], deciles[n])
                                     for n in quality.CALIBRATION_SHOWN if n in deciles], "Calibration")
    fig.suptitle(f"Held-back clients ({len(y):,} rows; comparators fitted on the development data)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def held_back_overlap(dev, held_back) -> tuple[str, int]:
    """A warning when held-back rows repeat development rows in every field, and how many do.

    Distinct clients can share a record (a few per thousand development rows repeat another), so only a
    share well above that suggests the file is not held back at all.
    """
    import pandas as pd

    hashes = pd.util.hash_pandas_object(dev, index=False)
    shared = int(pd.util.hash_pandas_object(held_back, index=False).isin(set(hashes)).sum())
    if shared / max(len(held_back), 1) <= max(0.01, 3 * hashes.duplicated().mean()):
        return "", shared
    return (f"warning: {shared} of {len(held_back)} held-back rows equal a development row in all {dev.shape[1]} "
            "fields: the comparators were fitted on them, and a model trained on the development data saw them, so "
            "these figures are optimistic. Is this the held-back file?"), shared


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("held_back", type=Path, help="labelled CSV of clients the model never saw")
    parser.add_argument("--model", type=Path, help="model directory (default: the shipped model)")
    parser.add_argument("--data", help="development CSV (default: $LOANSCORE_DEV_DATA or ../shared/data/...)")
    parser.add_argument("--bootstrap", type=int, default=2000, help="paired bootstrap resamples")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--models", default=",".join(COMPARATORS),
                        help=f"comma-separated comparators, a subset of {','.join(COMPARATORS)}")
    parser.add_argument("--plot", type=Path, help="draw ROC curves and a reliability diagram here (PNG)")
    args = parser.parse_args(argv)
    if not args.held_back.is_file():
        parser.error(f"held-back file {args.held_back} does not exist")
    comparators = quality.model_list(parser, args.models, COMPARATORS)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import pandas as pd
    from sklearn.model_selection import train_test_split

    from loanscore.runtime.backtest import evaluate
    from loanscore.runtime.errors import InputError
    from loanscore.runtime.performance import classification_metrics
    from loanscore.runtime.schema import Schema
    from loanscore.train.data import Dataset, load_dataset

    started = time.perf_counter()
    p_shipped, scorer, stability = score_shipped(args.model, args.held_back)
    threshold, manifest = scorer.threshold, scorer.model.manifest
    schema = Schema.from_dict(manifest["schema"])
    try:
        dev_ds = load_dataset(quality.find_data(args.data), schema)
        test_ds = load_dataset(args.held_back, schema)
    except InputError as err:
        sys.exit(f"error: {err}")
    # One frame, development rows first, so quality.py's fitters (which index rows) score the held-back ones.
    n_dev, n_test = len(dev_ds.labels), len(test_ds.labels)
    ds = Dataset(X=pd.concat([dev_ds.X, test_ds.X], ignore_index=True), y=np.concatenate([dev_ds.labels, test_ds.labels]),
                 fingerprint={"development": dev_ds.fingerprint, "held_back": test_ds.fingerprint})
    dev, test = np.arange(n_dev), np.arange(n_dev, n_dev + n_test)
    y = ds.labels[test]
    print(f"held-back {args.held_back.name}: {n_test} rows, default rate {y.mean():.4f}; "
          f"comparators fitted on {n_dev} development rows", file=sys.stderr)
    overlap, shared = held_back_overlap(dev_ds.X[schema.input_names], test_ds.X[schema.input_names])
    if overlap:
        print(overlap, file=sys.stderr)

    predictions = {"shipped": p_shipped}
    thresholds = {"shipped": threshold}
    itr, iva = train_test_split(dev, test_size=quality.INNER_VALIDATION, stratify=ds.labels[dev],
                                random_state=quality.SEED)
    for name in comparators:
        predict, rule, info = quality.FITTERS[name](ds, schema, itr, iva)
        val_rows, p_val = info.get("validation_rows") or (iva, predict(iva))
        thresholds[name] = rule.choose(ds.labels[val_rows], p_val)["value"]
        predictions[name] = predict(test)

    results = {name: classification_metrics(y, p, thresholds[name]) for name, p in predictions.items()}
    deciles = {name: quality.calibration_deciles(y, p) for name, p in predictions.items()}
    versus = {name: paired_bootstrap(y.astype(float), p_shipped, p, args.bootstrap)
              for name, p in predictions.items() if name != "shipped"}
    backtest = evaluate(y, p_shipped, manifest, source=args.held_back.name, outcome=schema.label)
    seconds = time.perf_counter() - started
    print(f"\n{n_test} held-back rows, each model at its own decision threshold; {seconds:.0f} s\n")
    print(table(results))
    print(f"\nshipped minus each model, paired bootstrap ({args.bootstrap} resamples, 95 % interval):\n")
    print("| versus | ROC AUC diff | 95 % interval | shipped higher | Brier diff | 95 % interval | shipped lower |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, b in versus.items():
        lo, hi = b["roc_auc_diff_ci95"]
        blo, bhi = b["brier_diff_ci95"]
        print(f"| {name} | {b['roc_auc_diff']:+.4f} | [{lo:+.4f}, {hi:+.4f}] | {b['share_a_higher_auc']:.1%} | "
              f"{b['brier_diff']:+.5f} | [{blo:+.5f}, {bhi:+.5f}] | {b['share_a_lower_brier']:.1%} |")
    if overlap:
        print(f"\n{overlap}")
    if stability is not None:
        top = max(stability.fields, key=lambda f: f.psi)
        print(f"\nPopulation stability against the model's reference ({stability.reference.source.get('file')}): "
              f"score PSI {stability.score.psi:.4f} (chance level {stability.score.chance:.4f}), largest field PSI "
              f"{top.name} {top.psi:.4f} (chance level {top.chance:.4f}); {stability.worst} (loanscore monitor)")
    worst = min(backtest.bands, key=lambda b: b.p_value)
    print(f"\nBack-test of the shipped model against its out-of-fold figures (loanscore backtest): discrimination "
          f"{backtest.discrimination} (AUC {backtest.metrics['roc_auc']:.4f} against "
          f"{(backtest.development or {}).get('roc_auc', float('nan')):.4f}, one-sided p {backtest.auc_p_value:.3g}); "
          f"calibration {backtest.calibration} ({backtest.defaults} defaults against {backtest.expected_defaults:.1f} "
          f"expected, p {backtest.calibration_p_value:.3g}; smallest band p {worst.p_value:.3g}, "
          f"alert below {backtest.band_alpha:.2g})")
    cv = manifest.get("metrics", {}).get("cross_validation", {}).get("lstm_cnn", {}).get("roc_auc")
    if cv:
        print(f"\nThe shipped configuration's 5-fold CV ROC AUC on the development data: {cv['mean']:.4f} ± {cv['sd']:.4f}")
    if args.plot:
        plot(args.plot, y, predictions, results, deciles)
        print(f"ROC curves and calibration: {args.plot}", file=sys.stderr)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({
            "held_back": test_ds.fingerprint, "development": dev_ds.fingerprint,
            "model": {"dir": str(args.model or "shipped"), "sha256": manifest["sha256"]},
            "rows_equal_to_development": shared,
            "population_stability": stability.to_dict() if stability is not None else None,
            "backtest": backtest.to_dict(),
            "results": results, "shipped_versus": versus, "deciles": deciles,
            "seconds": round(seconds, 1),
        }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
