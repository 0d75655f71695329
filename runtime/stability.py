"""Population stability: are today's applicants like the ones the model learned from?

A model is only as good as the resemblance between the population it scores
and the one it was trained on. Credit-risk teams check that with the
population stability index of the score and of every input field:

    PSI = sum over bins of (actual share - reference share) * ln(actual share / reference share)

with bins fixed on the reference population (deciles for numbers, one bin per
known code, plus bins for unknown codes and missing values). The usual reading,
a convention rather than a law, is below 0.10 stable, 0.10-0.25 worth watching,
from 0.25 a shift to act on. A small batch scatters by chance alone, so each PSI
comes with the level that chance alone exceeds one time in a hundred, found by
drawing both samples again and again from one population.

With a master scale, the rating grades are compared too: each grade's share of
the applicants, their PSI, and how concentrated the applicants are in a few
grades (the Herfindahl index of the shares, which supervisors ask of a rating
system).

The reference is stored in the model's manifest by ``loanscore export --data``
(counts per bin, never rows), or built here from another file.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InputError, ModelError
from .grades import MasterScale
from .schema import Column
from .scorer import Scorer
from .stream import Progress, scored_batches
from .tabular import Reader

PSI_WATCH = 0.10
PSI_SHIFT = 0.25
STABLE, WATCH, SHIFT, TOO_FEW = "stable", "watch", "shift", "too few rows to tell"
SCORE = "probability_of_default"
DAMAGED = (KeyError, TypeError, ValueError, OverflowError, AttributeError)
"""What reading a manifest's population entry raises where it was edited or damaged into another shape."""
GRADE = "grade"
N_BINS = 10
SHARE_FLOOR = 1e-4
"""An empty bin counts as this share, so that a bin filling up from nothing gives a large, finite PSI."""
CHANCE_DRAWS = 4000


@dataclass(frozen=True)
class Bins:
    """How one variable is binned, and how many reference rows fell in each bin.

    Numbers: right-closed bins ``(-inf, edges[0]], (edges[0], edges[1]], ..., (edges[-1], inf)``.
    Codes: one bin per known code, then one for codes the model does not know.
    Either way the last bin holds missing values.
    """

    name: str
    kind: str  # "number" | "code"
    counts: tuple[int, ...]
    edges: tuple[float, ...] = ()
    codes: tuple[int | str, ...] = ()
    whole: bool = False
    """Numbers: every reference value was a whole number, so a bin ``(k - 1, k]`` can be called ``k``."""

    @classmethod
    def fit(cls, name: str, values: np.ndarray, codes: tuple[int | str, ...] | None = None, n_bins: int = N_BINS) -> Bins:
        """Bins for ``values`` (numbers with NaN, or strings with ``""``, for missing) and their counts."""
        values = np.asarray(values).reshape(-1)
        if codes is not None:
            return cls(name, "code", (), codes=tuple(codes)).with_counts(values)
        x = values.astype(np.float64)
        present = x[~np.isnan(x)]
        edges: tuple[float, ...] = ()
        if len(present):
            q = np.quantile(present, np.arange(1, n_bins) / n_bins, method="inverted_cdf")
            edges = tuple(float(e) for e in np.unique(q))
        whole = bool(len(present)) and bool(np.all(present == np.round(present)))
        return cls(name, "number", (), edges=edges, whole=whole).with_counts(x)

    def with_counts(self, values: np.ndarray) -> Bins:
        return Bins(self.name, self.kind, tuple(int(c) for c in self.count(values)), self.edges, self.codes, self.whole)

    def count(self, values: np.ndarray) -> np.ndarray:
        """How many of ``values`` fall in each bin (the last one: missing)."""
        return np.bincount(self.index(values), minlength=self.n_bins).astype(np.int64)

    @property
    def n_bins(self) -> int:
        return len(self.codes) + 2 if self.kind == "code" else len(self.edges) + 2

    def index(self, values: np.ndarray) -> np.ndarray:
        """The bin of each of ``values`` (missing: the last bin; codes not known: the one before it)."""
        values = np.asarray(values).reshape(-1)
        if self.kind == "code":
            where = np.full(len(values), len(self.codes), dtype=np.int64)
            if values.dtype.kind == "O":
                text = values.astype(str)
                missing = text == ""
                known = [text == str(c) for c in self.codes]
            else:
                x = values.astype(np.float64)
                missing = np.isnan(x)
                known = [x == float(c) for c in self.codes]
            for j, hit in enumerate(known):
                where[hit] = j
        else:
            x = values.astype(np.float64)
            missing = np.isnan(x)
            where = np.searchsorted(np.asarray(self.edges, dtype=np.float64), x, side="left")
        where[missing] = self.n_bins - 1
        return where

    def labels(self, decimals: int | None = None) -> list[str]:
        """Words for each bin, e.g. ``<= 0``, ``(0, 2,000]``, ``> 50,000``, ``missing``."""
        if self.kind == "code":
            return [str(c) for c in self.codes] + ["other code", "missing"]
        show = (lambda v: f"{v:.{decimals}f}") if decimals is not None else _number
        e = self.edges
        if not e:
            return ["any value", "missing"]
        out = [f"<= {show(e[0])}"]
        for lo, hi in zip(e, e[1:]):
            out.append(show(hi) if self.whole and hi - lo == 1 else f"({show(lo)}, {show(hi)}]")
        return out + [f"> {show(e[-1])}", "missing"]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "counts": list(self.counts)}
        if self.kind == "code":
            out["codes"] = list(self.codes)
        else:
            out["edges"] = list(self.edges)
            out["whole"] = self.whole
        return out

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any]) -> Bins:
        kind = data["kind"]
        bins = cls(name, kind, tuple(int(c) for c in data["counts"]), tuple(float(e) for e in data.get("edges", ())),
                   tuple(data.get("codes", ())), bool(data.get("whole", False)))
        if (kind not in ("number", "code") or len(bins.counts) != bins.n_bins
                or list(bins.edges) != sorted(set(bins.edges)) or not all(0 <= c < 2**53 for c in bins.counts)):
            raise ValueError(f"bins of {name} are inconsistent")
        return bins


@dataclass(frozen=True)
class Reference:
    """The population a model is compared against: bins for the score and each input field."""

    rows: int
    score: Bins
    fields: dict[str, Bins]
    mean_probability: float
    decline_rate: float
    threshold: float
    source: dict[str, Any] = field(default_factory=dict)
    scale: MasterScale | None = None
    """The master scale :attr:`grades` were counted on (none for a manifest exported before grades)."""
    grades: tuple[int, ...] = ()
    """How many reference rows fell in each grade of :attr:`scale`."""

    @classmethod
    def build(cls, columns: list[Column], feeds: Mapping[str, np.ndarray], probability: np.ndarray,
              threshold: float, source: Mapping[str, Any] | None = None, scale: MasterScale | None = None) -> Reference:
        """A reference from validated inputs (``feeds`` of the rows that were scored) and their probabilities,
        with their grades on ``scale`` (default: the built-in master scale)."""
        p = np.asarray(probability, dtype=np.float64).reshape(-1)
        if not len(p):
            raise ValueError("a reference population needs at least one scored row")
        fields = {c.name: Bins.fit(c.name, feeds[c.name], c.codes if c.kind == "code" else None) for c in columns}
        scale = scale or MasterScale.built_in()
        return cls(len(p), Bins.fit(SCORE, p), fields, float(p.mean()), float((p >= threshold).mean()),
                   float(threshold), dict(source or {}), scale, grade_counts(scale, p))

    def counts_on(self, scale: MasterScale) -> np.ndarray:
        """The reference's count in each grade of ``scale``; refused when they were counted on another scale."""
        if self.scale is None:
            raise ModelError("The model's reference population records no grades (it was exported before "
                             "loanscore graded applicants). Export it again with --data, or compare against a "
                             "file with --reference FILE.")
        if not same_scale(scale, self.scale):
            raise ModelError(f"The model's reference population was graded on {self.scale.described}, not on "
                             f"{scale.described}. Export the model again with --data and --master-scale (this "
                             "scale), or compare against a file with --reference FILE.")
        return np.asarray(self.grades, dtype=np.int64)

    def to_dict(self) -> dict[str, Any]:
        return {
            "note": "Counts per bin of the population the model was exported against; no rows are stored.",
            "source": self.source,
            "rows": self.rows,
            "mean_probability": self.mean_probability,
            "threshold": self.threshold,
            "decline_rate": self.decline_rate,
            "score": self.score.to_dict(),
            "fields": {name: bins.to_dict() for name, bins in self.fields.items()},
            **({"grades": {"master_scale": self.scale.to_dict(), "counts": list(self.grades)}} if self.scale else {}),
        }

    def check_columns(self, columns: list[Column]) -> None:
        """Refuse to compare a schema's fields with bins of other fields."""
        names = [c.name for c in columns]
        if set(names) != set(self.fields):
            raise ModelError(f"The reference population's fields ({', '.join(self.fields)}) are not the model's "
                             f"({', '.join(names)}); it belongs to another schema.")

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any], where: str) -> Reference:
        data = manifest.get("population")
        if data is None:
            raise ModelError(
                f"{where} records no reference population. Export the model with --data <its training data> "
                "to record one, or compare against a file with --reference FILE."
            )
        try:
            scale: MasterScale | None = None
            grades: tuple[int, ...] = ()
            if "grades" in data:
                recorded = data["grades"]["master_scale"]
                scale = MasterScale(tuple(str(g["name"]) for g in recorded["grade"]),
                                    tuple(float(g["upper"]) for g in recorded["grade"]), str(recorded["source"]))
                grades = tuple(int(c) for c in data["grades"]["counts"])
                if len(grades) != len(scale.names) or sum(grades) != int(data["rows"]):
                    raise ValueError("its grade counts do not match its master scale and rows")
            return cls(int(data["rows"]), Bins.from_dict(SCORE, data["score"]),
                       {name: Bins.from_dict(name, b) for name, b in data["fields"].items()},
                       float(data["mean_probability"]), float(data["decline_rate"]), float(data["threshold"]),
                       dict(data.get("source", {})), scale, grades)
        except DAMAGED as exc:
            raise _malformed(where, exc) from None


@dataclass(frozen=True)
class Stability:
    """One variable's comparison: shares per bin, its PSI and what that means at this sample size."""

    name: str
    labels: list[str]
    reference: list[float]
    actual: list[float]
    counts: list[int]
    psi: float
    chance: float
    verdict: str

    @property
    def largest_move(self) -> int:
        """The bin contributing most to the PSI."""
        return int(np.argmax(_terms(np.asarray(self.reference), np.asarray(self.actual))))

    def to_dict(self) -> dict[str, Any]:
        return {"psi": round(self.psi, 6), "chance_99": round(self.chance, 6), "verdict": self.verdict,
                "bins": [{"bin": b, "reference": round(e, 6), "actual": round(a, 6), "count": c}
                         for b, e, a, c in zip(self.labels, self.reference, self.actual, self.counts)]}


def compare(bins: Bins, counts: np.ndarray, labels: list[str] | None = None) -> Stability:
    """The PSI of ``counts`` (binned by ``bins``) against the reference counts in ``bins``."""
    return compare_counts(bins.name, np.asarray(bins.counts), counts, labels or bins.labels())


def compare_counts(name: str, ref_counts: np.ndarray, counts: np.ndarray, labels: list[str]) -> Stability:
    """The PSI of ``counts`` against ``ref_counts``, bin for bin (``labels`` names the bins)."""
    ref = np.asarray(ref_counts, dtype=np.float64)
    act = np.asarray(counts, dtype=np.float64)
    n_ref, n = ref.sum(), act.sum()
    e, a = ref / n_ref, act / n
    psi = float(_terms(e, a).sum())
    chance = chance_level(ref_counts, counts)
    if psi < PSI_WATCH:
        verdict = STABLE
    elif psi <= chance:
        verdict = TOO_FEW
    else:
        verdict = WATCH if psi < PSI_SHIFT else SHIFT
    return Stability(name, labels, e.tolist(), a.tolist(), [int(c) for c in act], psi, chance, verdict)


def recorded_bins(manifest: Mapping[str, Any], name: str, where: str = "The model") -> Bins | None:
    """The development population's bins of the field ``name``, if the manifest records them."""
    population = manifest.get("population")
    try:
        data = population["fields"].get(name) if population is not None else None
        return None if data is None else Bins.from_dict(name, data)
    except DAMAGED as exc:
        raise _malformed(where, exc) from None


def _malformed(where: str, why: object) -> ModelError:
    return ModelError(f"{where} has a malformed 'population' entry ({why}); export the model again.")


def recorded_scale(manifest: Mapping[str, Any]) -> MasterScale | None:
    """The master scale a model's reference population was graded on (``None`` where it records none), so that
    what follows from the model (a recalibrated model, its report) keeps the lender's grades."""
    if "grades" not in manifest.get("population", {}):
        return None
    return Reference.from_manifest(manifest, "The model").scale


def grade_counts(scale: MasterScale, probability: np.ndarray) -> tuple[int, ...]:
    """How many of ``probability`` fall in each grade of ``scale``."""
    return tuple(int(c) for c in np.bincount(scale.index(probability), minlength=len(scale.names)))


def same_scale(a: MasterScale, b: MasterScale) -> bool:
    """The same grades and bounds, wherever each was read from (a file written by ``loanscore grades`` is the
    built-in scale)."""
    return a.names == b.names and a.upper == b.upper


def herfindahl(counts: Iterable[int]) -> float:
    """The Herfindahl index of the shares: 1 when every applicant is in one grade, 1/G when spread evenly over G."""
    c = np.asarray(list(counts), dtype=np.float64)
    return float(np.sum((c / c.sum()) ** 2))


def chance_level(ref_counts: np.ndarray, counts: np.ndarray, *, draws: int = CHANCE_DRAWS, seed: int = 0) -> float:
    """The PSI that two samples of these sizes from one population exceed by chance 1 time in 100.

    Found by drawing both samples ``draws`` times from the pooled shares, so
    that it holds for small batches and sparse bins too, where the
    chi-square approximation and the share floor would mislead; seeded, so
    the same counts give the same level.
    """
    ref = np.asarray(ref_counts, dtype=np.int64)
    act = np.asarray(counts, dtype=np.int64)
    n_ref, n = int(ref.sum()), int(act.sum())
    pooled = (ref + act) / (n_ref + n)
    rng = np.random.default_rng(seed)
    r = rng.multinomial(n_ref, pooled, size=draws) / n_ref
    a = rng.multinomial(n, pooled, size=draws) / n
    return float(np.quantile(_terms(r, a).sum(axis=1), 0.99))


def gravest(verdicts: Iterable[str]) -> str:
    """The verdict that calls for most action: shift, then watch, then too few rows to tell, then stable."""
    seen = set(verdicts)
    return next((v for v in (SHIFT, WATCH, TOO_FEW) if v in seen), STABLE)


def _terms(e: np.ndarray, a: np.ndarray) -> np.ndarray:
    e, a = np.maximum(e, SHARE_FLOOR), np.maximum(a, SHARE_FLOOR)
    return (a - e) * np.log(a / e)


@dataclass
class Report:
    """What ``loanscore monitor`` found: rows read, rows that could not be scored, and each variable's stability.

    Filled batch by batch with :meth:`add` (only counts are kept), then :meth:`finish`.
    """

    source: str
    reference: Reference
    scale: MasterScale | None = None
    """Compare the rating grades on this master scale too (``monitor --grade``)."""
    rows: int = 0
    rejected: list[tuple[int | None, str]] = field(default_factory=list)
    score: Stability | None = None
    grade: Stability | None = None
    fields: list[Stability] = field(default_factory=list)
    mean_probability: float = math.nan
    decline_rate: float = math.nan
    seconds: float = 0.0
    _counts: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _sum_p: float = field(default=0.0, repr=False)
    _declined: int = field(default=0, repr=False)

    def add(self, rows: int, feeds: Mapping[str, np.ndarray], probability: np.ndarray,
            rejected: list[tuple[int | None, str]] | None = None) -> None:
        """Count a batch of ``rows``: ``feeds`` and ``probability`` of its scored rows, ``rejected`` the others."""
        ref = self.reference
        if not self._counts:
            self._counts = {name: np.zeros(len(b.counts), np.int64) for name, b in [(SCORE, ref.score), *ref.fields.items()]}
            if self.scale is not None:
                self._counts[GRADE] = np.zeros(len(self.scale.names), np.int64)
        self._counts[SCORE] += ref.score.count(probability)
        if self.scale is not None:
            self._counts[GRADE] += grade_counts(self.scale, probability)
        for name, bins in ref.fields.items():
            self._counts[name] += bins.count(feeds[name])
        self._sum_p += float(np.sum(probability))
        self._declined += int(np.sum(probability >= ref.threshold))
        self.rows += rows
        self.rejected += rejected or []

    def finish(self) -> Report:
        """Compare the counts with the reference; nothing to compare when no row was scored."""
        if self.scored:
            ref = self.reference
            self.score = compare(ref.score, self._counts[SCORE], ref.score.labels(decimals=3))
            if self.scale is not None:
                self.grade = compare_counts(GRADE, ref.counts_on(self.scale), self._counts[GRADE],
                                            list(self.scale.names))
            self.fields = [compare(bins, self._counts[name]) for name, bins in ref.fields.items()]
            self.mean_probability = self._sum_p / self.scored
            self.decline_rate = self._declined / self.scored
        return self

    @property
    def scored(self) -> int:
        return self.rows - len(self.rejected)

    @property
    def variables(self) -> list[Stability]:
        """The score, the grade (with a master scale) and the fields, in the order they are shown."""
        return [s for s in [self.score, self.grade, *self.fields] if s is not None]

    @property
    def worst(self) -> str:
        """The gravest verdict over the score, the grade and the fields."""
        return gravest(s.verdict for s in self.variables)

    def to_dict(self) -> dict[str, Any]:
        assert self.score is not None
        return {
            "source": self.source,
            "reference": {"rows": self.reference.rows, **self.reference.source},
            "rules": {"watch_from": PSI_WATCH, "shift_from": PSI_SHIFT, "share_floor": SHARE_FLOOR,
                      "chance_99": "PSI two samples of one population exceed 1 time in 100"},
            "rows": self.rows,
            "scored": self.scored,
            "rejected": [{"row": row, "error": message} for row, message in self.rejected],
            "verdict": self.worst,
            "mean_probability": {"reference": self.reference.mean_probability, "actual": self.mean_probability},
            "decline_rate": {"threshold": self.reference.threshold, "reference": self.reference.decline_rate,
                             "actual": self.decline_rate},
            "score": self.score.to_dict(),
            **({"grade": {**self.grade.to_dict(), "master_scale": self.scale.to_dict(),
                          "herfindahl": {"reference": herfindahl(self.reference.grades),
                                         "actual": herfindahl(self.grade.counts)}}}
               if self.grade is not None and self.scale is not None else {}),
            "fields": {s.name: s.to_dict() for s in self.fields},
            "seconds": round(self.seconds, 3),
        }


def monitor(scorer: Scorer, reader: Reader, reference: Reference, *, progress: Progress | None = None,
            scale: MasterScale | None = None) -> Report:
    """Score every row of ``reader`` and compare the scored rows' fields and probabilities (and their grades on
    ``scale``) with ``reference``.

    Rows that cannot be scored are listed in ``Report.rejected`` (row and
    reason), never counted in a bin. Memory stays bounded: only counts are kept.
    """
    start = time.perf_counter()
    reference.check_columns(scorer.schema.columns())
    if scale is not None:
        reference.counts_on(scale)  # refused before any row is read, if graded on another scale
    report = Report(reader.name, reference, scale)
    for batch in scored_batches(scorer, reader, progress):
        report.add(batch.chunk.n, batch.feeds, batch.probability, batch.rejected)
    report.seconds = time.perf_counter() - start
    return report.finish()


def collect(scorer: Scorer, reader: Reader, *, progress: Progress | None = None,
            source: Mapping[str, Any] | None = None,
            scale: MasterScale | None = None) -> tuple[Reference, list[tuple[int | None, str]]]:
    """A reference built from the scored rows of ``reader`` (``monitor --reference``), and the rows not scored.

    Unlike :func:`monitor` this holds the file's validated fields in memory
    (about 100 bytes a row for the default schema): deciles need every value.
    """
    columns = scorer.schema.columns()
    parts: dict[str, list[np.ndarray]] = {c.name: [] for c in columns}
    probabilities: list[np.ndarray] = []
    rejected: list[tuple[int | None, str]] = []
    rows = 0
    for batch in scored_batches(scorer, reader, progress):
        rows += batch.chunk.n
        rejected += batch.rejected
        for name in parts:
            parts[name].append(batch.feeds[name])
        probabilities.append(batch.probability)
    p = np.concatenate(probabilities) if probabilities else np.empty(0)
    if not rows:
        raise InputError(f"The reference file {reader.name} has a header but no rows; it cannot serve as a reference.")
    if not len(p):
        raise InputError(f"None of the {rows:,} rows of the reference file {reader.name} could be scored; "
                         "it cannot serve as a reference.")
    feeds = {name: np.concatenate(arrays) for name, arrays in parts.items()}
    info = {"file": reader.name, "rows_read": rows, **(source or {})}
    return Reference.build(columns, feeds, p, scorer.threshold, info, scale), rejected


def _number(x: float) -> str:
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.6g}" if abs(x) < 1e6 else f"{x:,.0f}"


__all__ = ["Bins", "Reference", "Report", "Stability", "chance_level", "compare", "compare_counts", "gravest",
           "herfindahl", "monitor", "recorded_scale"]
