"""Fixtures for the report tests: generated labelled data, a tiny exported model, HTML checks.

Everything is generated (``loanscore.train.synthetic``, fixed seeds); the
development data is never read here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="the reports need the [train] extra (matplotlib)")
pytest.importorskip("pandas", reason="the reports need the [train] extra (pandas)")

from loanscore.runtime.schema import Schema  # noqa: E402
from loanscore.train.synthetic import generate, write_csv  # noqa: E402

ROWS = 600
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Remote references: any src/href/url() that is not a data: URI or an in-page anchor, and any http(s) URL at all.
_REMOTE = [
    re.compile(r"""\b(?:src|href|srcset|action|poster)\s*=\s*(?!["']?(?:data:|#))""", re.I),
    re.compile(r"url\(\s*(?!['\"]?data:)", re.I),
    re.compile(r"@import", re.I),
    re.compile(r"https?://", re.I),
    re.compile(r"<script\b", re.I),
]


def remote_references(html: str) -> list[str]:
    return [m.group(0) for rx in _REMOTE for m in rx.finditer(html)]


@pytest.fixture(scope="session")
def taiwan() -> Schema:
    return Schema.default()


@pytest.fixture(scope="session")
def other_schema() -> Schema:
    """Another lender's layout: other names, string codes, a 12-month history, no AGE field."""
    months = range(1, 13)
    return Schema.from_dict({
        "name": "other-lender", "label": "bad", "id": "acct",
        "numeric": [{"name": "income", "min": 0, "max": 10_000_000, "transform": "signed_log"},
                    {"name": "tenure", "min": 0, "max": 40}],
        "categorical": [{"name": "region", "codes": ["N", "S", "X"], "labels": {"N": "north", "S": "south", "X": "undocumented"}}],
        "history": [
            {"name": "arrears", "role": "status", "columns": [f"st_{m}" for m in months], "min": 0, "max": 6},
            {"name": "balance", "role": "balance", "columns": [f"bal_{m}" for m in months], "min": -1e6, "max": 1e7,
             "transform": "signed_log"},
            {"name": "paid", "role": "payment", "columns": [f"paid_{m}" for m in months], "min": 0, "max": 1e7,
             "transform": "signed_log"},
        ],
    }, source="test schema")


@pytest.fixture(scope="session")
def taiwan_columns(taiwan) -> dict[str, list]:
    return generate(taiwan, ROWS, seed=7)


@pytest.fixture(scope="session")
def taiwan_csv(taiwan_columns, tmp_path_factory) -> Path:
    return write_csv(tmp_path_factory.mktemp("data") / "applicants.csv", taiwan_columns)


@pytest.fixture(scope="session")
def tiny_model(taiwan, taiwan_csv, tmp_path_factory) -> Path:
    """A 2-epoch model trained on the generated file and exported with ``--data`` (about 15 s)."""
    pytest.importorskip("tensorflow", reason="training needs the [train] extra (tensorflow)")
    from dataclasses import replace

    from loanscore.export.exporter import export_run
    from loanscore.train.network import NetworkConfig
    from loanscore.train.trainer import TrainConfig, train

    root = tmp_path_factory.mktemp("model")
    config = TrainConfig()
    config = replace(config, network=replace(config.network, max_epochs=2))
    assert isinstance(config.network, NetworkConfig)
    train(taiwan_csv, root / "run", schema=taiwan, config=config, progress=lambda s: None)
    export_run(root / "run", root / "model", data=taiwan_csv, progress=lambda s: None)
    return root / "model"


@pytest.fixture(scope="session")
def no_remote():
    return remote_references
