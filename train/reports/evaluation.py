"""``loanscore report model``: how a model directory performs on labelled data, and for whom.

The model is scored through the runtime (``Scorer.load(model_dir).score_columns``),
exactly as a lending app would score, so the report measures the shipped
ONNX graph, not the training-time Keras model.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from loanscore.runtime.errors import ModelError
from loanscore.runtime.grades import MasterScale
from loanscore.runtime.reasons import Reason
from loanscore.runtime.schema import Schema
from loanscore.runtime.scorer import Scorer
from loanscore.runtime.stability import PSI_SHIFT, PSI_WATCH, SHIFT, WATCH, Reference, recorded_scale
from loanscore.runtime.stability import Report as StabilityReport
from loanscore.runtime.validate import check_columns
from loanscore.runtime.performance import classification_metrics

from ..riskier import ROLES, WORDS, riskier_steps
from ._data import LabelledData, read_labelled, with_left_out
from .html import Report, new_figure, pct
from .slices import AGE_EDGES, AGE_FIELD, ALPHA, FOUR_FIFTHS, MIN_GROUP, all_slices
from .sources import source_for

GRID = np.round(np.arange(0.01, 0.991, 0.01), 2)
"""Thresholds of the trade-off chart."""
CALIBRATION_BINS = 10
REASONS = 3
"""Reason codes per declined applicant that the report tallies: what an adverse-action notice would state."""
PAYER, DEFAULTER, ACCENT = "#3b7dd8", "#d8553b", "#52606d"


@dataclass
class Evaluation:
    """Scores of a model on labelled data: everything the report shows, before any drawing."""

    model_dir: Path
    manifest: dict
    data: LabelledData
    y: np.ndarray
    p: np.ndarray
    X: pd.DataFrame
    scored: np.ndarray
    """Boolean mask over the file's labelled rows: True where the runtime scored the row."""
    rejections: dict[str, int]
    threshold: float
    metrics: dict
    slices: pd.DataFrame
    costs: dict | None
    in_sample: bool
    stability: StabilityReport | None = None
    """The scored rows against the reference population in the manifest (``loanscore monitor``'s figures)."""
    reasons: pd.DataFrame | None = None
    """Per field or history channel: how often it is a declined applicant's first reason, and among their first
    three (:func:`reason_tally`); ``None`` where the manifest records no population to explain against."""
    riskier: list[dict] | None = None
    """Per riskier step (a repayment month one month later, a credit line or a month's payment lower): how
    P(default) answers it (:func:`riskier_response`); ``None`` where the schema has no column such a step covers."""
    model_name: str = ""
    """How the report names the model (default: its directory's name)."""


def evaluate(data: str | Path, model_dir: str | Path | None = None, *, model_name: str | None = None, band_field: str | None = AGE_FIELD,
             band_edges: Sequence[float] = AGE_EDGES, min_group: int = MIN_GROUP) -> Evaluation:
    """Score ``data`` with ``model_dir`` (default: the shipped model) and compute metrics and slices."""
    scorer = Scorer.load(model_dir)
    schema = scorer.schema
    d = read_labelled(data, schema)
    explains = "population" in scorer.model.manifest
    batch = scorer.score_columns({c: d.raw[c].to_numpy() for c in schema.input_names}, reasons=REASONS if explains else 0)
    scored = np.isfinite(batch.probability)
    rejections: dict[str, int] = {}
    for errs in batch.errors.values():
        for e in errs:
            rejections[e.field] = rejections.get(e.field, 0) + 1
    y, p = d.y[scored], batch.probability[scored]
    if len(np.unique(y)) < 2:
        from loanscore.runtime.errors import InputError

        raise InputError(f"{d.path} has only one class among its {len(y)} scored rows; "
                         "ROC AUC and the other metrics need both defaulters and payers.")
    sliced, values = with_left_out(d, schema)
    X = values[scored].reset_index(drop=True)
    threshold = scorer.threshold
    manifest = scorer.model.manifest
    feeds = check_columns(schema.columns(), {c: d.raw[c].to_numpy()[scored] for c in schema.input_names}, len(p)).feeds
    return Evaluation(
        model_dir=scorer.model.directory, manifest=manifest, data=d, y=y, p=p, X=X, scored=scored,
        rejections=rejections, threshold=threshold, metrics=classification_metrics(y, p, threshold),
        slices=all_slices(sliced, X, y, p, threshold, band_field=band_field, band_edges=band_edges, min_group=min_group),
        costs=threshold_costs(manifest), in_sample=_same_file(d.path, manifest),
        stability=population_stability(scorer, feeds, p, d.path.name),
        model_name=model_name or scorer.model.directory.name,
        reasons=reason_tally(scorer, batch.reasons, batch.decision == "decline") if batch.reasons is not None else None,
        riskier=riskier_response(scorer, feeds, p),
    )


def reason_tally(scorer: Scorer, reasons: Sequence[Sequence[Reason]], declined: np.ndarray) -> pd.DataFrame:
    """Per group of inputs that a reason can name: declined applicants whose first reason it is, and whose first
    :data:`REASONS` reasons include it. ``attrs`` holds how many were declined, how many got no reason, and how
    many were first told each statement (where the model words its reasons)."""
    picked = [reasons[i] for i in np.flatnonzero(declined).tolist()]
    names = [name for name, _ in scorer.explainer.groups]
    first = pd.Series([r[0].field for r in picked if r], dtype=object).value_counts()
    among = pd.Series([x.field for r in picked for x in r[:REASONS]], dtype=object).value_counts()
    n = max(len(picked), 1)
    table = pd.DataFrame({"field": names, "first": [int(first.get(k, 0)) for k in names],
                          "among_first": [int(among.get(k, 0)) for k in names]})
    table["first_share"], table["among_first_share"] = table["first"] / n, table["among_first"] / n
    table = table.sort_values(["first", "among_first"], ascending=False, kind="stable").reset_index(drop=True)
    stated = pd.Series([r[0].statement for r in picked if r and r[0].statement], dtype=object).value_counts()
    table.attrs.update(declined=len(picked), without=sum(1 for r in picked if not r),
                       stated={str(k): int(v) for k, v in stated.items()})
    return table


MIN_CHANGE = 0.001
"""A change in P(default) smaller than this (0.1 percentage point) counts as none."""
REVIEW_SHARE = 0.05
"""A step that lowers P(default) for this share of the applicants it changes, or more, is marked for review."""
BLOCK = 65_536


def riskier_response(scorer: Scorer, feeds: dict[str, np.ndarray], p: np.ndarray) -> list[dict] | None:
    """How P(default) answers a riskier applicant, one column at a time and, for a history channel, in all its
    months at once.

    A validator expects one more month of delay, a lower credit line or a smaller payment to raise P(default).
    Each step (``loanscore.train.riskier``: a status ``max(status, 0) + 1`` up to the schema's maximum, so that
    paid in full, unused and revolving credit become one month late; an amount 20 % lower) is taken on every
    scored row it changes (not one already at the top, nor a zero or missing amount), and the change in
    P(default) tallied: a row per column (``month`` None for a field) and per channel's months at once. Where the
    schema has a status channel, the share that falls is also split by its newest month, on time (0 or less) or
    late (1 or more): a model may read a smaller amount as safer for a borrower already behind, and the data
    may agree (``benchmarks/riskier_groups.py``).
    """
    steps = riskier_steps(scorer.schema, ROLES)
    if not steps or not len(p):
        return None
    newest = next((feeds[h.columns[-1]][:, 0] for h in scorer.schema.history if h.role == "status"), None)
    groups: dict[tuple[str, str], list] = {}
    for step in steps:
        groups.setdefault((step.role, step.source), []).append(step)
    rows = []
    for (role, source), group in groups.items():
        if len(group) == 1 and group[0].column == source:  # a field
            variants = [(None, group)]
        else:  # a history channel: month by month, then every month at once
            variants = [(s.column, [s]) for s in group] + ([("all months", group)] if len(group) > 1 else [])
        for month, chosen in variants:
            later = {s.column: s.apply(feeds[s.column]).astype(np.float32) for s in chosen}
            moved = np.logical_or.reduce([(v != feeds[c])[:, 0] & ~np.isnan(feeds[c][:, 0]) for c, v in later.items()])
            change = _rescored(scorer, {**feeds, **later}, p, np.flatnonzero(moved))
            n = max(len(change), 1)
            raised, lowered = int(np.sum(change >= MIN_CHANGE)), int(np.sum(change <= -MIN_CHANGE))
            row = {"role": role, "channel": source, "month": month, "rows": len(change),
                   "mean_change": float(change.mean()) if len(change) else 0.0, "raised": raised,
                   "lowered": lowered, "raised_share": raised / n, "lowered_share": lowered / n}
            if newest is not None:
                status = newest[moved]
                for name, among in (("on_time", status <= 0), ("late", status >= 1)):
                    count = int(among.sum())
                    row[f"{name}_rows"] = count
                    row[f"{name}_lowered_share"] = int(np.sum(change[among] <= -MIN_CHANGE)) / max(count, 1)
            rows.append(row)
    return rows


def by_status(row: dict) -> str:
    """``'; 2.5 % of the 18,531 on time in the newest month and 45.4 % of the 5,469 late'``, where the row has
    it: where a step that lowers P(default) does so."""
    if not row.get("late_rows"):
        return ""
    return (f"; {pct(row['on_time_lowered_share'])} of the {row['on_time_rows']:,} on time in the newest month and "
            f"{pct(row['late_lowered_share'])} of the {row['late_rows']:,} late")


def penalized_roles(manifest: dict) -> list[str]:
    """The riskier steps whose scoring lower the training penalty covered (``loanscore train --monotone-roles``)."""
    config = (manifest.get("training") or {}).get("config") or {}
    return list(config.get("monotone_roles", ["status"])) if config.get("monotone") else []


def review_note(role: str, penalized: list[str]) -> str:
    """What a reviewer should know of a step that lowers P(default) for REVIEW_SHARE of applicants or more."""
    if role == "status":
        return ("The months of a channel act together (a new delinquency after an on-time month may score worse "
                "than an old one)")
    return ("Training penalized this step, not enough to remove it" if role in penalized else
            f"Training did not penalize this step (`loanscore train --monotone-roles` with {role} does)")


def _rescored(scorer: Scorer, feeds: dict[str, np.ndarray], p: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """P(default) of ``rows`` with ``feeds`` minus ``p``, in blocks of BLOCK rows to bound the memory."""
    parts = [np.zeros(0)]
    for start in range(0, len(rows), BLOCK):
        take = rows[start:start + BLOCK]
        parts.append(scorer.model.run({name: feed[take] for name, feed in feeds.items()})[0].reshape(-1) - p[take])
    return np.concatenate(parts)


def population_stability(scorer: Scorer, feeds: dict[str, np.ndarray], p: np.ndarray, source: str) -> StabilityReport | None:
    """The scored rows (validated inputs, as ``check_columns`` gives them, and probabilities) against the
    manifest's reference population, if it has one."""
    try:
        reference = Reference.from_manifest(scorer.model.manifest, "the model")
    except ModelError:
        return None
    columns = scorer.schema.columns()
    reference.check_columns(columns)
    report = StabilityReport(source, reference)
    report.add(len(p), feeds, p)
    return report.finish()


def write_model_report(data: str | Path, output: str | Path, model_dir: str | Path | None = None,
                       **kwargs) -> dict[str, Path]:
    """Evaluate and write ``output`` (HTML) with ``<stem>_figures/*.png`` and ``<stem>.json``."""
    return build_model_report(evaluate(data, model_dir, **kwargs)).write(output)


def threshold_costs(manifest: dict) -> dict | None:
    """The misclassification costs to chart: the threshold rule's own inputs, else the training configuration's."""
    rule = manifest.get("threshold", {})
    inputs = rule.get("inputs", {})
    if rule.get("rule") in ("cost", "cost_empirical") and {"cost_default", "cost_decline_good"} <= set(inputs):
        return {"cost_default": float(inputs["cost_default"]), "cost_decline_good": float(inputs["cost_decline_good"]),
                "source": "the threshold rule (manifest threshold inputs)"}
    cfg = ((manifest.get("training") or {}).get("config") or {}).get("threshold") or {}
    if {"cost_default", "cost_decline_good"} <= set(cfg):
        return {"cost_default": float(cfg["cost_default"]), "cost_decline_good": float(cfg["cost_decline_good"]),
                "source": "the training configuration (the threshold itself was not chosen by cost)"}
    return None


def tradeoff(y: np.ndarray, p: np.ndarray, thresholds: np.ndarray = GRID, costs: dict | None = None) -> pd.DataFrame:
    """Per threshold: approval rate, bad rate among approved, and expected cost per applicant."""
    y = np.asarray(y).astype(int)
    rows = []
    for t in thresholds:
        approved = p < t
        n_app = int(approved.sum())
        row = {"threshold": float(t), "approval_rate": n_app / len(y),
               "bad_rate_approved": float(y[approved].mean()) if n_app else math.nan}
        if costs:
            row["expected_cost"] = float((costs["cost_default"] * np.sum(approved & (y == 1))
                                          + costs["cost_decline_good"] * np.sum(~approved & (y == 0))) / len(y))
        rows.append(row)
    return pd.DataFrame(rows)


# -- the page ----------------------------------------------------------------------


def build_model_report(ev: Evaluation) -> Report:
    m, schema_name = ev.metrics, ev.manifest["schema"].get("name", "custom")
    source = source_for(schema_name)
    report = Report(
        title=f"Model evaluation: {ev.model_name} on {ev.data.path.name}",
        subtitle=(f"model directory '{ev.model_name}' (model.onnx SHA-256 {str(ev.manifest.get('sha256', '?'))[:12]}…, created "
                  f"{ev.manifest.get('created', '?')}), threshold {ev.threshold:g}"),
        footer=[source.credit if source else f"Data: {ev.data.path.name} (schema '{schema_name}').",
                "Figures describe this file's applicants; they are not a guarantee for future applicants."],
    )
    _summary(report, ev)
    _discrimination(report, ev)
    _scores(report, ev)
    _calibration(report, ev)
    _grades(report, ev)
    _confusion(report, ev)
    _tradeoff(report, ev)
    _slices(report, ev)
    _reasons(report, ev)
    _riskier(report, ev)
    _stability(report, ev)
    report.data.update({
        "model": ev.model_name, "model_sha256": ev.manifest.get("sha256"), "data_file": ev.data.path.name,
        "rows": {"read": ev.data.rows_read, "bad_label": ev.data.bad_label_rows, "rejected": int((~ev.scored).sum()),
                 "scored": int(ev.scored.sum())},
        "in_sample": ev.in_sample, "threshold": ev.manifest.get("threshold"), "metrics": m,
        "slices": ev.slices.to_dict("records"),
        "four_fifths_flags": ev.slices[ev.slices["four_fifths_flag"]][["field", "group", "approval_ratio"]].to_dict("records"),
    })
    return report


def _summary(report: Report, ev: Evaluation) -> None:
    m, rule = ev.metrics, ev.manifest.get("threshold", {})
    report.section("Summary")
    rejected = int((~ev.scored).sum())
    report.text(f"{ev.data.rows_read:,} rows read; {len(ev.y):,} scored ({pct(float(ev.y.mean()))} defaulted)"
                + (f"; {ev.data.bad_label_rows:,} dropped for a label other than 0/1" if ev.data.bad_label_rows else "")
                + (f"; {rejected:,} refused by the runtime's input contract "
                   f"({', '.join(f'{k}: {v:,}' for k, v in sorted(ev.rejections.items()))})" if rejected else "") + ".")
    report.text(f"Decision: decline when the probability of default is at least {ev.threshold:g} "
                f"(rule '{rule.get('rule', '?')}': {rule.get('description', '')}).")
    if ev.in_sample:
        report.text("This is the file the model was trained on (same SHA-256): the training and validation rows are "
                    "both in it, so these figures are optimistic. Evaluate on held-out data before relying on them.",
                    note=True)
    val = (ev.manifest.get("metrics") or {}).get("validation") or {}
    keys = [("accuracy", "accuracy"), ("precision", "precision (of declines, defaulters)"),
            ("recall", "recall (defaulters declined)"), ("f1", "F1"), ("roc_auc", "ROC AUC"), ("pr_auc", "PR AUC"),
            ("ks", "KS"), ("brier", "Brier score"), ("ece", "expected calibration error"),
            ("approval_rate", "approval rate"), ("default_rate", "default rate")]
    report.table(["metric", f"this file (n={m['n']:,})", f"validation at training (n={val.get('n', '–')})"],
                 [[label, m[k], val.get(k)] for k, label in keys])


def _discrimination(report: Report, ev: Evaluation) -> None:
    from sklearn.metrics import precision_recall_curve, roc_curve

    report.section("Discrimination: ROC, precision-recall and KS")
    fpr, tpr, _ = roc_curve(ev.y, ev.p)
    prec, rec, _ = precision_recall_curve(ev.y, ev.p)
    fig = new_figure(11, 4.6)
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    ax1.plot(fpr, tpr, color=DEFAULTER, lw=2, label=f"model (AUC {ev.metrics['roc_auc']:.3f})")
    ax1.plot([0, 1], [0, 1], color=ACCENT, ls="--", lw=1, label="random")
    op = ev.metrics["confusion_matrix"]
    op_fpr = op["fp"] / max(1, op["fp"] + op["tn"])
    ax1.scatter([op_fpr], [ev.metrics["recall"]], color="black", zorder=3, label=f"threshold {ev.threshold:g}")
    ax1.set(xlabel="false-positive rate (payers declined)", ylabel="true-positive rate (defaulters declined)",
            title="ROC curve", xlim=(0, 1), ylim=(0, 1.01))
    ax2.plot(rec, prec, color=PAYER, lw=2, label=f"model (average precision {ev.metrics['pr_auc']:.3f})")
    ax2.axhline(ev.y.mean(), color=ACCENT, ls="--", lw=1, label=f"default rate {pct(float(ev.y.mean()))}")
    ax2.scatter([ev.metrics["recall"]], [ev.metrics["precision"]], color="black", zorder=3, label=f"threshold {ev.threshold:g}")
    ax2.set(xlabel="recall (defaulters declined)", ylabel="precision (declined who default)",
            title="Precision-recall curve", xlim=(0, 1), ylim=(0, 1.01))
    for ax in (ax1, ax2):
        ax.legend(fontsize=8, loc="lower right" if ax is ax1 else "upper right")
        ax.grid(alpha=0.3)
    report.figure("roc_pr", fig, "ROC and precision-recall curves; the dot is the operating point at the threshold.")

    # KS: the empirical score distributions of defaulters and payers, and their largest vertical gap
    grid = np.sort(np.unique(ev.p))
    cdf1 = np.searchsorted(np.sort(ev.p[ev.y == 1]), grid, side="right") / max(1, int((ev.y == 1).sum()))
    cdf0 = np.searchsorted(np.sort(ev.p[ev.y == 0]), grid, side="right") / max(1, int((ev.y == 0).sum()))
    i = int(np.argmax(cdf0 - cdf1))
    fig = new_figure(8, 4.4)
    ax = fig.add_subplot()
    ax.plot(grid, cdf0, color=PAYER, lw=2, label="payers")
    ax.plot(grid, cdf1, color=DEFAULTER, lw=2, label="defaulters")
    ax.vlines(grid[i], cdf1[i], cdf0[i], color="black", lw=2, label=f"KS {cdf0[i] - cdf1[i]:.3f} at p = {grid[i]:.3f}")
    ax.axvline(ev.threshold, color=ACCENT, ls=":", lw=1, label=f"threshold {ev.threshold:g}")
    ax.set(xlabel="predicted probability of default", ylabel="cumulative share of class", title="KS chart", xlim=(0, 1))
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    report.figure("ks", fig, "Cumulative score distributions of payers and defaulters; KS is the largest gap between them.")
    report.data["ks_at"] = float(grid[i])


def _scores(report: Report, ev: Evaluation) -> None:
    report.section("Score distribution by class")
    fig = new_figure(8, 4.2)
    ax = fig.add_subplot()
    edges = np.linspace(0, 1, 41).tolist()
    ax.hist(ev.p[ev.y == 0], bins=edges, color=PAYER, alpha=0.55, label=f"payers (n={int((ev.y == 0).sum()):,})")
    ax.hist(ev.p[ev.y == 1], bins=edges, color=DEFAULTER, alpha=0.55, label=f"defaulters (n={int((ev.y == 1).sum()):,})")
    ax.axvline(ev.threshold, color="black", ls="--", lw=1.2, label=f"threshold {ev.threshold:g}: decline at or above")
    ax.set(xlabel="predicted probability of default", ylabel="applicants", title="Scores by outcome")
    ax.legend(fontsize=8, loc="upper right")  # placed, not searched: loc="best" over 24,000 rows is slow and warns
    ax.grid(alpha=0.3)
    report.figure("score_histogram", fig, "Histogram of predicted probabilities for payers and defaulters.")


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = CALIBRATION_BINS) -> pd.DataFrame:
    """Quantile bins of ``p``: rows, mean predicted probability and observed default rate."""
    codes = pd.qcut(pd.Series(p), q=bins, labels=False, duplicates="drop")
    frame = pd.DataFrame({"bin": codes, "p": p, "y": y})
    out = frame.groupby("bin").agg(count=("y", "size"), mean_predicted=("p", "mean"), observed=("y", "mean"),
                                   low=("p", "min"), high=("p", "max"))
    return out.reset_index(drop=True)


def _calibration(report: Report, ev: Evaluation) -> None:
    report.section("Calibration")
    table = calibration_table(ev.y, ev.p)
    fig = new_figure(6.5, 6.2)
    gs = fig.add_gridspec(2, 1, height_ratios=[3, 1])
    ax, axh = fig.add_subplot(gs[0]), fig.add_subplot(gs[1])
    ax.plot([0, 1], [0, 1], color=ACCENT, ls="--", lw=1, label="perfectly calibrated")
    ax.plot(table["mean_predicted"], table["observed"], marker="o", color=DEFAULTER, lw=2,
            label=f"model (Brier {ev.metrics['brier']:.3f}, ECE {ev.metrics['ece']:.3f})")
    top = float(max(table["mean_predicted"].max(), table["observed"].max()) * 1.1 + 0.02)
    ax.set(xlim=(0, min(1, top)), ylim=(0, min(1, top)), xlabel="mean predicted probability (per decile of score)",
           ylabel="observed default rate", title="Reliability diagram")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    axh.hist(ev.p, bins=np.linspace(0, 1, 51).tolist(), color=ACCENT)
    axh.set(xlabel="predicted probability", ylabel="applicants", xlim=(0, 1))
    report.figure("calibration", fig, "Observed default rate against mean predicted probability, per decile of score "
                  "(points on the diagonal are well calibrated); below, how the scores are spread.")
    report.details("Table: calibration by decile of score", ["decile", "rows", "score range", "mean predicted", "observed"],
                   [[i + 1, int(r["count"]), f"{r['low']:.3f}–{r['high']:.3f}", r["mean_predicted"], r["observed"]]
                    for i, r in table.iterrows()])
    report.data["calibration"] = table.to_dict("records")


def _grades(report: Report, ev: Evaluation) -> None:
    """Calibration grade by grade on the master scale the model's population was graded on (else the built-in
    one): the table a credit committee reads, tested as `loanscore backtest --by-grade` tests it."""
    from loanscore.runtime.backtest import evaluate as backtest

    scale = recorded_scale(ev.manifest) or MasterScale.built_in()
    result = backtest(ev.y, ev.p, ev.manifest, grades=scale)
    report.section("Rating grades")
    report.text(f"Each grade of {scale.described}: its applicants in this file, their mean predicted probability "
                "of default and observed default rate, and the exact binomial test of the defaults at that mean "
                f"(flagged below p {result.grade_alpha:.2g} = 0.01 / {len(result.grades)} grades with applicants: "
                f"{result.grade_calibration}). `loanscore backtest FILE --by-grade` gives the same figures.")
    grades = result.grades
    fig = new_figure(8, 4.2)
    ax = fig.add_subplot()
    x = np.arange(len(grades))
    ax.bar(x - 0.2, [100 * g.mean_probability for g in grades], 0.4, color=ACCENT, label="mean predicted")
    ax.bar(x + 0.2, [100 * g.default_rate for g in grades], 0.4, color=DEFAULTER, label="observed")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:g}")
    ax.set_xticks(x, [g.label.split(" (")[0] for g in grades])
    ax.set(xlabel="grade", ylabel="default rate, % (log scale)", title="Predicted and observed default rate by grade")
    for k, g in enumerate(grades):
        ax.annotate(f"{g.rows:,}", (k, 100 * max(g.mean_probability, g.default_rate, 1e-4)), ha="center",
                    va="bottom", fontsize=7, color=ACCENT)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3, axis="y")
    report.figure("grades", fig, "Mean predicted and observed default rate in each grade (log scale; the number "
                  "above is the grade's applicants; no defaults, no bar); a grade whose bars differ widely is miscalibrated.")
    report.table(["grade", "rows", "share", "mean predicted", "observed", "defaults / expected", "p-value"],
                 [[g.label, g.rows, pct(g.rows / len(ev.p)), pct(g.mean_probability), pct(g.default_rate),
                   f"{g.defaults:,} / {g.expected:,.1f}", f"{g.p_value:.4f}"] for g in grades],
                 flagged=[g.p_value < result.grade_alpha for g in grades])
    report.data["grades"] = {"master_scale": scale.to_dict(), "alpha": result.grade_alpha,
                             "verdict": result.grade_calibration, "grades": [g.to_dict() for g in grades]}


def _confusion(report: Report, ev: Evaluation) -> None:
    cm = ev.metrics["confusion_matrix"]
    report.section(f"Decisions at the threshold {ev.threshold:g}")
    cells = np.array([[cm["tn"], cm["fp"]], [cm["fn"], cm["tp"]]])
    n = cells.sum()
    fig = new_figure(5.6, 4.4)
    ax = fig.add_subplot()
    ax.imshow(cells, cmap="Blues")
    names = [["payer approved", "payer declined"], ["defaulter approved", "defaulter declined"]]
    for i in range(2):
        for j in range(2):
            ax.text(j, i, f"{names[i][j]}\n{cells[i, j]:,}\n{cells[i, j] / n:.1%} of all", ha="center", va="center",
                    fontsize=9, color="white" if cells[i, j] > cells.max() * 0.6 else "#1f2933")
    ax.set_xticks([0, 1], ["approved\n(p < threshold)", "declined\n(p ≥ threshold)"])
    ax.set_yticks([0, 1], ["repaid (0)", "defaulted (1)"])
    ax.set_xlabel("decision")
    ax.set_ylabel("outcome")
    ax.set_title("Confusion matrix")
    report.figure("confusion_matrix", fig, f"Decisions at threshold {ev.threshold:g} against outcomes.")


def _tradeoff(report: Report, ev: Evaluation) -> None:
    report.section("Threshold trade-off")
    t = tradeoff(ev.y, ev.p, GRID, ev.costs)
    fig = new_figure(9, 4.6)
    ax = fig.add_subplot()
    ax.plot(t["threshold"], t["approval_rate"], color=PAYER, lw=2, label="approval rate")
    ax.plot(t["threshold"], t["bad_rate_approved"], color=DEFAULTER, lw=2, label="bad rate among approved")
    ax.axvline(ev.threshold, color="black", ls="--", lw=1, label=f"threshold {ev.threshold:g}")
    ax.set(xlabel="threshold (decline when p ≥ threshold)", ylabel="share", xlim=(0, 1), ylim=(0, 1.01),
           title="Approval, risk and cost against the threshold")
    handles, labels = ax.get_legend_handles_labels()
    if ev.costs:
        ax2 = ax.twinx()
        ax2.plot(t["threshold"], t["expected_cost"], color=ACCENT, lw=2, ls="-.", label="expected cost per applicant")
        best = t.loc[t["expected_cost"].idxmin()]
        ax2.scatter([best["threshold"]], [best["expected_cost"]], color=ACCENT, zorder=3,
                    label=f"lowest cost here: {best['expected_cost']:.3f} at {best['threshold']:.2f}")
        ax2.set_ylabel(f"expected cost (default {ev.costs['cost_default']:g}, declined payer {ev.costs['cost_decline_good']:g})")
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, fontsize=8, loc="center right")
    ax.grid(alpha=0.3)
    cost_note = (f" Expected cost uses the costs of {ev.costs['source']}: approving a defaulter costs "
                 f"{ev.costs['cost_default']:g}, declining a payer {ev.costs['cost_decline_good']:g}." if ev.costs
                 else " No costs are recorded in the manifest, so no cost curve is drawn.")
    report.figure("threshold_tradeoff", fig, "How the approval rate, the default rate among approved applicants and "
                  "the expected cost per applicant move with the threshold." + cost_note)
    report.data["tradeoff"] = t.to_dict("records")


def _slices(report: Report, ev: Evaluation) -> None:
    s = ev.slices
    report.section("Fairness slices")
    report.text(
        "Per group: rows, observed default rate, approval rate at the threshold, and ROC AUC within the group. "
        f"The approval-rate ratio compares each group with the most-approved group of its field (groups of at least "
        f"{MIN_GROUP} rows); a ratio below {FOUR_FIFTHS:g} breaks the four-fifths rule and is highlighted. "
        "The p-value is Fisher's exact test of the group's approval rate against the reference's; adverse impact "
        f"is a ratio below {FOUR_FIFTHS:g} with p below {ALPHA:g} / groups compared, as `loanscore fairness` "
        "tests it on any batch. "
        "The rule is a screening signal for adverse impact, not a legal finding; a gap in approval rates can follow "
        "a gap in observed default rates, which the table shows beside it.", note=True)
    if left_out := [f.name for f in Schema.from_dict(ev.manifest["schema"]).left_out_fields]:
        absent = [n for n in left_out if n not in ev.X.columns]
        report.text(f"The model was trained without {', '.join(left_out)} and does not read them; the slices below "
                    "take them from this file" + (f", which lacks {', '.join(absent)}" if absent else "") + ".")
    header = ["field", "group", "rows", "default rate", "approval rate", "AUC", "approval ratio", "p-value",
              "below 4/5", "note"]
    rows, flags = [], []
    for r in s.to_dict("records"):
        note = "reference" if r["reference"] else ("small group" if r["small_sample"] else "")
        below = "ADVERSE IMPACT" if r["adverse_impact"] else "FLAG" if r["four_fifths_flag"] else ""
        rows.append([r["field"], r["group"], r["count"], pct(r["default_rate"]), pct(r["approval_rate"]), r["auc"],
                     r["approval_ratio"], "" if math.isnan(r["p_value"]) else f"{r['p_value']:.2g}", below, note])
        flags.append(bool(r["four_fifths_flag"]))
    report.table(header, rows, flagged=flags)
    flagged = s[s["four_fifths_flag"]]
    if len(flagged):
        report.text("Below four-fifths: " + "; ".join(
            f"{r['field']} {r['group']} (ratio {r['approval_ratio']:.2f}, {r['count']:,} rows"
            + (", small group" if r["small_sample"] else f", p {r['p_value']:.2g}" if not math.isnan(r["p_value"])
               else "") + (", adverse impact" if r["adverse_impact"] else "") + ")"
            for r in flagged.to_dict("records")) + ".")
    else:
        report.text("No group's approval rate is below four-fifths of its field's most-approved group.")
    fields = list(dict.fromkeys(s["field"]))
    if not fields:
        return
    cols = min(2, len(fields))
    rows_n = math.ceil(len(fields) / cols)
    fig = new_figure(11, 3.3 * rows_n)
    for k, name in enumerate(fields):
        ax = fig.add_subplot(rows_n, cols, k + 1)
        part = s[s["field"] == name].reset_index(drop=True)
        pos = np.arange(len(part))
        colours = ["#f0b429" if f else PAYER for f in part["four_fifths_flag"]]
        ax.bar(pos - 0.2, part["approval_rate"], width=0.4, color=colours, label="approval rate")
        ax.bar(pos + 0.2, part["default_rate"], width=0.4, color=DEFAULTER, alpha=0.7, label="default rate")
        ref = part.loc[part["reference"], "approval_rate"]
        if len(ref):
            ax.axhline(float(ref.iloc[0]) * FOUR_FIFTHS, color="black", ls="--", lw=1, label="4/5 of the most-approved")
        ax.set_xticks(pos, [f"{g}\n(n={c:,})" for g, c in zip(part["group"], part["count"])], fontsize=7,
                      rotation=30 if len(part) > 4 else 0, ha="right" if len(part) > 4 else "center")
        ax.set_ylim(0, 1.05)
        ax.set_title(name, fontsize=10)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3, axis="y")
        if k == 0:
            from matplotlib.patches import Patch

            handles = [Patch(color=PAYER, label="approval rate"), Patch(color="#f0b429", label="approval rate, below 4/5"),
                       Patch(color=DEFAULTER, alpha=0.7, label="default rate"),
                       *[h for h in ax.get_legend_handles_labels()[0] if not isinstance(h, Patch)][:1]]
            ax.legend(handles=handles, fontsize=7, loc="upper right")
    report.figure("slices", fig, "Approval rate (blue; amber where below four-fifths of the field's most-approved "
                  "group) and observed default rate (red) per group; dashed: four-fifths of the most-approved group.")


def _reasons(report: Report, ev: Evaluation) -> None:
    report.section("Reason codes of the declined")
    t = ev.reasons
    if t is None:
        report.text("The model records no reference population, so it has no typical applicant to explain a score "
                    "against; export it with --data <its training data> to record one.", note=True)
        return
    declined, without = t.attrs["declined"], t.attrs["without"]
    if not declined:
        report.text("No applicant of this file is declined at the threshold, so there are no reasons to tally.")
        return
    report.text(f"What `loanscore score --reasons {REASONS}` tells this file's {declined:,} declined applicants: for "
                "each field, and each history channel as a whole, the fall in P(default) when it is set to the typical "
                "applicant's value (the training population's median or commonest code). "
                + ("Every declined applicant gets at least one reason." if not without else
                   f"{without:,} declined applicants get no reason of at least 0.001."))
    sliced = {f.removesuffix(" band") for f in ev.slices["field"]} & set(t["field"])  # "AGE band" slices AGE
    if sliced:
        shown = t[t["field"].isin(sliced)]
        report.text("Fields sliced for fairness above are reasons as the model uses them: "
                    + "; ".join(f"{r['field']} among the first {REASONS} for {pct(r['among_first_share'])}"
                                for r in shown.to_dict("records"))
                    + ". Where a field may not be considered, train without it: leaving it out of the reasons would "
                    "not take it out of the score.", note=True)
    fig = new_figure(9, max(2.6, 0.36 * len(t) + 1.0))
    ax = fig.add_subplot(1, 1, 1)
    y = np.arange(len(t))[::-1]
    colours = ["#f0b429" if f in sliced else PAYER for f in t["field"]]
    ax.barh(y + 0.2, t["first_share"], height=0.4, color=colours, label="first reason")
    ax.barh(y - 0.2, t["among_first_share"], height=0.4, color=colours, alpha=0.45, label=f"among the first {REASONS}")
    ax.set_yticks(y, t["field"], fontsize=8)
    ax.set(xlabel=f"share of the {declined:,} declined applicants", xlim=(0, 1))
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3, axis="x")
    report.figure("reasons", fig, f"How often each field or history channel is a declined applicant's first reason "
                  f"(solid) and among their first {REASONS} (pale); amber: fields sliced for fairness.")
    report.table(["field or channel", "first reason", "share", f"among the first {REASONS}", "share"],
                 [[r["field"], r["first"], pct(r["first_share"]), r["among_first"], pct(r["among_first_share"])]
                  for r in t.to_dict("records")])
    report.data["reason_codes"] = {"declined": declined, "without_reason": without, "per_field": t.to_dict("records")}
    if stated := t.attrs["stated"]:
        report.text("The first reason as `--reasons` states it (the `reason_statements` column; the schema's "
                    "wording, or a statements file's): a history channel's statement follows whether its months "
                    "lie above or below the typical applicant's.")
        report.table(["first reason as stated", "declined applicants", "share"],
                     [[text, count, pct(count / declined)] for text, count in stated.items()])
        report.data["reason_codes"]["first_stated"] = stated


def _riskier(report: Report, ev: Evaluation) -> None:
    records = ev.riskier
    if records is None:
        return
    report.section("Does a riskier applicant score higher?")
    covered = penalized_roles(ev.manifest)
    steps = sorted({r["role"] for r in records}, key=ROLES.index)
    report.text("Each scored applicant again, one step riskier at a time: " + "; ".join(
        {"status": "one month's repayment status one month later (paid in full, unused and revolving credit become "
                   "one month late; the schema's maximum stays), then every month's",
         "credit_limit": "the credit line 20 % lower",
         "payment": "one month's payment 20 % lower (a zero payment stays zero), then every month's"}[r]
        for r in steps) + f". The share whose P(default) rises, and falls, by {MIN_CHANGE} or more among the "
        "applicants the step changes: a model that reads the applicant as a lender would raises it nearly always. "
        + (f"Training penalized {', '.join(WORDS[r] for r in covered if r in WORDS)} scoring lower "
           "(`loanscore train --monotone-roles`)." if covered else "Training penalized none of these steps."))
    for role in steps:
        worst = max((r for r in records if r["role"] == role and r["month"] != "all months"),
                    key=lambda r: r["lowered_share"])
        if worst["lowered_share"] < REVIEW_SHARE:
            continue
        where = worst["channel"] if worst["month"] is None else f"{worst['month']} of {worst['channel']}"
        report.text(f"{where}: {WORDS[role]} lowers P(default) for {pct(worst['lowered_share'])} of the "
                    f"{worst['rows']:,} applicants it changes{by_status(worst)}. {review_note(role, covered)}. Check "
                    "that this reading is one the lender accepts.", note=True)
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        groups.setdefault((r["role"], r["channel"]), []).append(r)
    fig = new_figure(9, 3.4)
    grid = fig.add_gridspec(1, len(groups), width_ratios=[len(g) + 0.6 for g in groups.values()])
    for i, ((role, channel), g) in enumerate(groups.items()):
        ax = fig.add_subplot(grid[0, i])
        x = np.arange(len(g))
        ax.bar(x - 0.2, [r["raised_share"] for r in g], width=0.4, color=DEFAULTER, label="P(default) rises")
        ax.bar(x + 0.2, [r["lowered_share"] for r in g], width=0.4, color=PAYER, label="P(default) falls")
        ax.set_xticks(x, [r["month"] or channel for r in g], fontsize=7, rotation=45 if len(g) > 1 else 0,
                      ha="right" if len(g) > 1 else "center")
        ax.set_title(WORDS[role], fontsize=8)
        ax.set(ylim=(0, 1.15), xlim=(-0.8, len(g) - 0.2))
        ax.grid(alpha=0.3, axis="y")
        if i:
            ax.tick_params(labelleft=False)
        else:
            ax.set_ylabel("share of the applicants changed")
            ax.legend(fontsize=7, loc="upper left", ncol=2)
    report.figure("riskier_response", fig, "Each riskier step, month by month (oldest to newest) and in all months: "
                  f"the share of the applicants it changes whose P(default) rises (red) and falls (blue) by "
                  f"{MIN_CHANGE} or more.")
    split = "late_rows" in records[0]
    report.table(["step", "channel or field", "month", "applicants changed", "mean change", "rises", "falls"]
                 + (["falls: on time", "falls: late"] if split else []),
                 [[WORDS[r["role"]], r["channel"], r["month"] or "–", f"{r['rows']:,}", f"{r['mean_change']:+.4f}",
                   pct(r["raised_share"]), pct(r["lowered_share"])]
                  + ([pct(r["on_time_lowered_share"]), pct(r["late_lowered_share"])] if split else [])
                  for r in records],
                 flagged=[r["lowered_share"] >= REVIEW_SHARE for r in records])
    if split:
        report.text("On time and late: the applicants changed, by their newest repayment status (0 or less, 1 or "
                    "more). A smaller amount may read as safer for a borrower already behind, where the data can "
                    "agree: the repository's `benchmarks/riskier_groups.py` sets these shares beside the observed "
                    "default rates.", note=True)
    report.data["riskier_response"] = records


def _stability(report: Report, ev: Evaluation) -> None:
    report.section("Population stability")
    st = ev.stability
    if st is None or st.score is None:
        report.text("The model records no reference population, so this file cannot be compared with the one it "
                     "learned from; export it with --data <its training data> to record one.", note=True)
        return
    ref = st.reference
    variables = [st.score, *st.fields]
    top = max(st.fields, key=lambda f: f.psi)
    report.text(f"This file's {st.scored:,} scored rows against the {ref.rows:,} rows of "
                f"{ref.source.get('file', 'the reference')} recorded at export: score PSI {st.score.psi:.3f} "
                f"(chance level {st.score.chance:.3f}), {st.score.verdict}; the largest of any field is {top.name}'s "
                f"{top.psi:.3f} ({top.verdict}). Below {PSI_WATCH:.2f} stable, {PSI_WATCH:.2f}–{PSI_SHIFT:.2f} watch, "
                f"from {PSI_SHIFT:.2f} shift; `loanscore monitor` gives the same figures for unlabelled files.")
    if ev.in_sample:
        report.text("This file is the reference population itself, so every PSI is 0.", note=True)
    fig = new_figure(12, max(4.4, 0.24 * len(variables) + 1.2))
    gs = fig.add_gridspec(1, 2, width_ratios=[1, 1.1])
    ax, axp = fig.add_subplot(gs[0]), fig.add_subplot(gs[1])
    k = len(st.score.labels) - 1  # the score has no missing values: leave that bin out
    x = np.arange(k)
    ax.bar(x, st.score.actual[:k], color=PAYER, alpha=0.8, label=f"this file (n={st.scored:,})")
    ax.step(np.append(x, k) - 0.5, np.append(st.score.reference[:k], st.score.reference[k - 1]), where="post",
            color="black", lw=1.4, label=f"reference (n={ref.rows:,})")
    ax.set_xticks(x, st.score.labels[:k], rotation=45, ha="right", fontsize=7)
    ax.set(ylabel="share of applicants", title=f"Score by the reference's deciles (PSI {st.score.psi:.3f})")
    ax.set_ylim(top=ax.get_ylim()[1] * 1.15)  # room above the bars for the legend
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3, axis="y")
    colour = {SHIFT: DEFAULTER, WATCH: "#e0a100"}
    y = np.arange(len(variables))[::-1]
    axp.barh(y, [v.psi for v in variables], color=[colour.get(v.verdict, ACCENT) for v in variables])
    axp.scatter([v.chance for v in variables], y, marker="|", s=120, color="black", label="chance level (99 %)")
    for level, style in ((PSI_WATCH, ":"), (PSI_SHIFT, "--")):
        axp.axvline(level, color=DEFAULTER, ls=style, lw=1)
    axp.set_yticks(y, [v.name for v in variables], fontsize=7)
    axp.set(xlabel=f"PSI (dotted {PSI_WATCH:.2f}: watch; dashed {PSI_SHIFT:.2f}: shift)",
            xlim=(0, max(PSI_SHIFT * 1.2, max(v.psi for v in variables) * 1.05)), title="PSI of the score and each field")
    axp.legend(fontsize=8, loc="lower right")
    axp.grid(alpha=0.3, axis="x")
    report.figure("population_stability", fig, "Left: this file's scores in the reference population's score "
                  "deciles (the black line: 10 % each). Right: the population stability index of the score and of "
                  "every field, amber from 0.10 and red from 0.25; ticks mark what chance alone exceeds 1 time in 100.")
    report.details("Table: population stability per variable", ["variable", "PSI", "chance level", "verdict",
                                                                "largest move (reference → this file)"],
                   [[v.name, v.psi, v.chance, v.verdict, f"{v.labels[v.largest_move]}: "
                     f"{pct(v.reference[v.largest_move])} → {pct(v.actual[v.largest_move])}"] for v in variables])
    report.data["population_stability"] = st.to_dict()


def _same_file(path: Path, manifest: dict) -> bool:
    expected = (((manifest.get("training") or {}).get("data")) or {}).get("sha256")
    if not expected:
        return False
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest() == expected
