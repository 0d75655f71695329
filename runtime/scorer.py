"""Score applicants with a loanscore model: the Python API for desktop lending apps.

Embed it like this; one ``Scorer`` serves every thread of the app::

    from loanscore.runtime import Scorer, ValidationError

    scorer = Scorer.load()                # the shipped model; or Scorer.load("path/to/model")
    try:
        result = scorer.score(form_values)    # a dict: column name -> value
    except ValidationError as err:
        show_to_clerk(err.field, err.reason)  # every bad field is in err.errors
    else:
        show(result.probability, result.decision)

    result = scorer.score(form_values, reasons=3)  # also: the 3 fields that raise P(default) the most
    for reason in result.reasons:                   # e.g. "repayment_status +0.213"
        print(reason.field, reason.effect, reason.statement)  # "Late repayments in recent months"

    case = scorer.explain(form_values)     # every field's effect, the history month by month

    batch = scorer.score_columns({"LIMIT_BAL": limits, "AGE": ages, ...})  # numpy arrays, fastest
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import FieldError, ValidationError
from .model import Model
from .schema import Schema
from .validate import Checked, check_columns, check_record

if TYPE_CHECKING:
    from .explain import Explanation
    from .reasons import Explainer, Reason
    from .statements import Statements

APPROVE, REVIEW, DECLINE = "approve", "review", "decline"


@dataclass(frozen=True)
class Bands:
    """Decision cut-offs: approve below ``approve_below``, decline from ``decline_from``, review between.

    With both equal to the manifest threshold (the default) there is no review band.
    """

    approve_below: float
    decline_from: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.approve_below <= self.decline_from <= 1.0:
            raise ValueError(
                f"Decision cut-offs must satisfy 0 <= approve-below <= decline-from <= 1; "
                f"got {self.approve_below} and {self.decline_from}."
            )

    def decide(self, p: np.ndarray) -> np.ndarray:
        return np.where(p < self.approve_below, APPROVE, np.where(p >= self.decline_from, DECLINE, REVIEW))


@dataclass(frozen=True)
class ScoreResult:
    """One applicant's score. ``probability`` and ``decision`` are ``None`` when ``errors`` is not empty.

    ``reasons`` is filled only when asked for (``reasons=N``), largest effect first.
    """

    probability: float | None
    decision: str | None
    errors: tuple[FieldError, ...] = ()
    warnings: tuple[str, ...] = ()
    reasons: tuple[Reason, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class BatchResult:
    """Scores for ``n`` applicants in input order.

    ``probability`` is NaN and ``decision`` is ``""`` where a row was rejected;
    ``errors``/``warnings`` map 0-based row positions to what was found;
    ``reasons`` holds each row's reasons when they were asked for (none for a rejected row).
    """

    probability: np.ndarray
    decision: np.ndarray
    errors: Mapping[int, Sequence[FieldError]]
    warnings: Mapping[int, Sequence[str]]
    reasons: Sequence[tuple[Reason, ...]] | None = None

    def __len__(self) -> int:
        return len(self.probability)

    @property
    def n_rejected(self) -> int:
        return len(self.errors)

    def __getitem__(self, i: int) -> ScoreResult:
        if i in self.errors:
            return ScoreResult(None, None, tuple(self.errors[i]), tuple(self.warnings.get(i, ())))
        return ScoreResult(float(self.probability[i]), str(self.decision[i]), (), tuple(self.warnings.get(i, ())),
                           self.reasons[i] if self.reasons is not None else ())


class Scorer:
    """Validates applicant records against the model's schema and scores them.

    Thread-safe: validation keeps no state, and onnxruntime sessions may be
    shared between threads.
    """

    def __init__(self, model: Model, bands: Bands | None = None, *,
                 statements: str | Path | Statements | None = None):
        """``statements`` (a statements file, or a mapping as :func:`.statements.load_statements` gives)
        replaces the reason statements the model words; see :mod:`.statements`."""
        self.model = model
        self.bands = bands or Bands(model.threshold, model.threshold)
        self._columns = model.schema.columns()
        self._explainer: Explainer | None = None
        if isinstance(statements, (str, Path)):
            from .statements import load_statements

            statements = load_statements(statements, model.schema)
        self._statements = statements

    @classmethod
    def load(
        cls, model_dir: str | Path | None = None, *, bands: Bands | None = None, threads: int | None = None,
        statements: str | Path | Statements | None = None,
    ) -> Scorer:
        """Load ``model_dir`` (default: the shipped model), checking it against its manifest."""
        return cls(Model.load(model_dir, threads=threads), bands, statements=statements)

    @property
    def schema(self) -> Schema:
        return self.model.schema

    @property
    def threshold(self) -> float:
        return self.model.threshold

    @property
    def explainer(self) -> Explainer:
        """What finds reason codes; raises ``ModelError`` if the manifest records no population."""
        if self._explainer is None:
            from .reasons import Explainer

            self._explainer = Explainer(self.model, self._statements)
        return self._explainer

    def score(self, record: Mapping[str, Any], *, reasons: int = 0) -> ScoreResult:
        """Score one applicant, with up to ``reasons`` reason codes; raise ``ValidationError`` naming every bad field."""
        checked = check_record(self._columns, record)
        if checked.errors:
            raise ValidationError(checked.errors[0])
        p = float(self.model.run(checked.feeds)[0][0, 0])
        why = self.explainer.reasons(checked.feeds, np.array([p]), reasons)[0] if reasons > 0 else ()
        decision = APPROVE if p < self.bands.approve_below else DECLINE if p >= self.bands.decline_from else REVIEW
        return ScoreResult(p, decision, (), tuple(checked.warnings.get(0, ())), why)

    def explain(self, record: Mapping[str, Any]) -> Explanation:
        """Every field's effect on one applicant's P(default), the history month by month, for a case review
        (:mod:`.explain`); raise ``ValidationError`` naming every bad field."""
        from .explain import explain_feeds

        checked = check_record(self._columns, record)
        if checked.errors:
            raise ValidationError(checked.errors[0])
        return dataclasses.replace(explain_feeds(self, checked.feeds)[0], warnings=tuple(checked.warnings.get(0, ())))

    def score_records(self, records: Iterable[Mapping[str, Any]], *, first_row: int = 1,
                      reasons: int = 0) -> list[ScoreResult]:
        """Score many applicants; a bad record gets errors in its result instead of raising."""
        records = list(records)
        columns = {c.name: [r.get(c.name) for r in records] for c in self._columns}
        batch = self.score_columns(columns, first_row=first_row, reasons=reasons)
        return [batch[i] for i in range(len(records))]

    def score_columns(self, columns: Mapping[str, Any], *, first_row: int | None = 1, reasons: int = 0) -> BatchResult:
        """Score applicants given column-wise (name -> sequence or numpy array), the fastest path.

        Columns absent from ``columns`` count as missing values. ``reasons=N``
        adds up to N reason codes per row, at the cost of scoring each row once
        more per field and history channel.
        """
        n = _length(columns, self._columns)
        if n == 0:
            empty = np.empty(0)
            return BatchResult(empty, empty.astype(str), {}, {}, [] if reasons > 0 else None)
        checked, p = self.check_and_run(columns, n, first_row)
        why = self.explainer.reasons(checked.feeds, p, reasons, skip=checked.errors) if reasons > 0 else None
        decision = self.bands.decide(p)
        if checked.errors:
            rejected = np.fromiter(checked.errors, dtype=np.int64)
            p[rejected] = np.nan
            decision[rejected] = ""
        return BatchResult(p, decision, checked.errors, checked.warnings, why)

    def check_and_run(self, columns: Mapping[str, Any], n: int, first_row: int | None = 1) -> tuple[Checked, np.ndarray]:
        """The validated inputs and every row's probability (a rejected row's is meaningless), for callers
        that need the inputs as the graph saw them too, such as population stability."""
        checked = self.check(columns, n, first_row)
        return checked, self.run_feeds(checked.feeds)

    def check(self, columns: Mapping[str, Any], n: int, first_row: int | None = 1) -> Checked:
        """Validate ``n`` applicants given column-wise: the inputs as the graph will see them, and what was found."""
        return check_columns(self._columns, columns, n, first_row)

    def run_feeds(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """Every row's probability from validated inputs; the one place a batch reaches the graph."""
        return self.model.run(feeds)[0].reshape(-1).astype(np.float64)


class ScoresOnce(Scorer):
    """A scorer that runs the graph once per distinct batch of inputs: a report's checks each read the same
    file, so all but the first find its rows' probabilities remembered (by a digest of the validated inputs).

    Only what is scored before ``full`` is set is remembered (8 bytes a row): the report sets it once a check has
    read the file, so a fairness review's counterfactual rows, each scored once anyway, are not kept.
    """

    def __init__(self, model: Model):
        super().__init__(model)
        self.remembered: dict[bytes, np.ndarray] = {}
        self.full = False

    def run_feeds(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        key = _digest(feeds)
        p = self.remembered.get(key)
        if p is None:
            p = super().run_feeds(feeds)
            if not self.full:
                self.remembered[key] = p
        return p.copy()  # callers overwrite rejected rows' values


def _digest(feeds: dict[str, np.ndarray]) -> bytes:
    """A digest of every input's name and values: each text length-prefixed and typed, so no two batches share
    one."""
    h = hashlib.blake2b(digest_size=20)
    for name in sorted(feeds):
        a = feeds[name]
        h.update(f"{name}\0{a.dtype}\0{a.shape}\0".encode())
        if a.dtype == object:
            for v in a.ravel().tolist():
                t = f"{type(v).__name__}:{v}".encode("utf-8", "surrogatepass")
                h.update(len(t).to_bytes(8, "little") + t)
        else:
            h.update(np.ascontiguousarray(a).tobytes())
    return h.digest()


def _length(columns: Mapping[str, Any], expected: list[Any]) -> int:
    lengths = {len(columns[c.name]) for c in expected if c.name in columns}
    if not lengths:
        lengths = {len(v) for v in columns.values()} or {0}
    if len(lengths) != 1:
        raise ValueError(f"All columns must have the same length; got lengths {sorted(lengths)}.")
    return lengths.pop()
