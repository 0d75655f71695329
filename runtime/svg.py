"""The few SVG shapes the runtime's plots are drawn with, written by hand.

The runtime installs onnxruntime and numpy only, so it has no plotting
library; a report a person would rather look at than read is a few dozen
shapes, and SVG opens in any browser.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

BLUE, GREY, RED, ORANGE = "#1f5fa8", "#888888", "#c0392b", "#e67e22"


def document(width: float, height: float, parts: list[str]) -> str:
    """A whole SVG file of ``parts`` on a white page."""
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">')
    return "\n".join([head,
                      f'<rect width="{width}" height="{height}" fill="white"/>', *parts, "</svg>"]) + "\n"


def text(x: float, y: float, words: str, *, size: int = 12, weight: str = "normal", colour: str = "black",
         anchor: str = "start", rotate: bool = False) -> str:
    turn = f' transform="rotate(-90 {x:.1f} {y:.1f})"' if rotate else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" font-weight="{weight}" fill="{colour}" '
            f'text-anchor="{anchor}"{turn}>{escape(words)}</text>')


def line(x1: float, y1: float, x2: float, y2: float, colour: str, *, width: float = 1.5, dash: bool = False) -> str:
    style = ' stroke-dasharray="4 4"' if dash else ""
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" stroke-width="{width}"{style}/>'


def polyline(points: list[tuple[float, float]], colour: str, *, width: float = 2) -> str:
    """A curve through ``points`` (pixels)."""
    return (f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in points)}" fill="none" stroke="{colour}" '
            f'stroke-width="{width:g}"/>')


def bar(x: float, y: float, width: float, height: float, colour: str, tip: str) -> str:
    """A filled rectangle whose tooltip (``tip``) gives the figures it stands for."""
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" fill="{colour}">'
            f"<title>{escape(tip)}</title></rect>")


__all__ = ["BLUE", "GREY", "ORANGE", "RED", "bar", "document", "line", "polyline", "text"]
