"""Fixtures shared by the runtime and CLI tests: synthetic applicants and the shipped model.

Applicants are generated from the schema (seeded, within its ranges). Tests
that need the real development data ask for ``dev_data`` or ``dev_sample`` and
skip, saying why, where it is absent.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import random
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from loanscore.runtime.schema import Schema

ROOT = Path(__file__).resolve().parents[1]
ID = "ID"
AMOUNT_CAP = 1_000_000
"""Generated amounts stay within +-1e6 NT$: inside the schema's +-1e8, and the size real files hold."""


@pytest.fixture(scope="session")
def schema() -> Schema:
    return Schema.default()


def make_applicants(schema: Schema, n: int, seed: int = 0) -> list[dict[str, str]]:
    """``n`` valid applicants as CSV would hold them (column -> text), with ids 1..n."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        row = {schema.id or ID: str(i + 1)}
        for col in schema.columns():
            if col.kind == "code":
                row[col.name] = str(rng.choice(col.codes))
                continue
            low = -AMOUNT_CAP if col.min is None else max(col.min, -AMOUNT_CAP)
            high = AMOUNT_CAP if col.max is None else min(col.max, AMOUNT_CAP)
            low = int(low) + (1 if col.min_exclusive else 0)
            row[col.name] = str(rng.randint(int(low), int(high)))
        rows.append(row)
    return rows


def csv_text(rows: Sequence[dict[str, str]], header: Sequence[str] | None = None, *, newline: str = "\n") -> str:
    header = list(header) if header is not None else list(rows[0])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(header)
    writer.writerows([[r.get(h, "") for h in header] for r in rows])
    return out.getvalue()


@pytest.fixture(scope="session")
def applicants(schema: Schema) -> Callable[..., list[dict[str, str]]]:
    """``applicants(n, seed=0)``: valid applicant rows."""
    return lambda n, seed=0: make_applicants(schema, n, seed)


@pytest.fixture(scope="session")
def to_csv() -> Callable[..., str]:
    """``to_csv(rows, header=None, newline="\\n")``: CSV text as a spreadsheet would write it."""
    return csv_text


@pytest.fixture()
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """``write_csv(rows, name="in.csv", header=None, newline="\\n", bom=False)``: a CSV file in tmp_path."""

    def write(rows, name="in.csv", header=None, newline="\n", bom=False):  # type: ignore[no-untyped-def]
        path = tmp_path / name
        data = csv_text(rows, header, newline=newline).encode("utf-8")
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
        return path

    return write


@pytest.fixture(scope="session")
def dev_data() -> Path:
    """The development data, from $LOANSCORE_DEV_DATA or ../shared/data beside the project."""
    path = Path(os.environ.get("LOANSCORE_DEV_DATA", ROOT.parent / "shared" / "data" / "uci_credit_card_dev.csv.gz"))
    if not path.is_file():
        pytest.skip(f"development data not found at {path}; set LOANSCORE_DEV_DATA to run this test")
    return path


@pytest.fixture()
def dev_sample(dev_data: Path, tmp_path: Path) -> Callable[[int, int], Path]:
    """``dev_sample(rows, seed)``: a CSV of that many development rows drawn at random, like a held-back file."""

    def sample(rows: int, seed: int) -> Path:
        with gzip.open(dev_data, "rt", newline="") as fh:
            lines = list(csv.reader(fh))
        path = tmp_path / f"dev_sample_{seed}.csv"
        with open(path, "w", newline="") as fh:
            csv.writer(fh).writerows([lines[0], *random.Random(seed).sample(lines[1:], rows)])
        return path

    return sample


def _shipped_model_dir() -> Path | None:
    from loanscore.runtime.model import default_model_dir

    try:
        directory = default_model_dir()
    except Exception:
        return None
    return directory if (directory / "manifest.json").is_file() else None


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """The shipped model directory; tests that need it skip where it has not been trained yet."""
    directory = _shipped_model_dir()
    if directory is None:
        pytest.skip("the shipped model is absent (artifacts/model/manifest.json); run `loanscore train` and `loanscore export`")
    return directory


@pytest.fixture(scope="session")
def scorer(model_dir: Path):  # type: ignore[no-untyped-def]
    from loanscore.runtime.scorer import Scorer

    return Scorer.load(model_dir)
