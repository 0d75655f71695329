"""``loanscore recalibrate --plot``: what the refit did, as a picture (SVG, drawn with the runtime's shapes).

Left, when the file has outcomes: calibration by decile of the score, the
observed default rate against the mean probability, before (grey) and after
(blue); on the diagonal is right. Right: the map itself, P' against P, with
the new model's threshold and the probability before that it stands for,
so a credit officer reads off what an applicant's probability becomes.
"""

from __future__ import annotations

import numpy as np

from loanscore.runtime.backtest_plot import GAP, LEFT, SIZE, TOP, _axes, _line, _xy
from loanscore.runtime.svg import BLUE, GREY, document, polyline, text
from loanscore.train.calibration import mapped


def render_svg(p: np.ndarray, y: np.ndarray | None, scale: float, shift: float, threshold: float, title: str) -> str:
    """The SVG text: ``p`` the probabilities before, ``y`` the outcomes (``None`` without), the map's parameters
    and the recalibrated model's threshold (on P')."""
    after = mapped(p, scale, shift)
    panels = 2 if y is not None else 1
    width, height = max(panels * SIZE + LEFT + (panels - 1) * GAP + 30, 620), SIZE + TOP + 70
    out = [text(LEFT, 20, title, size=14, weight="bold")]
    x0 = LEFT
    if y is not None:
        deciles = np.array_split(np.argsort(p, kind="mergesort"), 10)
        before = [(float(p[d].mean()), float(y[d].mean())) for d in deciles if len(d)]
        fitted = [(float(after[d].mean()), float(y[d].mean())) for d in deciles if len(d)]
        out += _axes(x0, "mean probability in the decile", "observed default rate", "Calibration by decile")
        out.append(_line(x0, 0, 0, 1, 1, GREY, dash=True))
        for points, colour, name in ((before, GREY, "before"), (fitted, BLUE, "after")):
            xy = [_xy(x0, u, v) for u, v in points]
            out.append(polyline(xy, colour))
            out += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3.5" fill="{colour}"><title>{name}: mean P {u:.3f}, '
                    f"observed {v:.3f}</title></circle>" for (a, b), (u, v) in zip(xy, points, strict=True)]
        out += [text(x0 + 8, TOP + 18, "before", colour=GREY), text(x0 + 8, TOP + 34, "after", colour=BLUE)]
        x0 += SIZE + GAP
    out += _axes(x0, "P before", "P after", f"The map: P' = sigmoid({scale:.3f} logit P {shift:+.3f})")
    out.append(_line(x0, 0, 0, 1, 1, GREY, dash=True))
    grid = np.linspace(0.001, 0.999, 200)
    out.append(polyline([_xy(x0, u, v) for u, v in zip(grid, mapped(grid, scale, shift), strict=True)], BLUE))
    was = float(1 / (1 + np.exp(-(np.log(threshold / (1 - threshold)) - shift) / scale)))  # the map's inverse
    out += [_line(x0, 0, threshold, 1, threshold, GREY, dash=True),
            text(x0 + 8, _xy(x0, 0, threshold)[1] - 9, f"declined from P' {threshold:.3g}, that is P {was:.3g} "
                 "before", colour=GREY)]
    return document(width, height, out)
