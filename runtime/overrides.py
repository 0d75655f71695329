"""Override monitoring: where the lender's final decisions departed from the model's, and how those loans did.

A scorecard decides most applications, and credit officers overrule some of
its decisions. Credit policy watches these overrides, as the validation of a
rating system does:

* low-side overrides: applicants the model declines whom the lender approved;
* high-side overrides: applicants the model approves whom the lender declined.

Applicants between the approve and decline cut-offs are referred to a person
by design, so deciding them is no override. The rates are counted overall,
by rating grade (where overrides happen) and by any column such as a branch
or an officer (who makes them): a group whose override rate is above the
rest's by more than chance explains (Fisher's exact test, p < 0.01 / groups)
is an alert, as is a rate above the lender's own limit.

With outcomes (known only for the approved), the approved are split by the
model's decision: did the low-side overrides default as often as their
P(default) said (the model saw the risk the officers took on), or less often
(the officers knew something the model does not)? A z test of defaults
against the sum of P(default), as :mod:`.backtest` tests calibration. Where
the lender records why it overrode, the overrides are also counted by
reason, each reason's low-side loans judged the same way.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backtest import _json_safe, read_scored
from .errors import FieldError
from .fairness import Grouping, Values
from .grades import MasterScale, describe
from .performance import calibration_p_value, fisher_two_sided
from .scorer import APPROVE, DECLINE, REVIEW, Scorer
from .stream import Progress
from .tabular import Chunk, Reader

ALPHA = 0.01
PASS, ALERT = "pass", "alert"
APPROVED_WORDS = ("approve", "approved", "accept", "accepted", "grant", "granted")
DECLINED_WORDS = ("decline", "declined", "reject", "rejected", "deny", "denied")
_FINAL = {**{w: True for w in APPROVED_WORDS}, **{w: False for w in DECLINED_WORDS}}


def final_errors(values: Sequence[Any], name: str, first_row: int | None) -> dict[int, FieldError]:
    """A field error for each row whose final decision is missing or is not a word for approve or decline."""
    errors = {}
    for i, value in enumerate(values):
        text = "" if value is None else str(value).strip().lower()
        if text in _FINAL:
            continue
        reason = ("is missing; an override review needs each applicant's final decision" if not text else
                  f"must be the lender's final decision, approve or decline (or {', '.join(APPROVED_WORDS[1:])}; "
                  f"{', '.join(DECLINED_WORDS[1:])})")
        errors[i] = FieldError(name, value, reason, None if first_row is None else first_row + i)
    return errors


def final_approved(values: Values) -> np.ndarray:
    """True where the final decision approves (every value must be one :func:`final_errors` accepts)."""
    return np.fromiter((_FINAL[str(v).strip().lower()] for v in values), dtype=bool, count=len(values))


@dataclass(frozen=True)
class Tally:
    """One set of applicants: the model's decisions, and where the lender's final ones departed from them."""

    label: str
    model_approve: int
    model_review: int
    model_decline: int
    low_side: int
    """Declined by the model, approved by the lender."""
    high_side: int
    """Approved by the model, declined by the lender."""
    review_approved: int
    """Referred by the model to a person, who approved them."""

    @classmethod
    def of(cls, label: str, model: np.ndarray, approved: np.ndarray) -> Tally:
        def count(decision: str, final: bool) -> int:
            return int(np.count_nonzero((model == decision) & (approved == final)))

        return cls(label, int(np.count_nonzero(model == APPROVE)), int(np.count_nonzero(model == REVIEW)),
                   int(np.count_nonzero(model == DECLINE)), count(DECLINE, True), count(APPROVE, False),
                   count(REVIEW, True))

    @property
    def applicants(self) -> int:
        return self.model_approve + self.model_review + self.model_decline

    @property
    def decided(self) -> int:
        """The applicants the model decided (not referred): those whose decision could be overridden."""
        return self.model_approve + self.model_decline

    @property
    def overrides(self) -> int:
        return self.low_side + self.high_side

    @property
    def approved(self) -> int:
        """Approved in the end."""
        return self.model_approve - self.high_side + self.review_approved + self.low_side

    @property
    def low_side_rate(self) -> float:
        return self.low_side / self.model_decline if self.model_decline else math.nan

    @property
    def high_side_rate(self) -> float:
        return self.high_side / self.model_approve if self.model_approve else math.nan

    @property
    def override_rate(self) -> float:
        return self.overrides / self.decided if self.decided else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.label, "applicants": self.applicants, "model_approve": self.model_approve,
                "model_review": self.model_review, "model_decline": self.model_decline,
                "approved": self.approved, "low_side": self.low_side, "high_side": self.high_side,
                "review_approved": self.review_approved, "low_side_rate": self.low_side_rate,
                "high_side_rate": self.high_side_rate, "override_rate": self.override_rate}


@dataclass(frozen=True)
class GroupTally:
    """One group of a ``--by`` column, its override rate tested against the rest of the file's."""

    tally: Tally
    p_value: float
    """Fisher's exact test of the group's overrides among its decided applicants against the rest's (NaN: not
    tested, as the group or the rest decided none)."""
    above: bool
    """The group's override rate is above the rest's."""


@dataclass(frozen=True)
class Performance:
    """Applicants approved in the end whose outcome is known, by the model's decision: defaults against the sum
    of their P(default)."""

    label: str
    rows: int
    defaults: int
    expected: float
    variance: float

    @property
    def default_rate(self) -> float:
        return self.defaults / self.rows if self.rows else math.nan

    @property
    def mean_probability(self) -> float:
        return self.expected / self.rows if self.rows else math.nan

    @property
    def p_value(self) -> float:
        """Two-sided z test of the defaults against the sum of P(default), with the variance sum p (1 - p)."""
        return calibration_p_value(self.defaults, self.expected, self.variance) if self.rows else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.label, "rows": self.rows, "defaults": self.defaults, "expected_defaults": self.expected,
                "default_rate": self.default_rate, "mean_probability": self.mean_probability,
                "p_value": self.p_value}


@dataclass(frozen=True)
class ReasonTally:
    """The overrides the lender gave one reason for (the ``--reason`` column), and how its low-side ones did."""

    label: str
    low_side: int
    high_side: int
    performance: Performance | None = None
    """The low-side overrides with a known outcome (``None`` without outcomes)."""

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.label, "low_side": self.low_side, "high_side": self.high_side,
                **({} if self.performance is None else {"low_side_outcomes": self.performance.to_dict()})}


NO_REASON = "(none given)"

PERFORMANCE = ((APPROVE, "approved by the model"), (REVIEW, "referred, then approved"),
               (DECLINE, "low-side overrides"))
"""The approved, split by the model's decision, as :attr:`OverrideReview.performance` lists them."""


@dataclass
class OverrideReview:
    """What ``loanscore overrides`` found. Build it with :func:`evaluate` (arrays) or :func:`review` (a file)."""

    source: str
    final: str
    rows: int
    approve_below: float
    decline_from: float
    overall: Tally
    master_scale: str
    grades: list[Tally]
    by: dict[str, list[GroupTally]] = field(default_factory=dict)
    limit: float | None = None
    outcome: str | None = None
    performance: list[Performance] = field(default_factory=list)
    unknown_outcomes: int = 0
    """Approved in the end, with no outcome yet: left out of :attr:`performance`."""
    declined_outcomes: int = 0
    """Declined in the end, yet with an outcome in the file (a loan the lender did not make has none): left out."""
    reason: str | None = None
    """The column holding each override's stated reason, if one was given."""
    reasons: list[ReasonTally] = field(default_factory=list)
    """The overrides by stated reason, the most frequent first (:data:`NO_REASON` for an override without one)."""
    rejected: list[tuple[int | None, str]] = field(default_factory=list)
    seconds: float = 0.0

    def alpha(self, name: str) -> float:
        """The level at which a group of ``name`` is said to override more than the rest: 0.01 / groups tested."""
        return ALPHA / max(1, sum(not math.isnan(g.p_value) for g in self.by[name]))

    def flagged(self, name: str, group: GroupTally) -> bool:
        """The group overrides more than the rest by more than chance explains, or above :attr:`limit`."""
        beyond_chance = group.above and group.p_value < self.alpha(name)
        return beyond_chance or self.over_limit(group.tally)

    def over_limit(self, tally: Tally) -> bool:
        """A low-side or high-side override rate above the lender's :attr:`limit`."""
        return self.limit is not None and any(rate > self.limit for rate in (tally.low_side_rate, tally.high_side_rate)
                                              if not math.isnan(rate))

    @property
    def verdict(self) -> str:
        flagged = any(self.flagged(name, g) for name, groups in self.by.items() for g in groups)
        return ALERT if flagged or self.over_limit(self.overall) else PASS

    def to_dict(self) -> dict[str, Any]:
        """Every figure, as JSON can hold it (an undefined rate, such as among no declines, null)."""
        return _json_safe({
            "source": self.source, "final_decision": self.final, "rows": self.rows, "scored": self.overall.applicants,
            "rejected": [{"row": row, "error": message} for row, message in self.rejected],
            "approve_below": self.approve_below, "decline_from": self.decline_from, "limit": self.limit,
            "verdict": self.verdict, "overall": self.overall.to_dict(),
            "rules": {"low_side": "declined by the model, approved by the lender",
                      "high_side": "approved by the model, declined by the lender",
                      "referred": "between the cut-offs the model refers to a person: not overrides",
                      "group_alert": "override rate above the rest's, Fisher's exact test p < 0.01 / groups tested",
                      "limit": "a low-side or high-side override rate above --limit"},
            "master_scale": self.master_scale, "grades": [g.to_dict() for g in self.grades],
            "by": {name: {"alpha": self.alpha(name), "groups": [
                {**g.tally.to_dict(), "p_value": g.p_value, "above_rest": g.above, "flagged": self.flagged(name, g)}
                for g in groups]} for name, groups in self.by.items()},
            "outcome": self.outcome, "performance": [p.to_dict() for p in self.performance],
            "unknown_outcomes": self.unknown_outcomes, "declined_outcomes": self.declined_outcomes,
            "reason_column": self.reason, "reasons": [r.to_dict() for r in self.reasons],
            "seconds": round(self.seconds, 3),
        })


def evaluate(p: Any, approved: Any, *, approve_below: float, decline_from: float, grades: MasterScale,
             manifest: Mapping[str, Any], by: Sequence[tuple[Grouping, Values]] = (), y: Any = None,
             limit: float | None = None, source: str = "data", final: str = "final_decision",
             outcome: str | None = None, rows: int | None = None, reasons: Values | None = None,
             reason: str | None = None, rejected: list[tuple[int | None, str]] | None = None) -> OverrideReview:
    """Review the overrides of applicants with P(default) ``p`` whom the lender ``approved`` (True) or declined.

    ``y``: each applicant's outcome, 1 defaulted or 0 repaid, NaN where not known (as for the declined).
    ``reasons``: each applicant's stated reason for an override (read on the overrides only), from the column
    ``reason``.
    """
    p = np.asarray(p, dtype=np.float64)
    approved = np.asarray(approved, dtype=bool)
    model = np.where(p < approve_below, APPROVE, np.where(p >= decline_from, DECLINE, REVIEW))
    grade = grades.index(p)
    result = OverrideReview(
        source=source, final=final, rows=len(p) if rows is None else rows, approve_below=approve_below,
        decline_from=decline_from, overall=Tally.of("all", model, approved), master_scale=grades.source,
        grades=[Tally.of(f"{name} ({span})", model[grade == k], approved[grade == k])
                for k, (name, span, _) in enumerate(describe(grades))],
        limit=limit, outcome=outcome, reason=reason, rejected=list(rejected or []))
    for grouping, values in by:
        index, labels = grouping.index(values, manifest)
        result.by[grouping.name] = [_tested(Tally.of(label, model[index == k], approved[index == k]), result.overall)
                                    for k, label in enumerate(labels) if np.any(index == k)]
    y = None if y is None else np.asarray(y, dtype=np.float64)
    if reasons is not None:
        result.reasons = _by_reason(p, model, approved, reasons, y)
    if y is not None:
        known = ~np.isnan(y)
        result.unknown_outcomes = int(np.count_nonzero(approved & ~known))
        result.declined_outcomes = int(np.count_nonzero(~approved & known))
        for decision, label in PERFORMANCE:
            m = approved & known & (model == decision)
            result.performance.append(Performance(label, int(m.sum()), int(y[m].sum()), float(p[m].sum()),
                                                  float((p[m] * (1 - p[m])).sum())))
    return result


def _by_reason(p: np.ndarray, model: np.ndarray, approved: np.ndarray, reasons: Values,
               y: np.ndarray | None) -> list[ReasonTally]:
    low, high = (model == DECLINE) & approved, (model == APPROVE) & ~approved
    text = np.array([("" if v is None else str(v).strip()) or NO_REASON for v in reasons], dtype=object)
    out = []
    for label in np.unique(text[low | high]).tolist():
        mine = text == label
        performance = None
        if y is not None:
            m = mine & low & ~np.isnan(y)
            performance = Performance(label, int(m.sum()), int(y[m].sum()), float(p[m].sum()),
                                      float((p[m] * (1 - p[m])).sum()))
        out.append(ReasonTally(label, int((mine & low).sum()), int((mine & high).sum()), performance))
    return sorted(out, key=lambda r: (r.label == NO_REASON, -(r.low_side + r.high_side), r.label))


def _tested(group: Tally, overall: Tally) -> GroupTally:
    rest_overrides, rest_decided = overall.overrides - group.overrides, overall.decided - group.decided
    if not group.decided or not rest_decided:
        return GroupTally(group, math.nan, False)
    p_value = fisher_two_sided(group.overrides, group.decided - group.overrides, rest_overrides,
                               rest_decided - rest_overrides)
    return GroupTally(group, p_value, group.overrides / group.decided > rest_overrides / rest_decided)


def review(scorer: Scorer, reader: Reader, final: str, *, grades: MasterScale, by: Sequence[Grouping] = (),
           outcome: str | None = None, reason: str | None = None, limit: float | None = None,
           progress: Progress | None = None) -> OverrideReview:
    """Score every row of ``reader`` and review the overrides among those scored, at the scorer's cut-offs.

    ``reader`` must read ``final`` (and ``outcome``, ``reason`` and the ``by`` columns) as input columns. Rows
    that cannot be scored, lack a final decision or hold an outcome other than 0, 1 or blank are listed in
    ``rejected`` with row, field and reason, never dropped silently; ``InputError`` if no row is left.
    """
    start = time.perf_counter()

    def undecided(chunk: Chunk) -> dict[int, FieldError]:
        return final_errors(chunk.columns[final], final, chunk.first_row)

    read = [final, *(c for g in by for c in g.columns), *([reason] if reason else [])]
    got = read_scored(scorer, reader, outcome, read, progress, verb="review", blank=True, more=undecided)
    column = got.columns
    result = evaluate(got.p, final_approved(column[final]), approve_below=scorer.bands.approve_below,
                      decline_from=scorer.bands.decline_from, grades=grades, manifest=scorer.model.manifest,
                      by=[(g, g.of(column)) for g in by], y=got.y, limit=limit, source=reader.name, final=final,
                      outcome=outcome, rows=got.rows, rejected=got.rejected,
                      reasons=column[reason] if reason else None, reason=reason)
    result.seconds = time.perf_counter() - start
    return result


__all__ = ["ALERT", "NO_REASON", "PASS", "GroupTally", "OverrideReview", "Performance", "ReasonTally", "Tally",
           "evaluate", "review"]
