"""score_stream: chunked scoring of whole files with the shipped model."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loanscore.runtime.scorer import Bands, Scorer
from loanscore.runtime.stream import Progress, Summary, score_stream
from loanscore.runtime.csv_reader import CsvReader, _decimal_commas_only
from loanscore.runtime.readers import open_reader
from loanscore.runtime.writers import CsvWriter, JsonLinesWriter
from loanscore.runtime.validate import ParsedText

PRINTED = 5e-7
"""Probabilities are printed with 6 decimals: half a unit in the last place."""
BATCH = 1e-6
"""onnxruntime's float32 kernels round differently with the batch size (seen: 1e-7 on probabilities)."""


def run_csv(scorer, text, *, chunk_rows=8192, keep=(), fmt="csv"):
    """Score CSV ``text`` as ``loanscore score`` does (number columns parsed in bulk where a chunk allows)."""
    data = io.BufferedReader(io.BytesIO(text.encode("utf-8")))
    reader = open_reader(
        "-", scorer.schema.input_names, fmt="csv", id_column=scorer.schema.id, keep=keep, chunk_rows=chunk_rows,
        stdin=data, numbers=scorer.schema.number_names,
    )
    out = io.StringIO()
    writer = (CsvWriter if fmt == "csv" else JsonLinesWriter)(out, reader.passthrough)
    summary = score_stream(scorer, reader, writer)
    if fmt == "csv":
        return summary, list(csv.DictReader(io.StringIO(out.getvalue())))
    return summary, [json.loads(line) for line in out.getvalue().splitlines()]


def test_stream_matches_the_record_api(scorer, applicants, to_csv):
    rows = applicants(300, seed=1)
    summary, out = run_csv(scorer, to_csv(rows), chunk_rows=64)
    expected = scorer.score_records(rows)
    assert summary.n_rows == 300 and summary.n_rejected == 0
    assert [r["ID"] for r in out] == [str(i) for i in range(1, 301)]
    got = np.array([float(r["probability_of_default"]) for r in out])
    want = np.array([e.probability for e in expected])
    np.testing.assert_allclose(got, want, rtol=0, atol=PRINTED + BATCH)
    assert [r["decision"] for r in out] == [e.decision for e in expected]
    assert all(r["error"] == "" for r in out)


def test_chunk_size_does_not_change_results(scorer, applicants, to_csv):
    rows = applicants(50, seed=2)
    rows[7]["AGE"] = "500"
    rows[33]["LIMIT_BAL"] = ""
    text = to_csv(rows)
    _, whole = run_csv(scorer, text)
    _, chunked = run_csv(scorer, text, chunk_rows=7)
    def p(rows):
        return np.array([float(r.pop("probability_of_default") or "nan") for r in rows])

    np.testing.assert_allclose(p(chunked), p(whole), rtol=0, atol=2 * PRINTED + BATCH)
    assert whole == chunked  # everything but the probability is exactly equal
    assert whole[7]["error"] == "AGE must be between 18 and 120. Got '500' in row 8."
    assert whole[33]["error"] == "LIMIT_BAL is required and cannot be missing. Got '' in row 34."


def test_row_errors_join_all_field_errors(scorer, applicants, to_csv):
    rows = applicants(3, seed=3)
    rows[1]["AGE"] = "abc"
    rows[1]["PAY_0"] = "12"
    summary, out = run_csv(scorer, to_csv(rows))
    decisions = [r["decision"] for r in out]
    assert summary == Summary(3, 1, 0, summary.seconds, {d: decisions.count(d) for d in ("approve", "review", "decline")})
    assert out[1]["error"] == "AGE must be a number. Got 'abc' in row 2.; PAY_0 must be between -2 and 9. Got '12' in row 2."
    assert out[1]["probability_of_default"] == "" and out[1]["decision"] == ""
    assert out[0]["decision"] in ("approve", "review", "decline")


def test_structural_error_replaces_field_errors_and_warnings(scorer, applicants, to_csv):
    rows = applicants(3, seed=4)
    rows[1]["SEX"] = "9"  # would be a warning
    lines = to_csv(rows).splitlines()
    lines[2] += ",extra"
    summary, out = run_csv(scorer, "\n".join(lines) + "\n")
    assert out[1]["error"] == "row 2 has 25 fields; the header has 24."
    assert out[1]["warning"] == "" and out[1]["probability_of_default"] == ""
    assert summary.n_rejected == 1 and summary.n_warned == 0


def test_unseen_code_is_scored_with_a_warning(scorer, applicants, to_csv):
    rows = applicants(2, seed=5)
    rows[0]["MARRIAGE"] = "7"
    summary, out = run_csv(scorer, to_csv(rows))
    assert out[0]["error"] == "" and out[0]["probability_of_default"] != ""
    assert "MARRIAGE code 7 was not seen in training" in out[0]["warning"]
    assert summary.n_warned == 1 and summary.n_rejected == 0


def test_bands_decide(model_dir, applicants, to_csv):
    scorer = Scorer.load(model_dir, bands=Bands(0.2, 0.6))
    _, out = run_csv(scorer, to_csv(applicants(200, seed=6)))
    for r in out:
        p = float(r["probability_of_default"])
        assert r["decision"] == ("approve" if p < 0.2 else "decline" if p >= 0.6 else "review")


def test_jsonl_output_and_keep_columns(scorer, applicants, to_csv):
    rows = applicants(4, seed=7)
    for r in rows:
        r["BRANCH"] = "Taipei"
    _, out = run_csv(scorer, to_csv(rows), keep=("BRANCH", "AGE"), fmt="jsonl")
    assert list(out[0]) == ["ID", "BRANCH", "AGE", "probability_of_default", "decision", "error", "warning"]
    assert out[2]["BRANCH"] == "Taipei" and out[2]["AGE"] == rows[2]["AGE"]
    assert isinstance(out[0]["probability_of_default"], float) and out[0]["error"] is None


# -- bulk parsing: the same results as the csv module ----------------------------

TOKENS = ["12", " 35 ", "+40", "4e1", "1e400", "nan", "NaN", "-inf", "Infinity", ".5", "50.", "0040", "-0", "1e-400",
          "\t40", "\u00a040", "4_0", "\u0664\u0660", "\uff14\uff10", "0x28", "", " ", "NA", "n/a", "forty", "4.0.0",
          "--40", "40\x00", "0" * 62 + "40", "0" * 70 + "40"]
"""Values a number column may hold: numbers in many spellings, missing ones, words, and too long."""


def _table(rows, quote="", newline="\n", sep=","):
    """CSV text of ``rows`` written by hand; with ``quote='"'`` every field is quoted, which sends every
    chunk through the csv module (same values, read the old way)."""
    header = list(rows[0])
    return "".join(sep.join(quote + v + quote for v in values) + newline
                   for values in [header, *([r[h] for h in header] for r in rows)])


def _bulk_rows(scorer, text, name):
    """The 0-based rows (one per chunk) whose column ``name`` was parsed in bulk."""
    reader = CsvReader("-", scorer.schema.input_names, chunk_rows=1, numbers=scorer.schema.number_names,
                       stdin=io.BufferedReader(io.BytesIO(text.encode())))
    return {i for i, chunk in enumerate(reader) if isinstance(chunk.columns[name], ParsedText)}


@pytest.mark.parametrize("name", ["AGE", "SEX", "LIMIT_BAL", "BILL_AMT1", "PAY_0"])
def test_bulk_parsing_reads_every_value_as_the_csv_module_does(scorer, applicants, name):
    rows = applicants(len(TOKENS), seed=8)
    for row, token in zip(rows, TOKENS):
        row[name] = token
    _, bulk = run_csv(scorer, _table(rows), chunk_rows=1)
    _, csv_module = run_csv(scorer, _table(rows, '"'), chunk_rows=1)
    assert bulk == csv_module
    assert sum(1 for r in bulk if r["error"]) >= 8
    assert _bulk_rows(scorer, _table(rows, '"'), name) == set()
    took = {TOKENS[i] for i in _bulk_rows(scorer, _table(rows), name)}
    assert took >= {"12", " 35 ", "+40", "4e1", "nan", ".5", "0040", "\t40", "0" * 62 + "40", ""}
    assert not took & {" ", "NA", "forty", "40\x00", "0" * 70 + "40"}


@pytest.mark.parametrize("sep", [";", "\t"])
@pytest.mark.parametrize("name", ["AGE", "LIMIT_BAL", "PAY_AMT1"])
def test_semicolon_and_tab_files_are_parsed_in_bulk_as_the_csv_module_reads_them(scorer, applicants, name, sep):
    tokens = [t for t in TOKENS if sep not in t]
    rows = applicants(len(tokens) + 1, seed=11)
    for row, token in zip(rows, tokens):
        row[name] = token
    rows[0]["ID"] = ""  # an empty first field
    rows[-1][name] = "40,0"  # a decimal comma: the csv module's path converts it in a semicolon file
    _, bulk = run_csv(scorer, _table(rows, sep=sep), chunk_rows=1)
    _, csv_module = run_csv(scorer, _table(rows, '"', sep=sep), chunk_rows=1)
    assert bulk == csv_module and sum(1 for r in bulk if r["error"]) >= 8
    took = {tokens[i] for i in _bulk_rows(scorer, _table(rows, sep=sep), name) if i < len(tokens)}
    assert took >= {"12", " 35 ", "+40", "4e1", "nan", ".5", "0040", "0" * 62 + "40", ""}
    assert not took & {" ", "NA", "forty", "40\x00", "0" * 70 + "40"}
    assert (len(tokens) in _bulk_rows(scorer, _table(rows, sep=sep), name)) == (sep == ";")
    assert (bulk[-1]["error"] == "") == (sep == ";")  # 40.0 there; a tab file has no decimal comma
    if sep == ";":
        assert float(bulk[-1]["probability_of_default"]) > 0


DECIMAL_COMMAS = {"40,0": True, ",5": True, " 40,5 ": True, "+40,0": True, "5,": False, "4,5e1": False,
                  "1.234,5": False, "4,0,0": False, "40 ,5": False}
"""Spellings with a comma in a semicolon file's number column, and whether the bulk parser may take them."""


@pytest.mark.parametrize("name", ["AGE", "LIMIT_BAL", "PAY_AMT1"])
def test_decimal_commas_are_parsed_in_bulk_only_where_the_csv_path_reads_them_so(scorer, applicants, name):
    rows = applicants(len(DECIMAL_COMMAS) + 1, seed=12)
    for row, token in zip(rows, DECIMAL_COMMAS):
        row[name] = token
    rows[-1]["ID"] = "7,5"  # a decimal comma in a text column stays as it is
    _, bulk = run_csv(scorer, _table(rows, sep=";"), chunk_rows=1)
    _, csv_module = run_csv(scorer, _table(rows, '"', sep=";"), chunk_rows=1)
    assert bulk == csv_module and bulk[-1]["ID"] == "7,5"
    assert [f"{name} must be a number" in r["error"] for r in bulk[:-1]] == [not ok for ok in DECIMAL_COMMAS.values()]
    took = {list(DECIMAL_COMMAS)[i] for i in _bulk_rows(scorer, _table(rows, sep=";"), name) if i < len(DECIMAL_COMMAS)}
    assert took == {t for t, ok in DECIMAL_COMMAS.items() if ok}
    assert len(DECIMAL_COMMAS) in _bulk_rows(scorer, _table(rows, sep=";"), name)


FIELD = st.one_of(  # near-misses of a decimal comma, and any mix of its parts
    st.tuples(*(st.sampled_from(parts) for parts in (["", " ", "\t "], ["", "+", "-", "+-", "--", "1+", "e"],
                                                      ["", "1", "\u0664"], ["", ",", ",,", "."], ["", "5", "e5", "x"],
                                                      ["", " ", "1", "+", " 1"]))).map("".join),
    st.lists(st.sampled_from(["1", "23", ",", "+", "-", " ", "\t", "e", "."]), max_size=6).map("".join))


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.tuples(st.lists(FIELD, min_size=1, max_size=3), st.sampled_from(["\n", "\r\n", "\r"])),
                min_size=1, max_size=2))
def test_the_decimal_comma_check_is_a_match_of_each_field_with_a_comma(lines) -> None:
    """The two searches of ``_decimal_commas_only`` agree with the plain rule they stand for, field by field."""
    import re

    text = "".join(";".join(fields) + newline for fields, newline in lines)
    fields = [f for line in re.split("[\r\n]", text) for f in line.split(";") if "," in f]
    assert _decimal_commas_only(text) == all(re.fullmatch(r"[ \t]*[+-]?\d*,\d+[ \t]*", f) for f in fields)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_bulk_parsing_reads_empty_fields_anywhere_as_missing(scorer, applicants, newline):
    rows = applicants(4, seed=10)
    rows[0]["ID"] = rows[0]["PAY_AMT1"] = ""  # the first and the last field
    rows[1]["EDUCATION"] = rows[1]["MARRIAGE"] = ""  # two in a row
    rows[2]["LIMIT_BAL"] = ""  # required: rejected
    _, bulk = run_csv(scorer, _table(rows, newline=newline), chunk_rows=1)
    _, csv_module = run_csv(scorer, _table(rows, '"', newline=newline), chunk_rows=1)
    assert bulk == csv_module
    assert [r["error"] for r in bulk] == ["", "", "LIMIT_BAL is required and cannot be missing. Got '' in row 3.", ""]
    assert _bulk_rows(scorer, _table(rows, newline=newline), "PAY_AMT1") == {0, 1, 2, 3}


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 5])
def test_bulk_and_csv_module_chunks_join_up(scorer, applicants, to_csv, chunk_rows):
    rows = applicants(12, seed=9)
    for r in rows:
        r["NOTE"] = "ok"
    rows[4]["NOTE"] = "two\nlines"  # quoted: one row over two lines
    lines = to_csv(rows, newline="\r\n").split("\r\n")
    lines[9] = lines[9].rsplit(",", 1)[0]  # data row 9: a field short
    lines.insert(8, "")  # a blank line is no row
    text = "\r\n".join(lines)
    _, chunked = run_csv(scorer, text, chunk_rows=chunk_rows, keep=("NOTE",))
    _, whole = run_csv(scorer, text, keep=("NOTE",))  # one chunk, holding a quote: all through the csv module
    assert [r["ID"] for r in chunked] == [str(i) for i in range(1, 13)]
    assert chunked[4]["NOTE"] == "two\nlines"
    assert chunked[8]["error"] == "row 9 has 24 fields; the header has 25."
    assert [r["error"] for r in chunked].count("") == 11

    def p(rows):
        return np.array([float(r.pop("probability_of_default") or "nan") for r in rows])

    np.testing.assert_allclose(p(chunked), p(whole), rtol=0, atol=2 * PRINTED + BATCH)
    assert chunked == whole


# -- property: nothing is dropped, every corrupted row is rejected ----------------

CORRUPTIONS = {
    "short row": lambda row, cols: row[:-1],
    "long row": lambda row, cols: [*row, "1"],
    "not a number": lambda row, cols: _set(row, cols, "AGE", "forty"),
    "out of range": lambda row, cols: _set(row, cols, "PAY_0", "10"),
    "missing required": lambda row, cols: _set(row, cols, "LIMIT_BAL", ""),
    "too long": lambda row, cols: _set(row, cols, "BILL_AMT1", "1" * 100),
    "infinite": lambda row, cols: _set(row, cols, "PAY_AMT2", "inf"),
    "fractional code": lambda row, cols: _set(row, cols, "EDUCATION", "1.5"),
}


def _set(row, cols, name, value):
    row = list(row)
    row[cols.index(name)] = value
    return row


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kinds=st.lists(st.sampled_from([None, *CORRUPTIONS]), min_size=1, max_size=60),
    chunk_rows=st.integers(1, 16),
    seed=st.integers(0, 1000),
)
def test_every_row_comes_out_and_every_corrupted_row_is_rejected(scorer, applicants, kinds, chunk_rows, seed):
    rows = applicants(len(kinds), seed=seed)
    header = list(rows[0])
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    for row, kind in zip(rows, kinds):
        values = [row[h] for h in header]
        w.writerow(CORRUPTIONS[kind](values, header) if kind else values)
    summary, result = run_csv(scorer, out.getvalue(), chunk_rows=chunk_rows)
    assert summary.n_rows == len(result) == len(kinds)
    assert [r["ID"] for r in result] == [str(i) for i in range(1, len(kinds) + 1)]
    for i, (r, kind) in enumerate(zip(result, kinds), start=1):
        if kind:
            assert r["error"], f"row {i} ({kind}) was not rejected"
            assert f"row {i}" in r["error"]
            assert r["probability_of_default"] == "" and r["decision"] == ""
        else:
            assert r["error"] == "", r["error"]
            assert 0.0 <= float(r["probability_of_default"]) <= 1.0
    assert summary.n_rejected == sum(1 for k in kinds if k)


# -- progress ----------------------------------------------------------------------


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_silent_off_a_terminal_and_when_quiet():
    assert Progress.for_terminal(100, stream=io.StringIO()) is None
    assert Progress.for_terminal(100, quiet=True, stream=FakeTerminal()) is None
    assert isinstance(Progress.for_terminal(100, stream=FakeTerminal()), Progress)


def test_progress_line_has_rate_and_eta():
    progress = Progress(FakeTerminal(), total_bytes=1000)
    now = progress._start + 2.0
    assert progress.line(10_000, 250, now) == "10,000 rows  5,000 rows/s  25%  ETA 0:06"
    assert Progress(FakeTerminal()).line(10, 5, progress._start) .startswith("10 rows")
    assert "ETA" not in Progress(FakeTerminal(), None).line(10, 5)


def test_a_labelled_progress_line_says_which_pass_it_is():
    """A report's checks each read the file: each line is labelled, and a second pass adds what it does."""
    first = Progress.for_terminal(1000, stream=FakeTerminal(), label="Fair lending (3 of 4)")
    assert first is not None
    assert first.line(10_000, 250, first._start + 2.0) == "Fair lending (3 of 4): 10,000 rows  5,000 rows/s  25%  ETA 0:06"
    second = first.again("as the reference groups")
    assert (second.label, second.total_bytes, second.stream) == ("Fair lending (3 of 4), as the reference groups",
                                                                 1000, first.stream)
    assert second.line(5, 1, second._start + 1.0).startswith("Fair lending (3 of 4), as the reference groups: 5 rows")
    assert Progress(FakeTerminal()).again("again").label == "again"


def test_progress_redraws_and_erases():
    term = FakeTerminal()
    progress = Progress(term, total_bytes=100, interval=0)
    progress.update(5, 50)
    progress.update(10, 100)
    progress.close()
    text = term.getvalue()
    assert text.count("\r") >= 3 and "10 rows" in text and text.endswith("\r")


def test_chunks_are_written_before_the_next_is_read(scorer, applicants, to_csv):
    """Memory stays bounded: at most one chunk is held between reading and writing."""
    events = []
    data = io.BufferedReader(io.BytesIO(to_csv(applicants(50)).encode()))
    reader = CsvReader("-", scorer.schema.input_names, id_column="ID", chunk_rows=10, stdin=data)

    class Recording:
        def __iter__(self):
            for chunk in reader:
                events.append(("read", chunk.first_row))
                yield chunk

        bytes_read = 0

    class Writer:
        def write(self, chunk):
            events.append(("write", chunk.passthrough["ID"][0]))

    summary = score_stream(scorer, Recording(), Writer())
    assert summary.n_rows == 50
    assert events == [e for first in (1, 11, 21, 31, 41) for e in (("read", first), ("write", str(first)))]
