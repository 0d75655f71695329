"""Reason codes: which of an applicant's fields raise their probability of default the most.

A lender who declines an applicant usually has to say why (an adverse-action
notice), and a clerk reviewing a borderline case wants to know what drove the
score. The model is not additive, so the reasons are found by asking it: each
group of inputs (a static field, or a whole history channel) is set to the
development population's typical value, the applicant is scored again, and the
fall in P(default) is that group's effect. The groups with the largest positive
effects are the reasons, largest first.

The typical applicant comes from the population bins that ``loanscore export
--data`` records in the manifest: the median of each number (exact for decile
bins), the most frequent code of each categorical. No rows are stored or needed.

Effects are the model's own answer to "what if this field were typical?", so
they hold for the model as shipped, protected fields included: a field the
lender may not consider must be left out of training, not out of the reasons.
They need not add up to P(default) minus the typical applicant's P(default);
for the development data's declined applicants their sum is close to it
(median 0.258 against 0.252; ``benchmarks/reasons.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ModelError
from .model import Model
from .schema import NO_STATEMENT, Schema
from .statements import Statements, directions, schema_statements, wording

if TYPE_CHECKING:
    from .stability import Bins

MIN_EFFECT = 0.001
"""Effects below this (0.1 percentage point) are noise, not a reason."""
BLOCK_ROWS = 65_536
"""Rows (applicants x groups) per onnxruntime call: few calls, bounded memory."""


@dataclass(frozen=True)
class Reason:
    """One group of inputs that raises the applicant's P(default) above the typical applicant's.

    ``effect`` is P(default) minus P(default) with ``field`` (a field, or a
    history channel with all its months) set to its typical value.
    """

    field: str
    effect: float
    statement: str = ""
    """What the reason says to the applicant (:mod:`.statements`); empty when the model words no reasons."""

    def __str__(self) -> str:
        return f"{self.field} {self.effect:+.3f}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "effect": round(self.effect, 6)}
        if self.statement:
            out["statement"] = self.statement
        return out


class Explainer:
    """Finds each scored row's reasons by rescoring it with one group of inputs at a time made typical."""

    def __init__(self, model: Model, statements: Statements | None = None):
        """``statements`` replaces the reason statements the model's schema words (:mod:`.statements`)."""
        self.model = model
        self.groups = groups(model.schema)
        self.typical = typical_values(model.schema, model.manifest, f"{model.directory}'s manifest")
        self.statements = dict(schema_statements(model.schema) if statements is None else statements)

    @functools.cached_property
    def typical_probability(self) -> float:
        """The typical applicant's P(default): what every effect is measured towards."""
        feeds = {c.name: np.full((1, 1), self.typical[c.name], dtype=object if c.is_string else np.float32)
                 for c in self.model.schema.columns()}
        return float(self.model.run(feeds)[0].reshape(-1)[0])

    def effects(self, feeds: Mapping[str, np.ndarray], probability: np.ndarray,
                groups: Sequence[tuple[str, tuple[str, ...]]] | None = None) -> np.ndarray:
        """An ``(n, groups)`` array: each row's P(default) minus its P(default) with the group made typical.

        ``groups`` defaults to :attr:`groups`. A row whose group already holds the typical values is not
        rescored: its effect is 0. The other variants of a block of rows go to onnxruntime in one call, so
        one applicant costs one call.
        """
        groups = self.groups if groups is None else groups
        n, g = len(probability), len(groups)
        out = np.zeros((n, g), dtype=np.float64)
        step = max(1, BLOCK_ROWS // g)
        for start in range(0, n, step):
            block = {name: feed[start:start + step] for name, feed in feeds.items()}
            moved = {name: self._differs(feed[:, 0], self.typical[name]) for name, feed in block.items()}
            parts = [(j, rows) for j, (_, names) in enumerate(groups)
                     if len(rows := np.flatnonzero(np.logical_or.reduce([moved[c] for c in names])))]
            if not parts:
                continue
            take = np.concatenate([rows for _, rows in parts])
            varied = {name: feed[take] for name, feed in block.items()}  # every variant's row, then ...
            at = 0
            for j, rows in parts:  # ... each variant's group set to typical
                for name in groups[j][1]:
                    varied[name][at:at + len(rows)] = self.typical[name]
                at += len(rows)
            made_typical = self.model.run(varied)[0].reshape(-1)
            at = 0
            for j, rows in parts:
                out[start + rows, j] = probability[start + rows] - made_typical[at:at + len(rows)]
                at += len(rows)
        return out

    @staticmethod
    def _differs(values: np.ndarray, typical: Any) -> np.ndarray:
        """Where ``values`` are not ``typical`` (missing counts as a value)."""
        if typical != typical:  # the typical value is missing (NaN)
            return ~np.isnan(values)
        return values != (typical if values.dtype.kind == "O" else np.float32(typical))

    def reasons(self, feeds: Mapping[str, np.ndarray], probability: np.ndarray, top: int,
                skip: Mapping[int, Any] | None = None) -> list[tuple[Reason, ...]]:
        """Up to ``top`` reasons per row, largest effect first; none for the rows in ``skip`` (rejected)."""
        effects = self.effects(feeds, np.asarray(probability, dtype=np.float64).reshape(-1))
        return self.pick(effects, top, skip, feeds)

    def pick(self, effects: np.ndarray, top: int, skip: Mapping[int, Any] | None = None,
             feeds: Mapping[str, np.ndarray] | None = None) -> list[tuple[Reason, ...]]:
        """The reasons :meth:`effects` gives, for callers that also need the effects themselves; worded
        (:attr:`Reason.statement`) when ``feeds`` are given and the model has statements."""
        order = np.argsort(-effects, axis=1, kind="stable")[:, :top]
        names = [name for name, _ in self.groups]
        words = None
        if feeds is not None and self.statements:
            picked = np.unique(order[np.take_along_axis(effects, order, axis=1) >= MIN_EFFECT])
            words = self.wordings(feeds, picked.tolist())
        out: list[tuple[Reason, ...]] = []
        for i, (row, picks) in enumerate(zip(effects, order)):
            if skip and i in skip:
                out.append(())
                continue
            out.append(tuple(Reason(names[j], float(row[j]), words[j][i] if words else "")
                             for j in picks if row[j] >= MIN_EFFECT))
        return out

    def wordings(self, feeds: Mapping[str, np.ndarray], groups: Sequence[int] | None = None) -> dict[int, list[str]]:
        """For each group (or those indexed by ``groups``), each row's statement for its value above or
        below the typical applicant's."""
        groups = range(len(self.groups)) if groups is None else groups
        names = [self.groups[j][0] for j in groups]
        way = directions(self.model.schema, self.typical, feeds, only=names)
        n = len(next(iter(feeds.values())))
        out = {}
        for j, name in zip(groups, names):
            texts = {d: wording(self.statements.get(name, NO_STATEMENT), d, name) for d in (-1, 0, 1)}
            out[j] = [texts[d] for d in way[name].tolist()] if name in way else [texts[0]] * n
        return out


def groups(schema: Schema) -> list[tuple[str, tuple[str, ...]]]:
    """The groups of inputs a reason can name: each static field alone, each history channel whole."""
    out: list[tuple[str, tuple[str, ...]]] = [(f.name, (f.name,)) for f in schema.numeric]
    out += [(f.name, (f.name,)) for f in schema.categorical]
    out += [(h.name, h.columns) for h in schema.history]
    return out


def typical_values(schema: Schema, manifest: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Each input column's typical value (float, or str for string codes) from the manifest's population bins."""
    from .stability import _malformed, recorded_bins  # deferred: stability imports the scorer, which imports us

    if manifest.get("population") is None:
        raise ModelError(
            f"{where} records no reference population, so there is no typical applicant to compare with. "
            "Export the model with --data <its training data> to record one."
        )
    out: dict[str, Any] = {}
    for col in schema.columns():
        bins = recorded_bins(manifest, col.name, where)
        if bins is None:
            raise _malformed(where, f"no bins for {col.name}")
        out[col.name] = _typical(bins, col.is_string)
    return out


def _typical(bins: Bins, is_string: bool) -> Any:
    """The median of a number's bins (the upper edge of the bin holding the middle row), or the commonest code."""
    counts = np.asarray(bins.counts[:-1], dtype=np.int64)  # the last bin holds missing values
    if bins.kind == "code":
        known = counts[: len(bins.codes)]
        if not known.any():
            return "" if is_string else np.nan
        code = bins.codes[int(np.argmax(known))]
        return str(code) if is_string else float(code)
    if not counts.any() or not bins.edges:
        return np.nan
    middle = int(np.searchsorted(np.cumsum(counts), counts.sum() / 2, side="left"))
    return float(bins.edges[min(middle, len(bins.edges) - 1)])
