"""Back-testing: once outcomes are known, does the model still rank and price risk as when it was built?

A lender learns months later which applicants defaulted. Its credit-risk team
then checks the model on those applicants against the figures it was
approved on (the manifest's out-of-fold metrics), the way supervisors ask for
an internal model's yearly validation:

* Discrimination. The ROC AUC with its DeLong 95 % interval, tested one-sided
  against the AUC these applicants' probabilities should give if they were
  right (:func:`~loanscore.runtime.performance.expected_auc`): an alert when
  an AUC this far below it would happen by chance less than 1 time in 100.
  The development AUC is shown beside it but is not the benchmark: where only
  the approved have outcomes, or the applicants moved, the same model ranks
  a narrower range of risk and its AUC is lower by nature.
* Calibration. Defaults observed against defaults expected (the sum of
  P(default)), for the whole file (z test with the variance sum p (1 - p)) and
  per score band (exact binomial test at the band's mean P(default), which is
  conservative when P(default) varies within the band). The bands are the
  development population's score deciles, so each held about a tenth of the
  applicants the model was built on. An alert when the whole file's test gives
  p < 0.01, or a band's p < 0.01 / bands (Bonferroni: with a sound model the
  chance of any false alarm stays about 1 in 100).

* Segments (optional). The same calibration test within each value of a
  field (a region, a product, or a model field's development deciles), with
  the ROC AUC for reading, not testing: within a segment the AUC is lower by
  nature, as the segment's own differences in risk are gone. An alert when a
  segment's p < 0.01 / segments of that field.

Both tests ask whether the model got worse, not whether this batch differs
from the development data; for that, see :mod:`loanscore.runtime.stability`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import FieldError, InputError, ModelError
from .grades import MasterScale, describe
from .integrity import sha256_file
from .performance import (Z_95, binomial_two_sided, calibration_p_value, classification_metrics, expected_auc,
                          normal_cdf, roc_auc_with_se)
from .scorer import Scorer
from .stability import SCORE, Bins, Reference, recorded_bins
from .stream import Batch, Progress, scored_batches
from .tabular import Chunk, Reader

ALPHA = 0.01
PASS, ALERT, NOT_TESTED = "pass", "alert", "not tested"
MAX_SEGMENTS = 20

_OUTCOMES = {"0": 0.0, "1": 1.0, "0.0": 0.0, "1.0": 1.0, "false": 0.0, "true": 1.0}


def outcomes(values: Sequence[Any]) -> np.ndarray:
    """Outcomes as 0.0 (repaid) or 1.0 (defaulted); NaN where a value is missing or is neither."""
    return np.fromiter((_OUTCOMES[v] if isinstance(v, str) and v in _OUTCOMES else _outcome(v) for v in values),
                       dtype=np.float64, count=len(values))


def _outcome(value: Any) -> float:
    if value is None or isinstance(value, bool):
        return math.nan if value is None else float(value)
    text = str(value).strip().lower()
    if text in _OUTCOMES:
        return _OUTCOMES[text]
    try:
        x = float(text)
    except ValueError:
        return math.nan
    return x if x in (0.0, 1.0) else math.nan


def outcome_errors(values: Sequence[Any], name: str, first_row: int | None, *,
                   blank: bool = False) -> dict[int, FieldError]:
    """A field error for each row whose outcome is missing or not 0/1; with ``blank``, a missing outcome is no
    error (not known yet, as for the declined, who got no loan)."""
    bad = np.flatnonzero(np.isnan(outcomes(values)))
    errors = {}
    for i in bad.tolist():
        value = values[i]
        missing = value is None or str(value).strip() == ""
        if missing and blank:
            continue
        reason = ("is missing; a back-test needs every row's outcome" if missing else
                  "must be 0 (repaid), 1 (defaulted) or blank (not known yet)" if blank
                  else "must be 0 (repaid) or 1 (defaulted)")
        errors[i] = FieldError(name, value, reason, None if first_row is None else first_row + i)
    return errors


@dataclass(frozen=True)
class Band:
    """One score band: its rows, defaults observed and expected, and the binomial test's p-value."""

    label: str
    rows: int
    defaults: int
    expected: float
    p_value: float

    @property
    def mean_probability(self) -> float:
        return self.expected / self.rows

    @property
    def default_rate(self) -> float:
        return self.defaults / self.rows

    def to_dict(self) -> dict[str, Any]:
        return {"band": self.label, "rows": self.rows, "defaults": self.defaults, "expected": round(self.expected, 3),
                "mean_probability": round(self.mean_probability, 6), "default_rate": round(self.default_rate, 6),
                "p_value": round(self.p_value, 6)}


@dataclass(frozen=True)
class Segment:
    """The rows with one value of a field: defaults observed and expected, and the ROC AUC within them."""

    label: str
    rows: int
    defaults: int
    expected: float
    variance: float
    roc_auc: float

    @property
    def p_value(self) -> float:
        """Two-sided z test of defaults against expected, with the variance sum p (1 - p)."""
        return calibration_p_value(self.defaults, self.expected, self.variance)

    def to_dict(self) -> dict[str, Any]:
        return {"segment": self.label, "rows": self.rows, "defaults": self.defaults,
                "expected": round(self.expected, 3), "default_rate": round(self.defaults / self.rows, 6),
                "mean_probability": round(self.expected / self.rows, 6), "roc_auc": self.roc_auc,
                "p_value": self.p_value}


@dataclass
class Backtest:
    """What ``loanscore backtest`` found. Build it with :func:`evaluate` (arrays) or :func:`backtest` (a file)."""

    source: str
    outcome: str
    rows: int
    metrics: dict[str, Any]
    auc_se: float
    expected_defaults: float
    calibration_z: float
    bands: list[Band]
    bands_from: str
    development: dict[str, Any] | None
    costs: dict[str, float] | None
    rejected: list[tuple[int | None, str]] = field(default_factory=list)
    training_data: bool = False
    """The file is the one the model was trained on: its figures are in-sample and flatter the model."""
    seconds: float = 0.0
    segments: dict[str, list[Segment]] = field(default_factory=dict)
    grades: list[Band] = field(default_factory=list)
    """Calibration per rating grade of :attr:`master_scale` (``--by-grade``), tested as the bands are."""
    master_scale: str | None = None
    unknown: int = 0
    """Scored rows whose outcome is blank (not known yet: a declined applicant, a loan too young): not tested."""
    expected_auc: float = math.nan
    """The ROC AUC these rows' probabilities should give if they were right: the discrimination benchmark."""
    expected_auc_sd: float = math.nan
    """Its spread from one draw of the outcomes to another."""
    outcomes: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    probabilities: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    """The tested rows' outcomes and probabilities, for curves (:mod:`loanscore.runtime.backtest_plot`)."""

    @property
    def scored(self) -> int:
        return int(self.metrics["n"])

    @property
    def defaults(self) -> int:
        cm = self.metrics["confusion_matrix"]
        return int(cm["tp"] + cm["fn"])

    @property
    def auc_interval(self) -> tuple[float, float]:
        auc = self.metrics["roc_auc"]
        if math.isnan(auc):
            return math.nan, math.nan
        return max(0.0, auc - Z_95 * self.auc_se), min(1.0, auc + Z_95 * self.auc_se)

    @property
    def auc_p_value(self) -> float:
        """One-sided: the chance of an AUC this far below :attr:`expected_auc` if the probabilities were right."""
        auc, expected, sd = self.metrics["roc_auc"], self.expected_auc, self.expected_auc_sd
        if math.isnan(auc) or math.isnan(expected):
            return math.nan
        if sd == 0.0:
            return 1.0 if auc >= expected else 0.0
        return normal_cdf((auc - expected) / sd)

    @property
    def discrimination(self) -> str:
        p = self.auc_p_value
        return NOT_TESTED if math.isnan(p) else ALERT if p < ALPHA else PASS

    @property
    def calibration_p_value(self) -> float:
        return math.erfc(abs(self.calibration_z) / math.sqrt(2.0)) if not math.isnan(self.calibration_z) else 1.0

    @property
    def band_alpha(self) -> float:
        return ALPHA / max(1, len(self.bands))

    @property
    def calibration(self) -> str:
        worst_band = min((b.p_value for b in self.bands), default=1.0)
        return ALERT if self.calibration_p_value < ALPHA or worst_band < self.band_alpha else PASS

    def segment_alpha(self, name: str) -> float:
        return ALPHA / max(1, len(self.segments[name]))

    @property
    def grade_alpha(self) -> float:
        return ALPHA / max(1, len(self.grades))

    @property
    def grade_calibration(self) -> str:
        """Alert when a grade's observed default rate is off its mean P(default) beyond the Bonferroni level."""
        if not self.grades:
            return NOT_TESTED
        return ALERT if any(g.p_value < self.grade_alpha for g in self.grades) else PASS

    @property
    def segment_calibration(self) -> str:
        """Alert when any segment of any field is miscalibrated beyond its field's Bonferroni level."""
        if not self.segments:
            return NOT_TESTED
        alerts = [s for name, parts in self.segments.items() for s in parts if s.p_value < self.segment_alpha(name)]
        return ALERT if alerts else PASS

    @property
    def verdict(self) -> str:
        return ALERT if ALERT in (self.discrimination, self.calibration, self.segment_calibration,
                                  self.grade_calibration) else PASS

    @property
    def expected_cost(self) -> float | None:
        """Cost per applicant at the model's threshold, when the threshold was chosen by costs."""
        if self.costs is None:
            return None
        cm = self.metrics["confusion_matrix"]
        return (self.costs["cost_default"] * cm["fn"] + self.costs["cost_decline_good"] * cm["fp"]) / self.scored

    def to_dict(self) -> dict[str, Any]:
        """Every figure, as JSON can hold it (undefined figures, e.g. an AUC with one outcome only, are null)."""
        lo, hi = self.auc_interval
        dev = self.development or {}
        return _json_safe({
            "source": self.source,
            "outcome": self.outcome,
            "rows": self.rows,
            "scored": self.scored,
            "without_outcome": self.unknown,
            "rejected": [{"row": row, "error": message} for row, message in self.rejected],
            "verdict": self.verdict,
            "training_data": self.training_data,
            "rules": {"alpha": ALPHA, "band_alpha": self.band_alpha,
                      "discrimination": "one-sided z test of the AUC against the AUC expected on these rows if their "
                                        "probabilities were right (mean and spread of outcomes drawn from them)",
                      "calibration": "z test of all defaults against the sum of P(default); exact binomial test "
                                     "per band at its mean P(default)"},
            "metrics": self.metrics,
            "development": self.development,
            "discrimination": {"verdict": self.discrimination, "roc_auc": self.metrics["roc_auc"],
                               "standard_error": self.auc_se, "interval_95": [lo, hi],
                               "expected_roc_auc": _finite(self.expected_auc),
                               "expected_roc_auc_sd": _finite(self.expected_auc_sd),
                               "development_roc_auc": dev.get("roc_auc"), "p_value": _finite(self.auc_p_value)},
            "calibration": {"verdict": self.calibration, "defaults": self.defaults,
                            "expected_defaults": self.expected_defaults, "z": _finite(self.calibration_z),
                            "p_value": self.calibration_p_value, "bands_from": self.bands_from,
                            "bands": [b.to_dict() for b in self.bands]},
            "segments": {name: {"verdict": ALERT if any(s.p_value < self.segment_alpha(name) for s in parts) else PASS,
                                "alpha": self.segment_alpha(name), "segments": [s.to_dict() for s in parts]}
                         for name, parts in self.segments.items()},
            **({"grades": {"verdict": self.grade_calibration, "master_scale": self.master_scale,
                           "alpha": self.grade_alpha, "grades": [g.to_dict() for g in self.grades]}}
               if self.master_scale else {}),
            "expected_cost_per_applicant": None if self.costs is None else {
                **self.costs, "actual": self.expected_cost, "development": dev.get("expected_cost_per_applicant")},
            "seconds": round(self.seconds, 3),
        })


def is_training_data(path: str, manifest: Mapping[str, Any]) -> bool:
    """Whether ``path`` has the SHA-256 of the file the model was trained on (stdin never does)."""
    expected = ((manifest.get("training") or {}).get("data") or {}).get("sha256")
    file = Path(path)
    return bool(expected) and path != "-" and file.is_file() and sha256_file(file) == expected


def development_figures(manifest: Mapping[str, Any]) -> dict[str, Any] | None:
    """The figures the model was approved on: out-of-fold metrics if it has them, else validation."""
    metrics = manifest.get("metrics") or {}
    chosen = metrics.get("out_of_fold") or metrics.get("validation")
    if not chosen or not isinstance(chosen, dict):
        return None
    out = dict(chosen)
    out["measured_on"] = "out_of_fold" if metrics.get("out_of_fold") else "validation"
    threshold = manifest.get("threshold") or {}
    if "expected_cost_per_applicant" in threshold:
        out["expected_cost_per_applicant"] = threshold["expected_cost_per_applicant"]
    return out


def manifest_costs(manifest: Mapping[str, Any]) -> dict[str, float] | None:
    """The costs the threshold was chosen at (a default approved, a good payer declined), if it was chosen by cost."""
    inputs = (manifest.get("threshold") or {}).get("inputs") or {}
    if not {"cost_default", "cost_decline_good"} <= set(inputs):
        return None
    costs = {k: inputs[k] for k in ("cost_default", "cost_decline_good")}
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < math.inf for v in costs.values()):
        raise ModelError(f"The model's manifest is damaged: its threshold's costs {costs} are not positive numbers. "
                         "Restore the model directory from its source, or export it again.")
    return {k: float(v) for k, v in costs.items()}


def score_bands(manifest: Mapping[str, Any], probability: np.ndarray) -> tuple[Bins, str]:
    """The development population's score deciles if the manifest records them, else this file's."""
    if manifest.get("population") is not None:
        return Reference.from_manifest(manifest, "The model").score, "development score deciles"
    return Bins.fit(SCORE, probability), "this file's score deciles (the model records no reference population)"


def segment_index(name: str, values: Any, manifest: Mapping[str, Any],
                  most: int = MAX_SEGMENTS) -> tuple[np.ndarray, list[str]]:
    """Each row's segment of ``name`` and the segments' labels.

    A model field binned in the manifest's reference population is cut as
    there (deciles, or one segment per code); any other column by its
    distinct values, of which there may be at most ``most``.
    """
    bins = recorded_bins(manifest, name)
    if bins is not None:
        categorical = (manifest.get("schema") or {}).get("categorical", [])
        meaning: dict[str, str] = next((c.get("labels", {}) for c in categorical if c.get("name") == name), {})
        return bins.index(values), [f"{b} {meaning[b]}" if b in meaning else b for b in bins.labels()]
    text = np.array(["" if v is None else str(v).strip() for v in values], dtype=object)
    labels, index = np.unique(text, return_inverse=True)
    if len(labels) > most:
        raise InputError(f"{name} has {len(labels):,} distinct values; segments need at most {most}. "
                         "Segment by a coarser column, or by a model field of a model exported with --data "
                         "(its development deciles are the segments).")
    return index.astype(np.int64), ["missing" if v == "" else str(v) for v in labels]


def _segments(index: np.ndarray, labels: list[str], y: np.ndarray, p: np.ndarray) -> list[Segment]:
    out = []
    for k, label in enumerate(labels):
        rows = index == k
        if rows.any():
            ys, ps = y[rows], p[rows]
            out.append(Segment(label, int(rows.sum()), int(ys.sum()), float(ps.sum()), float(np.sum(ps * (1 - ps))),
                               roc_auc_with_se(ys, ps)[0]))
    return out


def evaluate(y: Any, p: Any, manifest: Mapping[str, Any], *, source: str = "data", outcome: str = "outcome",
             rows: int | None = None, rejected: list[tuple[int | None, str]] | None = None,
             by: Mapping[str, Any] | None = None, grades: MasterScale | None = None) -> Backtest:
    """The back-test of probabilities ``p`` against outcomes ``y`` (0/1) for a model with ``manifest``;
    ``by`` maps fields to each row's value, for calibration within segments; ``grades``, a master scale, adds
    calibration per rating grade."""
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    if not len(y):
        raise ValueError("a back-test needs at least one scored row with its outcome")
    threshold = float(manifest["threshold"]["value"])
    metrics = classification_metrics(y, p, threshold)
    _, se = roc_auc_with_se(y, p)
    benchmark, spread_of_auc = expected_auc(p) if 0 < y.sum() < len(y) else (math.nan, math.nan)
    expected = float(p.sum())
    spread = float(np.sum(p * (1.0 - p)))
    z = (float(y.sum()) - expected) / math.sqrt(spread) if spread > 0 else math.nan
    bins, bands_from = score_bands(manifest, p)
    bands = _bands(bins.index(p), bins.labels(decimals=3)[:bins.n_bins - 1], y, p)  # a probability is never missing
    graded = [] if grades is None else _bands(grades.index(p), [f"{name} ({span})" for name, span, _ in
                                                                describe(grades)], y, p)
    segments = {name: _segments(*segment_index(name, values, manifest), y, p) for name, values in (by or {}).items()}
    return Backtest(source, outcome, len(y) + len(rejected or []) if rows is None else rows, metrics, se, expected, z,
                    bands, bands_from, development_figures(manifest), manifest_costs(manifest), list(rejected or []),
                    segments=segments, grades=graded, master_scale=None if grades is None else grades.source,
                    expected_auc=benchmark, expected_auc_sd=spread_of_auc, outcomes=y, probabilities=p)


def _bands(where: np.ndarray, labels: list[str], y: np.ndarray, p: np.ndarray) -> list[Band]:
    """Each non-empty band of ``labels`` (``where``: each row's), tested by the exact binomial at its mean P."""
    n = len(labels)
    counts = np.bincount(where, minlength=n)
    hits = np.bincount(where, weights=y, minlength=n)
    sums = np.bincount(where, weights=p, minlength=n)
    return [Band(labels[k], int(counts[k]), int(round(hits[k])), float(sums[k]),
                 binomial_two_sided(int(round(hits[k])), int(counts[k]), float(sums[k] / counts[k])))
            for k in range(n) if counts[k]]


def backtest(scorer: Scorer, reader: Reader, outcome: str, *, by: Sequence[str] = (),
             grades: MasterScale | None = None, progress: Progress | None = None) -> Backtest:
    """Score every row of ``reader`` and back-test the rows that were scored and have an outcome.

    ``reader`` must read ``outcome`` and the ``by`` columns as input columns.
    Rows that cannot be scored or whose outcome is neither 0, 1 nor blank are
    listed in ``rejected``, with row, field and reason, never dropped
    silently; a blank outcome (not known yet) is counted in
    :attr:`Backtest.unknown`, not tested; ``InputError`` if no row is left. Model fields in ``by`` are segmented by their validated
    values, other columns by their text.
    """
    start = time.perf_counter()
    got = read_scored(scorer, reader, outcome, by, progress, verb="back-test", blank=True)
    assert got.y is not None
    known = ~np.isnan(got.y)
    if not known.any():
        raise InputError(f"None of the {got.rows:,} rows of {reader.name} has an outcome yet in {outcome}; there is "
                         "nothing to back-test.")
    result = evaluate(got.y[known], got.p[known], scorer.model.manifest, source=reader.name, outcome=outcome,
                      rows=got.rows, rejected=got.rejected, by={k: v[known] for k, v in got.columns.items()},
                      grades=grades)
    result.unknown = int((~known).sum())
    result.seconds = time.perf_counter() - start
    return result


@dataclass
class Scored:
    """A file's scored rows, as :func:`read_scored` gathers them."""

    rows: int
    """Rows read, the rejected included."""
    p: np.ndarray
    y: np.ndarray | None
    """Outcomes (NaN where blank was allowed), or ``None`` without an outcome column."""
    columns: dict[str, np.ndarray]
    rejected: list[tuple[int | None, str]]


def read_scored(scorer: Scorer, reader: Reader, outcome: str | None, columns: Sequence[str] = (),
                progress: Progress | None = None, *, verb: str, blank: bool = False,
                more: Callable[[Chunk], dict[int, FieldError]] | None = None) -> Scored:
    """Score every row of ``reader`` (:func:`labelled_batches`) and gather the scored rows' P(default), outcomes
    and ``columns`` (:func:`column_values`); ``InputError`` (saying what could not be ``verb``-ed) when no row is
    left."""
    ps: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    values: dict[str, list[np.ndarray]] = {c: [] for c in dict.fromkeys(columns)}
    rejected: list[tuple[int | None, str]] = []
    rows = 0
    for batch, y in labelled_batches(scorer, reader, outcome, progress, blank=blank, more=more):
        rows += batch.chunk.n
        rejected += batch.rejected
        ps.append(batch.probability)
        if y is not None:
            ys.append(y)
        for name, parts in values.items():
            parts.append(column_values(batch, name))
    p = np.concatenate(ps) if ps else np.empty(0)
    something_left(reader.name, rows, len(p), rejected, verb)
    return Scored(rows, p, np.concatenate(ys) if outcome else None,
                  {name: np.concatenate(parts) for name, parts in values.items()}, rejected)


def labelled_batches(scorer: Scorer, reader: Reader, outcome: str | None, progress: Progress | None = None, *,
                     blank: bool = False,
                     more: Callable[[Chunk], dict[int, FieldError]] | None = None,
                     ) -> Iterator[tuple[Batch, np.ndarray | None]]:
    """:func:`~loanscore.runtime.stream.scored_batches`, each with its scored rows' outcomes (0/1) from the column
    ``outcome`` (``None``: no outcomes); a row whose outcome is missing or not 0/1 is rejected like a bad field
    (with ``blank``, a missing one is NaN instead: not known yet). ``more`` rejects rows for the caller's own
    reasons (an override review's missing final decision)."""

    def missing(chunk: Chunk) -> dict[int, FieldError]:
        errors = more(chunk) if more else {}
        if outcome:
            found = outcome_errors(chunk.columns[outcome], outcome, chunk.first_row, blank=blank)
            errors.update({i: e for i, e in found.items() if i not in errors})
        return errors

    for batch in scored_batches(scorer, reader, progress, more_errors=missing if outcome or more else None):
        yield batch, outcomes(batch.chunk.columns[outcome])[batch.keep] if outcome else None


def column_values(batch: Batch, name: str) -> np.ndarray:
    """The scored rows' values of ``name``: validated, for a model field; as read, for any other column."""
    feed = batch.feeds.get(name)
    return feed.reshape(-1) if feed is not None else np.asarray(batch.chunk.columns[name], dtype=object)[batch.keep]


def something_left(name: str, rows: int, kept: int, rejected: list[tuple[int | None, str]], verb: str) -> None:
    """``InputError`` when the file had no rows, or none of them could be used, with the first reasons."""
    if not rows:
        raise InputError(f"{name} has a header but no rows; there is nothing to {verb}.")
    if not kept:
        shown = "; ".join(message.rstrip(".") for _, message in rejected[:3])
        more = f" (and {len(rejected) - 3:,} more)" if len(rejected) > 3 else ""
        raise InputError(f"None of the {rows:,} rows of {name} could be used to {verb}: {shown}{more}")


def _finite(x: float) -> float | None:
    return None if math.isnan(x) else x


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return _finite(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


__all__ = ["ALERT", "NOT_TESTED", "PASS", "Backtest", "Band", "Segment", "backtest", "evaluate", "outcomes"]
