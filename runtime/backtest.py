"""Back-testing: once outcomes are known, does the model still rank and price risk as when it was built?

A lender learns months later which applicants defaulted. Its credit-risk team
then checks the model on those applicants against the figures it was
approved on (the manifest's out-of-fold metrics), the way supervisors ask for
an internal model's yearly validation:

* Discrimination. The ROC AUC with its DeLong 95 % interval, tested one-sided
  against the development AUC: an alert when an AUC this far below it would
  happen by chance less than 1 time in 100.
* Calibration. Defaults observed against defaults expected (the sum of
  P(default)), for the whole file (z test with the variance sum p (1 - p)) and
  per score band (exact binomial test at the band's mean P(default), which is
  conservative when P(default) varies within the band). The bands are the
  development population's score deciles, so each held about a tenth of the
  applicants the model was built on. An alert when the whole file's test gives
  p < 0.01, or a band's p < 0.01 / bands (Bonferroni: with a sound model the
  chance of any false alarm stays about 1 in 100).

Both tests ask whether the model got worse, not whether this batch differs
from the development data; for that, see :mod:`loanscore.runtime.stability`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import FieldError, InputError
from .integrity import sha256_file
from .performance import Z_95, binomial_two_sided, classification_metrics, normal_cdf, roc_auc_with_se
from .scorer import Scorer
from .stability import SCORE, Bins, Reference
from .stream import Progress, scored_batches
from .tabular import Chunk, Reader

ALPHA = 0.01
PASS, ALERT, NOT_TESTED = "pass", "alert", "not tested"

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


def outcome_errors(values: Sequence[Any], name: str, first_row: int | None) -> dict[int, FieldError]:
    """A field error for each row whose outcome is missing or not 0/1."""
    bad = np.flatnonzero(np.isnan(outcomes(values)))
    errors = {}
    for i in bad.tolist():
        value = values[i]
        missing = value is None or str(value).strip() == ""
        reason = ("is missing; a back-test needs every row's outcome" if missing
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
        """One-sided: the chance of an AUC this far below the development AUC if the model were as good as then."""
        dev = (self.development or {}).get("roc_auc")
        auc = self.metrics["roc_auc"]
        if dev is None or math.isnan(auc):
            return math.nan
        if self.auc_se == 0.0:
            return 1.0 if auc >= dev else 0.0
        return normal_cdf((auc - dev) / self.auc_se)

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

    @property
    def verdict(self) -> str:
        return ALERT if ALERT in (self.discrimination, self.calibration) else PASS

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
            "rejected": [{"row": row, "error": message} for row, message in self.rejected],
            "verdict": self.verdict,
            "training_data": self.training_data,
            "rules": {"alpha": ALPHA, "band_alpha": self.band_alpha,
                      "discrimination": "one-sided z test of the AUC against the development AUC, DeLong variance",
                      "calibration": "z test of all defaults against the sum of P(default); exact binomial test "
                                     "per band at its mean P(default)"},
            "metrics": self.metrics,
            "development": self.development,
            "discrimination": {"verdict": self.discrimination, "roc_auc": self.metrics["roc_auc"],
                               "standard_error": self.auc_se, "interval_95": [lo, hi],
                               "development_roc_auc": dev.get("roc_auc"), "p_value": _finite(self.auc_p_value)},
            "calibration": {"verdict": self.calibration, "defaults": self.defaults,
                            "expected_defaults": self.expected_defaults, "z": _finite(self.calibration_z),
                            "p_value": self.calibration_p_value, "bands_from": self.bands_from,
                            "bands": [b.to_dict() for b in self.bands]},
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
    if not chosen:
        return None
    out = dict(chosen)
    out["measured_on"] = "out_of_fold" if metrics.get("out_of_fold") else "validation"
    threshold = manifest.get("threshold") or {}
    if "expected_cost_per_applicant" in threshold:
        out["expected_cost_per_applicant"] = threshold["expected_cost_per_applicant"]
    return out


def _costs(manifest: Mapping[str, Any]) -> dict[str, float] | None:
    inputs = (manifest.get("threshold") or {}).get("inputs") or {}
    if {"cost_default", "cost_decline_good"} <= set(inputs):
        return {"cost_default": float(inputs["cost_default"]), "cost_decline_good": float(inputs["cost_decline_good"])}
    return None


def score_bands(manifest: Mapping[str, Any], probability: np.ndarray) -> tuple[Bins, str]:
    """The development population's score deciles if the manifest records them, else this file's."""
    if manifest.get("population") is not None:
        return Reference.from_manifest(manifest, "The model").score, "development score deciles"
    return Bins.fit(SCORE, probability), "this file's score deciles (the model records no reference population)"


def evaluate(y: Any, p: Any, manifest: Mapping[str, Any], *, source: str = "data", outcome: str = "outcome",
             rows: int | None = None, rejected: list[tuple[int | None, str]] | None = None) -> Backtest:
    """The back-test of probabilities ``p`` against outcomes ``y`` (0/1) for a model with ``manifest``."""
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    if not len(y):
        raise ValueError("a back-test needs at least one scored row with its outcome")
    threshold = float(manifest["threshold"]["value"])
    metrics = classification_metrics(y, p, threshold)
    _, se = roc_auc_with_se(y, p)
    expected = float(p.sum())
    spread = float(np.sum(p * (1.0 - p)))
    z = (float(y.sum()) - expected) / math.sqrt(spread) if spread > 0 else math.nan
    bins, bands_from = score_bands(manifest, p)
    labels = bins.labels(decimals=3)
    where = np.searchsorted(np.asarray(bins.edges, dtype=np.float64), p, side="left")
    n_bands = len(bins.edges) + 1
    counts = np.bincount(where, minlength=n_bands)
    hits = np.bincount(where, weights=y, minlength=n_bands)
    sums = np.bincount(where, weights=p, minlength=n_bands)
    bands = [Band(labels[k], int(counts[k]), int(round(hits[k])), float(sums[k]),
                  binomial_two_sided(int(round(hits[k])), int(counts[k]), float(sums[k] / counts[k])))
             for k in range(n_bands) if counts[k]]
    return Backtest(source, outcome, len(y) + len(rejected or []) if rows is None else rows, metrics, se, expected, z,
                    bands, bands_from, development_figures(manifest), _costs(manifest), list(rejected or []),
                    outcomes=y, probabilities=p)


def backtest(scorer: Scorer, reader: Reader, outcome: str, *, progress: Progress | None = None) -> Backtest:
    """Score every row of ``reader`` and back-test the rows that were scored and have an outcome.

    ``reader`` must read ``outcome`` as one of its input columns. Rows that
    cannot be scored or lack an outcome are listed in ``rejected``, with row,
    field and reason, never dropped silently; ``InputError`` if no row is left.
    """
    start = time.perf_counter()

    def missing_outcomes(chunk: Chunk) -> dict[int, FieldError]:
        return outcome_errors(chunk.columns[outcome], outcome, chunk.first_row)

    ys: list[np.ndarray] = []
    ps: list[np.ndarray] = []
    rejected: list[tuple[int | None, str]] = []
    rows = 0
    for batch in scored_batches(scorer, reader, progress, more_errors=missing_outcomes):
        rows += batch.chunk.n
        rejected += batch.rejected
        ys.append(outcomes(batch.chunk.columns[outcome])[batch.keep])
        ps.append(batch.probability)
    y = np.concatenate(ys) if ys else np.empty(0)
    if not rows:
        raise InputError(f"{reader.name} has a header but no rows; there is nothing to back-test.")
    if not len(y):
        shown = "; ".join(message for _, message in rejected[:3])
        more = f" (and {len(rejected) - 3:,} more)" if len(rejected) > 3 else ""
        raise InputError(f"None of the {rows:,} rows of {reader.name} could be back-tested: {shown}{more}")
    result = evaluate(y, np.concatenate(ps), scorer.model.manifest, source=reader.name, outcome=outcome, rows=rows,
                      rejected=rejected)
    result.seconds = time.perf_counter() - start
    return result


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


__all__ = ["ALERT", "NOT_TESTED", "PASS", "Backtest", "Band", "backtest", "evaluate", "outcomes"]
