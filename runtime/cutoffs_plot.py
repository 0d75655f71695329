"""A strategy table as a picture (SVG): a committee weighs the cut-offs along a curve, not down a column.

Left: the default rate among the approved against the share approved, when
the lowest P(default) is approved first (expected, and observed where the
outcomes are known); every cut-off of the table is a dot on it. Right, when
the threshold was chosen by cost: the expected cost per applicant along the
same axis, its least marked. With groups (``--by``): each field's lowest
approval ratio to its most-approved group at each cut-off, the four-fifths
line dashed, red dots where the review would call it adverse impact.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

from .backtest_plot import GAP, LEFT, SIZE, TOP, _axes, _xy
from .compare_plot import _ceiling
from .cutoffs import Cutoff, Strategy
from .fairness import FOUR_FIFTHS
from .svg import BLUE, GREY, ORANGE, RED, document, line, polyline, text

FIELD_COLOURS = (BLUE, ORANGE, "#2e8b57", "#8e44ad", "#555555")


def render_svg(result: Strategy) -> str:
    """The SVG text for ``result``."""
    curve, n = result.curve, result.applicants
    assert curve is not None, "a Strategy from strategy() has its curve"
    panels = (2 if curve.expected_cost is not None else 1) + bool(result.fairness)
    width, height = panels * SIZE + (panels - 1) * GAP + LEFT + 30, SIZE + TOP + 70
    out = [text(LEFT, 20, f"Cut-offs on {result.source}: {n:,} applicants", size=14, weight="bold")]
    least = result.least_cost

    def dot(x0: float, c: Cutoff, v: float, top: float, tip: str) -> str:
        colour = RED if c is least else BLUE
        x, y = _xy(x0, c.approved / n, min(v, top), top)
        return (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"><title>{escape(c.label)} '
                f"({escape(c.rule)}): approves {c.approved / n:.1%}; {escape(tip)}</title></circle>")

    top = _ceiling(max(result.expected_default_rate, result.observed_default_rate or 0.0, 0.01))
    out += _axes(LEFT, "share approved (lowest P(default) first)", "default rate among the approved",
                 "Default rate among the approved", top=top)
    out.append(polyline([_xy(LEFT, a, min(r, top), top) for a, r in zip(curve.approved, curve.expected_rate)], BLUE))
    legend = [("expected (sum of P(default))", BLUE)]
    if curve.observed_rate is not None:
        out.append(polyline([_xy(LEFT, a, min(r, top), top) for a, r in zip(curve.approved, curve.observed_rate)
                             if r == r], ORANGE))  # NaN (r != r): some approved there have no outcome yet
        partial = any(c.known is not None and c.known < c.approved for c in result.cutoffs)
        legend.append(("observed (of those with an outcome)" if partial else "observed", ORANGE))
    for c in result.cutoffs:
        if c.approved:
            out.append(dot(LEFT, c, c.expected_defaults / c.approved, top,
                           f"expected default rate {c.expected_defaults / c.approved:.1%}"))
    for k, (words, colour) in enumerate(legend):
        out.append(text(LEFT + 8, TOP + 18 + 16 * k, words, colour=colour))
    out.append(text(LEFT, TOP + SIZE + 58, "dots: the table's cut-offs (hover for each)"
                    + ("; red: least expected cost" if least is not None else ""), colour=GREY))

    if curve.expected_cost is not None and result.costs is not None:
        right = LEFT + SIZE + GAP
        ceiling = math.ceil(max(curve.expected_cost) / 0.5 + 1e-9) * 0.5  # ticks at multiples of 0.1
        costs = result.costs
        out += _axes(right, "share approved (lowest P(default) first)", "expected cost per applicant",
                     f"Cost at {costs['cost_default']:g} a default, {costs['cost_decline_good']:g} a good payer "
                     "declined", top=ceiling)
        out.append(polyline([_xy(right, a, v, ceiling) for a, v in zip(curve.approved, curve.expected_cost)], BLUE))
        for c in result.cutoffs:
            cost = result.cost(c)
            assert cost is not None
            out.append(dot(right, c, cost, ceiling, f"expected cost per applicant {cost:.4f}"))
        if least is not None:
            x, y = _xy(right, least.approved / n, result.cost(least) or 0.0, ceiling)
            out.append(text(x, y + 20, f"least: {least.label}", anchor="middle", colour=RED))
    if result.fairness:
        out += _ratios(result, LEFT + (panels - 1) * (SIZE + GAP))
    return document(width, height, out)


def _ratios(result: Strategy, x0: float) -> list[str]:
    """The panel of each field's lowest approval ratio at each cut-off."""
    n = result.applicants
    out = _axes(x0, "share approved (lowest P(default) first)", "lowest approval ratio",
                "Lowest approval ratio by group")
    (a, b), (c, d) = _xy(x0, 0, FOUR_FIFTHS), _xy(x0, 1, FOUR_FIFTHS)
    out.append(line(a, b, c, d, GREY, dash=True))
    for k, name in enumerate(result.fairness[0]):
        colour = FIELD_COLOURS[k % len(FIELD_COLOURS)]
        points = [(c.approved / n, worst[name]) for c, worst in zip(result.cutoffs, result.fairness)
                  if c.approved and worst[name][1]]
        out.append(polyline([_xy(x0, a, min(r, 1.0)) for a, (r, _, _) in points], colour))
        for a, (r, group, adverse) in points:
            x, y = _xy(x0, a, min(r, 1.0))
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{4 if adverse else 3}" '
                       f'fill="{RED if adverse else colour}"><title>{escape(name)} {escape(group)}: ratio {r:.3f} '
                       f"approving {a:.1%}{', adverse impact' if adverse else ''}</title></circle>")
        out.append(text(x0 + 8, TOP + 18 + 16 * k, name, colour=colour))
    out.append(text(x0, TOP + SIZE + 58, "dashed: four-fifths; red dots: adverse impact", colour=GREY))
    return out


__all__ = ["render_svg"]
