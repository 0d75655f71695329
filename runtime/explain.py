"""One applicant's score taken apart, for a credit officer reviewing the case.

``score --reasons`` names the few fields that raise each applicant's P(default)
the most. Reviewing one declined (or borderline) applicant, an officer wants the
whole picture: every field's value against the typical applicant's, its effect,
what P(default) and the decision would be were that field typical, and which
months of the payment history drove the score. Effects are found as reason
codes are (:mod:`.reasons`): by rescoring with the field, the channel, or one
month of a channel set to the typical applicant's value.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .grades import MasterScale
from .reasons import MIN_EFFECT
from .schema import Schema

if TYPE_CHECKING:
    from .points import PointsScale
    from .scorer import Scorer


STATED = 4
"""Reasons the text page words: an adverse-action notice gives the principal reasons, usually no more than four."""
STATED_TITLE = "Reasons as stated to the applicant"


@dataclass(frozen=True)
class Effect:
    """What one static field or history channel does to an applicant's P(default).

    ``values`` and ``typical`` hold one value per column (a history channel's
    months, oldest first), ``None`` where missing. ``months`` holds, for a
    history channel, the effect of each month alone made typical.
    """

    field: str
    columns: tuple[str, ...]
    values: tuple[Any, ...]
    typical: tuple[Any, ...]
    effect: float
    if_typical: float
    """P(default) with this field (every month of a channel) set to the typical applicant's value."""
    decision_if_typical: str
    months: tuple[float, ...] = ()
    statement: str = ""
    """What the field says as a reason for this applicant (:mod:`.statements`); empty when the model words none."""

    @property
    def is_typical(self) -> bool:
        return self.values == self.typical

    def to_dict(self) -> dict[str, Any]:
        out = {"field": self.field, "columns": list(self.columns), "values": list(self.values),
               "typical": list(self.typical), "effect": round(self.effect, 6),
               "probability_if_typical": round(self.if_typical, 6), "decision_if_typical": self.decision_if_typical}
        if self.months:
            out["months"] = [{"column": c, "effect": round(e, 6)} for c, e in zip(self.columns, self.months)]
        if self.statement:
            out["statement"] = self.statement
        return out


@dataclass(frozen=True)
class Explanation:
    """An applicant's P(default), the typical applicant's, and every field's :class:`Effect`, largest first."""

    probability: float
    decision: str
    cutoffs: tuple[float, float]
    """The decision bands: approve below the first, decline from the second."""
    typical_probability: float
    effects: tuple[Effect, ...]
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"probability_of_default": round(self.probability, 6), "decision": self.decision,
                "approve_below": self.cutoffs[0], "decline_from": self.cutoffs[1],
                "typical_probability_of_default": round(self.typical_probability, 6),
                "effects": [e.to_dict() for e in self.effects], "warnings": list(self.warnings)}


def explain_feeds(scorer: Scorer, feeds: Mapping[str, np.ndarray]) -> list[Explanation]:
    """Explain each row of ``feeds`` (validated model inputs, as :func:`.validate.check_columns` gives them).

    Each row costs one rescoring per field, per channel and per month (26 for the
    Taiwan schema), all in one onnxruntime call for up to a few thousand rows.
    """
    explainer = scorer.explainer
    schema = scorer.schema
    months = [(f"{h.name}:{c}", (c,)) for h in schema.history for c in h.columns]
    p = scorer.model.run(dict(feeds))[0].reshape(-1).astype(np.float64)
    effects = explainer.effects(feeds, p, [*explainer.groups, *months])
    g = len(explainer.groups)
    history = {h.name for h in schema.history}
    decide = scorer.bands.decide
    cutoffs = (scorer.bands.approve_below, scorer.bands.decline_from)
    words = explainer.wordings(feeds) if explainer.statements else None
    out = []
    for i in range(len(p)):
        if_typical = p[i] - effects[i, :g]
        after = decide(if_typical)
        by_month = dict(zip((name for name, _ in months), effects[i, g:].tolist()))
        parts = []
        for j, (name, columns) in enumerate(explainer.groups):
            parts.append(Effect(
                name, columns, tuple(_value(feeds[c][i, 0]) for c in columns),
                tuple(_value(explainer.typical[c]) for c in columns), float(effects[i, j]), float(if_typical[j]),
                str(after[j]), tuple(by_month[f"{name}:{c}"] for c in columns) if name in history else (),
                words[j][i] if words else "",
            ))
        order = sorted(range(g), key=lambda j: -parts[j].effect)
        out.append(Explanation(float(p[i]), str(decide(p[i:i + 1])[0]), cutoffs, explainer.typical_probability,
                               tuple(parts[j] for j in order)))
    return out


def _value(x: Any) -> Any:
    """A JSON-ready value: None for missing, int for whole numbers, else float or str."""
    if isinstance(x, str):
        return x
    x = float(x)
    if math.isnan(x):
        return None
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


# -- text -------------------------------------------------------------------------


def render_text(explanation: Explanation, schema: Schema, title: str, grades: MasterScale | None = None,
                points: PointsScale | None = None) -> str:
    """A plain-text page for one applicant: fields as rows, largest effect first, months under their channel;
    with ``grades``, each P(default)'s rating grade beside it; with ``points``, its score in points, and each
    field's effect in points (what it costs the applicant: the score if typical minus the score)."""
    grade = functools.partial(marks, grades=grades, points=points)

    def cost(effect: Effect) -> tuple[str, ...]:
        if points is None:
            return ()
        lost = points.score([explanation.probability, effect.if_typical])
        return (f"{int(lost[0] - lost[1]):+d}" if lost[0] != lost[1] else "0",)

    labels = {c.name: c.labels for c in schema.columns()}
    head = ("field", "applicant", "typical", "effect", *(("points",) if points is not None else ()), "if typical")
    rows: list[tuple[str, ...]] = []
    notes: dict[int, list[str]] = {}
    for effect in explanation.effects:
        values = [shown(v, labels.get(c, {})) for c, v in zip(effect.columns, effect.values)]
        typical = [shown(v, labels.get(c, {})) for c, v in zip(effect.columns, effect.typical)]
        if effect.is_typical:
            rows.append((effect.field, " ".join(values), " ".join(typical), "0", *cost(effect), "(is typical)"))
        else:
            rows.append((effect.field, " ".join(values), " ".join(typical), signed(effect.effect), *cost(effect),
                         f"{effect.if_typical:.3f} {effect.decision_if_typical}{grade(effect.if_typical)}"))
        if effect.months and not effect.is_typical:
            cells = [f"{c} {'0' if v == t else signed(m)}"
                     for c, v, t, m in zip(effect.columns, effect.values, effect.typical, effect.months)]
            notes[len(rows) - 1] = ["  ".join(cells[k:k + 6]) for k in range(0, len(cells), 6)]
    widths = [max(len(r[k]) for r in [head, *rows]) for k in range(len(head))]
    right = (3, 4) if points is not None else (3,)  # the effects' columns

    def line(r: Sequence[str]) -> str:
        return "  ".join(cell.rjust(w) if k in right else cell.ljust(w) for k, (cell, w) in enumerate(zip(r, widths))).rstrip()

    low, high = explanation.cutoffs
    bands = f"declines from {high:.4f}" if low == high else f"approves below {low:.4f}, declines from {high:.4f}"
    out = [title,
           f"P(default) {explanation.probability:.4f}{grade(explanation.probability)}: {explanation.decision} "
           f"(the model {bands})",
           *(f"Warning: {w}" for w in explanation.warnings),
           f"The typical applicant's P(default): {explanation.typical_probability:.4f}"
           f"{grade(explanation.typical_probability)}",
           "", line(head)]
    for k, r in enumerate(rows):
        out.append(line(r))
        out += [f"  {'by month' if m == 0 else '':<{widths[0] - 2}}  {text}" for m, text in enumerate(notes.get(k, []))]
    if told := stated(explanation):
        out += ["", f"{STATED_TITLE}:"]
        out += [f"  {k}. {e.statement} ({e.field} {signed(e.effect)})" for k, e in enumerate(told, 1)]
    out += ["",
            "effect: P(default) minus P(default) with the field set to the typical applicant's value (a history",
            "channel: every month; by month: that month alone); if typical: P(default) and decision then.",
            "Effects need not add up: the model is not additive.",
            *([f"points: the score minus the score with the field typical (what the field costs, or earns, the "
               f"applicant).\nPoints: {points.described}."] if points is not None else []),
            *([f"Grades: {grades.described}."] if grades is not None else []), ""]
    return "\n".join(out)


def marks(probability: float, grades: MasterScale | None = None, points: PointsScale | None = None) -> str:
    """``", 478 points, grade 8"``: a P(default)'s score in points and grade, where asked for."""
    return ((f", {points.text([probability])[0]} points" if points is not None else "")
            + (f", grade {grades.grade([probability])[0]}" if grades is not None else ""))


def annotated(explanation: Explanation, grades: MasterScale | None = None,
              points: PointsScale | None = None) -> dict[str, Any]:
    """:meth:`Explanation.to_dict` with the grade and the points of every P(default) in it, for JSON Lines."""
    out = explanation.to_dict()
    both = [explanation.probability, explanation.typical_probability]
    if points is not None:
        out["points"], out["typical_points"] = points.values(both)
        for effect, shown_ in zip(explanation.effects, out["effects"], strict=True):
            shown_["points_if_typical"] = points.values([effect.if_typical])[0]
    if grades is not None:
        out["grade"], out["typical_grade"] = grades.grade(both)
        for effect, shown_ in zip(explanation.effects, out["effects"], strict=True):
            shown_["grade_if_typical"] = grades.grade([effect.if_typical])[0]
    return out


def stated(explanation: Explanation) -> list[Effect]:
    """The first :data:`STATED` reasons, worded; none where the model words no reasons."""
    return [e for e in explanation.effects if e.statement and e.effect >= MIN_EFFECT][:STATED]


def signed(x: float) -> str:
    """``+0.123``; an effect that rounds to nothing shows as ``0.000``, not ``-0.000``."""
    return "0.000" if abs(x) < 0.0005 else f"{x:+.3f}"


def shown(value: Any, labels: Mapping[str, str]) -> str:
    """A value as a clerk reads it: thousands separated, a code with its label, ``missing`` for none."""
    if value is None:
        return "missing"
    if isinstance(value, str):
        return f"{value} ({labels[value]})" if value in labels else value
    if isinstance(value, int):
        text = f"{value:,}"
        return f"{text} ({labels[str(value)]})" if str(value) in labels else text
    return f"{value:,.2f}"


__all__ = ["Effect", "Explanation", "explain_feeds", "render_text", "shown", "signed", "stated"]
