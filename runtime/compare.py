"""Champion against challenger: two models on the same applicants whose outcomes are known.

Before a retrained model (the challenger) replaces the one in use (the
champion), a credit-risk team scores the same recent applicants with both and
asks three things:

* Does it rank better? The difference in ROC AUC with the DeLong standard
  error for two AUCs measured on the same rows (their errors are correlated,
  so the difference is far better determined than either AUC), a 95 %
  interval and a two-sided p-value.
* Does it price risk better? The difference in Brier score, tested on the
  rows' paired differences in squared error.
* Whom would it decide differently? The swap set: each model at its own
  threshold, the applicants approved by one and declined by the other, with
  how often they defaulted. Swapping in applicants who default less than those
  swapped out is what a lower loss rate at the same approval rate means.

Segments (optional): the same decisions within each value of a column, such
as a protected attribute a challenger was trained without, so that a change
of model is seen group by group before it is made.

Both models read the rows they need from one file; a row either model cannot
score, or whose outcome is missing, is listed with its reason and left out of
the comparison, never dropped silently.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backtest import _json_safe, manifest_costs, outcome_errors, outcomes, segment_index, something_left
from .errors import InputError
from .grades import MasterScale
from .performance import Z_95, classification_metrics, normal_cdf, paired_auc_difference, roc_auc
from .scorer import Scorer
from .stream import Progress, rejections
from .tabular import Reader

SWAPS = ("approved by both", "declined by both", "approved by the challenger only", "approved by the champion only")


@dataclass
class Side:
    """One model's figures on the compared rows, at its own threshold."""

    name: str
    threshold: float
    metrics: dict[str, Any]
    cost: float | None
    """Cost per applicant at the champion's costs (the lender's), when its threshold was chosen by costs."""

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.name, "threshold": self.threshold, "metrics": self.metrics,
                "expected_cost_per_applicant": self.cost}


@dataclass
class Comparison:
    """What ``loanscore compare`` found. Build it with :func:`compare_arrays` or :func:`compare`."""

    source: str
    outcome: str
    rows: int
    champion: Side
    challenger: Side
    auc_difference: float
    auc_difference_se: float
    brier_difference: float
    brier_difference_se: float
    swaps: dict[str, tuple[int, int]]
    """Each of SWAPS: (rows, defaults)."""
    costs: dict[str, float] | None
    rejected: list[tuple[int | None, str]] = field(default_factory=list)
    training_data: list[str] = field(default_factory=list)
    """Which models ('champion', 'challenger') were trained on this very file: their figures flatter them."""
    seconds: float = 0.0
    unknown: int = 0
    """Rows both models scored whose outcome is blank (not known yet): not compared."""
    segments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Per ``by`` column, per value: rows, defaults, each model's approval rate and ROC AUC, and the swaps."""
    migration: dict[str, Any] | None = None
    """With a master scale: rows and defaults by champion grade (rows) and challenger grade (columns)."""
    outcomes: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    p_champion: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    p_challenger: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    """The compared rows' outcomes and both models' probabilities, for curves (:mod:`.compare_plot`)."""

    @property
    def compared(self) -> int:
        return int(self.champion.metrics["n"])

    @property
    def auc_interval(self) -> tuple[float, float]:
        return self.auc_difference - Z_95 * self.auc_difference_se, self.auc_difference + Z_95 * self.auc_difference_se

    @property
    def auc_p_value(self) -> float:
        """Two-sided: the chance of a difference this large if both models ranked equally well."""
        return _two_sided(self.auc_difference, self.auc_difference_se)

    @property
    def brier_p_value(self) -> float:
        return _two_sided(self.brier_difference, self.brier_difference_se)

    def to_dict(self) -> dict[str, Any]:
        """Every figure, as JSON can hold it (undefined figures are null)."""
        lo, hi = self.auc_interval
        return _json_safe({
            "source": self.source, "outcome": self.outcome, "rows": self.rows, "compared": self.compared,
            "without_outcome": self.unknown,
            "rejected": [{"row": row, "error": message} for row, message in self.rejected],
            "training_data": self.training_data,
            "champion": self.champion.to_dict(), "challenger": self.challenger.to_dict(),
            "roc_auc_difference": {"challenger_minus_champion": self.auc_difference,
                                   "standard_error": self.auc_difference_se, "interval_95": [lo, hi],
                                   "p_value": self.auc_p_value,
                                   "test": "two-sided z test, DeLong variance for correlated AUCs"},
            "brier_difference": {"challenger_minus_champion": self.brier_difference,
                                 "standard_error": self.brier_difference_se, "p_value": self.brier_p_value,
                                 "test": "two-sided z test on the rows' paired differences in squared error"},
            "swap_set": [{"group": g, "rows": n, "defaults": d, "default_rate": d / n if n else None}
                         for g, (n, d) in self.swaps.items()],
            "segments": self.segments, **({"migration": self.migration} if self.migration else {}),
            "costs": self.costs, "seconds": round(self.seconds, 3),
        })


def compare_arrays(y: Any, p_champion: Any, p_challenger: Any, champion: Mapping[str, Any],
                   challenger: Mapping[str, Any], *, names: tuple[str, str] = ("champion", "challenger"),
                   source: str = "data", outcome: str = "outcome", rows: int | None = None,
                   rejected: list[tuple[int | None, str]] | None = None,
                   segments: Mapping[str, tuple[np.ndarray, list[str]]] | None = None,
                   grades: MasterScale | None = None) -> Comparison:
    """The comparison of two models' probabilities on the same rows; ``champion``/``challenger`` are manifests;
    ``segments`` maps a column to each row's segment index and the segments' labels; ``grades``, a master scale,
    adds the grade migration matrix."""
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    a = np.asarray(p_champion, dtype=np.float64).reshape(-1)
    b = np.asarray(p_challenger, dtype=np.float64).reshape(-1)
    if not len(y) or len(a) != len(y) or len(b) != len(y):
        raise ValueError("a comparison needs the same rows, at least one, scored by both models")
    costs = manifest_costs(champion)
    sides = []
    for name, p, manifest in ((names[0], a, champion), (names[1], b, challenger)):
        threshold = float(manifest["threshold"]["value"])
        metrics = classification_metrics(y, p, threshold)
        cm = metrics["confusion_matrix"]
        cost = (None if costs is None else
                (costs["cost_default"] * cm["fn"] + costs["cost_decline_good"] * cm["fp"]) / len(y))
        sides.append(Side(name, threshold, metrics, cost))
    d_auc, se_auc = paired_auc_difference(y, a, b)
    squared = (b - y) ** 2 - (a - y) ** 2
    se_brier = float(squared.std(ddof=1) / math.sqrt(len(y))) if len(y) > 1 else math.nan
    approve_a, approve_b = a < sides[0].threshold, b < sides[1].threshold
    masks = (approve_a & approve_b, ~approve_a & ~approve_b, approve_b & ~approve_a, approve_a & ~approve_b)
    swaps = {g: (int(m.sum()), int(y[m].sum())) for g, m in zip(SWAPS, masks)}
    parts = {name: _segment_rows(index, labels, y, a, b, approve_a, approve_b)
             for name, (index, labels) in (segments or {}).items()}
    return Comparison(source, outcome, len(y) + len(rejected or []) if rows is None else rows, sides[0], sides[1],
                      d_auc, se_auc, float(squared.mean()), se_brier, swaps, costs, list(rejected or []),
                      segments=parts, migration=None if grades is None else migration(grades, y, a, b),
                      outcomes=y, p_champion=a, p_challenger=b)


def migration(scale: MasterScale, y: np.ndarray, a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """How the challenger (``b``) regrades the champion's (``a``) applicants on ``scale``: the matrix of rows
    and of defaults, champion grade by challenger grade, and how far the grades moved."""
    ga, gb = scale.index(a), scale.index(b)
    n = len(scale.names)
    rows = np.zeros((n, n), dtype=np.int64)
    defaults = np.zeros((n, n), dtype=np.int64)
    np.add.at(rows, (ga, gb), 1)
    np.add.at(defaults, (ga, gb), y.astype(np.int64))
    step = gb - ga
    return {"master_scale": scale.source, "grades": list(scale.names), "rows": rows.tolist(),
            "defaults": defaults.tolist(), "same_grade": float(np.mean(step == 0)),
            "one_grade_apart": float(np.mean(np.abs(step) == 1)), "further": float(np.mean(np.abs(step) > 1)),
            "riskier_by_challenger": float(np.mean(step > 0)), "safer_by_challenger": float(np.mean(step < 0))}


def _segment_rows(index: np.ndarray, labels: list[str], y: np.ndarray, a: np.ndarray, b: np.ndarray,
                  approve_a: np.ndarray, approve_b: np.ndarray) -> list[dict[str, Any]]:
    out = []
    for k, label in enumerate(labels):
        rows = index == k
        n = int(rows.sum())
        if n:
            out.append({"segment": label, "rows": n, "defaults": int(y[rows].sum()),
                        "champion_approval_rate": float(approve_a[rows].mean()),
                        "challenger_approval_rate": float(approve_b[rows].mean()),
                        "approved_by_challenger_only": int((approve_b & ~approve_a)[rows].sum()),
                        "approved_by_champion_only": int((approve_a & ~approve_b)[rows].sum()),
                        "champion_roc_auc": roc_auc(y[rows], a[rows]), "challenger_roc_auc": roc_auc(y[rows], b[rows])})
    return out


def compare(champion: Scorer, challenger: Scorer, reader: Reader, outcome: str, *, names: tuple[str, str],
            by: Sequence[str] = (), grades: MasterScale | None = None,
            progress: Progress | None = None) -> Comparison:
    """Score every row of ``reader`` with both models and compare them on the rows both scored, with an outcome.

    ``reader`` must read both models' inputs, ``outcome`` and the ``by`` columns. A row that either model rejects,
    or whose outcome is neither 0, 1 nor blank, is listed in ``rejected`` with the model that rejected it; a blank
    outcome (not known yet) is counted in :attr:`Comparison.unknown`; ``InputError`` if no row is left. A ``by``
    column that is a model's field is segmented by its validated values as in that model's reference population
    (the champion's first), any other column by its text.
    """
    start = time.perf_counter()
    scorers = (champion, challenger)
    owner = {name: next((k for k, m in enumerate(scorers) if name in m.schema.input_names), None) for name in by}
    values: dict[str, list[np.ndarray]] = {name: [] for name in by}
    ys, pas, pbs = [], [], []
    rejected: list[tuple[int | None, str]] = []
    rows = unknown = 0
    try:
        for chunk in reader:
            first = chunk.first_row or 1
            why: dict[int, list[str]] = {}
            bad_outcome = outcome_errors(chunk.columns[outcome], outcome, chunk.first_row, blank=True)
            for i, message in rejections({i: [e] for i, e in bad_outcome.items()}, {}, chunk.sheet_rows).items():
                why.setdefault(i, []).append(message)
            probabilities, feeds = [], []
            for name, scorer in zip(names, scorers):
                columns = {c: chunk.columns[c] for c in scorer.schema.input_names}
                checked, p = scorer.check_and_run(columns, chunk.n, chunk.first_row)
                probabilities.append(p)
                feeds.append(checked.feeds)
                for i, message in rejections(checked.errors, {}, chunk.sheet_rows).items():
                    why.setdefault(i, []).append(f"{name}: {message}")
            for i, message in chunk.row_errors.items():
                why[i] = [message]
            y = outcomes(chunk.columns[outcome])
            keep = np.ones(chunk.n, dtype=bool)
            keep[list(why)] = False
            unknown += int(np.count_nonzero(keep & np.isnan(y)))  # a blank outcome: not known yet, not compared
            keep &= ~np.isnan(y)
            ys.append(y[keep])
            pas.append(probabilities[0][keep])
            pbs.append(probabilities[1][keep])
            for name, parts in values.items():
                k = owner[name]
                parts.append(feeds[k][name].reshape(-1)[keep] if k is not None
                             else np.asarray(chunk.columns[name], dtype=object)[keep])
            rejected += [(first + i, "; ".join(why[i])) for i in sorted(why)]
            rows += chunk.n
            if progress is not None:
                progress.update(rows, reader.bytes_read)
    finally:
        if progress is not None:
            progress.close()
    y = np.concatenate(ys) if ys else np.empty(0)
    if not len(y) and unknown:
        raise InputError(f"None of the {rows:,} rows of {reader.name} has an outcome yet in {outcome}; there is "
                         "nothing to compare.")
    something_left(reader.name, rows, len(y), rejected, "compare")
    segments = {name: segment_index(name, np.concatenate(parts), scorers[owner[name] or 0].model.manifest)
                for name, parts in values.items()}
    result = compare_arrays(y, np.concatenate(pas), np.concatenate(pbs), champion.model.manifest,
                            challenger.model.manifest, names=names, source=reader.name, outcome=outcome, rows=rows,
                            rejected=rejected, segments=segments, grades=grades)
    result.unknown = unknown
    result.seconds = time.perf_counter() - start
    return result


def _two_sided(difference: float, se: float) -> float:
    if math.isnan(difference) or math.isnan(se):
        return math.nan
    if se == 0.0:
        return 1.0 if difference == 0.0 else 0.0
    return 2.0 * normal_cdf(-abs(difference) / se)


__all__ = ["SWAPS", "Comparison", "Side", "compare", "compare_arrays"]
