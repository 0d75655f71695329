"""The README's offline install kit for desks of another platform names the runtime's dependencies as
``pyproject.toml`` pins them: a kit that drifted from the pins would install an onnxruntime the shipped model was
not verified with, or fail at the desk. (CI makes a kit and installs from it alone.)"""

from __future__ import annotations

import shlex
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_cross_platform_kit_downloads_exactly_the_pinned_dependencies() -> None:
    pinned = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["dependencies"]
    readme = (ROOT / "README.md").read_text("utf-8")
    (line,) = [ln for ln in readme.splitlines() if ln.startswith("python3 -m pip download ")]
    words = shlex.split(line)
    assert words[words.index("-d") + 2:] == [*pinned, "colorama"]  # colorama: click's on Windows
