"""An override review as a picture (SVG): where in the grades the officers overrule the model, and who does.

Left: each rating grade's override rate, among the applicants the model
approved (high-side, blue) or declined (low-side, amber) in it, with the
counts in the tooltip. Right, with ``--by``: each group's override rate
against the whole file's (dashed), red where the group overrides more than
the rest by more than chance explains or is above the limit (dotted).
"""

from __future__ import annotations

import math

from .fairness_plot import PANEL, ROW, TOP, frame
from .overrides import OverrideReview, Tally
from .svg import BLUE, GREY, ORANGE, RED, bar, document, line, text

LABELS, GAP = 160, 130
"""Pixels: the grade labels' column (a grade and its range), and the space before the groups' panel."""


def render_svg(result: OverrideReview) -> str:
    """The SVG text for ``result``."""
    o = result.overall
    rates = [r for t in result.grades for r in (t.high_side_rate, t.low_side_rate)]
    rates += [g.tally.override_rate for groups in result.by.values() for g in groups]
    rates += [result.limit or 0.0]
    top = max((r for r in rates if not math.isnan(r)), default=0.0)
    scale = min(1.0, math.ceil(top * 1.15 * 10) / 10) or 0.1
    out = [text(10, 22, f"Overrides in {result.source}: {o.applicants:,} applicants, {o.high_side:,} high-side and "
                        f"{o.low_side:,} low-side overrides; overall {result.verdict}", size=14, weight="bold")]
    shown = [t for t in result.grades if t.decided]
    out += _grades(shown, TOP, scale, result.limit)
    height = TOP + 30 + ROW * len(shown) + 40
    x0 = LABELS + PANEL + GAP
    y = TOP
    for name, groups in result.by.items():
        out.append(text(x0 - LABELS + 40, y + 14, f"Override rate by {name}", size=13, weight="bold"))
        out += frame(x0, y + 30, len(groups), scale, "override rate (high-side and low-side, of those decided)")
        for k, g in enumerate(groups):
            t, yy = g.tally, y + 30 + k * ROW
            rate = 0.0 if math.isnan(t.override_rate) else t.override_rate
            tip = (f"{t.label}: {t.overrides:,} of {t.decided:,} decided overridden ({_pct(t.override_rate)}); "
                   f"high-side {t.high_side:,}, low-side {t.low_side:,}"
                   + ("" if math.isnan(g.p_value) else f"; p {g.p_value:.2g} against the rest"))
            out += [text(x0 - 6, yy + 15, t.label, anchor="end"),
                    bar(x0, yy + 4, PANEL * min(rate, scale) / scale, ROW - 8,
                        RED if result.flagged(name, g) else BLUE, tip),
                    text(x0 + PANEL * min(rate, scale) / scale + 5, yy + 15, _pct(t.override_rate), size=11)]
        bottom = y + 30 + ROW * len(groups)
        if not math.isnan(o.override_rate):
            x = x0 + PANEL * min(o.override_rate, scale) / scale
            out += [line(x, y + 30, x, bottom, GREY, dash=True),
                    text(x, y + 26, f"all: {_pct(o.override_rate)}", size=10, colour=GREY, anchor="middle")]
        y = bottom + 70
    height = max(height, y - 30)
    notes = ["Bars: the share of the model's decisions the lender overruled.",
             "By grade: blue, high-side (approved by the model, declined); amber, low-side (declined by the model, "
             "approved).",
             "By group: red, overriding more than the rest beyond chance (Fisher, p < 0.01 / groups) or above the "
             "limit."]
    for k, words in enumerate(notes):
        out.append(text(10, height + 6 + 16 * k, words, colour=GREY))
    width = LABELS + PANEL + (GAP + PANEL if result.by else 0) + 60
    return document(width, height + 16 * len(notes) + 16, out)


def _grades(grades: list[Tally], y0: float, scale: float, limit: float | None) -> list[str]:
    x0, y = LABELS, y0 + 30
    out = [text(10, y0 + 14, "Override rate by grade", size=13, weight="bold")]
    out += frame(x0, y, len(grades), scale, "share of the model's decisions overruled")
    for k, t in enumerate(grades):
        yy = y + k * ROW
        out.append(text(x0 - 6, yy + 15, t.label, anchor="end"))
        half = (ROW - 8) / 2
        for j, (n, of, rate, colour, what) in enumerate((
                (t.high_side, t.model_approve, t.high_side_rate, BLUE, "approved by the model, declined"),
                (t.low_side, t.model_decline, t.low_side_rate, ORANGE, "declined by the model, approved"))):
            if of:
                out.append(bar(x0, yy + 4 + j * half, PANEL * min(rate, scale) / scale, half, colour,
                               f"grade {t.label}: {n:,} of {of:,} {what} ({_pct(rate)})"))
        shown = [r for r in (t.high_side_rate, t.low_side_rate) if not math.isnan(r)]
        end = max(shown, default=0.0)
        out.append(text(x0 + PANEL * min(end, scale) / scale + 5, yy + 15,
                        " / ".join(_pct(r) for r in shown), size=11))
    if limit is not None:
        x = x0 + PANEL * min(limit, scale) / scale
        out += [f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + ROW * len(grades)}" stroke="{RED}" '
                'stroke-width="1.5" stroke-dasharray="1 3"/>',
                text(x, y - 4, f"limit {limit:.0%}", size=10, colour=RED, anchor="middle")]
    return out


def _pct(rate: float) -> str:
    return "-" if math.isnan(rate) else f"{rate:.1%}"


__all__ = ["render_svg"]
