"""One applicant's explanation as a picture (SVG), for the case file.

Left: each field's effect on P(default) as a bar (red raises it, blue lowers
it). Right: the payment history month by month, each cell the effect of that
month alone made typical, so the months that drove the score stand out. Below,
where the model words its reasons, the first four as the applicant is told them.
"""

from __future__ import annotations

from .explain import STATED_TITLE, Effect, Explanation, marks, shown, signed, stated
from .grades import MasterScale
from .points import PointsScale
from .schema import Schema
from .svg import BLUE, GREY, RED, bar, document, line, text

ROW, LABEL, PAD, BARS = 24, 250, 50, 300  # a field's row height; label, value-text and bar widths, in pixels
CELL_W, CELL_H, CHANNEL = 72, 40, 130  # a month's cell; the channel label's width
TOP, GAP = 70, 70


def render_svg(explanation: Explanation, schema: Schema, title: str, grades: MasterScale | None = None,
               points: PointsScale | None = None) -> str:
    """The SVG text for ``explanation``; ``title`` names the applicant; with ``grades`` and ``points``, the
    heading gives the applicant's and the typical applicant's grade and points too."""
    effects = explanation.effects
    history = [e for e in effects if e.months]
    months = max((len(e.columns) for e in history), default=0)
    right = LABEL + 2 * PAD + BARS + GAP
    width = right + (CHANNEL + months * CELL_W if history else 0) + 30
    body = TOP + max(len(effects) * ROW, len(history) * CELL_H)
    told = stated(explanation)
    height = body + (ROW * (len(told) + 1) + 10 if told else 0) + 50
    p, typical = explanation.probability, explanation.typical_probability
    out = [text(10, 22, f"{title}: P(default) {p:.3f}{marks(p, grades, points)}, {explanation.decision}; "
                        f"the typical applicant {typical:.3f}{marks(typical, grades, points)}", size=14, weight="bold")]
    out += _bars(effects, {c.name: c.labels for c in schema.columns()})
    if history:
        out += _months(history, right, months)
    if told:
        out.append(text(10, body + ROW + 15, f"{STATED_TITLE}:", size=13, weight="bold"))
        out += [text(24, body + ROW * (k + 1) + 15, f"{k}. {e.statement} ({e.field} {signed(e.effect)})")
                for k, e in enumerate(told, 1)]
    out.append(text(10, height - 12, "effect: P(default) minus P(default) with the field (a cell: that month alone) "
                                     "set to the typical applicant's value; hover for the values", colour=GREY))
    return document(width, height, out)


def _bars(effects: tuple[Effect, ...], labels: dict[str, dict[str, str]]) -> list[str]:
    low = min(0.0, *(e.effect for e in effects))
    high = max(0.0, *(e.effect for e in effects))
    span = (high - low) or 1.0

    def x(v: float) -> float:
        return LABEL + PAD + (v - low) / span * BARS

    out = [text(10, TOP - 24, "Each field made typical", size=13, weight="bold"),
           line(x(0), TOP - 8, x(0), TOP + len(effects) * ROW, GREY)]
    for k, e in enumerate(effects):
        y = TOP + k * ROW
        name = e.field if e.months else f"{e.field}: {shown(e.values[0], labels.get(e.field, {}))}"
        out.append(text(LABEL - 8, y + 15, name, anchor="end"))
        tip = f"{e.field}: {_values(e.values)} (typical {_values(e.typical)}); effect {e.effect:+.4f}, " \
              f"P(default) if typical {e.if_typical:.4f} ({e.decision_if_typical})"
        if e.is_typical:
            out.append(text(x(0) + 6, y + 15, "typical", colour=GREY))
            continue
        a, b = sorted((x(0), x(e.effect)))
        out.append(bar(a, y + 4, max(b - a, 1.0), ROW - 8, RED if e.effect > 0 else BLUE, tip))
        out.append(text(b + 4 if e.effect > 0 else a - 4, y + 15, signed(e.effect),
                        anchor="start" if e.effect > 0 else "end", size=11))
    return out


def _months(history: list[Effect], x0: float, months: int) -> list[str]:
    scale = max((abs(m) for e in history for m in e.months), default=0.0) or 1.0
    out = [text(x0, TOP - 24, "The history month by month (oldest to newest)", size=13, weight="bold")]
    for k, e in enumerate(history):
        y = TOP + k * CELL_H
        out.append(text(x0 + CHANNEL - 8, y + CELL_H / 2 + 4, e.field, anchor="end"))
        for m, (column, value, typical, effect) in enumerate(zip(e.columns, e.values, e.typical, e.months)):
            cx = x0 + CHANNEL + (months - len(e.columns) + m) * CELL_W  # newest months line up on the right
            tip = f"{column}: {_values((value,))} (typical {_values((typical,))}); effect {effect:+.4f}"
            out.append(bar(cx, y, CELL_W - 2, CELL_H - 2, _tint(effect / scale), tip))
            ink = "white" if abs(effect) > 0.6 * scale else "black"
            out.append(text(cx + CELL_W / 2, y + 15, _values((value,)), size=10, colour=ink, anchor="middle"))
            out.append(text(cx + CELL_W / 2, y + 30, "typical" if value == typical else signed(effect), size=11,
                            colour=ink, anchor="middle"))
    return out


def _tint(fraction: float) -> str:
    """White at 0, shading to red (raises P(default)) or blue (lowers it) at +-1."""
    target = RED if fraction > 0 else BLUE
    f = min(abs(fraction), 1.0)
    rgb = [int(target[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(255 + (c - 255) * f):02x}" for c in rgb)


def _values(values: tuple[object, ...]) -> str:
    return " ".join(shown(v, {}) for v in values)


__all__ = ["render_svg"]
