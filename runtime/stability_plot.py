"""A population-stability report as a picture (SVG): which variables moved, and how.

One file (:func:`render_svg`). Left: the PSI of the score and of every field
as bars, coloured by verdict, against the 0.10 and 0.25 lines, with a tick at
the level chance alone exceeds 1 time in 100. Right: the score's
distribution, reference against now, bin by bin; below it the same for the
field that moved most, so that a reader sees the move the table only names.

Several files (:func:`render_trend_svg`): each variable's PSI file by file,
so that a drift is seen building up before it becomes a shift.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from xml.sax.saxutils import escape

from .stability import PSI_SHIFT, PSI_WATCH, SHIFT, STABLE, TOO_FEW, WATCH, Report, Stability, gravest
from .svg import BLUE, GREY, ORANGE, RED, bar, document, line, text

TOP, ROW, BIN_ROW = 104, 18, 22
NAME_W, PSI_W = 170, 300  # the PSI panel: variable names, then bars
LABEL_W, SHARE_W = 130, 260  # the distribution panels: bin labels, then bars
GAP = 60
VERDICT_COLOUR = {STABLE: BLUE, WATCH: ORANGE, SHIFT: RED, TOO_FEW: GREY}
REFERENCE_COLOUR = "#bbbbbb"
TREND_TOP, TREND_W, TREND_H, TREND_GAP = 70, 380, 300, 210  # the trend's two panels
PALETTE = ("#8e44ad", "#16a085", "#a0522d", "#d6338a", "#6b8e23", "#2c3e50")
"""Colours of the fields that drift, in the order of the schema (not the verdicts' red and orange)."""


def render_svg(report: Report) -> str:
    """The SVG text for a finished ``report`` (one with at least one scored row)."""
    assert report.score is not None, "render a finished report with scored rows"
    variables = report.variables
    ref = report.reference
    described = ref.source.get("file", "the reference") if ref.source else "the reference"
    left = 20 + NAME_W
    right = left + PSI_W + GAP + LABEL_W
    title = f"Population stability of {report.source}: overall {report.worst}"
    out = [text(20, 20, title, size=14, weight="bold"),
           text(20, 38, f"{report.scored:,} rows scored, against {described}, {ref.rows:,} rows", colour=GREY)]

    top_psi = _nice(max(PSI_SHIFT * 1.2, *(s.psi for s in variables)))
    out.append(text(20, TOP - 40, "PSI by variable", size=13, weight="bold"))
    bottom = TOP + ROW * len(variables)
    for t in _ticks(top_psi):
        x = left + t / top_psi * PSI_W
        out += [line(x, TOP, x, bottom, "#eeeeee", width=1), text(x, bottom + 14, f"{t:g}", anchor="middle")]
    for level, word, y in [(PSI_WATCH, "watch", TOP - 22), (PSI_SHIFT, "shift", TOP - 8)]:
        x = left + level / top_psi * PSI_W
        out += [line(x, y - 10, x, bottom, GREY, dash=True), text(x + 3, y, f"{word} from {level:.2f}", colour=GREY)]
    for k, s in enumerate(variables):
        y = TOP + ROW * k
        tip = (f"{s.name}: PSI {s.psi:.4f}, chance level {s.chance:.4f}, {s.verdict}; largest move "
               f"{s.labels[s.largest_move]}: {s.reference[s.largest_move]:.1%} -> {s.actual[s.largest_move]:.1%}")
        width = s.psi / top_psi * PSI_W
        chance = left + min(s.chance, top_psi) / top_psi * PSI_W
        out += [text(left - 6, y + ROW - 5, s.name, anchor="end", weight="bold" if k == 0 else "normal"),
                bar(left, y + 3, width, ROW - 6, VERDICT_COLOUR[s.verdict], tip),
                line(chance, y + 1, chance, y + ROW - 1, "black", width=1.5),
                text(left + width + 4, y + ROW - 5, f"{s.psi:.3f}", size=11)]
    x = left
    for verdict, colour in VERDICT_COLOUR.items():
        out += [bar(x, bottom + 24, 12, 10, colour, verdict), text(x + 16, bottom + 33, verdict)]
        x += 28 + 7 * len(verdict)
    out += [line(left + 6, bottom + 42, left + 6, bottom + 56, "black"),
            text(left + 16, bottom + 53, "the PSI chance alone exceeds 1 time in 100")]

    below, parts = _distribution(right, TOP, report.score, "the score")
    out += parts
    if report.grade is not None:
        below, parts = _distribution(right, below + 70, report.grade, "the rating grades")
        out += parts
    moved = max(report.fields, key=lambda s: s.psi, default=None)
    if moved is not None:
        below, parts = _distribution(right, below + 70, moved, "the field that moved most")
        out += parts
    out += [bar(right, below + 16, 12, 10, REFERENCE_COLOUR, "reference"),
            text(right + 16, below + 25, f"reference: {described}"),
            bar(right, below + 32, 12, 10, BLUE, "now"), text(right + 16, below + 41, f"now: {report.source}")]
    width = max(right + SHARE_W + 70, 40 + 8.5 * len(title))  # a long file name widens the page
    height = max(bottom + 70, below + 60)
    return document(width, height, out)


def _distribution(x0: float, y0: float, s: Stability, role: str) -> tuple[float, list[str]]:
    """Paired bars per bin (reference, now) for one variable; bins empty in both are left out."""
    shown = [k for k in range(len(s.labels)) if s.reference[k] > 0 or s.actual[k] > 0]
    top = _nice(max(max(s.reference), max(s.actual)))
    parts = [text(x0 - LABEL_W, y0 - 40, f"{s.name}, {role}: PSI {s.psi:.3f} ({s.verdict})", size=13, weight="bold")]
    bottom = y0 + BIN_ROW * len(shown)
    for t in _ticks(top):
        x = x0 + t / top * SHARE_W
        parts += [line(x, y0, x, bottom, "#eeeeee", width=1), text(x, bottom + 14, f"{t:.0%}", anchor="middle")]
    for row, k in enumerate(shown):
        y = y0 + BIN_ROW * row
        label = s.labels[k]
        parts += [text(x0 - 6, y + BIN_ROW - 7, label, anchor="end"),
                  bar(x0, y + 2, s.reference[k] / top * SHARE_W, 8, REFERENCE_COLOUR,
                      f"{label}: reference {s.reference[k]:.2%}"),
                  bar(x0, y + 10, s.actual[k] / top * SHARE_W, 8, BLUE,
                      f"{label}: now {s.actual[k]:.2%} ({s.counts[k]:,} rows)")]
    return bottom + 14, parts


def _nice(value: float) -> float:
    """An axis end: the smallest 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten that is at least ``value``."""
    power = 10 ** math.floor(math.log10(value)) if value > 0 else 1.0
    return next(m * power for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * power >= value * (1 - 1e-12))


def _ticks(top: float) -> list[float]:
    """Five steps from 0 to ``top`` (an axis end from :func:`_nice`)."""
    return [top * k / 5 for k in range(6)]


def render_trend_svg(reports: list[Report]) -> str:
    """Several files (in the order given, e.g. month by month) against one reference: each variable's PSI by file.

    The score is drawn bold; a field that reaches "watch" in any file gets its
    colour and its name; stable fields stay thin grey lines, so that what
    drifts stands out. A second panel follows the mean P(default) and the
    share declined at the threshold against the reference's.
    """
    ref = reports[0].reference
    described = ref.source.get("file", "the reference") if ref.source else "the reference"
    n = len(reports)
    worst = gravest(r.worst for r in reports)
    title = f"Population stability of {n} files against {described} ({ref.rows:,} rows): overall {worst}"
    out = [text(20, 20, title, size=14, weight="bold")]
    left, right = 70, 70 + TREND_W + TREND_GAP

    step = TREND_W / max(n - 1, 1)
    xs = [(left if n > 1 else left + TREND_W / 2) + k * step for k in range(n)]
    series = [[r.variables[j] for r in reports] for j in range(len(reports[0].variables))]
    top = _nice(max(PSI_SHIFT * 1.2, *(s.psi for line_ in series for s in line_)))
    out += _frame(left, xs, top, "PSI by file", lambda t: f"{t:g}")
    for level, word in [(PSI_WATCH, "watch"), (PSI_SHIFT, "shift")]:
        y = _y(level, top)
        out += [line(left, y, left + TREND_W, y, GREY, dash=True), text(left + 4, y - 4, f"{word} from {level:.2f}", colour=GREY)]
    drifting = [line_ for line_ in series[1:] if gravest(s.verdict for s in line_) in (WATCH, SHIFT)]
    quiet = [line_ for line_ in series[1:] if line_ not in drifting]
    for line_ in quiet:
        out.append(_path(xs, [_y(s.psi, top) for s in line_], "#cccccc", 1, f"{line_[0].name}: PSI " +
                         ", ".join(f"{s.psi:.3f}" for s in line_)))
    labelled = [(series[0], "black", 2.5), *[(line_, PALETTE[k % len(PALETTE)], 1.8) for k, line_ in enumerate(drifting)]]
    for line_, colour, width in labelled:
        ys = [_y(s.psi, top) for s in line_]
        out.append(_path(xs, ys, colour, width, f"{line_[0].name}: PSI " + ", ".join(f"{s.psi:.3f} ({s.verdict})" for s in line_)))
        out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in zip(xs, ys)]
    label_ys = _spread([_y(line_[-1].psi, top) for line_, _, _ in labelled], 13)
    for (line_, colour, _), y in zip(labelled, label_ys):
        out.append(text(xs[-1] + 8, y + 4, line_[0].name, colour=colour, weight="bold" if line_ is series[0] else "normal"))
    if quiet:
        out.append(text(left, TREND_TOP + TREND_H + 52, f"grey: the {len(quiet)} variables never at watch or shift", colour=GREY))

    rx = [x - left + right for x in xs]
    out += _frame(right, rx, 1.0, "mean P(default) and share declined", lambda t: f"{t:.0%}")
    for value, colour, words in [(lambda r: r.mean_probability, BLUE, "mean P(default)"),
                                 (lambda r: r.decline_rate, ORANGE, f"declined (P >= {ref.threshold:.4g})")]:
        ys = [_y(value(r), 1.0) for r in reports]
        out += [line(right, _y(value(ref), 1.0), right + TREND_W, _y(value(ref), 1.0), colour, width=1, dash=True),
                _path(rx, ys, colour, 2, f"{words}: " + ", ".join(f"{value(r):.3f}" for r in reports)),
                *[f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in zip(rx, ys)]]
    out += [text(right, TREND_TOP + TREND_H + 52, "solid: the files; dashed: the reference", colour=GREY),
            bar(right, TREND_TOP + TREND_H + 62, 12, 10, BLUE, "mean P(default)"),
            text(right + 16, TREND_TOP + TREND_H + 71, "mean P(default)"),
            bar(right + 130, TREND_TOP + TREND_H + 62, 12, 10, ORANGE, "declined"),
            text(right + 146, TREND_TOP + TREND_H + 71, f"declined (P >= {ref.threshold:.4g})")]

    y = TREND_TOP + TREND_H + 100
    out.append(text(20, y, "files", weight="bold"))
    for k, r in enumerate(reports, 1):
        out.append(text(20, y + 16 * k, f"{k}  {r.source}: {r.scored:,} rows scored, overall {r.worst}"))
    width = max(right + TREND_W + 90, 40 + 8.5 * len(title))
    return document(width, y + 16 * n + 20, out)


def _y(value: float, top: float) -> float:
    return TREND_TOP + (1 - min(value, top) / top) * TREND_H


def _frame(x0: float, xs: list[float], top: float, title: str, tick: Callable[[float], str]) -> list[str]:
    """A panel's box, title, horizontal grid with ``tick`` labels, and the file numbers under each x."""
    parts = [f'<rect x="{x0}" y="{TREND_TOP}" width="{TREND_W}" height="{TREND_H}" fill="none" stroke="black"/>',
             text(x0, TREND_TOP - 10, title, size=13, weight="bold")]
    for t in _ticks(top):
        y = _y(t, top)
        parts += [line(x0, y, x0 + TREND_W, y, "#eeeeee", width=1), text(x0 - 6, y + 4, tick(t), anchor="end")]
    parts += [text(x, TREND_TOP + TREND_H + 16, str(k), anchor="middle") for k, x in enumerate(xs, 1)]
    parts.append(text(x0 + TREND_W / 2, TREND_TOP + TREND_H + 32, "file (in the order given)", anchor="middle"))
    return parts


def _path(xs: list[float], ys: list[float], colour: str, width: float, tip: str) -> str:
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
    return (f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="{width}">'
            f"<title>{escape(tip)}</title></polyline>")


def _spread(ys: list[float], gap: float) -> list[float]:
    """``ys`` moved apart, in their order, so that labels at them are at least ``gap`` apart."""
    order = sorted(range(len(ys)), key=lambda k: ys[k])
    out = list(ys)
    for a, b in zip(order, order[1:]):
        out[b] = max(out[b], out[a] + gap)
    return out


__all__ = ["render_svg", "render_trend_svg"]
