"""Model quality: the LSTM-CNN against tuned LightGBM and logistic regression, on the same CV folds.

Usage::

    python benchmarks/quality.py [--data PATH] [--folds 5] [--repeats 1] [--out results.json] [--jobs N]
                                 [--models lstm_cnn,lightgbm,lightgbm_refit,lightgbm_reference,logreg]
                                 [--plot quality.png]

5-fold stratified cross-validation (shuffle, random_state 42) on the development
data. In each outer fold every model gets the same inner split of the training
fold (80/20, stratified, seed 42): it fits on the inner-training part and uses
the inner-validation part for early stopping, hyperparameter choice,
calibration and the decision threshold. The outer test fold is only scored.

* ``lstm_cnn``: ``loanscore.train.trainer.fit_model`` with the default
  ``TrainConfig``, i.e. exactly what ``loanscore train`` builds. With a
  cross-fitted ensemble (``cross_fit``) it pools the inner split and fits one
  member per inner fold; calibration and the threshold then come from the
  out-of-fold predictions on the whole training fold. Each member learns from
  its labels blended with scikit-learn boosted trees' out-of-fold probabilities
  on its own training rows (``teacher``); no test-fold row is involved.
* ``lightgbm``: the 23 raw features; a small grid (leaves x min_child_samples x
  feature fraction) at learning rate 0.02, each with early stopping on the inner
  validation split; the grid point with the best inner-validation ROC AUC is kept.
* ``lightgbm_refit``: the same choice refitted on the whole training fold, with the
  tree count scaled to its rows: LightGBM as one would ship it.
* ``lightgbm_reference``: the data README's plain LightGBM (400 trees, no search)
  on the whole training fold.
* ``logreg``: standardized raw features, C chosen on the inner validation split.

Thresholds: the LSTM-CNN's by its default rule (``cost``: its Platt-calibrated
probability at least 1/6 for the 5:1 costs); the others', whose probabilities
are not calibrated, at the least cost on the validation labels (``cost_empirical``,
the same costs).

After the table, each model is paired with the LSTM-CNN fold by fold: ROC AUC
differences, their mean with a 95 % interval that allows for the folds'
overlapping training sets (Nadeau & Bengio's corrected resampled t-test), and
where the goal's margin over the tuned LightGBM (+0.005) falls.

``--repeats R`` runs the cross-validation R times, shuffled with seeds 42,
43, …; the first is the protocol above and its table stays as it is. Then a
second comparison pools all R x k folds (Bouckaert & Frank's corrected
repeated cross-validation test): how much of the margin is the one split's
luck. R times the work.

``--plot`` draws what the table says: each model's ROC AUC fold by fold, and a
reliability diagram of every row's probability from the fold that tested it
(its deciles are in the JSON as ``out_of_fold_deciles``).

Needs the ``[train]`` and ``[bench]`` extras. Data: ``--data``, else
``$LOANSCORE_DEV_DATA``, else ``../shared/data/uci_credit_card_dev.csv.gz``
relative to the project root (UCI "default of credit card clients", Yeh & Lien
2009, CC BY 4.0).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "uci_credit_card_dev.csv.gz"
SEED = 42
INNER_VALIDATION = 0.2
MODELS = ("lstm_cnn", "lightgbm", "lightgbm_refit", "lightgbm_reference", "logreg")
SUMMARY = ("roc_auc", "pr_auc", "ks", "brier", "ece", "accuracy", "precision", "recall", "f1", "threshold",
           "approval_rate", "cost", "seconds")

LGBM_GRID: list[dict[str, Any]] = [
    {"num_leaves": leaves, "min_child_samples": mcs, "colsample_bytree": col}
    for leaves in (7, 15, 31) for mcs in (50, 200) for col in (0.5, 0.8)
]
LGBM_FIXED: dict[str, Any] = {"learning_rate": 0.02, "n_estimators": 3000, "subsample": 0.8, "subsample_freq": 1,
              "reg_lambda": 1.0, "random_state": SEED, "n_jobs": 2, "verbose": -1, "deterministic": True,
              "force_row_wise": True}
LGBM_PATIENCE = 200
LGBM_REFERENCE: dict[str, Any] = {"n_estimators": 400, "learning_rate": 0.02, "num_leaves": 31, "min_child_samples": 50,
                  "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8, "random_state": SEED,
                  "n_jobs": 2, "verbose": -1, "deterministic": True, "force_row_wise": True}
"""The settings of the plain LightGBM whose CV figure (0.7823) the data README gives."""
LOGREG_C = (0.001, 0.01, 0.1, 1.0)
GOAL_MARGIN = 0.005
"""The issue's goal: the LSTM-CNN's mean ROC AUC at least this much above LightGBM's."""
GOAL_AUC = 0.790
"""The issue's other goal: the LSTM-CNN's mean ROC AUC at least this."""
STYLE = {"lstm_cnn": ("LSTM-CNN", "#1f5f99"), "lightgbm": ("LightGBM, tuned", "#c05a1a"),
         "lightgbm_refit": ("LightGBM, tuned, refitted", "#e3a36f"),
         "lightgbm_reference": ("LightGBM, data README's", "#8c8c8c"), "logreg": ("logistic regression", "#4f8f3a"),
         "shipped": ("shipped LSTM-CNN", "#1f5f99")}
"""How the plots name and colour each model."""
CALIBRATION_SHOWN = ("lstm_cnn", "shipped", "lightgbm", "logreg")
"""The models a reliability diagram draws: more lines would hide each other."""


def find_data(arg: str | None) -> Path:
    path = Path(arg) if arg else Path(os.environ.get("LOANSCORE_DEV_DATA", DEFAULT_DATA))
    if not path.is_file():
        sys.exit(f"error: development data not found at {path}. Pass --data PATH or set LOANSCORE_DEV_DATA "
                 f"(expected ../shared/data/uci_credit_card_dev.csv.gz relative to {ROOT}).")
    return path


def outer_folds(y: np.ndarray, folds: int, shuffle: int = SEED) -> list[tuple[np.ndarray, np.ndarray]]:
    """(training rows, test rows) per outer fold: the benchmark's with the default shuffle seed, one of
    ``--repeats``'s with 43, 44, …; every script that compares with this benchmark splits by it."""
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(folds, shuffle=True, random_state=shuffle).split(np.zeros(len(y)), y))


def model_list(parser: argparse.ArgumentParser, text: str, known: Sequence[str]) -> list[str]:
    """The comma-separated ``--models`` value, refused by name where it lists a model outside ``known``."""
    models = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in models if m not in known]
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {', '.join(known)}")
    return models


def fit_lstm_cnn(ds, schema, itr, iva, config=None):
    """``config``: the default ``TrainConfig`` unless a screening run (``search.py``) passes another."""
    from loanscore.train.trainer import TrainConfig, fit_model

    from loanscore.train.monotone import later_features, lowered_share
    from loanscore.train.riskier import ROLES, riskier_steps

    config = config or TrainConfig()
    run = fit_model(ds, itr, iva, schema, config, progress=lambda s: None)
    validation = run.info["validation"]

    def later_lowers(idx):
        """Per riskier step (``loanscore.train.riskier``: a status month one month later, a credit line or a
        month's payment 20 % lower), the share of rows whose P(default) falls when the step is taken:
        ``later_lowers`` for the steps the training penalty covered, ``riskier_lowers`` per role for all, and
        ``riskier_lowers_on_time`` the same among the rows on time in the newest month."""
        X = ds.X.iloc[idx]
        steps = riskier_steps(schema, ROLES)
        shares = lowered_share(lambda F: run.predict(X, features=F), run.features(X),
                               later_features(X, schema, run.features, ROLES))
        per_role = {role: [s for step, s in zip(steps, shares) if step.role == role] for role in ROLES}
        newest = next((h.columns[-1] for h in schema.history if h.role == "status"), None)
        on_time = X[X[newest] <= 0] if newest else X.iloc[:0]
        by_status = lowered_share(lambda F: run.predict(on_time, features=F), run.features(on_time),
                                  later_features(on_time, schema, run.features, ROLES)) if len(on_time) else []
        return ([s for step, s in zip(steps, shares) if step.role in config.monotone_roles],
                {role: got for role, got in per_role.items() if got},
                {role: [s for step, s in zip(steps, by_status) if step.role == role] for role in ROLES
                 if by_status and per_role[role]})

    return (lambda idx: run.predict(ds.X.iloc[idx])), config.threshold, {
        "epochs": [e["epochs_run"] for e in run.epochs], "ensemble": len(run.epochs),
        "cross_fit": config.cross_fit, "validation": validation["kind"],
        "validation_rows": (validation["rows"], validation["p"]),
        **({"later_lowers": later_lowers} if riskier_steps(schema, ROLES) else {})}


def positive(model: Any, X: np.ndarray) -> np.ndarray:
    """The model's probability of the positive class (default) for each row of ``X``."""
    return np.asarray(model.predict_proba(X))[:, 1]


def fit_lightgbm(ds, schema, itr, iva):
    import lightgbm as lgb
    from sklearn.metrics import roc_auc_score

    from loanscore.train.threshold import ThresholdRule

    X = ds.X[schema.input_names].to_numpy(np.float64)
    y = ds.labels
    best: tuple[float, Any, dict[str, Any]] | None = None
    for params in LGBM_GRID:
        model = lgb.LGBMClassifier(**LGBM_FIXED, **params)
        model.fit(X[itr], y[itr], eval_X=X[iva], eval_y=y[iva], eval_metric="auc",
                  callbacks=[lgb.early_stopping(LGBM_PATIENCE, verbose=False)])
        auc = roc_auc_score(y[iva], positive(model, X[iva]))
        if best is None or auc > best[0]:
            best = (auc, model, params)
    assert best is not None, "LGBM_GRID is not empty"
    auc, model, params = best
    return (lambda idx: positive(model, X[idx])), ThresholdRule("cost_empirical"), {
        "params": params, "trees": int(model.best_iteration_), "inner_validation_auc": float(auc)}


def fit_lightgbm_reference(ds, schema, itr, iva):
    """The data README's plain LightGBM (``LGBM_REFERENCE``, no search, no early stopping) on the whole
    training fold; its threshold is chosen on the inner validation split by the same settings fitted on
    the inner-training rows."""
    import lightgbm as lgb

    from loanscore.train.threshold import ThresholdRule

    X = ds.X[schema.input_names].to_numpy(np.float64)
    inner = lgb.LGBMClassifier(**LGBM_REFERENCE).fit(X[itr], ds.labels[itr])
    rows = np.concatenate([itr, iva])
    model = lgb.LGBMClassifier(**LGBM_REFERENCE).fit(X[rows], ds.labels[rows])
    return (lambda idx: positive(model, X[idx])), ThresholdRule("cost_empirical"), {
        "params": LGBM_REFERENCE, "validation_rows": (iva, positive(inner, X[iva]))}


def fit_lightgbm_refit(ds, schema, itr, iva):
    """``fit_lightgbm``'s choice, refitted on the whole training fold (as one would ship it).

    The LSTM-CNN's cross-fitted ensemble learns from every row of the training
    fold; this gives LightGBM the same rows: the chosen parameters, and the
    early-stopped tree count scaled by the larger row count. The threshold
    stays the one chosen on the inner validation split, where the refitted
    model has seen the rows.
    """
    import lightgbm as lgb

    inner, rule, info = fit_lightgbm(ds, schema, itr, iva)
    X = ds.X[schema.input_names].to_numpy(np.float64)
    rows = np.concatenate([itr, iva])
    trees = max(1, round(info["trees"] * len(rows) / len(itr)))
    model = lgb.LGBMClassifier(**{**LGBM_FIXED, "n_estimators": trees}, **info["params"]).fit(X[rows], ds.labels[rows])
    return (lambda idx: positive(model, X[idx])), rule, {
        **info, "trees": trees, "validation_rows": (iva, inner(iva))}


def fit_logreg(ds, schema, itr, iva):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from loanscore.train.threshold import ThresholdRule

    X = ds.X[schema.input_names].to_numpy(np.float64)
    y = ds.labels
    best: tuple[float, Any, float] | None = None
    for C in LOGREG_C:
        model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000)).fit(X[itr], y[itr])
        auc = roc_auc_score(y[iva], positive(model, X[iva]))
        if best is None or auc > best[0]:
            best = (auc, model, C)
    assert best is not None, "LOGREG_C is not empty"
    _, model, C = best
    return (lambda idx: positive(model, X[idx])), ThresholdRule("cost_empirical"), {"C": C}


FITTERS = {"lstm_cnn": fit_lstm_cnn, "lightgbm": fit_lightgbm, "lightgbm_refit": fit_lightgbm_refit,
           "lightgbm_reference": fit_lightgbm_reference, "logreg": fit_logreg}


def run_fold(name, ds, schema, tr, te, **options) -> dict:
    """Fit ``name`` on the training fold ``tr`` (inner split for validation) and score the test fold ``te``."""
    from sklearn.model_selection import train_test_split

    from loanscore.runtime.performance import classification_metrics

    itr, iva = train_test_split(tr, test_size=INNER_VALIDATION, stratify=ds.labels[tr], random_state=SEED)
    started = time.perf_counter()
    predict, rule, info = FITTERS[name](ds, schema, itr, iva, **options)
    seconds = time.perf_counter() - started
    val_rows, p_val = info.pop("validation_rows", None) or (iva, predict(iva))
    threshold = rule.choose(ds.labels[val_rows], p_val)["value"]
    p_te = predict(te)
    m = classification_metrics(ds.labels[te], p_te, threshold)
    if "later_lowers" in info:
        m["later_lowers"], m["riskier_lowers"], m["riskier_lowers_on_time"] = info.pop("later_lowers")(te)
    m.update(seconds=seconds, info=info, cost=rule.expected_cost(ds.labels[te], p_te, threshold),
             test_predictions=np.asarray(p_te, dtype=np.float64))
    if rule.rule == "cost":  # what the labels' own minimum on the validation rows would have given instead
        alt = replace(rule, rule="cost_empirical").choose(ds.labels[val_rows], p_val)
        info["cost_empirical"] = {"threshold": alt["value"], "approval_rate": float(np.mean(p_te < alt["value"])),
                                  "cost": rule.expected_cost(ds.labels[te], p_te, alt["value"])}
    return m


def evaluate(name, ds, schema, folds, log, jobs: int = 1) -> dict:
    """Every fold of ``name``; with ``jobs`` > 1, that many folds at once in worker processes.

    TensorFlow keeps only part of the second core busy when training these small networks, so two
    folds at once on 2 cores finish sooner. Each worker has the parent's thread settings, so a fold's
    figures do not depend on ``jobs`` (op determinism); its training seconds do.
    """
    rows = []

    def done(k: int, m: dict) -> None:
        m["fold"] = k + 1
        rows.append(m)
        log(f"  {name} fold {k + 1}/{len(folds)}: ROC AUC {m['roc_auc']:.4f}  Brier {m['brier']:.4f}  "
            f"ECE {m['ece']:.4f}  [{m['seconds']:.0f} s]")

    if jobs > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(min(jobs, len(folds)), mp_context=mp.get_context("spawn")) as pool:
            pending = {pool.submit(run_fold, name, ds, schema, tr, te): k for k, (tr, te) in enumerate(folds)}
            for future in as_completed(pending):
                done(pending[future], future.result())
        rows.sort(key=lambda m: m["fold"])
    else:
        for k, (tr, te) in enumerate(folds):
            done(k, run_fold(name, ds, schema, tr, te))
    return summarize(rows)


def out_of_fold(predictions: list[np.ndarray], folds: list, n: int) -> np.ndarray:
    """Every row's probability from the fold that tested it (NaN for a row no fold tested)."""
    p = np.full(n, np.nan)
    for scores, (_, te) in zip(predictions, folds):
        p[te] = scores
    return p


def summarize(rows: list[dict]) -> dict:
    summary = {key: {"mean": float(np.mean([r[key] for r in rows])), "sd": float(np.std([r[key] for r in rows], ddof=1))}
               for key in SUMMARY}
    return {"summary": summary, "folds": rows}


def riskier_report(folds: list[dict]) -> str:
    """Per role of ``loanscore.train.riskier``: how often its worst single step lowers P(default), fold by fold."""
    lines = ["LSTM-CNN: share of a test fold whose P(default) falls by 0.001 or more when one column is made riskier "
             "(the role's worst column; per fold):"]
    for role in folds[0]["riskier_lowers"]:
        worst = [max(f["riskier_lowers"][role]) for f in folds]
        lines.append(f"  {role}: {' / '.join(f'{w:.2%}' for w in worst)} (mean {np.mean(worst):.2%})")
    return "\n".join(lines)


def paired(results: dict, reference: str = "lstm_cnn", folds: int | None = None) -> dict:
    """``reference``'s ROC AUC minus each other model's, fold by fold, with a 95 % interval for the mean.

    The folds' training sets overlap, so their differences are not independent and a plain paired
    t-test is too sure of itself; the interval and p-value use Nadeau and Bengio's corrected variance
    ``(1/n + n_test/n_train) * s**2`` (Machine Learning 52, 2003) over the n differences, with
    ``n_test/n_train = 1/(folds-1)``. ``folds`` is the folds per repetition where the n differences
    come from repeated cross-validation (default: n, one repetition).
    """
    from scipy import stats

    if reference not in results:
        return {}
    a = np.array([f["roc_auc"] for f in results[reference]["folds"]])
    n = len(a)
    k = folds or n
    if n < 2:
        return {}
    out = {}
    for name in results:
        if name == reference:
            continue
        d = a - np.array([f["roc_auc"] for f in results[name]["folds"]])
        se = float(np.std(d, ddof=1) * np.sqrt(1 / n + 1 / (k - 1)))
        half = float(stats.t.ppf(0.975, n - 1) * se)
        mean = float(d.mean())
        p = float(2 * stats.t.sf(abs(mean) / se, n - 1)) if se > 0 else float(mean == 0)
        out[name] = {"differences": [round(float(x), 6) for x in d], "mean": mean, "wins": int((d > 0).sum()),
                     "ci95": [mean - half, mean + half], "p": p}
    return out


def paired_table(comparison: dict, reference: str = "lstm_cnn") -> str:
    lines = [f"| {reference} ROC AUC minus | per fold | mean | 95 % interval (corrected) | p | wins |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, c in comparison.items():
        lo, hi = c["ci95"]
        lines.append(f"| {name} | {' / '.join(f'{x:+.4f}' for x in c['differences'])} | {c['mean']:+.4f} | "
                     f"[{lo:+.4f}, {hi:+.4f}] | {c['p']:.3f} | {c['wins']}/{len(c['differences'])} |")
    return "\n".join(lines)


def paired_report(comparison: dict) -> str:
    """The paired table, then where the goal's margin over the tuned LightGBM falls against its interval."""
    report = paired_table(comparison)
    if "lightgbm" not in comparison:
        return report
    lo, hi = comparison["lightgbm"]["ci95"]
    where = ("above it" if lo > GOAL_MARGIN else "below it" if hi < GOAL_MARGIN else
             "not told apart from it by these folds (the interval contains it)")
    return (f"{report}\nthe margin over the tuned LightGBM against the goal's +{GOAL_MARGIN}: {where}; "
            f"95 % interval [{lo:+.4f}, {hi:+.4f}]")


def table(results: dict) -> str:
    names = list(results)
    lines = [f"| metric | {' | '.join(names)} |", "| --- |" + " --- |" * len(names)]
    for key in SUMMARY:
        cells = []
        for n in names:
            s = results[n]["summary"][key]
            cells.append(f"{s['mean']:.1f} ± {s['sd']:.1f}" if key == "seconds" else f"{s['mean']:.4f} ± {s['sd']:.4f}")
        lines.append(f"| {key} | {' | '.join(cells)} |")
    return "\n".join(lines)


def calibration_deciles(y: np.ndarray, p: np.ndarray) -> list[dict]:
    """The deciles of ``p``: rows, score range, mean predicted probability and observed default rate."""
    from loanscore.train.reports.evaluation import calibration_table

    return [{key: float(v) for key, v in row.items()} for row in calibration_table(y, p).to_dict("records")]


def draw_calibration(ax, curves: list[tuple[str, str, list[dict]]], title: str) -> None:
    """A reliability diagram on ``ax``: observed default rate against mean predicted, per (label, colour, deciles)."""
    top = 0.0
    ax.plot([0, 1], [0, 1], color="0.4", linestyle="--", linewidth=1, label="perfectly calibrated")
    for label, color, deciles in curves:
        predicted, observed = [d["mean_predicted"] for d in deciles], [d["observed"] for d in deciles]
        top = max(top, *predicted, *observed)
        ax.plot(predicted, observed, marker="o", color=color, label=label)
    top = min(1.0, top * 1.08 + 0.02)
    ax.set(xlim=(0, top), ylim=(0, top), xlabel="mean predicted probability (per decile of score)",
           ylabel="observed default rate", title=title)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)


def plot(results: dict, deciles: dict[str, list[dict]], rows: int, path: Path) -> None:
    """Left: ROC AUC per test fold, one line per model. Right: reliability by decile of out-of-fold score."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.6), dpi=110)
    k = len(next(iter(results.values()))["folds"])
    best = max(r["summary"]["roc_auc"]["mean"] for r in results.values())
    for name, r in results.items():
        label, color = STYLE[name]
        aucs = [f["roc_auc"] for f in r["folds"]]
        if np.mean(aucs) < best - 0.03:  # logistic regression would flatten the rest: named, not drawn
            left.plot([], [], " ", label=f"{label} (mean {np.mean(aucs):.4f}): below the scale")
            continue
        left.plot(range(1, k + 1), aucs, marker="o", color=color, linewidth=2 if name == "lstm_cnn" else 1.2,
                  label=f"{label} (mean {np.mean(aucs):.4f})")
    left.axhline(GOAL_AUC, color="0.4", linestyle="--", linewidth=1, label=f"issue 3's goal ({GOAL_AUC:.3f})")
    left.set_xticks(range(1, k + 1))
    left.set(xlabel="test fold", ylabel="ROC AUC", title="ROC AUC on each test fold")
    left.legend(loc="upper left", fontsize=8)
    left.grid(alpha=0.3)

    summary = {name: r["summary"] for name, r in results.items()}
    draw_calibration(right, [(f"{STYLE[n][0]} (Brier {summary[n]['brier']['mean']:.4f}, "
                              f"ECE {summary[n]['ece']['mean']:.4f})", STYLE[n][1], deciles[n])
                             for n in CALIBRATION_SHOWN if n in deciles],
                     "Calibration of every row's out-of-fold probability")
    fig.suptitle(f"{k}-fold CV on the development data "
                 f"({rows:,} rows; Brier and ECE are means over the folds)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="development CSV (default: $LOANSCORE_DEV_DATA or ../shared/data/...)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1,
                        help="cross-validation runs, shuffled with seeds 42, 43, ...; the first is the benchmark, "
                             "all of them together give a second, pooled paired comparison")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated subset of {','.join(MODELS)}")
    parser.add_argument("--jobs", type=int, default=1,
                        help="LSTM-CNN folds trained at once, in worker processes: the same figures in less time, "
                             "but each fold's training seconds then include the wait for the shared cores")
    parser.add_argument("--plot", type=Path, help="draw ROC AUC per fold and a reliability diagram as a PNG here")
    parser.add_argument("--without", default="", metavar="FIELDS",
                        help="comma-separated fields (or history channels) every model goes without, e.g. "
                             "SEX,MARRIAGE,AGE: what leaving protected attributes out costs")
    args = parser.parse_args(argv)
    models = model_list(parser, args.models, MODELS)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    path = find_data(args.data)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from loanscore.runtime.errors import SchemaError
    from loanscore.runtime.schema import Schema
    from loanscore.train.data import load_dataset

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    without = [f.strip() for f in args.without.split(",") if f.strip()]
    try:
        schema = Schema.default().without(without)
    except SchemaError as exc:
        parser.error(str(exc))
    ds = load_dataset(path, schema)
    k, seeds = args.folds, [SEED + r for r in range(args.repeats)]
    folds = [split for seed in seeds for split in outer_folds(ds.labels, k, seed)]
    started = time.perf_counter()
    results, repeated, predictions = {}, {}, {}
    for name in models:
        log(f"{name}: {k}-fold CV on {path.name} ({len(ds.labels)} rows)"
            + (f" without {', '.join(without)}" if without else "")
            + (f", {args.repeats} times (seeds {', '.join(map(str, seeds))})" if args.repeats > 1 else ""))
        rows = evaluate(name, ds, schema, folds, log, jobs=args.jobs if name == "lstm_cnn" else 1)["folds"]
        predictions[name] = out_of_fold([m.pop("test_predictions") for m in rows][:k], folds[:k], len(ds.labels))
        for i, m in enumerate(rows):
            m["fold"] = i % k + 1
            if args.repeats > 1:
                m["repeat"] = i // k + 1
        results[name], repeated[name] = summarize(rows[:k]), summarize(rows)
    total = time.perf_counter() - started
    print(f"{args.folds}-fold stratified CV (shuffle, seed {SEED}) on {path.name}, {len(ds.labels)} rows; "
          f"mean ± sd over folds; total {total:.0f} s\n")
    print(table(results))
    if "riskier_lowers" in (results.get("lstm_cnn", {}).get("folds") or [{}])[0]:
        print(f"\n{riskier_report(results['lstm_cnn']['folds'])}")
    comparison = paired(results)
    if comparison:
        print(f"\n{paired_report(comparison)}")
    pooled = {}
    if args.repeats > 1:
        pooled = {"repeats": args.repeats, "seeds": seeds,
                  "roc_auc": {n: r["summary"]["roc_auc"] for n, r in repeated.items()},
                  "paired_roc_auc": paired(repeated, folds=k), "folds": {n: r["folds"] for n, r in repeated.items()}}
        print(f"\n{args.repeats} x {k}-fold CV (seeds {', '.join(map(str, seeds))}), all {args.repeats * k} folds: "
              + ", ".join(f"{n} ROC AUC {s['mean']:.4f} ± {s['sd']:.4f}" for n, s in pooled["roc_auc"].items()))
        if pooled["paired_roc_auc"]:
            print(paired_report(pooled["paired_roc_auc"]))
    deciles = {name: calibration_deciles(ds.labels, p) for name, p in predictions.items()}
    if args.out:
        from loanscore.train.trainer import TrainConfig, versions

        args.out.write_text(json.dumps({
            "data": {"file": path.name, "rows": int(len(ds.labels))}, "folds": args.folds, "seed": SEED,
            **({"without": without} if without else {}),
            "inner_validation": INNER_VALIDATION, "lstm_cnn_config": TrainConfig().to_dict(),
            "lightgbm_grid": LGBM_GRID, "lightgbm_fixed": LGBM_FIXED, "lightgbm_reference": LGBM_REFERENCE,
            "seconds": total,
            "versions": versions(), "results": results, "paired_roc_auc": comparison,
            "out_of_fold_deciles": deciles,
            **({"repeated": pooled} if pooled else {}),
        }, indent=2) + "\n")
    if args.plot:
        plot(results, deciles, len(ds.labels), args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
