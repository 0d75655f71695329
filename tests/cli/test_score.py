"""`loanscore score`: exit codes, messages, formats, pipes and atomic output."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from loanscore.cli.main import main
from loanscore.runtime import Scorer

LOANSCORE = [sys.executable, "-c", "import sys; from loanscore.cli.main import main; sys.argv[0] = 'loanscore'; main()"]


@pytest.fixture()
def runner():
    return CliRunner()


@pytest.fixture()
def score(runner, model_dir):
    """``score(*args, input=None)``: run `loanscore score` in-process with the shipped model."""

    def run(*args, input=None):  # type: ignore[no-untyped-def]
        return runner.invoke(main, ["score", *map(str, args)], input=input, catch_exceptions=False)

    return run


def rows_of(text):
    return list(csv.DictReader(io.StringIO(text)))


# -- exit codes and summaries ------------------------------------------------------


def test_all_rows_scored_exit_0(score, applicants, write_csv, tmp_path):
    out = tmp_path / "out.csv"
    result = score(write_csv(applicants(5)), "-o", out)
    assert result.exit_code == 0, result.output
    assert f"scored 5 of 5 rows -> {out}" in result.stderr
    rows = rows_of(out.read_text())
    assert [r["ID"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert all(r["decision"] in ("approve", "review", "decline") for r in rows)
    assert result.stdout == ""


def test_default_output_is_stdout(score, applicants, write_csv):
    result = score(write_csv(applicants(3)))
    assert result.exit_code == 0
    assert len(rows_of(result.stdout)) == 3
    assert "-> stdout" in result.stderr


def test_some_rows_rejected_exit_1(score, applicants, write_csv):
    rows = applicants(4)
    rows[2]["AGE"] = "500"
    result = score(write_csv(rows))
    assert result.exit_code == 1
    assert "scored 3 of 4 rows; 1 rejected (see the error column)" in result.stderr
    out = rows_of(result.stdout)
    assert out[2]["error"] == "AGE must be between 18 and 120. Got '500' in row 3."
    assert out[2]["probability_of_default"] == ""


def test_wrong_field_count_exit_1(score, applicants, write_csv, tmp_path):
    lines = write_csv(applicants(3)).read_text().splitlines()
    lines[1] = lines[1] + ",x"
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    result = score(path)
    assert result.exit_code == 1
    assert rows_of(result.stdout)[0]["error"] == "row 1 has 25 fields; the header has 24."


def test_quiet_prints_nothing_on_stderr(score, applicants, write_csv):
    rows = applicants(2)
    rows[0]["AGE"] = "x"
    result = score(write_csv(rows), "--quiet")
    assert result.exit_code == 1 and result.stderr == ""


@pytest.mark.parametrize(
    ("header_drop", "fragment"),
    [(["AGE"], "lacks the required columns AGE"), (["PAY_0", "BILL_AMT3"], "PAY_0, BILL_AMT3")],
)
def test_missing_header_columns_exit_2_and_nothing_written(score, applicants, write_csv, tmp_path, header_drop, fragment):
    rows = applicants(3)
    header = [h for h in rows[0] if h not in header_drop]
    out = tmp_path / "out.csv"
    result = score(write_csv(rows, header=header), "-o", out)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and fragment in result.stderr
    assert not out.exists() and sorted(os.listdir(tmp_path)) == ["in.csv"]


def test_empty_file_exit_2(score, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    out = tmp_path / "out.csv"
    result = score(path, "-o", out)
    assert result.exit_code == 2 and "empty.csv is empty: it has no header" in result.stderr
    assert not out.exists()


def test_header_only_gives_a_header_only_output(score, applicants, write_csv, tmp_path):
    out = tmp_path / "out.csv"
    result = score(write_csv([], header=list(applicants(1)[0])), "-o", out)
    assert result.exit_code == 0
    assert out.read_text() == "ID,probability_of_default,decision,error,warning\n"
    assert "has a header but no rows" in result.stderr


def test_non_utf8_exit_2_and_nothing_written(score, applicants, write_csv, tmp_path):
    path = write_csv(applicants(3))
    path.write_bytes(path.read_bytes().replace(b"\n2,", b"\n2\xff,", 1))
    out = tmp_path / "out.csv"
    result = score(path, "-o", out)
    assert result.exit_code == 2 and "line 3 is not valid UTF-8" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--approve-below", "1.5"], "is not in the range"),
        (["--decline-from", "-0.1"], "is not in the range"),
        (["--approve-below", "0.8", "--decline-from", "0.2"], "must not exceed --decline-from"),
        (["--format", "xml"], "'xml' is not one of 'csv', 'jsonl'"),
        (["--input-format", "xls"], "'xls' is not one of"),
        (["--keep-columns", "ID,,AGE"], "holds an empty column name"),
        (["--keep-columns", "BRANCH"], "lacks the columns to keep BRANCH"),
        (["--keep-columns", "error"], "Cannot keep the column error"),
        (["--keep-columns", "reason_statements"], "Cannot keep the column reason_statements"),
        (["--statements", "words.toml"], "--statements words reason codes; add --reasons N"),
        (["--reasons", "1", "--statements", "/nonexistent/words.toml"], "Cannot read statements file"),
        (["--json", "{}"], "Give either INPUT or --json, not both"),
        (["--model", "/nonexistent/model"], "Model directory /nonexistent/model does not exist"),
        (["-o", "/nonexistent/dir/out.csv"], "the directory /nonexistent/dir does not exist"),
    ],
)
def test_bad_options_exit_2(score, applicants, write_csv, args, fragment):
    result = score(write_csv(applicants(2)), *args)
    assert result.exit_code == 2, result.output
    assert fragment in result.stderr
    assert result.stdout == ""


def test_no_input_exit_2(score):
    result = score()
    assert result.exit_code == 2 and "Missing INPUT" in result.stderr


def test_missing_file_exit_2(score, tmp_path):
    result = score(tmp_path / "nope.csv")
    assert result.exit_code == 2 and "Error: Cannot read" in result.stderr


def test_tampered_model_exit_3(score, model_dir, applicants, write_csv, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    onnx = copy / "model.onnx"
    onnx.write_bytes(onnx.read_bytes() + b"\0")
    out = tmp_path / "out.csv"
    result = score(write_csv(applicants(2)), "--model", copy, "-o", out)
    assert result.exit_code == 3
    assert "does not match its manifest" in result.stderr
    assert not out.exists()


# -- formats, columns, bands --------------------------------------------------------


def test_jsonl_in_and_out(score, applicants, tmp_path):
    rows = applicants(3)
    records = [{k: int(v) for k, v in r.items()} for r in rows]
    records[1]["AGE"] = 17
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = score(path, "--format", "jsonl")
    assert result.exit_code == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["ID"] for o in out] == [1, 2, 3]
    assert out[1]["error"] == "AGE must be between 18 and 120. Got '17' in row 2."
    assert out[1]["probability_of_default"] is None
    assert 0 <= out[0]["probability_of_default"] <= 1


def test_input_format_forces_the_reader(score, applicants, tmp_path, to_csv):
    path = tmp_path / "applicants.data"
    path.write_text(to_csv(applicants(2)))
    assert score(path, "--input-format", "csv").exit_code == 0
    assert score(path, "--input-format", "jsonl").exit_code == 1  # every line is then not JSON


def test_keep_columns(score, applicants, write_csv):
    rows = applicants(3)
    for i, r in enumerate(rows):
        r["BRANCH"] = f"b{i}"
    result = score(write_csv(rows), "--keep-columns", "BRANCH,AGE", "--keep-columns", "ID")
    assert result.exit_code == 0
    out = rows_of(result.stdout)
    assert list(out[0]) == ["ID", "BRANCH", "AGE", "probability_of_default", "decision", "error", "warning"]
    assert [r["BRANCH"] for r in out] == ["b0", "b1", "b2"]
    assert [r["AGE"] for r in out] == [r["AGE"] for r in rows]


def test_bands(score, applicants, write_csv):
    result = score(write_csv(applicants(100, seed=3)), "--approve-below", "0.25", "--decline-from", "0.55")
    assert result.exit_code == 0
    out = rows_of(result.stdout)
    for r in out:
        p = float(r["probability_of_default"])
        assert r["decision"] == ("approve" if p < 0.25 else "decline" if p >= 0.55 else "review")
    assert {r["decision"] for r in out} == {"approve", "review", "decline"}


def test_default_bands_are_the_threshold(score, scorer, applicants, write_csv):
    out = rows_of(score(write_csv(applicants(100, seed=4))).stdout)
    for r in out:
        assert r["decision"] == ("decline" if float(r["probability_of_default"]) >= scorer.threshold else "approve")


def test_single_applicant_json(score, scorer, applicants):
    record = applicants(1)[0]
    result = score("--json", json.dumps(record))
    assert result.exit_code == 0
    (row,) = rows_of(result.stdout)
    assert row["ID"] == "1"
    assert abs(float(row["probability_of_default"]) - scorer.score(record).probability) < 2e-6


def test_single_applicant_json_errors_do_not_talk_about_rows(score, applicants):
    record = applicants(1)[0]
    record["AGE"] = "500"
    result = score("--json", json.dumps(record))
    assert result.exit_code == 1
    assert rows_of(result.stdout)[0]["error"] == "AGE must be between 18 and 120. Got '500'."


def test_reasons_column_in_csv_jsonl_and_json(score, scorer, applicants, write_csv, tmp_path):
    rows = applicants(40, seed=5)
    rows[3]["AGE"] = "500"
    path = write_csv(rows)
    result = score(path, "--reasons", "2", "--keep-columns", "AGE")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == "ID,AGE,probability_of_default,decision,reasons,reason_statements,error,warning"
    out = rows_of(result.stdout)
    assert [r["ID"] for r in out] == [str(i) for i in range(1, 41)]
    assert out[3]["reasons"] == out[3]["reason_statements"] == "" and out[3]["error"]
    api = scorer.score_records(rows, reasons=2)
    for row, want in zip(out, api):
        assert row["reasons"] == "; ".join(f"{r.field} {r.effect:+.3f}" for r in want.reasons)
        assert row["reason_statements"] == "; ".join(r.statement for r in want.reasons)
    assert sum(1 for r in out if r["reasons"]) > 30
    worded = {s for r in api for s in (x.statement for x in r.reasons)}
    assert "Late repayments in recent months" in worded and not worded & set(scorer.explainer.statements)

    lines = score(path, "--reasons", "2", "--format", "jsonl").stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert list(records[0]) == ["ID", "probability_of_default", "decision", "reasons", "error", "warning"]
    assert records[3]["reasons"] == []
    for record, want in zip(records, api):
        assert record["reasons"] == [{"field": r.field, "effect": round(r.effect, 6), "statement": r.statement}
                                     for r in want.reasons]

    one = score("--json", json.dumps(rows[0]), "--reasons", "3")
    assert one.exit_code == 0
    assert rows_of(one.stdout)[0]["reasons"] == "; ".join(map(str, scorer.score(rows[0], reasons=3).reasons))
    assert "reasons" not in rows_of(score(path).stdout)[0]


def test_a_statements_file_rewords_the_reasons_and_a_model_without_statements_has_none(
        score, scorer, model_dir, edit_manifest, applicants, write_csv, tmp_path):
    rows = applicants(30, seed=8)
    path = write_csv(rows)
    words = tmp_path / "words.toml"
    words.write_text('[repayment_status]\nhigher = "D1 Late"\nlower = "D2 Inactive"\n[LIMIT_BAL]\nlower = "C1 Low line"\n')
    out = rows_of(score(path, "--reasons", "3", "--statements", words).stdout)
    want = Scorer(scorer.model, statements=words).score_records(rows, reasons=3)
    assert [r["reason_statements"] for r in out] == ["; ".join(x.statement for x in w.reasons) for w in want]
    stated = {x for r in want for x in (y.statement for y in r.reasons)}
    assert "D1 Late" in stated and "Late repayments in recent months" not in stated
    assert stated - {"D1 Late", "D2 Inactive", "C1 Low line"} <= {"LIMIT_BAL", "AGE", "SEX", "EDUCATION", "MARRIAGE",
                                                                  "repayment_status", "bill_amount", "payment_amount"}

    bad = tmp_path / "bad.toml"
    bad.write_text('INCOME = "Low income"\n')
    target = tmp_path / "out.csv"
    result = score(path, "--reasons", "1", "--statements", bad, "-o", target)
    assert result.exit_code == 2 and "words 'INCOME', which the model does not have" in result.stderr
    assert not target.exists()

    plain = tmp_path / "model"
    shutil.copytree(model_dir, plain)

    def unword(manifest: dict) -> None:
        for entry in (*manifest["schema"]["numeric"], *manifest["schema"]["categorical"], *manifest["schema"]["history"]):
            del entry["reason"]

    edit_manifest(plain, unword)
    result = score(path, "--model", plain, "--reasons", "2")
    assert result.stdout.splitlines()[0] == "ID,probability_of_default,decision,reasons,error,warning"
    assert [r["reasons"] for r in rows_of(result.stdout)] == [r["reasons"] for r in rows_of(score(path, "--reasons", "2").stdout)]
    lines = score(path, "--model", plain, "--reasons", "2", "--format", "jsonl").stdout.splitlines()
    assert all("statement" not in r for line in lines for r in json.loads(line)["reasons"])
    worded = score(path, "--model", plain, "--reasons", "2", "--statements", words).stdout
    assert "reason_statements" in worded.splitlines()[0] and "D1 Late" in worded


def test_reasons_from_a_model_without_a_population_exit_2_and_nothing_written(score, model_dir, edit_manifest,
                                                                              applicants, write_csv, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    edit_manifest(model, lambda manifest: manifest.pop("population"))
    out = tmp_path / "out.csv"
    result = score(write_csv(applicants(3)), "--model", model, "--reasons", "1", "-o", out)
    assert result.exit_code == 2 and "records no reference population" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize(("text", "fragment"), [("{bad", "--json is not valid JSON"), ("[]", "must be one JSON object")])
def test_single_applicant_bad_json_exit_2(score, text, fragment):
    result = score("--json", text)
    assert result.exit_code == 2 and fragment in result.stderr


# -- real processes: pipes, signals, imports ----------------------------------------


def run(args, **kwargs):
    return subprocess.run([*LOANSCORE, *map(str, args)], capture_output=True, timeout=120, **kwargs)


def test_stdin_to_stdout_pipe(model_dir, applicants, to_csv):
    data = ("\ufeff" + to_csv(applicants(20), newline="\r\n")).encode("utf-8")
    proc = run(["score", "-", "--quiet"], input=data)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr == b""
    out = rows_of(proc.stdout.decode())
    assert [r["ID"] for r in out] == [str(i) for i in range(1, 21)]


def test_stdin_jsonl_is_detected(model_dir, applicants):
    data = "".join(json.dumps(r) + "\n" for r in applicants(3))
    proc = run(["score", "-", "--format", "jsonl"], input=data.encode())
    assert proc.returncode == 0, proc.stderr.decode()
    assert len(proc.stdout.splitlines()) == 3


def test_json_from_stdin(model_dir, applicants):
    proc = run(["score", "--json", "-", "--format", "jsonl"], input=json.dumps(applicants(1)[0], indent=2).encode())
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout)["ID"] == "1"


def test_a_carriage_return_in_an_id_or_a_quoted_value_keeps_each_row_whole(score, runner, applicants, tmp_path):
    """A quoted cell holding a lone "\r" (an old Mac line break) was written unquoted, and a reader took it for a
    line end: the row split in two and its scores moved onto the next applicant's id."""
    rows = applicants(4)
    rows[0]["ID"] = "1\r7"
    rows[2]["AGE"] = "4\r5"  # not a number: its error quotes it
    path = tmp_path / "cr.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, list(rows[0]), quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    for out in ("-", tmp_path / "scores.csv"):
        result = score(path, "-o", out, "--grade")
        if out != "-":
            with open(out, newline="", encoding="utf-8") as fh:
                text = fh.read()
        else:
            text = result.stdout
        got = list(csv.DictReader(io.StringIO(text, newline="")))
        assert [r["ID"] for r in got] == ["1\r7", "2", "3", "4"]
        assert "Got '4\r5' in row 3" in got[2]["error"] and got[2]["probability_of_default"] == ""
        assert all(r["probability_of_default"] and r["grade"] for i, r in enumerate(got) if i != 2)
    assert runner.invoke(main, ["notices", str(path), "--out", str(tmp_path / "letters")]).exit_code == 1
    with open(tmp_path / "letters" / "notices.csv", newline="", encoding="utf-8") as fh:
        assert [r["ID"] for r in csv.DictReader(fh)] == ["1\r7", "2", "3", "4"]  # the notices' index too


def test_a_value_excel_would_run_as_a_formula_is_written_as_text(score, runner, applicants, write_csv, tmp_path):
    """CSV injection: an id or kept column from an online form, opened by a clerk in Excel, must not run as a
    formula (a link to click, a DDE call). In CSV such a cell gets a leading apostrophe; numbers stay numbers; a
    workbook's text cells and JSON Lines hold the value as it is."""
    ids = ['=HYPERLINK("http://x.example","Click")', "-5", "+3.5", "-2+3", "@SUM(1+1)", "7"]
    names = ["\tTAB", "=1+1", "Ann", "-inf", "+", ""]
    rows = [{**r, "ID": i, "NAME": n} for r, i, n in zip(applicants(6), ids, names)]
    path = write_csv(rows)
    got = list(csv.DictReader(io.StringIO(score(path, "--keep-columns", "NAME").stdout)))
    assert [r["ID"] for r in got] == ["'" + ids[0], "-5", "+3.5", "'-2+3", "'@SUM(1+1)", "7"]
    assert [r["NAME"] for r in got] == ["'\tTAB", "'=1+1", "Ann", "'-inf", "'+", ""]
    assert [json.loads(line)["ID"] for line in score(path, "--format", "jsonl").stdout.splitlines()] == ids
    score(path, "--keep-columns", "NAME", "-o", tmp_path / "s.xlsx")
    from loanscore.runtime.xlsx import XlsxReader

    with XlsxReader(tmp_path / "s.xlsx", ["probability_of_default"], id_column="ID", keep=["NAME"]) as book:
        chunk = next(iter(book))
    assert list(chunk.passthrough["ID"]) == ids and list(chunk.passthrough["NAME"]) == names
    assert runner.invoke(main, ["notices", str(path), "--out", str(tmp_path / "letters")]).exit_code in (0, 1)
    with open(tmp_path / "letters" / "notices.csv", newline="", encoding="utf-8") as fh:
        assert [r["ID"] for r in csv.DictReader(fh)] == ["'" + ids[0], "-5", "+3.5", "'-2+3", "'@SUM(1+1)", "7"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_line_buffered_answers_each_applicant_before_the_next_is_written(model_dir, applicants, fmt):
    """A program (C#, Java, a spreadsheet macro) that keeps one loanscore open writes an applicant and waits for
    its answer before it writes the next: without --line-buffered the answers come only when stdin closes."""
    import selectors

    rows = applicants(4)
    rows[0]["AGE"] = ""  # the first record without AGE (in JSON Lines, without the key): its answer is an error
    rows[2]["AGE"] = "abc"
    with subprocess.Popen([*LOANSCORE, "score", "-", "--input-format", fmt, "--format", fmt, "--line-buffered",
                           "--reasons", "1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, bufsize=1) as proc:
        watch = selectors.DefaultSelector()
        watch.register(proc.stdout, selectors.EVENT_READ)

        def answer() -> str:
            assert watch.select(timeout=60), f"no answer to an applicant within 60 s ({fmt})"
            return proc.stdout.readline()

        try:
            if fmt == "csv":
                proc.stdin.write(",".join(rows[0]) + "\n")
            answers = []
            for i, row in enumerate(rows):
                record = {k: v for k, v in row.items() if v != ""}
                proc.stdin.write((json.dumps(record) if fmt == "jsonl" else ",".join(row.values())) + "\n")
                proc.stdin.flush()
                if fmt == "csv" and i == 0:
                    assert answer().startswith("ID,probability_of_default,decision,reasons")
                answers.append(json.loads(answer()) if fmt == "jsonl" else next(csv.DictReader(io.StringIO(
                    "ID,probability_of_default,decision,reasons,reason_statements,error,warning\n" + answer()))))
        finally:
            proc.stdin.close()
            proc.wait(timeout=60)
            watch.close()
        said = proc.stderr.read()
    assert [a["ID"] for a in answers] == ["1", "2", "3", "4"]
    assert "AGE is required and cannot be missing" in answers[0]["error"] and not answers[0]["decision"]
    assert "AGE must be a number. Got 'abc' in row 3." in answers[2]["error"] and not answers[2]["decision"]
    expected = Scorer.load(model_dir).score_records([rows[i] for i in (1, 3)])
    got = [float(answers[i]["probability_of_default"]) for i in (1, 3)]
    assert got == pytest.approx([r.probability for r in expected], abs=1e-6)
    assert proc.returncode == 1 and "scored 2 of 4 rows; 2 rejected" in said


def test_line_buffered_refuses_a_wrong_header_at_once_without_waiting_for_more_lines(model_dir):
    """A file's header may stand below a title (looked for in the next 20 lines); a running program's lines are not
    all written yet, so a wrong header must fail at once, not wait for lines that will not come."""
    with subprocess.Popen([*LOANSCORE, "score", "-", "--input-format", "csv", "--line-buffered"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        proc.stdin.write("ID,AGEX\n1,35\n")
        proc.stdin.flush()
        assert proc.wait(timeout=60) == 2  # stdin still open
        assert "lacks the required columns" in proc.stderr.read()
        proc.stdin.close()


def test_line_buffered_is_refused_where_nothing_could_be_answered_line_by_line(score, applicants, write_csv,
                                                                                tmp_path):
    path = write_csv(applicants(2))
    for args in ([path, "-o", tmp_path / "out.csv"], [path, "--input-format", "xlsx"], ["--json", "{}"]):
        result = score("--line-buffered", *args)
        assert result.exit_code == 2 and "--line-buffered answers on stdout" in result.stderr, result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_stdout_closed_early_is_not_an_error(model_dir, applicants, write_csv, tmp_path):
    rows = applicants(1000)
    path = write_csv(rows)
    text = path.read_text()
    head, body = text.split("\n", 1)
    path.write_text(head + "\n" + body * 30)
    proc = subprocess.run(
        f"{' '.join(map(repr, LOANSCORE))} score {path} | head -2", shell=True, capture_output=True, timeout=120
    )
    assert proc.stdout.decode().splitlines()[0].startswith("ID,probability_of_default")
    assert b"Traceback" not in proc.stderr and b"BrokenPipe" not in proc.stderr


@pytest.fixture()
def big_csv(applicants, to_csv, tmp_path):
    """About 300,000 rows: several seconds of scoring, so a run can be interrupted midway."""
    head, body = to_csv(applicants(1000)).split("\n", 1)
    path = tmp_path / "big.csv"
    with open(path, "w") as fh:
        fh.write(head + "\n")
        fh.writelines(body for _ in range(300))
    return path


def _signals_heard() -> None:
    """In the child: Ctrl-C and SIGHUP as at a terminal, whatever pytest was started with (`&`, nohup)."""
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def start_and_wait_for_tmp(path: Path, out: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [*LOANSCORE, "score", str(path), "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_signals_heard,  # even when pytest runs in the background or under nohup
    )
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(f".{out.name}.") for p in out.parent.iterdir()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no temporary output file appeared"
        time.sleep(0.02)
    time.sleep(0.3)  # let it write some rows
    assert proc.poll() is None, "scoring finished before it could be interrupted; make the input larger"
    return proc


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_interrupted_run_leaves_no_output(model_dir, big_csv, tmp_path, sig):
    out = tmp_path / "out.csv"
    proc = start_and_wait_for_tmp(big_csv, out)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr.decode()
    assert "Interrupted; no output was written." in stderr.decode()
    assert sorted(os.listdir(tmp_path)) == ["big.csv"]  # neither out.csv nor its temporary file


def test_a_signal_once_the_output_is_committed_still_gets_its_audit_record(applicants, write_csv, tmp_path,
                                                                         monkeypatch, ctrl_c_heard) -> None:
    """From the commit on, a signal is held: a scores file is never left without its summary and audit record
    (before, Ctrl-C there said "no output was written" beside the file, and SIGTERM ended the run unrecorded).
    Ctrl-C only: this test's own process gets the signal, and SIGTERM unhandled would end pytest."""
    import loanscore.cli.score as score

    path, out, log = write_csv(applicants(30, seed=2)), tmp_path / "out.csv", tmp_path / "audit.jsonl"
    real = score.log_score

    def signalled(*args, **kwargs):  # the signal lands after the commit, before the record is written
        os.kill(os.getpid(), signal.SIGINT)
        real(*args, **kwargs)

    monkeypatch.setattr(score, "log_score", signalled)
    before = signal.getsignal(signal.SIGINT)
    result = CliRunner().invoke(main, ["score", str(path), "-o", str(out), "--audit-log", str(log)])
    assert result.exit_code == 0, result.output
    assert "no output was written" not in result.output and "scored 30 of 30 rows" in result.stderr
    record = json.loads(log.read_text().splitlines()[-1])
    assert record["output"]["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert signal.getsignal(signal.SIGINT) == before  # the command's own handler is gone again


def test_killed_run_leaves_no_output_file(model_dir, big_csv, tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("yesterday's scores\n")
    proc = start_and_wait_for_tmp(big_csv, out)
    proc.kill()
    proc.communicate(timeout=60)
    assert out.read_text() == "yesterday's scores\n"  # the old file is untouched, never half-written


def test_score_imports_no_training_stack(model_dir, applicants, write_csv):
    path = write_csv(applicants(2))
    code = (
        "import sys\n"
        "from loanscore.cli.main import main\n"
        "heavy = {'numpy', 'onnxruntime'} & set(sys.modules)\n"
        "assert not heavy, f'importing the CLI loaded {heavy}'\n"
        f"sys.argv = ['loanscore', 'score', {str(path)!r}, '-q']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "bad = {'pandas', 'sklearn', 'tensorflow', 'keras'} & set(sys.modules)\n"
        "assert not bad, f'scoring loaded {bad}'\n"
        "assert 'onnxruntime' in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()


def test_the_models_statements_written_reworded_and_read_back(score, applicants, write_csv, tmp_path):
    words = tmp_path / "words.toml"
    result = CliRunner().invoke(main, ["statements", "-o", str(words)])
    assert result.exit_code == 0, result.output
    text = words.read_text("utf-8")
    assert 'higher = "Late repayments in recent months"' in text
    words.write_text(text.replace("Late repayments in recent months", "R01 Late"), "utf-8")
    path = write_csv(applicants(20, seed=3))
    reworded = rows_of(score(path, "--reasons", "3", "--statements", words).stdout)
    shipped = rows_of(score(path, "--reasons", "3").stdout)
    assert [r["reason_statements"].replace("Late repayments in recent months", "R01 Late") for r in shipped] == \
        [r["reason_statements"] for r in reworded]
    assert any("R01 Late" in r["reason_statements"] for r in reworded)
    as_json = tmp_path / "words.json"
    assert CliRunner().invoke(main, ["statements", "--format", "json", "-o", str(as_json)]).exit_code == 0
    assert Scorer.load(statements=as_json).explainer.statements == Scorer.load().explainer.statements
    bad = CliRunner().invoke(main, ["statements", "-o", str(tmp_path / "no" / "words.toml")])
    assert bad.exit_code == 2 and "does not exist" in bad.stderr


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_stamp_adds_the_model_and_the_time_to_every_row_rejected_ones_too(score, applicants, to_csv, model_dir,
                                                                          tmp_path, fmt) -> None:
    import re

    rows = applicants(5, seed=2)
    rows[3]["AGE"] = "-1"
    source = tmp_path / "in.csv"
    source.write_text(to_csv(rows))
    result = score(source, "--model", model_dir, "--stamp", "--format", fmt, "-q")
    assert result.exit_code == 1
    if fmt == "csv":
        out = list(csv.DictReader(io.StringIO(result.output)))
        assert list(out[0])[-2:] == ["model_id", "scored_at"]
    else:
        out = [json.loads(line) for line in result.output.splitlines()]
        assert list(out[0])[-2:] == ["model_id", "scored_at"]
    sha = json.loads((model_dir / "manifest.json").read_text())["sha256"]
    assert {r["model_id"] for r in out} == {sha[:12]} and len(out) == 5
    assert len({r["scored_at"] for r in out}) == 1 and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", out[0]["scored_at"])
    assert out[3]["error"] and out[3]["model_id"] == sha[:12]
    plain = score(source, "--model", model_dir, "--format", fmt, "-q")
    assert "model_id" not in plain.output


# -- Excel's other CSV: semicolons (and a decimal comma) or tabs ----------------------------------------------------


def _separated(rows: list[dict[str, str]], sep: str, decimal: str = ".") -> str:
    header = list(rows[0])
    return "".join(sep.join(r[h].replace(".", decimal) for h in header) + "\r\n" for r in [dict(zip(header, header)),
                                                                                              *rows])


@pytest.mark.parametrize("sep, decimal", [(";", ","), (";", "."), ("\t", ".")])
def test_a_semicolon_or_tab_file_scores_as_the_comma_file(score, applicants, write_csv, tmp_path, sep, decimal):
    rows = applicants(40, seed=21)
    rows[3]["BILL_AMT1"], rows[5]["PAY_AMT2"] = "22812.5", "-0.75"  # a decimal mark; PAY_AMT2 < 0 is rejected
    rows[7]["AGE"] = "abc"
    want = score(write_csv(rows), "-q")
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + _separated(rows, sep, decimal).encode())  # Excel's byte-order mark, CRLF
    got = score(path, "-q", "--separator", "comma")
    assert got.exit_code == want.exit_code == 1 and got.stdout == want.stdout
    out = rows_of(got.stdout)
    assert out[3]["probability_of_default"] and "PAY_AMT2" in out[5]["error"] and "Got 'abc' in row 8" in out[7]["error"]
    same = score(path, "-q")  # by default the output is written as the input was, for Excel to read back
    back = list(csv.DictReader(io.StringIO(same.stdout), delimiter=sep))
    for row in back:
        row["probability_of_default"] = row["probability_of_default"].replace(",", ".")
    assert same.exit_code == 1 and back == out
    assert all(r["probability_of_default"][:2] in ("", "0,") for r in csv.DictReader(
        io.StringIO(same.stdout), delimiter=sep)) if sep == ";" else same.stdout == got.stdout.replace(",", "\t")


def test_the_output_separator_is_the_lenders_choice_and_json_lines_has_none(score, applicants, write_csv):
    source = write_csv(applicants(5, seed=24))
    tab = score(source, "-q", "--separator", "tab")
    assert tab.exit_code == 0 and tab.stdout == score(source, "-q").stdout.replace(",", "\t")
    semi = score(source, "-q", "--separator", "semicolon")
    assert semi.stdout.splitlines()[0] == "ID;probability_of_default;decision;error;warning"
    assert all(line.split(";")[1].startswith("0,") for line in semi.stdout.splitlines()[1:])
    wrong = score(source, "--format", "jsonl", "--separator", "tab")
    assert wrong.exit_code == 2 and "--separator tab is for CSV output" in wrong.output


def test_a_decimal_comma_is_read_in_a_semicolon_file_only_where_it_is_one(score, applicants, tmp_path):
    rows = applicants(3, seed=22)
    rows[0]["BILL_AMT1"] = "1.234,5"  # a thousands separator too: not a number here
    path = tmp_path / "excel.csv"
    path.write_text(_separated(rows, ";"))
    out = rows_of(score(path, "-q", "--separator", "comma").stdout)
    assert out[0]["error"] == "BILL_AMT1 must be a number. Got '1.234,5' in row 1." and out[1]["decision"]


def test_a_comma_file_whose_header_quotes_semicolons_stays_a_comma_file(score, applicants, to_csv, tmp_path):
    name = ";".join("abcdefghijklmnopqrstuvwxyz")  # more semicolons than the header has commas, but quoted
    rows = [dict(r, **{name: "x;y"}) for r in applicants(3, seed=23)]
    path = tmp_path / "in.csv"
    path.write_text(to_csv(rows).replace(name, f'"{name}"', 1))
    result = score(path, "-q", "--keep-columns", name)
    assert result.exit_code == 0 and [r[name] for r in rows_of(result.stdout)] == ["x;y"] * 3


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full, a device whose every write fails")
def test_a_full_disk_is_a_message_not_a_traceback_nor_a_success(applicants, write_csv) -> None:
    """/dev/full fails every write with 'No space left on device', as a full disk does: a clear error (exit 2)."""
    path = write_csv(applicants(20, seed=7))
    with open("/dev/full", "w") as full:
        done = subprocess.run([*LOANSCORE, "score", str(path)], stdout=full, stderr=subprocess.PIPE, text=True,
                              timeout=60)
    assert done.returncode == 2 and "Cannot write the output to stdout: No space left on device" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_written_to_not_replaced_by_a_file(applicants, write_csv, tmp_path) -> None:
    import threading

    pipe = tmp_path / "scores.pipe"
    os.mkfifo(pipe)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_text()), daemon=True)
    reader.start()
    result = CliRunner().invoke(main, ["score", str(write_csv(applicants(20, seed=7))), "-o", str(pipe)])
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert len(got[0].splitlines()) == 21 and pipe.is_fifo()


@pytest.mark.parametrize(("command", "message"), [
    (["score", "{in}", "-o", "{out}"], "no file was left half-written"),
    (["report", "monitoring", "{in}", "--output", "{out}"], "no file was left half-written"),
    (["notices", "{in}", "--out", "{out}"], "no folder was left half-written"),
])
def test_a_disk_that_fills_while_the_output_is_written_leaves_none(applicants, write_csv, tmp_path, monkeypatch,
                                                                   command, message) -> None:
    import errno

    def full(fd):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    path = write_csv(applicants(60, seed=7))
    monkeypatch.setattr(os, "fsync", full)  # where a full disk shows at the latest: the last blocks written out
    out = tmp_path / "result"
    result = CliRunner().invoke(main, [a.replace("{in}", str(path)).replace("{out}", str(out)) for a in command])
    assert result.exit_code == 2 and "No space left on device" in result.output and message in result.output, (
        result.output)
    assert [p.name for p in tmp_path.iterdir() if "result" in p.name] == []


@pytest.mark.parametrize(("encoding", "names"), [("cp950", ["陳美玲", "林志明"]), ("cp1252", ["José Ñúñez", "Zoë"])])
def test_a_csv_saved_in_a_legacy_encoding_is_read_with_encoding(applicants, to_csv, tmp_path, monkeypatch, encoding,
                                                               names) -> None:
    """Excel's plain CSV is in the Windows code page (Big5 in Taiwan, cp1252 in the West): --encoding reads it,
    the names come out as UTF-8, and without it the error says how; the setting lasts one run only."""
    rows = [{**r, "name": names[k % 2]} for k, r in enumerate(applicants(6, seed=21))]
    path = tmp_path / "legacy.csv"
    path.write_bytes(to_csv(rows).encode(encoding))
    refused = CliRunner().invoke(main, ["score", str(path), "--keep-columns", "name"])
    assert refused.exit_code == 2 and "is not valid UTF-8" in refused.output and "--encoding" in refused.output
    done = CliRunner().invoke(main, ["score", str(path), "--keep-columns", "name", "--encoding", encoding, "-q"])
    assert done.exit_code == 0, done.output
    utf8 = write_csv_text(tmp_path / "utf8.csv", to_csv(rows))
    assert done.stdout == CliRunner().invoke(main, ["score", str(utf8), "--keep-columns", "name", "-q"]).stdout
    assert [r["name"] for r in csv.DictReader(io.StringIO(done.stdout))] == [names[k % 2] for k in range(6)]
    again = CliRunner().invoke(main, ["score", str(path), "--keep-columns", "name"])
    assert again.exit_code == 2  # the last run's --encoding did not stay behind
    # a file written for Excel (not stdout, which goes to programs): UTF-8 with the byte-order mark Excel needs
    out = tmp_path / "scores.csv"
    assert CliRunner().invoke(main, ["score", str(path), "--keep-columns", "name", "--encoding", encoding, "-o",
                                     str(out)]).exit_code == 0
    assert out.read_bytes().startswith(b"\xef\xbb\xbfID,name,") and out.read_text("utf-8-sig") == done.stdout
    plain = tmp_path / "plain.csv"
    assert CliRunner().invoke(main, ["score", str(utf8), "--keep-columns", "name", "-o", str(plain)]).exit_code == 0
    assert plain.read_bytes().startswith(b"ID,")  # a UTF-8 file without the mark gets none back
    monkeypatch.setenv("LOANSCORE_ENCODING", encoding)
    assert CliRunner().invoke(main, ["score", str(path), "--keep-columns", "name", "-q"]).stdout == done.stdout


@pytest.mark.parametrize(("name", "message"), [("utf-16", "cannot be read as text line by line"),
                                               ("klingon", "Unknown encoding 'klingon'")])
def test_an_encoding_a_csv_cannot_be_read_in_is_a_usage_error(applicants, write_csv, name, message) -> None:
    result = CliRunner().invoke(main, ["score", str(write_csv(applicants(3))), "--encoding", name])
    assert result.exit_code == 2 and message in result.output, result.output


def test_an_encoding_or_sheet_is_for_its_run_only_even_when_a_later_option_is_refused() -> None:
    """Set by the option and reset when the root context closes: a later bad option leaves the command's own context
    unclosed, and the next command run in the same process (an app's, a test's) read its files in cp1252."""
    from loanscore.runtime.tabular import DATA_SHEET, INPUT_ENCODING

    for args in (["score", "--encoding", "cp1252", "--reasons", "x"], ["verify", "--encoding", "cp1252", "--sheet",
                                                                        "Loans", "--tolerance", "x"]):
        assert CliRunner().invoke(main, args).exit_code == 2
        assert INPUT_ENCODING.get() == "utf-8" and DATA_SHEET.get() is None


def write_csv_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("separator", [",", ";"])
def test_a_csv_saved_from_a_sheet_with_a_title_is_read_from_its_header(score, applicants, write_csv, tmp_path,
                                                                       separator):
    """Excel saves a report-style sheet as CSV with its title lines first (a semicolon file's title may hold no
    separator at all, so the header's own is found). The header was taken to be the title: "lacks the columns"."""
    rows = applicants(4, seed=31)
    rows[2]["AGE"] = "abc"
    plain = write_csv(rows)
    lines = plain.read_text().splitlines()
    titled = tmp_path / "titled.csv"
    title = "Applicants, branch 12,,," if separator == "," else "Applicants branch 12"
    titled.write_text("\n".join([title, ",printed 2026-12-07", "", *(line.replace(",", separator) for line in lines)])
                      + "\n")
    result, expected = score(titled, "--separator", "comma"), score(plain)
    assert (result.exit_code, result.stdout) == (expected.exit_code, expected.stdout) == (1, expected.stdout)
    assert ("the header of " in result.stderr and "is line 4; the 2 lines with values above it (a title, notes) "
            "were not read as applicants." in result.stderr)
    untitled = tmp_path / "no_header.csv"
    untitled.write_text("\n".join([title, *lines[1:]]) + "\n")
    assert "lacks the required columns" in score(untitled).stderr


def test_a_quote_left_open_is_named_not_swallowing_applicants_unsaid(score, applicants, tmp_path):
    """A stray quote opens a field that the csv module reads on into the lines after, to the next quote or the end
    of the file: the applicants on them vanished into one value, without a word (120 rows in, 33 out). Now the row
    is rejected naming the field and how far it ran; a field of several lines of text (an address) is still read."""
    rows = applicants(8, seed=41)
    header = [*rows[0], "NOTE"]
    lines = [",".join(header)] + [",".join([*r.values(), "ok"]) for r in rows]
    lines[3] = lines[3][: -len("ok")] + '"stray'  # row 3: a quote opened in NOTE, never closed on its line
    lines[6] = lines[6] + '"'  # closed at the end of row 6's line: rows 4 to 6 were inside it
    lines[8] = lines[8][: -len("ok")] + '"12 High Street\nLondon"'  # an address over two lines
    path = tmp_path / "stray.csv"
    path.write_text("\n".join(lines) + "\n")
    result = score(path, "--keep-columns", "NOTE")
    got = list(csv.DictReader(io.StringIO(result.stdout)))
    assert result.exit_code == 1 and [r["ID"] for r in got] == ["1", "2", "3", "7", "8"]
    assert got[2]["error"] == ("row 3: a quote in its NOTE field is not closed on its line, so the lines after it, "
                               "to line 7, were read as that one value, not as rows; close the quote and read the "
                               "file again.")
    assert got[4]["NOTE"] == "12 High Street\nLondon" and got[4]["probability_of_default"]


def test_line_buffered_answers_a_row_that_leaves_a_quote_open_and_goes_on(model_dir, applicants):
    """With --line-buffered a row is its line: a quote left open must not wait for lines the program writes only
    once it has its answer, a lone carriage return must not make two answers of one line (the program's answers
    would then fall one applicant out of step), and a blank line is answered too."""
    import selectors

    rows = applicants(4, seed=42)
    with subprocess.Popen([*LOANSCORE, "score", "-", "--input-format", "csv", "--line-buffered", "-q"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1) as proc:
        watch = selectors.DefaultSelector()
        watch.register(proc.stdout, selectors.EVENT_READ)
        proc.stdin.write(",".join(rows[0]) + "\n")
        answers = []
        for k, row in enumerate(rows):
            line = ",".join(row.values())
            if k in (1, 2):  # a quote left open; a lone carriage return, which a file reads as a line end
                line = line.replace(",", ',"' if k == 1 else ",\r", 1)
            proc.stdin.write(line + "\n" + ("\n" if k == 3 else ""))  # and a blank line after the last row
            proc.stdin.flush()
            assert watch.select(timeout=60), f"no answer to row {k + 1} within 60 s"
            if k == 0:
                assert proc.stdout.readline().startswith("ID,probability_of_default")  # the header, then the row
            answers.append(proc.stdout.readline())
        assert watch.select(timeout=60), "no answer to the blank line within 60 s"
        answers.append(proc.stdout.readline())
        proc.stdin.close()
        proc.wait(timeout=60)
        watch.close()
    assert answers[0].startswith("1,0.") and answers[3].startswith("4,0.")  # one answer a line, in step
    assert "row 5 is a blank line, not an applicant." in answers[4]
    assert "row 2 opens a quote that its line does not close" in answers[1]
    assert "row 3 cannot be read as CSV: it holds a carriage return outside quotes" in answers[2]


def test_a_carriage_return_inside_a_json_lines_record_is_whitespace(score, applicants, tmp_path):
    """JSON Lines' lines end at "\\n"; a "\\r" between a record's tokens is JSON whitespace. The reader split there, as
    for an old Mac CSV file, and rejected one good record as two bad ones."""
    rows = applicants(2, seed=43)
    path = tmp_path / "cr.jsonl"
    path.write_bytes((json.dumps(rows[0]).replace(', "AGE"', ',\r "AGE"') + "\n" + json.dumps(rows[1]) + "\r\n").encode())
    for extra in ([], ["--line-buffered"]):
        result = score(path, "--format", "jsonl", *extra)
        assert result.exit_code == 0 and [json.loads(line)["ID"] for line in result.stdout.splitlines()] == ["1", "2"]


def test_an_output_that_would_replace_the_input_is_refused_and_the_input_kept(applicants, write_csv, tmp_path,
                                                                             monkeypatch) -> None:
    """`score loans.csv -o loans.csv` left the scores and no applicants (an atomic write reads the input to the
    end first, then replaces it). Refused however the path is spelled, for a workbook, and by other commands."""
    from loanscore.runtime.xlsx import write_workbook

    path = write_csv(applicants(20, seed=3), "loans.csv")
    text = path.read_text()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "link.csv").symlink_to(path)
    for output in (str(path), "loans.csv", "./link.csv"):
        result = CliRunner().invoke(main, ["score", str(path), "-o", output])
        assert result.exit_code == 2 and "it is a file this command reads" in result.output, result.output
        assert "Name another output file." in result.output and path.read_text() == text
    with open(path, newline="") as fh:
        book = tmp_path / "loans.xlsx"
        write_workbook(book, {"Applicants": list(csv.reader(fh))})
    before = book.read_bytes()
    result = CliRunner().invoke(main, ["score", str(book), "-o", str(book)])
    assert result.exit_code == 2 and "it is a file this command reads" in result.output
    assert book.read_bytes() == before
    result = CliRunner().invoke(main, ["fairness", str(path), "-o", str(path), "-q"])
    assert result.exit_code == 2 and "it is a file this command reads" in result.output and path.read_text() == text
    assert CliRunner().invoke(main, ["score", str(path), "-o", "scores.csv", "-q"]).exit_code == 0  # another name


def test_two_outputs_naming_one_file_are_refused(applicants, write_csv, tmp_path) -> None:
    """`fairness -o f.svg --plot f.svg` wrote the figures, then the picture over them (exit 0): the second is now
    refused, and the first output stands."""
    path, both = write_csv(applicants(40, seed=3)), tmp_path / "f.svg"
    result = CliRunner().invoke(main, ["fairness", str(path), "-o", str(both), "--plot", str(both), "-q"])
    assert result.exit_code == 2, result.output
    assert f"Cannot write {both}: it is a file this command has just written as another of its outputs" in result.output
    assert json.loads(both.read_text())["fields"]  # the figures, not the picture
