"""Champion and challenger as a picture (SVG): the two ROC curves, and what each would lend at what loss.

Left: both ROC curves. Right: the strategy curve a credit manager reads,
the default rate among the approved against the share approved, when a model
approves its lowest scores first; each model's own threshold is a dot. A
challenger whose curve lies below the champion's approves as many applicants
for fewer defaults.
"""

from __future__ import annotations

import math

import numpy as np

from .backtest_plot import LEFT, SIZE, TOP, GAP, _axes, _line, _xy, roc_points
from .compare import Comparison
from .svg import BLUE, GREY, ORANGE, document, text


def strategy_points(y: np.ndarray, p: np.ndarray, most: int = 400) -> list[tuple[float, float]]:
    """(share approved, default rate among the approved) when the lowest scores are approved first, thinned to
    about ``most`` points; tied scores are approved together."""
    order = np.argsort(p, kind="mergesort")
    ps, ys = p[order], y[order]
    ends = np.r_[np.flatnonzero(ps[1:] != ps[:-1]) + 1, len(ps)]  # approving up to a score approves its ties
    keep = ends[np.unique(np.linspace(0, len(ends) - 1, min(most, len(ends))).astype(int))]
    defaults = np.cumsum(ys)[keep - 1]
    return list(zip((keep / len(ps)).tolist(), (defaults / keep).tolist()))


def render_svg(result: Comparison) -> str:
    """The SVG text for ``result``."""
    width, height = 2 * SIZE + LEFT + GAP + 30, SIZE + TOP + 70
    y, sides = result.outcomes, ((result.champion, result.p_champion, BLUE), (result.challenger, result.p_challenger,
                                                                               ORANGE))
    out = [text(LEFT, 20, f"{result.champion.name} against {result.challenger.name} on {result.source}: "
                 f"{result.compared:,} applicants", size=14, weight="bold")]
    left, right = LEFT, LEFT + SIZE + GAP

    d = result.auc_difference
    out += _axes(left, "false-positive rate (payers declined)", "true-positive rate (defaulters declined)",
                 "ROC" + ("" if math.isnan(d) else f": difference {d:+.4f}, p {result.auc_p_value:.3g}"))
    out.append(_line(left, 0, 0, 1, 1, GREY, dash=True))
    legend = []
    for side, p, colour in sides:
        if not math.isnan(side.metrics["roc_auc"]):
            out.append(_polyline([_xy(left, a, b) for a, b in roc_points(y, p)], colour))
        legend.append((f"{side.name}: AUC {side.metrics['roc_auc']:.4f}", colour))
    for k, (words, colour) in enumerate(reversed(legend)):
        out.append(text(left + SIZE - 8, TOP + SIZE - 10 - 16 * k, words, anchor="end", colour=colour))

    top = _ceiling(max(float(y.mean()), 0.01))
    out += _axes(right, "share approved (lowest scores first)", "default rate among the approved",
                 "What each would approve, at what loss", top=top)
    for side, p, colour in sides:
        out.append(_polyline([_xy(right, a, min(b, top), top) for a, b in strategy_points(y, p)], colour))
        m = side.metrics
        cm = m["confusion_matrix"]
        approved = cm["tn"] + cm["fn"]
        if approved:
            x, yy = _xy(right, m["approval_rate"], min(cm["fn"] / approved, top), top)
            out.append(f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="5" fill="{colour}"><title>{side.name} at its threshold '
                       f"{side.threshold:.4g}: approves {m['approval_rate']:.1%}, of whom {cm['fn'] / approved:.1%} "
                       "defaulted</title></circle>")
    out.append(text(right + 8, TOP + 18, "dots: each model at its own threshold", colour=GREY))
    return document(width, height, out)


def _polyline(points: list[tuple[float, float]], colour: str) -> str:
    return (f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in points)}" fill="none" stroke="{colour}" '
            'stroke-width="2"/>')


def _ceiling(rate: float) -> float:
    """The y axis's top: the overall default rate rounded up to a multiple of 0.05."""
    return min(1.0, math.ceil(rate / 0.05 + 1e-9) * 0.05)


__all__ = ["render_svg", "strategy_points"]
