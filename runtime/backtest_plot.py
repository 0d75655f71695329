"""A back-test as a picture (SVG): a validator would rather look at calibration than read ten rows of it.

Left: each score band's observed default rate against its mean P(default),
with a 95 % Wilson interval; a calibrated model's points straddle the
diagonal. Right: the ROC curve, with the AUC now, the AUC these applicants'
probabilities should give (the benchmark) and the AUC at development.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

import numpy as np

from .backtest import Backtest
from .performance import Z_95, declined_counts
from .svg import BLUE, GREY, RED, document, line, polyline, text

SIZE = 300  # each panel's plotting area, in pixels
LEFT, TOP, GAP = 60, 62, 110


def wilson_interval(k: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """A 95 % interval for a rate of ``k`` in ``n`` that stays inside [0, 1] and behaves for k = 0."""
    if n == 0:
        return 0.0, 1.0
    centre = (k + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * math.sqrt(k * (n - k) / n + z * z / 4)
    return max(0.0, centre - half), min(1.0, centre + half)


def roc_points(y: np.ndarray, p: np.ndarray, most: int = 400) -> list[tuple[float, float]]:
    """(false-positive rate, true-positive rate) from (0, 0) to (1, 1), thinned to about ``most`` points."""
    tps, fps = declined_counts(y, p)
    tpr, fpr = tps / max(1.0, tps[-1]), fps / max(1.0, fps[-1])
    keep = np.unique(np.linspace(0, len(tpr) - 1, min(most, len(tpr))).astype(int))
    return [(0.0, 0.0), *zip(fpr[keep].tolist(), tpr[keep].tolist()), (1.0, 1.0)]


def render_svg(result: Backtest) -> str:
    """The SVG text for ``result``."""
    width, height = 2 * SIZE + LEFT + GAP + 30, SIZE + TOP + 70
    out = [text(LEFT, 20, f"Back-test of {result.source}: {result.scored:,} applicants, {result.defaults:,} defaults; "
                 f"overall {result.verdict}", size=14, weight="bold")]
    left, right = LEFT, LEFT + SIZE + GAP

    out += _axes(left, "mean P(default) in the band", "observed default rate",
                 f"Calibration by score band: {result.calibration}")
    out.append(_line(left, 0, 0, 1, 1, GREY, dash=True))
    for band in result.bands:
        lo, hi = wilson_interval(band.defaults, band.rows)
        colour = RED if band.p_value < result.band_alpha else BLUE
        out.append(_line(left, band.mean_probability, lo, band.mean_probability, hi, colour))
        x, yy = _xy(left, band.mean_probability, band.default_rate)
        out.append(f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="4" fill="{colour}">'
                   f"<title>{escape(band.label)}: {band.defaults:,} of {band.rows:,} "
                   f"(expected {band.expected:,.1f}), p {band.p_value:.3g}</title></circle>")
    out.append(text(left, TOP + SIZE + 58, "bars: 95 % interval of the observed rate; red: band alert", colour=GREY))

    dev = (result.development or {}).get("roc_auc")
    auc = result.metrics["roc_auc"]
    out += _axes(right, "false-positive rate (payers declined)", "true-positive rate (defaulters declined)",
                 f"ROC: {result.discrimination}")
    out.append(_line(right, 0, 0, 1, 1, GREY, dash=True))
    if not math.isnan(auc):
        out.append(polyline([_xy(right, a, b) for a, b in roc_points(result.outcomes, result.probabilities)], BLUE))
        lo, hi = result.auc_interval
        legend = [f"AUC {auc:.4f} (95 % {lo:.4f}–{hi:.4f})", f"expected here {result.expected_auc:.4f}"] + (
            [f"development {dev:.4f}"] if dev is not None else [])
    else:
        legend = ["AUC undefined: the file holds only one outcome"]
    for k, words in enumerate(reversed(legend)):
        out.append(text(right + SIZE - 8, TOP + SIZE - 10 - 16 * k, words, anchor="end"))
    return document(width, height, out)


def _xy(x0: float, u: float, v: float, top: float = 1.0) -> tuple[float, float]:
    """Pixels of (u, v) in the panel at ``x0`` whose axes run from 0 to 1 (x) and 0 to ``top`` (y)."""
    return x0 + u * SIZE, TOP + (1 - v / top) * SIZE


def _line(x0: float, u1: float, v1: float, u2: float, v2: float, colour: str, *, dash: bool = False) -> str:
    (a, b), (c, d) = _xy(x0, u1, v1), _xy(x0, u2, v2)
    return line(a, b, c, d, colour, dash=dash)


def _axes(x0: float, xlabel: str, ylabel: str, title: str, top: float = 1.0) -> list[str]:
    parts = [f'<rect x="{x0}" y="{TOP}" width="{SIZE}" height="{SIZE}" fill="none" stroke="black"/>',
             text(x0, TOP - 10, title, size=13, weight="bold")]
    for k in range(6):
        t = k / 5
        x, y = _xy(x0, t, t * top, top)
        parts += [text(x, TOP + SIZE + 16, f"{t:.1f}", anchor="middle"),
                  text(x0 - 6, y + 4, f"{t * top:.{1 if top >= 1 else 2}f}", anchor="end"),
                  f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + SIZE}" stroke="#eeeeee"/>',
                  f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + SIZE}" y2="{y:.1f}" stroke="#eeeeee"/>']
    parts += [text(x0 + SIZE / 2, TOP + SIZE + 36, xlabel, anchor="middle"),
              text(x0 - 38, TOP + SIZE / 2, ylabel, anchor="middle", rotate=True)]
    return parts


__all__ = ["render_svg", "roc_points", "wilson_interval"]
