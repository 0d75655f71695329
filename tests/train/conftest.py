"""Fixtures for tests that train: they need the [train] extra and skip cleanly without it."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("tensorflow", reason="training tests need the [train] extra: pip install '.[train]'")


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """The shipped model directory."""
    from loanscore.runtime.model import default_model_dir

    directory = default_model_dir()
    if not (directory / "manifest.json").is_file():
        pytest.skip("the shipped model is absent (artifacts/model); docs/training.md says how to train and export it")
    return directory
