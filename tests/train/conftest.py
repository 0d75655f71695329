"""Fixtures for tests that train: they need the [train] extra and skip cleanly without it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("tensorflow", reason="training tests need the [train] extra: pip install '.[train]'")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def dev_data() -> Path:
    """The development data, from $LOANSCORE_DEV_DATA or ../shared/data beside the project."""
    path = Path(os.environ.get("LOANSCORE_DEV_DATA", ROOT.parent / "shared" / "data" / "uci_credit_card_dev.csv.gz"))
    if not path.is_file():
        pytest.skip(f"development data not found at {path}; set LOANSCORE_DEV_DATA to run this test")
    return path


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """The shipped model directory."""
    from loanscore.runtime.model import default_model_dir

    directory = default_model_dir()
    if not (directory / "manifest.json").is_file():
        pytest.skip("the shipped model is absent (artifacts/model); see the README to train and export it")
    return directory
