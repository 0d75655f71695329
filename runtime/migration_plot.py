"""The rating migration matrix as a picture (SVG): where the book went is seen at a glance, not read cell by cell.

Each cell is a grade before (down) and after (across), shaded by the share of
the row's borrowers it holds: blue on the diagonal (kept), red above it
(downgraded, riskier), green below (upgraded); hover a cell for its counts.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from .migration import Migration
from .svg import BLUE, GREY, RED, document, text

GREEN = "#2e8b57"
CELL, LEFT, TOP = 46, 110, 90


def render_svg(result: Migration, notches: int) -> str:
    """The SVG text for ``result``; ``notches``: the downgrade counted as flagged."""
    m, names = result.matrix, result.scale.names
    used = [k for k in range(len(names)) if m[k].sum() or m[:, k].sum()]
    n = len(used)
    moves = result.moves
    title = f"Rating migration: {result.before.source} -> {result.after.source}"
    summary = (f"{len(result.ids):,} borrowers in both; same grade {moves['same_grade']:.1%}, downgraded "
               f"{moves['downgraded']:.1%}, upgraded {moves['upgraded']:.1%}; down {notches}+ grades: "
               f"{len(result.downgraded(notches)):,}")
    footer = f"shade: share of the row's borrowers; {result.scale.described}"
    width = max(LEFT + CELL * n + 120, 40 + 8.5 * len(title), 40 + 7 * max(len(summary), len(footer) + 15))
    height = TOP + CELL * n + 110
    out = [text(20, 22, title, size=14, weight="bold"), text(20, 40, summary, colour=GREY),
           text(LEFT + CELL * n / 2, TOP - 28, "grade after", anchor="middle", weight="bold"),
           text(LEFT - 70, TOP + CELL * n / 2, "grade before", anchor="middle", weight="bold", rotate=True)]
    for col, j in enumerate(used):
        out.append(text(LEFT + CELL * col + CELL / 2, TOP - 8, names[j], anchor="middle"))
    for row, k in enumerate(used):
        total = int(m[k].sum())
        y = TOP + CELL * row
        out += [text(LEFT - 8, y + CELL / 2 + 4, names[k], anchor="end"),
                text(LEFT + CELL * n + 8, y + CELL / 2 + 4, f"{total:,}", colour=GREY)]
        for col, j in enumerate(used):
            share = m[k, j] / total if total else 0.0
            colour = BLUE if j == k else RED if j > k else GREEN
            x = LEFT + CELL * col
            tip = f"{names[k]} -> {names[j]}: {int(m[k, j]):,} of {total:,} borrowers ({share:.1%})"
            out.append(f'<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" fill="{colour}" '
                       f'fill-opacity="{0.08 + 0.92 * share:.3f}" stroke="white"><title>{escape(tip)}</title></rect>')
            if m[k, j]:
                out.append(text(x + CELL / 2, y + CELL / 2 + 4, f"{share:.0%}" if share >= 0.005 else "<1%",
                                size=10, anchor="middle", colour="white" if share > 0.5 else "black"))
    out.append(text(LEFT + CELL * n + 8, TOP - 8, "borrowers", colour=GREY))
    y = TOP + CELL * n + 30
    for k, (colour, words) in enumerate([(BLUE, "kept"), (RED, "downgraded (riskier)"), (GREEN, "upgraded")]):
        x = LEFT + 170 * k
        out += [f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{colour}"/>', text(x + 18, y, words)]
    out.append(text(LEFT, y + 24, footer, colour=GREY))
    return document(width, height, out)


__all__ = ["render_svg"]
