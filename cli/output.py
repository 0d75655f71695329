"""Writing what a command found: aligned tables, figures as JSON and SVG, stdout after a broken pipe."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any


def aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    """A table's lines: the first column aligned left, the numbers right, the last column (p-value and flag) as is."""
    widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]) - 1)]
    return [f"{r[0]:<{widths[0]}}  " + "  ".join(f"{v:>{w}}" for v, w in zip(r[1:-1], widths[1:])) + f"  {r[-1]}"
            for r in rows]


def write_figures(result: Any, output: str | None, plot: str | None, draw: Callable[[Any], str]) -> None:
    """``-o FILE``: every figure of ``result`` as JSON; ``--plot FILE.svg``: ``draw(result)``; each atomically."""
    import json

    from loanscore.runtime.writers import open_output

    if output:
        with open_output(output) as stream:
            stream.write(json.dumps(result.to_dict(), indent=2) + "\n")
    if plot:
        with open_output(plot) as stream:
            stream.write(draw(result))


def silence_stdout() -> None:
    """After a broken pipe (`| head`): send what is left to /dev/null, so exiting prints no second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
