"""One self-contained HTML page: text, tables and figures, with the figures also as PNG files.

``Report.write("out/eda.html")`` writes

* ``out/eda.html``: images embedded as base64 PNG ``data:`` URIs, inline CSS,
  no scripts, nothing fetched from anywhere, so it opens offline and can be
  mailed or archived as one file;
* ``out/eda_figures/<name>.png``: the same figures;
* ``out/eda.json``: the numbers behind them.

Figures are drawn with matplotlib's object API (``matplotlib.figure.Figure``),
never ``pyplot``, each on its own Agg canvas: no global backend switch, no GUI,
no state shared between figures.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from loanscore.runtime.writers import open_output, refuse_an_input

DPI = 110
CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1f2933;margin:0;background:#f5f7fa}
main{max-width:1080px;margin:0 auto;padding:24px 32px 48px;background:#fff}
h1{font-size:26px;margin:8px 0 4px}h2{font-size:20px;margin:36px 0 8px;border-bottom:2px solid #d9e2ec;padding-bottom:4px}
h3{font-size:16px;margin:20px 0 6px}.meta{color:#52606d;font-size:13px;margin-bottom:16px}
p,li{line-height:1.5;font-size:14px}figure{margin:12px 0 20px}figure img{max-width:100%;height:auto;border:1px solid #e4e7eb}
figcaption{font-size:13px;color:#52606d;margin-top:4px}
table{border-collapse:collapse;font-size:13px;margin:8px 0 16px}th,td{padding:4px 10px;border-bottom:1px solid #e4e7eb;text-align:right}
th{background:#f0f4f8;text-align:center}td:first-child,th:first-child{text-align:left}
tr.flag td{background:#fff3c4}.note{background:#f0f4f8;border-left:4px solid #829ab1;padding:8px 12px;font-size:13px}
nav{font-size:13px;margin:8px 0 16px}nav a{margin-right:14px;color:#245d8f;text-decoration:none}
footer{margin-top:40px;padding-top:10px;border-top:1px solid #d9e2ec;font-size:12px;color:#52606d}
"""


@dataclass
class Report:
    """Build a page section by section, then ``write`` it."""

    title: str
    subtitle: str = ""
    footer: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    """JSON-ready numbers written next to the page."""
    _body: list[str] = field(default_factory=list)
    _sections: list[tuple[str, str]] = field(default_factory=list)
    _figures: dict[str, bytes] = field(default_factory=dict)

    def section(self, title: str) -> None:
        anchor = f"s{len(self._sections) + 1}"
        self._sections.append((anchor, title))
        self._body.append(f'<h2 id="{anchor}">{esc(title)}</h2>')

    def heading(self, text: str) -> None:
        self._body.append(f"<h3>{esc(text)}</h3>")

    def text(self, text: str, *, note: bool = False) -> None:
        cls = ' class="note"' if note else ""
        self._body.append(f"<p{cls}>{esc(text)}</p>")

    def bullets(self, items: list[str]) -> None:
        self._body.append("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>")

    def table(self, header: list[str], rows: list[list[Any]], *, flagged: list[bool] | None = None) -> None:
        head = "".join(f"<th>{esc(h)}</th>" for h in header)
        body = []
        for i, row in enumerate(rows):
            cls = ' class="flag"' if flagged and flagged[i] else ""
            body.append(f"<tr{cls}>" + "".join(f"<td>{esc(cell(v))}</td>" for v in row) + "</tr>")
        self._body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")

    def details(self, summary: str, header: list[str], rows: list[list[Any]]) -> None:
        """A long table folded under a one-line summary (plain HTML ``<details>``, no script)."""
        self._body.append(f"<details><summary>{esc(summary)}</summary>")
        self.table(header, rows)
        self._body.append("</details>")

    def figure(self, name: str, fig: Figure, caption: str) -> None:
        """Embed ``fig`` (and keep its PNG as ``<name>.png``)."""
        if name in self._figures:
            raise ValueError(f"A figure named {name!r} is already in this report.")
        png = render_png(fig)
        self._figures[name] = png
        data = base64.b64encode(png).decode("ascii")
        self._body.append(
            f'<figure><img alt="{esc(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>"
        )

    @property
    def figure_names(self) -> list[str]:
        return list(self._figures)

    def html(self) -> str:
        nav = "".join(f'<a href="#{a}">{esc(t)}</a>' for a, t in self._sections)
        created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        foot = "".join(f"<div>{esc(line)}</div>" for line in self.footer)
        return (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(self.title)}</title><style>{CSS}</style></head>\n<body><main>"
            f"<h1>{esc(self.title)}</h1><div class=\"meta\">{esc(self.subtitle)} &middot; generated {created} by loanscore</div>"
            f"<nav>{nav}</nav>\n" + "\n".join(self._body) + f"\n<footer>{foot}</footer></main></body></html>\n"
        )

    def write(self, output: str | Path) -> dict[str, Path]:
        """Write the page, ``<stem>_figures/*.png`` and ``<stem>.json``; return their paths."""
        output = Path(output)
        json_path = output.with_suffix(".json")
        for path in (output, json_path):  # `--data d.json --output d.html` would replace the data with its numbers
            refuse_an_input(path)
        output.parent.mkdir(parents=True, exist_ok=True)
        fig_dir = output.with_name(f"{output.stem}_figures")
        fig_dir.mkdir(exist_ok=True)
        for old in fig_dir.glob("*.png"):
            if old.stem not in self._figures:
                old.unlink()  # a figure from an earlier run of another data set would mislead
        for name, png in self._figures.items():
            _replace_bytes(fig_dir / f"{name}.png", png)
        for path, text in ((json_path, json.dumps(jsonable(self.data), indent=2, allow_nan=False) + "\n"),
                           (output, self.html())):
            with open_output(path) as stream:  # whole or not at all
                stream.write(text)
        return {"html": output, "figures": fig_dir, "json": json_path}


def _replace_bytes(path: Path, data: bytes) -> None:
    """``data`` at ``path``, whole or not at all: written beside it, then renamed over it."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def new_figure(width: float = 8.0, height: float = 4.5, **kwargs: Any) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained", **kwargs)
    FigureCanvasAgg(fig)  # the Agg backend, for this figure only
    return fig


def render_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    # No Software/date metadata: the same data gives the same bytes.
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def cell(v: Any) -> str:
    """Table cells: rates as percentages are formatted by the caller; floats get 4 significant places."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, bool):
        return "yes" if v else ""
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def pct(x: float | None, digits: int = 1) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.{digits}f} %"


def jsonable(obj: Any) -> Any:
    """numpy scalars to Python, NaN/inf to ``null`` (strict JSON has neither)."""
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if not math.isfinite(float(obj)) else float(obj)
    return obj
