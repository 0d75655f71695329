"""Champion and challenger as a picture (SVG): the two ROC curves, and what each would lend at what loss.

Left: both ROC curves. Right: the strategy curve a credit manager reads,
the default rate among the approved against the share approved, when a model
approves its lowest scores first; each model's own threshold is a dot. A
challenger whose curve lies below the champion's approves as many applicants
for fewer defaults. Below, for each ``--by`` column: each group's approval
rate under both models, with the decisions that change, so a reviewer sees at
a glance whom a switch would approve more or less often.
"""

from __future__ import annotations

import math

import numpy as np

from .backtest_plot import LEFT, SIZE, TOP, GAP, _axes, _line, _xy, roc_points
from .compare import Comparison
from .svg import BLUE, GREY, ORANGE, bar, document, line, polyline, text


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
    width, height = 2 * SIZE + LEFT + GAP + 30, float(SIZE + TOP + 70)
    groups, extra = _segment_panels(result, height, width)
    height += extra
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
            out.append(polyline([_xy(left, a, b) for a, b in roc_points(y, p)], colour))
        legend.append((f"{side.name}: AUC {side.metrics['roc_auc']:.4f}", colour))
    for k, (words, colour) in enumerate(reversed(legend)):
        out.append(text(left + SIZE - 8, TOP + SIZE - 10 - 16 * k, words, anchor="end", colour=colour))

    top = _ceiling(max(float(y.mean()), 0.01))
    out += _axes(right, "share approved (lowest scores first)", "default rate among the approved",
                 "What each would approve, at what loss", top=top)
    for side, p, colour in sides:
        out.append(polyline([_xy(right, a, min(b, top), top) for a, b in strategy_points(y, p)], colour))
        m = side.metrics
        cm = m["confusion_matrix"]
        approved = cm["tn"] + cm["fn"]
        if approved:
            x, yy = _xy(right, m["approval_rate"], min(cm["fn"] / approved, top), top)
            out.append(f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="5" fill="{colour}"><title>{side.name} at its threshold '
                       f"{side.threshold:.4g}: approves {m['approval_rate']:.1%}, of whom {cm['fn'] / approved:.1%} "
                       "defaulted</title></circle>")
    out.append(text(right + 8, TOP + 18, "dots: each model at its own threshold", colour=GREY))
    return document(width, height, out + groups)


ROW, LABEL = 34, 160  # pixels per group; the bars start this far from the page's left edge


def _segment_panels(result: Comparison, y0: float, width: float) -> tuple[list[str], float]:
    """For each ``--by`` column, a bar pair per group (champion, challenger approval rates); parts and height."""
    out: list[str] = []
    y = y0
    x0, scale = LABEL, width - LABEL - 260  # bars from x0, 100 % at x0 + scale; then three columns of figures
    columns = ((x0 + scale + 85, "rows"), (x0 + scale + 160, "defaulted"), (width - 10, "switches"))
    for name, groups in result.segments.items():
        out.append(text(10, y, f"Approval rate by {name}", size=13, weight="bold"))
        out.append(text(10, y + 16, f"{result.champion.name}", colour=BLUE, size=11))
        out.append(text(10, y + 30, f"{result.challenger.name}", colour=ORANGE, size=11))
        out += [text(x, y + 30, head, anchor="end", colour=GREY, size=11) for x, head in columns]
        y += 38
        for k in range(0, 101, 25):
            x = x0 + scale * k / 100
            out += [line(x, y, x, y + ROW * len(groups), "#dddddd", width=1),
                    text(x, y + ROW * len(groups) + 14, f"{k} %", anchor="middle", colour=GREY)]
        for g in groups:
            label = g["segment"] if len(g["segment"]) <= 24 else g["segment"][:23] + "…"
            out.append(text(x0 - 8, y + ROW / 2 + 4, label, anchor="end"))
            for offset, key, colour, who in ((4, "champion_approval_rate", BLUE, result.champion.name),
                                             (17, "challenger_approval_rate", ORANGE, result.challenger.name)):
                rate = g[key]
                out += [bar(x0, y + offset, scale * rate, 12, colour,
                            f"{name} {g['segment']}: {who} approves {rate:.1%} of {g['rows']:,}"),
                        text(x0 + scale * rate + 4, y + offset + 10, f"{rate:.1%}", size=10, colour=colour)]
            figures = (f"{g['rows']:,}", f"{g['defaults'] / g['rows']:.1%}",
                       f"+{g['approved_by_challenger_only']:,} / −{g['approved_by_champion_only']:,}")
            out += [text(x, y + ROW / 2 + 4, words, anchor="end") for (x, _), words in zip(columns, figures,
                                                                                             strict=True)]
            y += ROW
        out.append(text(width - 10, y + 32, "switches: approved by the challenger only / by the champion only",
                        anchor="end", colour=GREY, size=10))
        y += 56
    return out, y - y0


def _ceiling(rate: float) -> float:
    """The y axis's top: the overall default rate rounded up to a multiple of 0.05."""
    return min(1.0, math.ceil(rate / 0.05 + 1e-9) * 0.05)


__all__ = ["render_svg", "strategy_points"]
