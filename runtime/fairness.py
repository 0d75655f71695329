"""Fair-lending review: do the model's decisions fall harder on a group the law protects?

A lender has to show that its credit decisions do not discriminate by sex,
marital status, age and the like, and its model-risk and compliance teams
review each model, and each year's decisions, for it. For every group of a
field (each code of SEX, each age band) this counts who was approved and
compares the group with the field's most-approved group:

* Adverse impact. The ratio of approval rates (the *adverse impact ratio*)
  and Fisher's exact test of the two rates. The four-fifths rule (US EEOC
  guidelines, used in fair-lending reviews) flags a ratio below 0.8; the
  review alerts when a ratio is below 0.8 *and* the gap is more than chance
  explains (p < 0.01 / comparisons), so that neither a handful of applicants
  nor a trivial gap in a huge file raises an alert. Groups of fewer than
  :data:`MIN_GROUP` rows are shown, not tested.
* Outcomes known: is the model as right about each group? Defaults observed
  against expected within each group (the z test of ``backtest --by``): a
  model that understates one group's risk and overstates another's treats
  them unequally even where approval rates look alike. Alert at p < 0.01 /
  groups. For reading, not testing: each group's default rate, ROC AUC, and
  the share of its good payers approved, with its ratio to the reference's.

A gap in approval rates is not by itself discrimination: groups can differ in
risk. Where the outcomes show the model calibrated within every group, the gap
follows the defaults; whether a field may be used at all is the law's
question (see ``loanscore train --without``). This is a screening signal, not
a legal finding.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np

from .backtest import MAX_SEGMENTS, _json_safe, column_values, labelled_batches, segment_index, something_left
from .errors import InputError
from .performance import calibration_p_value, fisher_two_sided, roc_auc_with_se
from .schema import CategoricalField, NumericField, Schema
from .scorer import Scorer
from .stream import Progress
from .tabular import Chunk, Reader

Values: TypeAlias = Sequence[Any] | np.ndarray
"""A column's values: a list, or a NumPy array as a batch's columns are."""

FOUR_FIFTHS = 0.8
ALPHA = 0.01
MIN_GROUP = 30
"""Smaller groups are shown but neither tested nor eligible as the reference: a few decisions swing them."""
PASS, ALERT = "pass", "alert"
MISSING = "missing"


@dataclass(frozen=True)
class Grouping:
    """How one column's values fall into groups: by ``edges`` (numbers), by ``codes`` with their ``labels``
    (a categorical field), or, with neither, by the model's development deciles or the column's distinct values."""

    name: str
    edges: tuple[float, ...] = ()
    codes: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    protected: bool = False
    parts: tuple[Grouping, ...] = ()
    """Groups crossed from several columns (``--by SEX*AGE``: women under 25, ...): each column's grouping."""
    reference: str = ""
    """The group the others are compared with, as a lender names it (``1``, ``1 male``, ``35-44``); by default
    the most-approved group."""
    most: int = MAX_SEGMENTS
    """The most distinct values a column grouped by its values may hold (``overrides`` allows more: officers)."""

    def names(self, label: str) -> bool:
        """Whether :attr:`reference` names the group ``label`` (its label, or the code it starts with)."""
        return bool(self.reference) and self.reference.strip() in (label, label.split(" ", 1)[0])

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns the groups are read from."""
        return tuple(p.name for p in self.parts) if self.parts else (self.name,)

    def of(self, column: Mapping[str, Any]) -> Any:
        """This grouping's values among ``column`` (name -> values): one sequence, or one per crossed column."""
        return [column[c] for c in self.columns] if self.parts else column[self.name]

    def how(self, manifest: Mapping[str, Any]) -> str:
        """How the groups are cut, in words."""
        if self.parts:
            return " × ".join(p.how(manifest) for p in self.parts)
        if self.edges:
            return "bands " + ", ".join(_num(e) for e in self.edges)
        if self.codes:
            return "codes"
        fields = (manifest.get("population") or {}).get("fields", {})
        return "development deciles" if self.name in fields else "values"

    def code_label(self, code: str) -> str:
        """A code's group, as the review names it: ``2 female``, or the code alone where it has no label."""
        return f"{code} {self.labels[code]}" if code in self.labels else code

    def index(self, values: Values, manifest: Mapping[str, Any]) -> tuple[np.ndarray, list[str]]:
        """Each row's group and the groups' labels (in a reading order: codes or bands, then missing).
        Crossed groups take one sequence of values per column of :attr:`columns`."""
        if self.parts:
            index, labels = np.zeros(len(values[0]), dtype=np.int64), [""]
            for part, column in zip(self.parts, values):
                k, names = part.index(column, manifest)
                index = index * len(names) + k
                labels = [f"{a}, {b}" if a else b for a in labels for b in names]
            return index, labels
        if self.edges:
            return _bands(values, self.edges)
        if self.codes:
            return _codes(values, self)
        return segment_index(self.name, values, manifest, self.most)


def groupings(schema: Schema, by: Sequence[str]) -> list[Grouping]:
    """The groupings ``--by`` asks for (``FIELD``, ``FIELD:EDGE,EDGE,...``, or ``FIELD*FIELD...`` crossed); with
    none, the schema's protected fields. A schema field (a left-out one too) is grouped as the schema says: codes
    with their labels, or its ``bands``; edges given after a colon take precedence."""
    fields: dict[str, NumericField | CategoricalField] = {
        f.name: f for f in (*schema.fields, *schema.left_out_fields)}
    if not by:
        return [_grouping(f, ()) for f in schema.protected_fields]
    out = []
    for spec in by:
        parts = [_parsed(part, spec, fields) for part in spec.split("*")]
        if len(parts) == 1:
            out.append(parts[0])
            continue
        names = [p.name for p in parts]
        if len(set(names)) < len(names):
            raise InputError(f"--by {spec}: crosses {max(names, key=names.count)} with itself.")
        out.append(Grouping("*".join(names), protected=any(p.protected for p in parts), parts=tuple(parts)))
    names = [g.name for g in out]
    if len(set(names)) < len(names):
        raise InputError(f"--by names {max(names, key=names.count)} twice; give each column once.")
    return out


def _parsed(part: str, spec: str, fields: Mapping[str, NumericField | CategoricalField]) -> Grouping:
    name, _, cut = part.partition(":")
    name = name.strip()
    edges = _edges(cut, spec) if cut.strip() else ()
    known = fields.get(name)
    if known is None:
        return Grouping(name, edges)
    if isinstance(known, CategoricalField) and edges:
        raise InputError(f"--by {spec}: {name} is a categorical field; its groups are its codes, not bands.")
    return _grouping(known, edges)


def _grouping(f: NumericField | CategoricalField, edges: tuple[float, ...]) -> Grouping:
    if isinstance(f, CategoricalField):
        return Grouping(f.name, codes=tuple(str(c) for c in f.codes), labels=f.labels, protected=f.protected)
    return Grouping(f.name, edges or f.bands, protected=f.protected)


def _edges(text: str, spec: str) -> tuple[float, ...]:
    try:
        edges = tuple(float(t) for t in text.split(","))
    except ValueError:
        edges = ()
    if not edges or not all(math.isfinite(e) for e in edges) or any(a >= b for a, b in zip(edges, edges[1:])):
        raise InputError(f"--by {spec}: after the colon come the inner edges of the bands, increasing numbers "
                         "separated by commas (AGE:25,35,45 makes under 25, 25-34, 35-44, 45 and over).")
    return edges


@dataclass(frozen=True)
class Group:
    """One group's applicants: how many were approved, and (outcomes known) how many defaulted."""

    label: str
    rows: int
    approved: int
    probability_sum: float
    defaults: int | None = None
    variance: float = 0.0
    """The sum of p (1 - p): the variance of the default count if the probabilities are right."""
    good: int = 0
    good_approved: int = 0
    roc_auc: float = math.nan
    outcomes: int = 0
    """The rows with a known outcome (all of them, unless some were blank: not known yet, as for the declined)."""
    expected: float = 0.0
    """The sum of P(default) over the rows with a known outcome: the defaults expected among them."""

    @property
    def approval_rate(self) -> float:
        return self.approved / self.rows

    @property
    def mean_probability(self) -> float:
        return self.probability_sum / self.rows

    @property
    def default_rate(self) -> float:
        """Defaults among the rows with a known outcome."""
        return (self.defaults or 0) / self.outcomes if self.outcomes else math.nan

    @property
    def good_approval_rate(self) -> float:
        return self.good_approved / self.good if self.good else math.nan

    @property
    def calibration_p_value(self) -> float:
        """Two-sided z test of the defaults against the sum of P(default) (NaN without outcomes)."""
        if self.defaults is None or not self.outcomes:
            return math.nan
        return calibration_p_value(self.defaults, self.expected, self.variance)


@dataclass
class FieldReview:
    """Every group of one field, compared with its most-approved group (the reference)."""

    grouping: Grouping
    groups: list[Group]
    how: str = ""
    """How the groups are cut, in words (:meth:`Grouping.how`)."""
    as_reference: dict[str, tuple[int, int]] = field(default_factory=dict)
    """For a field the model reads: each group's applicants scored again with the field set to :attr:`as_value`
    (the reference group's code, or the median of its values for a number in bands), as (approved, decisions
    changed) by group label. The change is the part of the gap the field itself makes; what is left comes from
    the applicants' other fields."""
    as_value: str = ""

    @property
    def name(self) -> str:
        return self.grouping.name

    @property
    def reference(self) -> Group | None:
        """The group named by :attr:`Grouping.reference`, else the most-approved group (the first such, on a tie),
        other than the applicants whose value is missing; either of at least :data:`MIN_GROUP` rows."""
        eligible = [g for g in self.groups if g.rows >= MIN_GROUP and g.label != MISSING]
        if self.grouping.reference:
            eligible = [g for g in eligible if self.grouping.names(g.label)]
        return max(eligible, key=lambda g: g.approval_rate) if eligible else None

    def tested(self, group: Group) -> bool:
        ref = self.reference
        return ref is not None and group is not ref and group.rows >= MIN_GROUP and ref.approved > 0

    @property
    def alpha(self) -> float:
        return ALPHA / max(1, sum(self.tested(g) for g in self.groups))

    def ratio(self, group: Group) -> float:
        ref = self.reference
        return group.approval_rate / ref.approval_rate if ref is not None and ref.approved else math.nan

    def good_ratio(self, group: Group) -> float:
        ref = self.reference
        if ref is None or not ref.good_approved:
            return math.nan
        return group.good_approval_rate / ref.good_approval_rate

    def p_value(self, group: Group) -> float:
        """Fisher's exact test of the group's approval rate against the reference's (NaN where not tested)."""
        ref = self.reference
        if not self.tested(group) or ref is None:
            return math.nan
        return fisher_two_sided(group.approved, group.rows - group.approved, ref.approved, ref.rows - ref.approved)

    def adverse(self, group: Group) -> bool:
        """Below four-fifths of the reference's approval rate, by more than chance explains."""
        return self.tested(group) and self.ratio(group) < FOUR_FIFTHS and self.p_value(group) < self.alpha

    @property
    def calibration_alpha(self) -> float:
        return ALPHA / max(1, sum(g.outcomes >= MIN_GROUP for g in self.groups))

    def miscalibrated(self, group: Group) -> bool:
        return group.defaults is not None and group.outcomes >= MIN_GROUP \
            and group.calibration_p_value < self.calibration_alpha

    @property
    def verdict(self) -> str:
        return ALERT if any(self.adverse(g) or self.miscalibrated(g) for g in self.groups) else PASS

    def to_dict(self, scored: int) -> dict[str, Any]:
        ref = self.reference
        return {
            "field": self.name, "protected": self.grouping.protected, "groups_by": self.how,
            **({"as_reference_value": self.as_value} if self.as_reference else {}),
            "reference": None if ref is None else ref.label, "reference_given": self.grouping.reference or None,
            "alpha": self.alpha,
            "calibration_alpha": self.calibration_alpha, "verdict": self.verdict,
            "groups": [{
                "group": g.label, "rows": g.rows, "share": g.rows / scored, "approved": g.approved,
                "approval_rate": g.approval_rate, "approval_ratio": self.ratio(g), "p_value": self.p_value(g),
                "tested": self.tested(g), "adverse_impact": self.adverse(g),
                "mean_probability": g.mean_probability,
                **({} if g.defaults is None else {
                    "outcomes": g.outcomes, "defaults": g.defaults, "expected_defaults": g.expected,
                    "default_rate": g.default_rate,
                    "calibration_p_value": g.calibration_p_value, "miscalibrated": self.miscalibrated(g),
                    "roc_auc": g.roc_auc, "good_payers": g.good, "good_payers_approved": g.good_approved,
                    "good_approval_rate": g.good_approval_rate, "good_approval_ratio": self.good_ratio(g)}),
                **({} if g.label not in self.as_reference or g is ref else {
                    "approval_rate_as_reference": self.as_reference[g.label][0] / g.rows,
                    "decisions_changed_as_reference": self.as_reference[g.label][1]}),
            } for g in self.groups],
        }


@dataclass
class Review:
    """What ``loanscore fairness`` found. Build it with :func:`evaluate` (arrays) or :func:`review` (a file)."""

    source: str
    rows: int
    scored: int
    approved: int
    decline_from: float
    outcome: str | None
    defaults: int | None
    fields: list[FieldReview]
    rejected: list[tuple[int | None, str]] = field(default_factory=list)
    seconds: float = 0.0
    outcomes: int = 0
    """The scored rows with a known outcome: calibration is judged on these, approval on every scored row."""

    @property
    def verdict(self) -> str:
        return ALERT if any(f.verdict == ALERT for f in self.fields) else PASS

    def to_dict(self) -> dict[str, Any]:
        """Every figure, as JSON can hold it (undefined ones, such as a ratio to a group none was approved in, null)."""
        return _json_safe({
            "source": self.source, "rows": self.rows, "scored": self.scored, "approved": self.approved,
            "rejected": [{"row": row, "error": message} for row, message in self.rejected],
            "decline_from": self.decline_from, "outcome": self.outcome, "outcomes": self.outcomes,
            "defaults": self.defaults,
            "verdict": self.verdict,
            "rules": {"four_fifths": FOUR_FIFTHS, "alpha": ALPHA, "min_group": MIN_GROUP,
                      "adverse_impact": "approval rate below four-fifths of the field's most-approved group's, and "
                                        "Fisher's exact test p < alpha / groups compared",
                      "calibration": "z test of each group's defaults against its sum of P(default), "
                                     "p < alpha / groups"},
            "fields": [f.to_dict(self.scored) for f in self.fields],
            "seconds": round(self.seconds, 3),
        })


def evaluate(p: Any, groups: Sequence[tuple[Grouping, Values]], decline_from: float,
             manifest: Mapping[str, Any], *,
             y: Any = None, source: str = "data", outcome: str | None = None, rows: int | None = None,
             rejected: list[tuple[int | None, str]] | None = None,
             as_groups: Mapping[str, Mapping[str, tuple[str, Any]]] | None = None) -> Review:
    """The review of probabilities ``p``, approved below ``decline_from``, by each (grouping, its values: one per
    row of ``p``) of ``groups``; ``y``, the outcomes (0/1; NaN where not known yet, as for the declined), adds
    calibration within each group on the rows that have one. ``as_groups`` maps
    a field to group labels, each with a value of the field and every row's probability with the field set to it:
    the reference group's gives :attr:`FieldReview.as_reference`."""
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    if not len(p):
        raise ValueError("a fairness review needs at least one scored row")
    approved = p < decline_from
    known = y is not None
    yy = np.asarray(y, dtype=np.float64).reshape(-1) if known else np.zeros(len(p))
    told = ~np.isnan(yy)
    yy = np.where(told, yy, 0.0)
    good = approved & told & (yy == 0)
    fields = []
    for grouping, values in groups:
        index, labels = grouping.index(values, manifest)
        parts = []
        for k, label in enumerate(labels):
            m = index == k
            n = int(m.sum())
            if not n:
                continue
            pk = p[m]
            if known:
                t = m & told
                pt, yt = p[t], yy[t]
                parts.append(Group(label, n, int(approved[m].sum()), float(pk.sum()), int(yt.sum()),
                                   float(np.sum(pt * (1 - pt))), int(len(yt) - yt.sum()), int(good[m].sum()),
                                   roc_auc_with_se(yt, pt)[0], int(t.sum()), float(pt.sum())))
            else:
                parts.append(Group(label, n, int(approved[m].sum()), float(pk.sum())))
        reviewed = FieldReview(grouping, parts, grouping.how(manifest))
        _as_reference(reviewed, index, labels, approved, (as_groups or {}).get(grouping.name, {}), decline_from)
        fields.append(reviewed)
    return Review(source, len(p) + len(rejected or []) if rows is None else rows, len(p), int(approved.sum()),
                  decline_from, outcome if known else None, int(yy.sum()) if known else None, fields,
                  list(rejected or []), outcomes=int(told.sum()) if known else 0)


def _as_reference(reviewed: FieldReview, index: np.ndarray, labels: list[str], approved: np.ndarray,
                  by_label: Mapping[str, tuple[str, Any]], decline_from: float) -> None:
    """Fill in :attr:`FieldReview.as_reference` from the reference group's entry of ``by_label`` (a value, and
    every row's probability with the field set to it), where it has one."""
    ref = reviewed.reference
    chosen = None if ref is None else by_label.get(ref.label)
    if chosen is None:
        return
    reviewed.as_value = chosen[0]
    as_ref = np.asarray(chosen[1], dtype=np.float64).reshape(-1) < decline_from
    for k, label in enumerate(labels):
        m = index == k
        if m.any():
            reviewed.as_reference[label] = (int(as_ref[m].sum()), int((as_ref[m] != approved[m]).sum()))


def review(scorer: Scorer, reader: Reader, by: Sequence[Grouping], decline_from: float, *,
           outcome: str | None = None, progress: Progress | None = None,
           reopen: Callable[[], Reader] | None = None) -> Review:
    """Score every row of ``reader`` and review the decisions of those scored (and, with ``outcome``, with one).

    ``reader`` must read the ``by`` columns (and ``outcome``) as input columns.
    Rows that cannot be scored (or hold an outcome other than 0, 1 or blank)
    are listed in ``rejected`` with row, field and reason, never dropped
    silently; ``InputError`` if no row is left. A blank outcome (not known
    yet, as for the declined) keeps the row in the approval figures only. A model field is grouped by its validated value, any other
    column by its text. For :attr:`FieldReview.as_reference`, ``reopen`` (a
    new reader of the same file) lets a second pass score each row as the
    reference group's code alone, or a number in bands as the median of the
    reference group's values; without it (stdin) each row is scored as every
    code, since the reference is known only at the end, and numbers are not.
    """
    start = time.perf_counter()
    ps: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    keeps: list[np.ndarray] = []
    values: dict[str, list[np.ndarray]] = {c: [] for g in by for c in g.columns}
    read = set(scorer.schema.input_names)
    flips = {g.name: g for g in by if g.name in read and (g.codes or g.edges and reopen is not None)}
    one_pass: dict[str, dict[str, list[np.ndarray]]] = {g.name: {c: [] for c in g.codes} for g in flips.values()
                                                        if reopen is None}
    rejected: list[tuple[int | None, str]] = []
    rows = 0
    for batch, y in labelled_batches(scorer, reader, outcome, progress, blank=True):
        rows += batch.chunk.n
        rejected += batch.rejected
        ps.append(batch.probability)
        keeps.append(batch.keep)
        if y is not None:
            ys.append(y)
        for column, parts in values.items():
            parts.append(column_values(batch, column))
        for name, codes in one_pass.items():
            for code, parts in codes.items():
                parts.append(_scored_as(scorer, batch.chunk, batch.keep, name, code, column_values(batch, name),
                                        batch.probability))
    p = np.concatenate(ps) if ps else np.empty(0)
    something_left(reader.name, rows, len(p), rejected, "review")
    columns = {c: np.concatenate(parts) for c, parts in values.items()}
    groups = [(g, g.of(columns)) for g in by]
    y_all = np.concatenate(ys) if outcome else None
    as_groups = {name: {flips[name].code_label(c): (c, np.concatenate(parts)) for c, parts in codes.items()}
                 for name, codes in one_pass.items()}
    result = evaluate(p, groups, decline_from, scorer.model.manifest, y=y_all, source=reader.name, outcome=outcome,
                      rows=rows, rejected=rejected, as_groups=as_groups)
    if flips and reopen is not None:  # the references are known now: a second pass scores each row as its own
        set_to = _reference_values(result, flips, columns)
        scored = _second_pass(scorer, reader.name, reopen, keeps, set_to, columns, p,
                              progress.again("as the reference groups") if progress else None)
        for f, (grouping, of) in zip(result.fields, groups):
            if f.name in set_to:
                label, value = set_to[f.name]
                _as_reference(f, *grouping.index(of, scorer.model.manifest), p < decline_from,
                              {label: (value, scored[f.name])}, decline_from)
    result.seconds = time.perf_counter() - start
    return result


def _reference_values(first: Review, flips: Mapping[str, Grouping],
                      column: Mapping[str, np.ndarray]) -> dict[str, tuple[str, str]]:
    """Each field's reference group and the value its applicants are set to: the group's code, or for a number in
    bands the median of the group's values."""
    out = {}
    for f in first.fields:
        ref = f.reference
        if f.name not in flips or ref is None:
            continue
        if f.grouping.codes:
            code = next((c for c in f.grouping.codes if f.grouping.code_label(c) == ref.label), None)
            if code is not None:
                out[f.name] = (ref.label, code)
            continue
        index, labels = f.grouping.index(column[f.name], {})
        median = float(np.median(np.asarray(column[f.name], dtype=np.float64)[index == labels.index(ref.label)]))
        out[f.name] = (ref.label, _num(median))
    return out


def _second_pass(scorer: Scorer, source: str, reopen: Callable[[], Reader], keeps: list[np.ndarray],
                 set_to: Mapping[str, tuple[str, str]], column: Mapping[str, np.ndarray],
                 p: np.ndarray, progress: Progress | None = None) -> dict[str, np.ndarray]:
    """Every scored row's probability with each field of ``set_to`` set to its value, from the file read again;
    ``column`` and ``p`` are the scored rows' values and probabilities from the first pass."""
    parts: dict[str, list[np.ndarray]] = {name: [] for name in set_to}
    again = reopen()
    same, count, start, rows = True, 0, 0, 0
    try:
        for chunk in again:
            same = count < len(keeps) and chunk.n == len(keeps[count])
            if not same:
                break
            keep = keeps[count]
            end = start + int(keep.sum())
            for name, (_, value) in set_to.items():
                parts[name].append(_scored_as(scorer, chunk, keep, name, value, column[name][start:end], p[start:end]))
            count, start, rows = count + 1, end, rows + chunk.n
            if progress is not None:
                progress.update(rows, again.bytes_read)
    finally:
        again.close()
        if progress is not None:
            progress.close()
    if not same or count != len(keeps):
        raise InputError(f"{source} changed while it was reviewed; review it again once it is complete.")
    return {name: np.concatenate(got) if got else np.empty(0) for name, got in parts.items()}


def _scored_as(scorer: Scorer, chunk: Chunk, keep: np.ndarray, name: str, code: str, values: np.ndarray,
               p: np.ndarray) -> np.ndarray:
    """P(default) of the rows ``keep`` of ``chunk`` with the field ``name`` set to ``code``. ``values`` and ``p``
    are those rows' validated values of ``name`` and probabilities: a row that holds ``code`` already keeps its
    probability, so only the others are scored again (for the largest group, that is most rows)."""
    column = [code] * chunk.n if scorer.schema.columns()[scorer.schema.input_names.index(name)].is_string \
        else np.full(chunk.n, float(code))
    checked = scorer.check({**chunk.columns, name: column}, chunk.n, chunk.first_row)
    feeds = {k: f[keep] for k, f in checked.feeds.items()}
    differ = feeds[name].reshape(-1) != values
    out = np.array(p, dtype=np.float64)
    if differ.any():
        out[differ] = scorer.run_feeds({k: f[differ] for k, f in feeds.items()})
    return out


def _bands(values: Values, edges: tuple[float, ...]) -> tuple[np.ndarray, list[str]]:
    """Bands ``<25``, ``25-34``, ..., ``65+`` (whole-number edges; ``[25, 35.5)`` otherwise), then missing: a value
    that is absent or not a number."""
    rows, distinct = _distinct(values)
    x = np.array([_number(v) for v in distinct], dtype=np.float64)
    whole = all(e.is_integer() for e in edges)
    inner = [f"{_num(a)}-{_num(b - 1)}" if whole else f"[{_num(a)}, {_num(b)})" for a, b in zip(edges, edges[1:])]
    labels = [f"<{_num(edges[0])}", *inner, f"{_num(edges[-1])}+", MISSING]
    index = np.searchsorted(np.asarray(edges), x, side="right")
    index[np.isnan(x)] = len(labels) - 1
    return index.astype(np.int64)[rows], labels


def _codes(values: Values, grouping: Grouping) -> tuple[np.ndarray, list[str]]:
    """One group per code (``2 female``), codes outside the schema's each their own, then missing."""
    rows, distinct = _distinct(values)
    text = [_code(v) for v in distinct]
    extra = sorted({t for t in text if t and t not in grouping.codes})
    order = [*grouping.codes, *extra, ""]
    if len(order) > MAX_SEGMENTS + 1:
        raise InputError(f"{grouping.name} holds {len(extra):,} codes the schema does not list (such as "
                         f"{', '.join(extra[:3])}); a review compares at most {MAX_SEGMENTS} groups.")
    where = {c: k for k, c in enumerate(order)}
    names = [MISSING if c == "" else grouping.code_label(c) for c in order]
    return np.array([where[t] for t in text], dtype=np.int64)[rows], names


def _distinct(values: Values) -> tuple[np.ndarray, list[Any]]:
    """Each row's position among the distinct values, and those values: a rule per value then runs once per
    distinct value, not once per row."""
    array = np.asarray(values)
    if array.dtype.kind == "f":
        distinct, rows = np.unique(array, return_inverse=True)
        return rows.reshape(-1), distinct.tolist()
    seen: dict[Any, int] = {}
    rows = np.fromiter((seen.setdefault(v, len(seen)) for v in array.tolist()), dtype=np.int64, count=len(array))
    return rows, list(seen)


def _code(value: Any) -> str:
    """A code as the schema writes it: ``2`` for 2, 2.0 and " 2 "; "" for missing."""
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else _num(float(value))
    text = str(value).strip()
    try:
        x = float(text)
    except ValueError:
        return text
    return _num(x) if math.isfinite(x) else text


def _number(value: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan
    return x if math.isfinite(x) else math.nan


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


__all__ = ["ALERT", "FOUR_FIFTHS", "MIN_GROUP", "PASS", "FieldReview", "Group", "Grouping", "Review", "evaluate",
           "groupings", "review"]
