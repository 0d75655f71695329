"""A population-stability report as a picture (SVG): which variables moved, and how.

Left: the PSI of the score and of every field as bars, coloured by verdict,
against the 0.10 and 0.25 lines, with a tick at the level chance alone
exceeds 1 time in 100. Right: the score's distribution, reference against
now, bin by bin; below it the same for the field that moved most, so that a
reader sees the move the table only names.
"""

from __future__ import annotations

import math

from .stability import PSI_SHIFT, PSI_WATCH, SHIFT, STABLE, TOO_FEW, WATCH, Report, Stability
from .svg import BLUE, GREY, ORANGE, RED, bar, document, line, text

TOP, ROW, BIN_ROW = 104, 18, 22
NAME_W, PSI_W = 170, 300  # the PSI panel: variable names, then bars
LABEL_W, SHARE_W = 130, 260  # the distribution panels: bin labels, then bars
GAP = 60
VERDICT_COLOUR = {STABLE: BLUE, WATCH: ORANGE, SHIFT: RED, TOO_FEW: GREY}
REFERENCE_COLOUR = "#bbbbbb"


def render_svg(report: Report) -> str:
    """The SVG text for a finished ``report`` (one with at least one scored row)."""
    assert report.score is not None, "render a finished report with scored rows"
    variables = [report.score, *report.fields]
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

    y, parts = _distribution(right, TOP, report.score, "the score")
    out += parts
    moved = max(report.fields, key=lambda s: s.psi, default=None)
    if moved is not None:
        y, parts = _distribution(right, y + 70, moved, "the field that moved most")
        out += parts
    out += [bar(right, y + 16, 12, 10, REFERENCE_COLOUR, "reference"), text(right + 16, y + 25, f"reference: {described}"),
            bar(right, y + 32, 12, 10, BLUE, "now"), text(right + 16, y + 41, f"now: {report.source}")]
    width = max(right + SHARE_W + 70, 40 + 8.5 * len(title))  # a long file name widens the page
    height = max(bottom + 70, y + 60)
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
    """The smallest round number (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten) that is at least ``value``: an axis end."""
    power = 10 ** math.floor(math.log10(value)) if value > 0 else 1.0
    return next(m * power for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * power >= value * (1 - 1e-12))


def _ticks(top: float) -> list[float]:
    """Five steps from 0 to ``top`` (an axis end from :func:`_nice`)."""
    return [top * k / 5 for k in range(6)]


__all__ = ["render_svg"]
