"""A fairness review as a picture (SVG): a compliance officer would rather see the gaps than read them.

One row per field. Left: each group's approval rate, with the most-approved
group's rate and four-fifths of it marked; red where the review alerts,
amber where a ratio is below four-fifths but chance could explain it (or the
group is too small to test); a black tick where the group would be with the
field set to the most-approved group's code. Right, when outcomes are known: each group's
observed default rate with its 95 % interval (dot) against its mean
P(default) (grey bar): where they part, the model misprices the group.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

from .backtest_plot import wilson_interval
from .fairness import FOUR_FIFTHS, FieldReview, Review
from .svg import BLUE, GREY, ORANGE, RED, bar, document, line, text

LABELS, PANEL, GAP, ROW = 150, 320, 190, 22
"""Pixels: the group labels' column, each panel's width, the space between panels, each group's row."""
TOP = 44


def render_svg(result: Review) -> str:
    """The SVG text for ``result``."""
    y = TOP
    out = [text(10, 22, f"Fairness review of {result.source}: {result.scored:,} applicants, approved below "
                        f"P(default) {result.decline_from:.4g}; overall {result.verdict}", size=14, weight="bold")]
    top = max((g.default_rate for f in result.fields for g in f.groups if g.outcomes), default=0.0)
    top = max(top, max((g.expected / g.outcomes for f in result.fields for g in f.groups if g.outcomes), default=0.0))
    scale = min(1.0, math.ceil(top * 1.15 * 10) / 10) or 1.0
    for f in result.fields:
        out += _approvals(f, y)
        if result.outcome:
            out += _calibration(f, y, scale)
        y += 30 + ROW * len(f.groups) + 40
    notes = ["Approval: red, adverse impact (below four-fifths of the most approved, and more than chance explains); "
             "amber, below four-fifths but within chance, or too few to test."]
    if any(f.as_reference for f in result.fields):
        notes.append("Black tick: the group's approval rate with the field set to the most-approved group's code "
                     "(the gap the field itself makes).")
    if result.outcome:
        notes.append("Default rate: grey bar, mean P(default) (expected); dot, observed with its 95 % interval; "
                     "red, the group's risk mispriced.")
    for k, words in enumerate(notes):
        out.append(text(10, y + 6 + 16 * k, words, colour=GREY))
    y += 16 * len(notes)
    width = LABELS + PANEL + (GAP + PANEL if result.outcome else 0) + 30
    return document(width, y + 16, out)


def _approvals(f: FieldReview, y0: float) -> list[str]:
    ref = f.reference
    x0, y = LABELS, y0 + 30
    out = [text(10, y0 + 14, f"{f.name}: approval rate by group", size=13, weight="bold")]
    out += frame(x0, y, len(f.groups), 1.0, "approval rate")
    for k, g in enumerate(f.groups):
        yy = y + k * ROW
        below = not math.isnan(f.ratio(g)) and f.ratio(g) < FOUR_FIFTHS
        colour = RED if f.adverse(g) else ORANGE if below or not f.tested(g) and g is not ref else BLUE
        tip = (f"{g.label}: {g.approved:,} of {g.rows:,} approved ({g.approval_rate:.1%})"
               + ("" if g is ref or math.isnan(f.ratio(g)) else f", ratio {f.ratio(g):.3f}")
               + ("" if math.isnan(f.p_value(g)) else f", p {f.p_value(g):.2g}"))
        out += [text(x0 - 6, yy + 15, g.label, anchor="end"),
                bar(x0, yy + 4, PANEL * g.approval_rate, ROW - 8, colour, tip)]
        end = g.approval_rate
        if g.label in f.as_reference and g is not ref and ref is not None:
            rate = f.as_reference[g.label][0] / g.rows
            end = max(end, rate)
            out.append(f'<line x1="{x0 + PANEL * rate:.1f}" y1="{yy + 2}" x2="{x0 + PANEL * rate:.1f}" '
                       f'y2="{yy + ROW - 2}" stroke="black" stroke-width="2"><title>{escape(g.label)} as '
                       f"{escape(ref.label)}: {rate:.1%} approved, {f.as_reference[g.label][1]:,} decisions "
                       "changed</title></line>")
        out.append(text(x0 + PANEL * end + 5, yy + 15, f"{g.approval_rate:.1%}", size=11))
    if ref is not None:
        bottom = y + ROW * len(f.groups)
        for rate, dash in ((ref.approval_rate, False), (FOUR_FIFTHS * ref.approval_rate, True)):
            out.append(line(x0 + PANEL * rate, y, x0 + PANEL * rate, bottom, GREY, dash=dash))
        out.append(text(x0 + PANEL * FOUR_FIFTHS * ref.approval_rate, y - 4, "4/5 of the most approved",
                        size=10, colour=GREY, anchor="middle"))
    return out


def _calibration(f: FieldReview, y0: float, scale: float) -> list[str]:
    x0, y = LABELS + PANEL + GAP, y0 + 30
    out = [text(x0 - LABELS + 40, y0 + 14, f"{f.name}: default rate, observed and expected", size=13,
                weight="bold")]
    out += frame(x0, y, len(f.groups), scale, "default rate")
    for k, g in enumerate(f.groups):
        yy = y + k * ROW
        if not g.outcomes:
            out.append(text(x0 - 6, yy + 15, g.label, anchor="end"))
            continue
        rate, expected = g.default_rate, g.expected / g.outcomes
        lo, hi = wilson_interval(g.defaults or 0, g.outcomes)
        colour = RED if f.miscalibrated(g) else BLUE
        px = (lambda v: x0 + PANEL * min(v, scale) / scale)
        out += [text(x0 - 6, yy + 15, g.label, anchor="end"),
                bar(x0, yy + 7, px(expected) - x0, ROW - 14, "#cccccc",
                    f"{g.label}: mean P(default) {expected:.1%} among the {g.outcomes:,} with an outcome"),
                line(px(lo), yy + 11, px(hi), yy + 11, colour),
                f'<circle cx="{px(rate):.1f}" cy="{yy + 11:.1f}" r="4" fill="{colour}"><title>'
                f"{escape(g.label)}: {g.defaults:,} defaults of {g.outcomes:,} ({rate:.1%}), expected "
                f"{g.expected:,.1f}, p {g.calibration_p_value:.2g}</title></circle>"]
    return out


def frame(x0: float, y: float, groups: int, scale: float, label: str) -> list[str]:
    """The panel's box, vertical grid lines with their values below, and the axis label."""
    bottom = y + ROW * groups
    out = [f'<rect x="{x0}" y="{y}" width="{PANEL}" height="{ROW * groups}" fill="none" stroke="black"/>']
    for k in range(6):
        x = x0 + PANEL * k / 5
        out += [f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{bottom}" stroke="#eeeeee"/>',
                text(x, bottom + 14, f"{scale * k / 5:.0%}", size=10, anchor="middle")]
    return out + [text(x0 + PANEL / 2, bottom + 28, label, anchor="middle")]


__all__ = ["frame", "render_svg"]
