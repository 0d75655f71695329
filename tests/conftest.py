"""Fixtures shared by the runtime and CLI tests: synthetic applicants and the shipped model.

Applicants are generated from the schema (seeded, within its ranges). Tests
that need the real development data ask for ``dev_data`` or ``dev_sample`` and
skip, saying why, where it is absent.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import random
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NoReturn

import pytest

from loanscore.runtime.schema import Schema

ROOT = Path(__file__).resolve().parents[1]
ID = "ID"
AMOUNT_CAP = 1_000_000
"""Generated amounts stay within +-1e6 NT$: inside the schema's +-1e8, and the size real files hold."""
CHROMIUM = "/usr/bin/chromium"


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
def edit_manifest() -> Callable[[Path, Callable[[dict], object]], Path]:
    """Change a copied model directory's manifest with ``change`` and record its hash in golden.json as export
    would: a stand-in for a model exported by another version or with other options (a hand edit is refused)."""
    from loanscore.runtime.integrity import manifest_sha256

    def edit(directory: Path, change: Callable[[dict], object]) -> Path:
        manifest = json.loads((directory / "manifest.json").read_text("utf-8"))
        change(manifest)
        (directory / "manifest.json").write_text(json.dumps(manifest, indent=2), "utf-8")
        golden = json.loads((directory / "golden.json").read_text("utf-8"))
        golden["manifest_sha256"] = manifest_sha256(manifest)
        (directory / "golden.json").write_text(json.dumps(golden), "utf-8")
        return directory

    return edit


@pytest.fixture(scope="session")
def scorer(model_dir: Path):  # type: ignore[no-untyped-def]
    from loanscore.runtime.scorer import Scorer

    return Scorer.load(model_dir)


NODE_EXAMPLE = ROOT / "examples" / "node"
NODE_TOLERANCE = 1e-6
"""Python (onnxruntime 1.28) and Node.js (onnxruntime-node 1.30) run the same float32 graph."""


@pytest.fixture(scope="session")
def node() -> str:
    """Node.js with examples/node installed; a skip saying what is missing, a failure under LOANSCORE_REQUIRE_NODE=1 (CI)."""
    import shutil

    found = shutil.which("node")
    if found is None:
        missing = "Node.js is not installed"
    elif not (NODE_EXAMPLE / "node_modules" / "onnxruntime-node").is_dir():
        missing = "examples/node has no node_modules: run npm ci --ignore-scripts --prefix examples/node"
    else:
        return found
    if os.environ.get("LOANSCORE_REQUIRE_NODE") == "1":
        pytest.fail(missing)
    pytest.skip(missing)


def _program_missing(message: str) -> NoReturn:
    """A skip saying what to install; a failure under LOANSCORE_REQUIRE_DESKTOP=1 (CI, where it installs them)."""
    if os.environ.get("LOANSCORE_REQUIRE_DESKTOP") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium() -> Callable[..., subprocess.CompletedProcess]:
    """``chromium(url, *flags, profile=DIR)``: Debian's headless Chromium run on a page; a skip where not installed."""
    import shutil

    found = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if found is None:
        _program_missing(f"Chromium is not installed ({CHROMIUM}); `apt-get install -y chromium` to run this test")

    def run(url: str, *flags: str, profile: Path) -> subprocess.CompletedProcess:
        return subprocess.run([found, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                               "--disable-component-update", "--disable-sync", "--no-first-run",
                               f"--user-data-dir={profile}", *flags, url], capture_output=True, text=True, timeout=120)

    return run


@pytest.fixture(scope="session")
def libreoffice() -> Callable[[Path, str, Path], Path]:
    """``libreoffice(source, to, folder)``: ``source`` converted by headless LibreOffice (``to``: "csv" or "xlsx")
    into ``folder``/lo; a skip where not installed."""
    import shutil

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        _program_missing("LibreOffice is not installed (apt-get install libreoffice-calc-nogui)")

    def convert(source: Path, to: str, folder: Path) -> Path:
        done = subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{folder}/profile",
                               "--convert-to", to, "--outdir", str(folder / "lo"), str(source)],
                              capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr
        return folder / "lo" / f"{source.stem}.{to}"

    return convert


@pytest.fixture()
def node_parity(node: str, tmp_path: Path) -> Callable[..., tuple[int, list[dict], str]]:
    """``node_parity(model_dir, records, *lines, reasons=0, statements=None)``: score ``records`` with
    examples/node/score.mjs and with the Python runtime (both given the statements file, JSON, if any), assert
    the two agree row by row, and return Node's exit status, results and stderr.

    ``lines`` are appended to the JSON Lines file as they are (lines that are no JSON object); Python is not
    asked about them.
    """
    import json
    import subprocess

    from loanscore.runtime.scorer import Scorer

    def run(model: Path, records: list[dict], *lines: str, reasons: int = 0,
            statements: Path | None = None) -> tuple[int, list[dict], str]:
        path = tmp_path / "records.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records) + "".join(line + "\n" for line in lines))
        words = ["--statements", str(statements)] if statements else []
        done = subprocess.run([node, str(NODE_EXAMPLE / "score.mjs"), *(["--reasons", str(reasons)] if reasons else []),
                               *words, str(model), str(path)], capture_output=True, text=True, timeout=300)
        js = [json.loads(line) for line in done.stdout.splitlines()]
        assert len(js) == len(records) + len(lines), done.stderr
        scorer = Scorer.load(model, statements=statements)
        every = len(scorer.explainer.groups) if reasons else 0  # Python's every reason, to compare Node's first few
        for i, (got, want) in enumerate(zip(js, scorer.score_records(records, reasons=every))):
            assert got["row"] == i + 1
            assert got["errors"] == [str(e) for e in want.errors], i + 1
            assert (got["warnings"], got["decision"]) == (list(want.warnings), want.decision or ""), i + 1
            if want.errors:
                assert got["probability"] is None, i + 1
            else:
                assert abs(got["probability"] - want.probability) <= NODE_TOLERANCE, i + 1
            if reasons:
                same_reasons(got["reasons"], want.reasons, reasons, i + 1)
        return done.returncode, js, done.stderr

    return run


@pytest.fixture()
def node_explain_parity(node: str, tmp_path: Path) -> Callable[..., list[dict]]:
    """``node_explain_parity(model_dir, records, statements=None)``: explain ``records`` with
    examples/node/explain.mjs and with ``Scorer.explain`` (both given the statements file, JSON, if any), assert
    the two agree field by field and month by month, and return Node's results."""
    import json
    import subprocess

    from loanscore.runtime.scorer import Scorer

    def run(model: Path, records: list[dict], statements: Path | None = None) -> list[dict]:
        path = tmp_path / "records.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
        words = ["--statements", str(statements)] if statements else []
        done = subprocess.run([node, str(NODE_EXAMPLE / "explain.mjs"), *words, str(model), str(path)],
                              capture_output=True, text=True, timeout=300)
        js = [json.loads(line) for line in done.stdout.splitlines()]
        assert len(js) == len(records), done.stderr
        scorer = Scorer.load(model, statements=statements)
        for i, (got, record, scored) in enumerate(zip(js, records, scorer.score_records(records))):
            if scored.errors:  # messages as a file's rows get them
                assert got["errors"] == [str(e) for e in scored.errors] and got["probability"] is None, i + 1
                continue
            same_explanation(got, scorer.explain(record), scorer.threshold, i + 1)
        return js

    return run


def same_explanation(got: dict, want, threshold: float, row: int) -> None:  # type: ignore[no-untyped-def]
    """Node's explanation against Python's: the same values, effects within NODE_TOLERANCE, and the same order
    except where two effects are within it of each other."""
    close = lambda a, b: abs(a - b) <= NODE_TOLERANCE  # noqa: E731
    assert close(got["probability"], want.probability) and got["decision"] == want.decision, row
    assert close(got["typicalProbability"], want.typical_probability), row
    assert list(got["warnings"]) == list(want.warnings), row
    python = {e.field: e for e in want.effects}
    assert sorted(e["field"] for e in got["effects"]) == sorted(python), row
    for e in got["effects"]:
        w = python[e["field"]]
        assert (tuple(e["columns"]), tuple(e["values"]), tuple(e["typical"])) == (w.columns, w.values, w.typical), row
        assert e.get("statement", "") == w.statement, (row, e["field"])
        assert close(e["effect"], w.effect) and close(e["probabilityIfTypical"], w.if_typical), (row, e["field"])
        if abs(w.if_typical - threshold) > NODE_TOLERANCE:
            assert e["decisionIfTypical"] == w.decision_if_typical, (row, e["field"])
        months = [m["effect"] for m in e.get("months", [])]
        assert len(months) == len(w.months) and all(close(a, b) for a, b in zip(months, w.months)), (row, e["field"])
    order = [python[e["field"]].effect for e in got["effects"]]
    assert all(a >= b - 2 * NODE_TOLERANCE for a, b in zip(order, order[1:])), row


def same_reasons(got: list[dict], every: Sequence, top: int, row: int) -> None:
    """Node's first ``top`` reasons against Python's every reason, allowing for effects that differ by
    NODE_TOLERANCE: only those within it of the 0.001 floor or of each other may be left out or swapped."""
    from loanscore.runtime.reasons import MIN_EFFECT

    python = {r.field: r.effect for r in every}
    stated = {r.field: r.statement for r in every}
    assert len(got) <= top, row
    effects = [r["effect"] for r in got]
    assert effects == sorted(effects, reverse=True), row
    for r in got:
        if r["field"] in python:
            assert abs(r["effect"] - python[r["field"]]) <= NODE_TOLERANCE, (row, r)
            assert r.get("statement", "") == stated[r["field"]], (row, r)
        else:
            assert r["effect"] < MIN_EFFECT + NODE_TOLERANCE, (row, r)  # below the floor in Python
    floor = effects[-1] if len(got) == top else MIN_EFFECT
    named = {r["field"] for r in got}
    for field, effect in python.items():
        if field not in named:
            assert effect <= floor + NODE_TOLERANCE, (row, field, effect)


@pytest.fixture()
def ctrl_c_heard() -> Iterator[None]:
    """Ctrl-C (SIGINT) raising KeyboardInterrupt in this process, as at a terminal, for a test that signals itself:
    a shell starts a background job (`pytest &`, CI) with SIGINT ignored, and loanscore then stays deaf to it."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
