"""The packages type-check together, as applications see them: the runtime ships ``py.typed``, so a desktop app's
own type checker reads its annotations, and they must hold (mypy, pinned in the ``test`` extra)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("runtime", "cli", "export", "train")


def _mypy(folder: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    """mypy run in ``folder`` with the packages under their installed names (loanscore.runtime, ...), so that each
    sees the others' types: checked as folders, an import across packages would be an unknown module, and
    anything would pass through it."""
    for name in PACKAGES:
        (folder / "loanscore").mkdir(exist_ok=True)
        (folder / "loanscore" / name).symlink_to(ROOT / name, target_is_directory=True)
    return subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), *args],
                          cwd=folder, env={**os.environ, "MYPYPATH": str(folder)}, capture_output=True, text=True,
                          timeout=600)


def test_the_packages_type_check_as_installed(tmp_path: Path) -> None:
    pytest.importorskip("mypy", reason="mypy is not installed (pip install '.[test]')")
    done = _mypy(tmp_path, [arg for name in PACKAGES for arg in ("-p", f"loanscore.{name}")])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues found in" in done.stdout


def test_the_scripts_type_check_against_the_packages(tmp_path: Path) -> None:
    """The benchmarks measure the claims in the README and the closing notes, and docs/cli_reference.py writes the
    command reference: a call that no longer matches the packages (a renamed argument, an optional value used as
    given) would fail only when someone runs them."""
    pytest.importorskip("mypy", reason="mypy is not installed (pip install '.[test]')")
    scripts = sorted((ROOT / "benchmarks").glob("*.py")) + sorted((ROOT / "docs").glob("*.py"))
    done = _mypy(tmp_path, [str(p) for p in scripts])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues found in" in done.stdout


def test_the_readme_api_example_type_checks(tmp_path: Path) -> None:
    """The README's Python API block is what a desktop app's developer copies: its calls must match the runtime's
    signatures (type-checked, not run: its values are placeholders)."""
    pytest.importorskip("mypy", reason="mypy is not installed (pip install '.[test]')")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Python API (desktop apps)", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    # The app's own data, which the example takes as given.
    given = ("from typing import Any\nimport numpy as np\nimport pandas as pd\nfrom loanscore.runtime import Scorer\n"
             "list_of_dicts: list[dict[str, Any]]\ndata_frame: pd.DataFrame\ncolumn_of: dict[str, np.ndarray]\n"
             "outcomes: np.ndarray\np_current: np.ndarray\np_new: np.ndarray\nlender_approved: np.ndarray\n"
             "current: Scorer\nnew: Scorer\n")
    (tmp_path / "api_example.py").write_text(given + block, encoding="utf-8")
    done = _mypy(tmp_path, ["api_example.py"])
    assert done.returncode == 0, done.stdout + done.stderr
