"""Damaged files never get a traceback: every command that reads applicants answers a file mangled at random
(bytes flipped, cut short, quotes and delimiters strewn, another encoding, a workbook's XML or zip broken, gzip
data damaged) with scores, rejected rows or a clear error: exit 0, 1, 2 or 4, never an uncaught exception."""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from loanscore.cli.main import main
from loanscore.runtime import Scorer, VerificationError
from loanscore.runtime.xlsx import write_workbook

CASES = 160


def _mangle(data: bytes, rng: random.Random) -> bytes:
    """One random kind of damage a file meets on its way: from a mail gateway, a USB stick, a hand edit."""
    data = bytearray(data)
    kind = rng.randrange(7)
    if kind == 0:
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif kind == 1:
        del data[rng.randrange(len(data)):]
    elif kind == 2:
        for _ in range(rng.randint(1, 10)):
            data.insert(rng.randrange(len(data)), ord(rng.choice('",;\t\r\n\x00\\{')))
    elif kind == 3:
        start = rng.randrange(len(data))
        del data[start:start + rng.randint(1, 200)]
    elif kind == 4:
        lines = bytes(data).split(b"\n")
        cells = lines[0].split(b",")
        rng.shuffle(cells)
        lines[0] = b",".join(cells[:rng.randint(1, len(cells))])
        data = bytearray(b"\n".join(lines))
    elif kind == 5:
        data = bytearray(bytes(data).decode("utf-8", "replace").encode(rng.choice(["utf-16", "latin-1"]), "replace"))
    else:
        lines = bytes(data).split(b"\n")
        k = rng.randrange(1, len(lines))
        cells = lines[k].split(b",")
        cells[rng.randrange(len(cells))] = rng.choice([b"1e309", b"nan", b"-inf", b"0x10", b"9" * 400, b'"', b"1,5"])
        lines[k] = b",".join(cells)
        data = bytearray(b"\n".join(lines))
    return bytes(data) or b"\n"


def _mangle_workbook(data: bytes, rng: random.Random) -> bytes:
    """A workbook with one of its parts damaged or missing, zipped again (as a repair tool might leave it)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    victim = rng.choice(source.namelist())
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name in source.namelist():
            if name != victim:
                z.writestr(name, source.read(name))
            elif rng.random() < 0.8:
                z.writestr(name, _mangle(source.read(name), rng))
    return out.getvalue()


@pytest.fixture(scope="module")
def originals(applicants, to_csv, tmp_path_factory) -> dict[str, bytes]:
    """A file of applicants, and one with outcomes and the lender's final decisions; each as CSV and workbook."""
    rows = applicants(120, seed=5)
    labelled = [{**r, "default.payment.next.month": str(k % 2), "final_decision": ("approved", "declined")[k % 3 == 0],
                 "branch": f"B{k % 4}"} for k, r in enumerate(rows)]
    files = {"plain.csv": to_csv(rows).encode(), "labelled.csv": to_csv(labelled).encode()}
    root = tmp_path_factory.mktemp("originals")
    for name in list(files):
        book = root / name.replace(".csv", ".xlsx")
        text = files[name].decode().splitlines()
        write_workbook(book, {"Applicants": [line.split(",") for line in text]})
        files[book.name] = book.read_bytes()
    return files


COMMANDS = [
    ["score", "{in}", "-o", "{out}.csv"],
    ["score", "{in}", "-o", "{out}.xlsx", "--reasons", "2", "--grade", "--points"],
    ["monitor", "{in}"],
    ["backtest", "{in}"],
    ["fairness", "{in}"],
    ["cutoffs", "{in}"],
    ["overrides", "{in}", "--by", "branch"],
    ["notices", "{in}", "--out", "{out}"],
    ["explain", "{in}", "--row", "2"],
    ["report", "monitoring", "{in}", "--output", "{out}.html"],
    ["migration", "{in}", "{in}"],
]


@pytest.mark.parametrize("case", range(CASES))
def test_a_damaged_file_gets_scores_rejected_rows_or_a_clear_error(originals, tmp_path, case) -> None:
    rng = random.Random(case)
    name = rng.choice(sorted(originals))
    data = originals[name]
    if name.endswith(".xlsx") and rng.random() < 0.8:
        data = _mangle_workbook(data, rng)
    else:
        data = _mangle(data, rng)
    suffix = rng.choice([Path(name).suffix, ".csv", ".jsonl", ".gz", ""])
    if suffix == ".gz":
        data = gzip.compress(data)
        if rng.random() < 0.5:  # damaged in transit: the compressed stream itself
            data = data[:12] + bytes(b ^ 0x5A for b in data[12:40]) + data[40:]
    path = tmp_path / f"damaged{suffix}"
    path.write_bytes(data)
    command = [a.replace("{in}", str(path)).replace("{out}", str(tmp_path / "out")) for a in rng.choice(COMMANDS)]
    result = CliRunner().invoke(main, command)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{command[0]} on {name} damaged (case {case}) raised {result.exception!r}")
    assert result.exit_code in (0, 1, 2, 4), result.output
    if result.exit_code == 2:
        assert result.output.strip(), "an error must say what is wrong"


@pytest.mark.parametrize("case", range(40))
def test_line_buffered_answers_a_damaged_stream_as_a_batch_run_does(originals, case) -> None:
    """`score --line-buffered` reads a row at a time and flushes each answer; on damaged input (broken bytes, odd
    numbers, a short header) its answers are the batch run's, row for row. The differences are by design: one
    line gets one answer (a blank line, a lone carriage return, a quote left open are that line's error, where a
    file reads past them), and in JSON Lines a key the first record lacks is its own missing value."""
    rng = random.Random(1000 + case)
    data = _mangle(originals[rng.choice(["plain.csv", "labelled.csv"])], rng)
    fmt = rng.choice(["csv", "jsonl"])
    if fmt == "jsonl":
        records = csv.DictReader(io.StringIO(data.decode("utf-8", "replace"), newline=""), strict=False)
        data = "".join(json.dumps(dict(r)) + "\n" for r in records).encode()
        data = _mangle(data, rng) if rng.random() < 0.5 else data
    args = ["score", "-", "--input-format", fmt, "--format", fmt, "--reasons", "1"]
    batch = CliRunner().invoke(main, args, input=data)
    each = CliRunner().invoke(main, [*args, "--line-buffered"], input=data)
    assert each.exception is None or isinstance(each.exception, SystemExit), repr(each.exception)
    lines = data.replace(b"\r\n", b"\n").split(b"\n")[:-1]
    if b"\r" in b"".join(lines) or any(not line.strip() for line in lines[1:]):  # one line, one answer
        assert each.exit_code in (1, 2)
        return
    if fmt == "jsonl" and batch.exit_code == 2 and "lacks the required columns" in batch.stderr:
        assert each.exit_code in (1, 2)
        return
    if fmt == "csv" and any(line.count(b'"') % 2 for line in data.splitlines()) and (
            "opens a quote that its line does not close" in each.stdout or "is not closed on its line" in batch.stdout):
        assert each.exit_code in (0, 1) and batch.exit_code == 1  # a row its line, or the quote's run named
        return
    assert each.exit_code == batch.exit_code, (batch.stderr, each.stderr)
    got, want = _answers(each.stdout, fmt), _answers(batch.stdout, fmt)
    assert [g.keys() for g in got] == [w.keys() for w in want]
    for g, w in zip(got, want):  # onnxruntime's last float32 digit depends on the batch's size: 6 decimals may differ by 1
        close = ("probability_of_default", "effects")
        assert {k: v for k, v in g.items() if k not in close} == {k: v for k, v in w.items() if k not in close}
        assert g["probability_of_default"] == pytest.approx(w["probability_of_default"], abs=1.5e-6)
        assert g["effects"] == pytest.approx(w["effects"], abs=1.5e-3 if fmt == "csv" else 1.5e-6)


def _answers(text: str, fmt: str) -> list[dict]:
    """Each output row, its probability a number and its reasons split into fields and effects."""
    rows = [json.loads(line) for line in text.splitlines()] if fmt == "jsonl" else list(csv.DictReader(io.StringIO(text, newline="")))
    for row in rows:
        reasons = row.pop("reasons")
        if fmt == "csv":
            reasons = [dict(zip(("field", "effect"), r.rsplit(" ", 1))) for r in reasons.split("; ") if r]
        row["fields"] = [r["field"] for r in reasons]
        row["effects"] = [float(r["effect"]) for r in reasons]
        p = row["probability_of_default"]
        row["probability_of_default"] = float(p) if p not in (None, "") else -1.0
    return rows


def test_damaged_compressed_data_and_workbook_parts_are_named(originals, tmp_path) -> None:
    packed = gzip.compress(originals["plain.csv"])
    (tmp_path / "a.csv.gz").write_bytes(packed[:12] + bytes(b ^ 0x5A for b in packed[12:40]) + packed[40:])
    result = CliRunner().invoke(main, ["score", str(tmp_path / "a.csv.gz")])
    assert result.exit_code == 2 and "its compressed data is damaged" in result.output, result.output

    source = zipfile.ZipFile(io.BytesIO(originals["plain.xlsx"]))
    sheet = next(n for n in source.namelist() if n.startswith("xl/worksheets/"))
    raw = bytearray(originals["plain.xlsx"])
    info = source.getinfo(sheet)
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)  # the member's deflated bytes
    raw[start + 20:start + 60] = bytes(b ^ 0x5A for b in raw[start + 20:start + 60])
    (tmp_path / "b.xlsx").write_bytes(bytes(raw))
    result = CliRunner().invoke(main, ["score", str(tmp_path / "b.xlsx")])
    assert result.exit_code == 2 and "the file may be damaged, open and save it again in Excel" in result.output, (
        result.output)


def test_a_monitoring_report_on_a_file_with_no_scorable_row_is_an_error(originals, tmp_path) -> None:
    lines = originals["labelled.csv"].decode().splitlines()
    header = lines[0].split(",")
    broken = [lines[0]] + [",".join("x" if h == "LIMIT_BAL" else v for h, v in zip(header, line.split(",")))
                           for line in lines[1:]]
    (tmp_path / "none.csv").write_text("\n".join(broken) + "\n")
    result = CliRunner().invoke(main, ["report", "monitoring", str(tmp_path / "none.csv"), "--output",
                                       str(tmp_path / "m.html")])
    assert result.exit_code == 2 and "None of the 120 rows of" in result.output, result.output
    assert "LIMIT_BAL" in result.output and not (tmp_path / "m.html").exists()


@pytest.mark.parametrize(("entry", "value", "message"), [
    ("threshold", None, "threshold must be an object whose value is a probability between 0 and 1"),
    ("threshold", {"value": "0.2"}, "threshold must be an object whose value is a probability"),
    ("threshold", {"value": 7}, "threshold must be an object whose value is a probability"),
    ("model_file", {"a": 1}, "model_file must be a file name in the model directory"),
    ("model_file", "../model.onnx", "model_file must be a file name in the model directory"),
    ("sha256", 12, "sha256 must be the model file's SHA-256 as text"),
    ("schema", [], "schema must be an object"),
    ("metrics", "good", "metrics must be an object"),
    ("population", [1], "population must be an object"),
])
def test_a_hand_edited_manifest_is_refused_naming_the_entry(model_dir, tmp_path, entry, value, message) -> None:
    shutil.copytree(model_dir, tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text("utf-8"))
    manifest[entry] = value
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(manifest))
    for command in (["verify", str(tmp_path / "m")], ["fields", "--model", str(tmp_path / "m")]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 2 and f"manifest.json is damaged: {message}" in result.output, result.output


@pytest.mark.parametrize("cases", [{"a": 1}, [1, 2], [{"name": "x", "probability": 0.1}],
                                   [{"name": "x", "record": {}, "probability": True}]])
def test_a_damaged_golden_file_is_named(model_dir, tmp_path, cases) -> None:
    shutil.copytree(model_dir, tmp_path / "m")
    golden = json.loads((tmp_path / "m" / "golden.json").read_text("utf-8"))
    (tmp_path / "m" / "golden.json").write_text(json.dumps({**golden, "cases": cases}))
    result = CliRunner().invoke(main, ["verify", str(tmp_path / "m")])
    assert result.exit_code == 2 and "is not a golden-case file written by `loanscore export`" in result.output, (
        result.output)


def test_a_hand_edited_threshold_is_refused_and_a_reformatted_manifest_is_not(model_dir, applicants, write_csv,
                                                                               tmp_path) -> None:
    """The threshold in the manifest decides every applicant while the graph stays untouched, so loading a model
    checks the manifest against the SHA-256 golden.json recorded at export: of its canonical JSON, so that a copy
    whose line ends or indentation changed (a checkout on Windows) still loads and verifies."""
    shutil.copytree(model_dir, tmp_path / "m")
    path = tmp_path / "m" / "manifest.json"
    manifest = json.loads(path.read_text("utf-8"))
    batch, out = write_csv(applicants(5)), tmp_path / "scores.csv"
    assert "OK" in CliRunner().invoke(main, ["verify", str(tmp_path / "m")]).output
    path.write_bytes(json.dumps(manifest, indent=4).replace("\n", "\r\n").encode("utf-8"))
    result = CliRunner().invoke(main, ["verify", str(tmp_path / "m")])
    assert result.exit_code == 0 and "the manifest is as exported" in result.output, result.output
    assert CliRunner().invoke(main, ["score", str(batch), "--model", str(tmp_path / "m")]).exit_code == 0
    manifest["threshold"]["value"] = 0.5  # approve more applicants, with the same graph
    path.write_text(json.dumps(manifest, indent=2))
    for command in (["verify", str(tmp_path / "m")], ["score", str(batch), "--model", str(tmp_path / "m"), "-o", str(out)],
                    ["fields", "--model", str(tmp_path / "m")]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 3 and "manifest.json has changed since the model was exported" in result.output, (
            command, result.output)
    assert not out.exists()
    with pytest.raises(VerificationError, match="restore it, or export"):
        Scorer.load(tmp_path / "m")
    golden = json.loads((tmp_path / "m" / "golden.json").read_text("utf-8"))
    del golden["manifest_sha256"]  # a model exported before the hash was recorded
    (tmp_path / "m" / "golden.json").write_text(json.dumps(golden))
    result = CliRunner().invoke(main, ["verify", str(tmp_path / "m")])
    assert result.exit_code == 0 and "the manifest is not covered" in result.output


def test_json_python_cannot_read_is_a_clear_error_not_a_fault(model_dir, applicants, tmp_path) -> None:
    """Valid JSON the json module cannot read: nesting deeper than about 1,000 levels (RecursionError, not
    ValueError) or an integer of more than 4,300 digits (a ValueError with no position). Both ended in exit 70
    ("failed unexpectedly") for a record or --json; nesting too, for a statements file or a manifest."""
    deep = "[" * 100_000 + "]" * 100_000
    good = applicants(1)[0]
    (tmp_path / "deep.jsonl").write_text('{"AGE": ' + deep + "}\n" + '{"AGE": ' + "9" * 5000 + "}\n"
                                         + json.dumps(good) + "\n")
    result = CliRunner().invoke(main, ["score", str(tmp_path / "deep.jsonl")])
    assert result.exit_code == 1 and "row 1 is not an applicant record: its JSON nests too deeply" in result.output
    assert "row 2 is not an applicant record: it holds a number of more digits than Python reads" in result.output
    assert result.stdout.count("\n") == 4  # the header, two rejected rows, the scored row
    (tmp_path / "words.toml").write_text("repayment_status = " + deep + "\n")
    shutil.copytree(model_dir, tmp_path / "m")
    (tmp_path / "m" / "manifest.json").write_text('{"schema": ' + deep + "}")
    for command, said in ((["score", "--json", '{"AGE": ' + deep + "}"], "--json is not an applicant record"),
                          (["score", "--json", '{"AGE": ' + "9" * 5000 + "}"], "more digits than Python reads"),
                          (["score", str(tmp_path / "deep.jsonl"), "--reasons", "1", "--statements",
                            str(tmp_path / "words.toml")], "is not valid TOML"),
                          (["score", str(tmp_path / "deep.jsonl"), "--model", str(tmp_path / "m")],
                           "manifest.json is not valid JSON")):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 2 and said in result.output and "unexpectedly" not in result.output, result.output
