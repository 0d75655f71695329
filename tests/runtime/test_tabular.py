"""Readers and writers of applicant files: no model needed."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os

import numpy as np
import pytest

from loanscore.runtime import tabular
from loanscore.runtime.errors import InputError
from loanscore.runtime.csv_reader import CsvReader
from loanscore.runtime.jsonl_reader import JsonLinesReader, _all_objects, json_record_reader
from loanscore.runtime.readers import open_reader, sniff_format
from loanscore.runtime.writers import CsvRows, CsvWriter, JsonLinesWriter, ScoredChunk, open_output


@pytest.fixture()
def inputs(schema):
    return schema.input_names


def read_all(reader):
    chunks = list(reader)
    reader.close()
    return chunks


def column(chunks, name, kind="columns"):
    return [v for c in chunks for v in getattr(c, kind)[name]]


# -- CSV -------------------------------------------------------------------------


def test_csv_columns_in_any_order_and_extra_columns_ignored(applicants, write_csv, inputs):
    rows = applicants(5)
    header = ["EXTRA", *reversed(list(rows[0]))]
    path = write_csv(rows, header=header)
    chunks = read_all(CsvReader(path, inputs, id_column="ID"))
    assert [c.n for c in chunks] == [5]
    assert column(chunks, "AGE") == [r["AGE"] for r in rows]
    assert column(chunks, "ID", "passthrough") == [str(i) for i in range(1, 6)]
    assert "EXTRA" not in chunks[0].columns and "EXTRA" not in chunks[0].passthrough


def test_csv_id_column_is_optional(applicants, write_csv, inputs):
    rows = applicants(3)
    header = [h for h in rows[0] if h != "ID"]
    reader = CsvReader(write_csv(rows, header=header), inputs, id_column="ID")
    assert reader.passthrough == ()
    assert sum(c.n for c in read_all(reader)) == 3


@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_csv_bom_and_line_ends(applicants, write_csv, inputs, bom, newline):
    rows = applicants(4)
    reader = CsvReader(write_csv(rows, newline=newline, bom=bom), inputs, id_column="ID")
    assert reader.header[0] == "ID"  # the BOM is not part of the first name
    chunks = read_all(reader)
    assert column(chunks, "ID", "passthrough") == ["1", "2", "3", "4"]
    assert column(chunks, "PAY_AMT6") == [r["PAY_AMT6"] for r in rows]
    assert not any(c.row_errors for c in chunks)


def test_csv_quoted_fields(applicants, write_csv, inputs):
    rows = applicants(3)
    for r in rows:
        r["NOTE"] = 'says "hi", then\nleaves'
    path = write_csv(rows)
    chunks = read_all(CsvReader(path, inputs, keep=["NOTE"]))
    assert column(chunks, "NOTE", "passthrough") == ['says "hi", then\nleaves'] * 3
    assert chunks[0].first_row == 1 and chunks[0].n == 3 and not chunks[0].row_errors


def test_csv_wrong_field_count_is_a_row_error_and_the_row_is_kept(applicants, write_csv, inputs, tmp_path):
    rows = applicants(6)
    text = write_csv(rows).read_text().splitlines()
    text[5] = text[5] + ",surplus"  # data row 5
    text[2] = text[2].rsplit(",", 1)[0]  # data row 2
    text[3] = "   "  # data row 3: whitespace is a value, not a blank line
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(text) + "\n")
    chunks = read_all(CsvReader(path, inputs, id_column="ID", chunk_rows=4))
    assert [c.n for c in chunks] == [4, 2]
    assert [c.first_row for c in chunks] == [1, 5]
    assert chunks[0].row_errors == {
        1: "row 2 has 23 fields; the header has 24.",
        2: "row 3 has 1 field; the header has 24.",
    }
    assert chunks[1].row_errors == {0: "row 5 has 25 fields; the header has 24."}
    assert column(chunks, "ID", "passthrough") == ["1", "2", "   ", "4", "5", "6"]
    assert all(len(v) == c.n for c in chunks for v in c.columns.values())


def test_csv_chunks_number_rows_across_chunks_and_skip_blank_lines(applicants, write_csv, inputs, tmp_path):
    rows = applicants(10)
    lines = write_csv(rows).read_text().splitlines()
    lines.insert(4, "")
    path = tmp_path / "blank.csv"
    path.write_text("\n".join(lines) + "\n\n")
    chunks = read_all(CsvReader(path, inputs, id_column="ID", chunk_rows=3))
    assert sum(c.n for c in chunks) == 10
    assert [c.first_row for c in chunks][0] == 1
    assert column(chunks, "ID", "passthrough") == [str(i) for i in range(1, 11)]
    firsts = [c.first_row for c in chunks]
    assert firsts == sorted(firsts) and firsts[-1] + chunks[-1].n - 1 == 10


def test_csv_missing_required_columns_are_listed(applicants, write_csv, inputs):
    rows = applicants(2)
    header = [h for h in rows[0] if h not in ("AGE", "PAY_0")]
    header = [("sex" if h == "SEX" else h) for h in header]
    with pytest.raises(InputError) as err:
        CsvReader(write_csv(rows, header=header), inputs)
    message = str(err.value)
    assert "lacks the required columns" in message
    assert "AGE" in message and "PAY_0" in message
    assert "SEX (is 'sex' meant?)" in message


def test_csv_keep_column_must_exist(applicants, write_csv, inputs):
    with pytest.raises(InputError, match="columns to keep BRANCH"):
        CsvReader(write_csv(applicants(2)), inputs, keep=["BRANCH"])


def test_csv_keep_column_cannot_clash_with_results(applicants, write_csv, inputs):
    with pytest.raises(InputError, match="Cannot keep the column decision"):
        CsvReader(write_csv(applicants(2)), inputs, keep=["decision"])


def test_csv_duplicate_used_column_is_refused(applicants, write_csv, inputs):
    rows = applicants(2)
    header = [*rows[0], "AGE"]
    with pytest.raises(InputError, match="names the column AGE more than once"):
        CsvReader(write_csv(rows, header=header), inputs)


@pytest.mark.parametrize("content", [b"", b"\n\n", b"\xef\xbb\xbf"])
def test_csv_empty_file_has_no_header(tmp_path, inputs, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match="empty.csv is empty: it has no header"):
        CsvReader(path, inputs)


def test_csv_header_only_gives_no_chunks(applicants, write_csv, inputs):
    path = write_csv([], header=list(applicants(1)[0]))
    reader = CsvReader(path, inputs, id_column="ID")
    assert read_all(reader) == [] and reader.passthrough == ("ID",)


@pytest.mark.parametrize("block", [64, 1 << 20])
def test_csv_non_utf8_names_the_line(applicants, write_csv, inputs, monkeypatch, block):
    monkeypatch.setattr(tabular, "BLOCK_BYTES", block)
    rows = applicants(8)
    lines = write_csv(rows).read_bytes().split(b"\n")
    lines[6] = lines[6].replace(b",", b",caf\xe9", 1)  # line 7 of the file (header is line 1)
    path = write_csv(rows)
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(InputError, match=r"in.csv: line 7 is not valid UTF-8 \(byte 0xe9\)"):
        read_all(CsvReader(path, inputs))


@pytest.mark.parametrize("chunk_rows", [1, 8192])
def test_csv_runaway_quote_is_an_input_error(applicants, write_csv, inputs, tmp_path, monkeypatch, chunk_rows):
    import csv

    monkeypatch.setattr(csv, "field_size_limit", csv.field_size_limit)
    old = csv.field_size_limit(1000)
    try:
        text = write_csv(applicants(2)).read_text() + '1,"' + "x" * 2000 + "\n"
        path = tmp_path / "quote.csv"
        path.write_text(text)
        with pytest.raises(InputError, match="quote.csv: line 4 cannot be read as CSV"):
            read_all(CsvReader(path, inputs, chunk_rows=chunk_rows, numbers=inputs))
    finally:
        csv.field_size_limit(old)


def test_missing_file_is_an_input_error(tmp_path, inputs):
    with pytest.raises(InputError, match="Cannot read .*nope.csv: No such file"):
        CsvReader(tmp_path / "nope.csv", inputs)


def test_gzip_and_stdin(applicants, write_csv, inputs, tmp_path):
    data = write_csv(applicants(5)).read_bytes()
    gz = tmp_path / "in.csv.gz"
    gz.write_bytes(gzip.compress(data))
    assert column(read_all(CsvReader(gz, inputs, id_column="ID")), "ID", "passthrough") == list("12345")
    reader = open_reader("-", inputs, id_column="ID", stdin=io.BufferedReader(io.BytesIO(data)))
    assert isinstance(reader, CsvReader) and reader.total_bytes is None
    assert sum(c.n for c in read_all(reader)) == 5


def test_regular_file_reports_its_size_and_progress(applicants, write_csv, inputs):
    path = write_csv(applicants(20))
    reader = CsvReader(path, inputs)
    assert reader.total_bytes == path.stat().st_size
    read_all(reader)
    assert reader.bytes_read == path.stat().st_size


# -- JSON ------------------------------------------------------------------------


def test_jsonl_rows_and_row_errors(applicants, tmp_path, inputs):
    rows = applicants(4)
    records = [{k: int(v) for k, v in r.items()} for r in rows]
    records[0]["AGE"] = None
    records[3]["SEX"] = True
    lines = [json.dumps(r) for r in records]
    lines[1] = "[1, 2]"
    lines[2] = '{"AGE": 30,'
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n\n")
    reader = open_reader(path, inputs, id_column="ID", keep=["AGE"])
    assert isinstance(reader, JsonLinesReader)
    chunks = read_all(reader)
    assert [c.n for c in chunks] == [4]
    c = chunks[0]
    assert c.row_errors[1] == "row 2 is not a JSON object (got an array); write one object per line."
    assert c.row_errors[2].startswith("row 3 is not valid JSON: ")
    assert c.columns["AGE"][0] is None and c.columns["AGE"][3] == rows[3]["AGE"]
    assert c.columns["SEX"][3] == "true"
    assert c.passthrough["ID"] == [1, None, None, 4]
    assert c.passthrough["AGE"] == [None, None, None, int(rows[3]["AGE"])]


def test_jsonl_lines_that_parse_only_together_are_each_rejected(applicants, tmp_path, inputs):
    """A file's lines are parsed in one call where each is an object; lines that parse only together (one value
    over two lines, two values on one line) are still rejected line by line, and no record moves to another row."""
    records = [{k: int(v) for k, v in r.items()} for r in applicants(4)]
    good = [json.dumps(r) for r in records]
    lines = [good[0], '{"ID": 90, "notes": [1', '2]}', '{"ID": 91}, {"ID": 92}', good[1], "  ", good[2], good[3]]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n")
    assert _all_objects(lines, 10**18) is None and _all_objects(good, 10**18) == records

    def rows(chunk_rows: int) -> tuple[dict[int, str], list]:
        chunks = read_all(open_reader(path, inputs, id_column="ID", chunk_rows=chunk_rows))
        return {c.first_row + i: e for c in chunks for i, e in c.row_errors.items()}, column(chunks, "ID", "passthrough")

    errors, ids = rows(8192)
    assert sorted(errors) == [2, 3, 4] and all("is not valid JSON" in errors[r] for r in errors)
    assert ids == [records[0]["ID"], None, None, None, *(r["ID"] for r in records[1:])]
    assert rows(1) == (errors, ids)  # a line at a time, as a co-process's


def test_jsonl_missing_columns_in_first_chunk(applicants, tmp_path, inputs):
    record = {k: v for k, v in applicants(1)[0].items() if k != "LIMIT_BAL"}
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(InputError, match="lacks the required columns LIMIT_BAL"):
        JsonLinesReader(path, inputs)


def test_jsonl_empty_file(tmp_path, inputs):
    path = tmp_path / "in.jsonl"
    path.write_text("\n  \n")
    with pytest.raises(InputError, match="in.jsonl is empty"):
        JsonLinesReader(path, inputs)


def test_single_json_record(applicants, inputs):
    record = applicants(1)[0]
    reader = json_record_reader(json.dumps(record, indent=2), inputs, id_column="ID")
    (chunk,) = read_all(reader)
    assert chunk.n == 1 and chunk.first_row is None and chunk.passthrough == {"ID": ["1"]}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("{", "--json is not valid JSON"), ("[1]", "must be one JSON object"), ("", "--json is not valid JSON")],
)
def test_single_json_record_errors(inputs, text, fragment):
    with pytest.raises(InputError, match=fragment):
        json_record_reader(text, inputs)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [("a.csv", b"{", "csv"), ("a.jsonl", b"ID", "jsonl"), ("a.data", b'\xef\xbb\xbf {"ID": 1}', "jsonl"), ("a.data", b"ID,AGE", "csv")],
)
def test_sniff_format(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    assert sniff_format(path) == expected


# -- writers and atomic output ----------------------------------------------------


def scored(n=3):
    return ScoredChunk(
        passthrough={"ID": [str(i) for i in range(1, n + 1)]},
        probability=np.array([0.1234564, np.nan, 0.9])[:n],
        decision=["approve", "", "decline"][:n],
        error=["", "AGE must be a number. Got 'x' in row 2.", ""][:n],
        warning=["SEX code 9 was not seen in training; scored as an unknown code", "", ""][:n],
    )


def test_csv_writer():
    out = io.StringIO()
    CsvWriter(out, ["ID"]).write(scored())
    assert out.getvalue().splitlines() == [
        "ID,probability_of_default,decision,error,warning",
        "1,0.123456,approve,,SEX code 9 was not seen in training; scored as an unknown code",
        "2,,,AGE must be a number. Got 'x' in row 2.,",
        "3,0.900000,decline,,",
    ]


def test_jsonl_writer():
    out = io.StringIO()
    JsonLinesWriter(out, ["ID"]).write(scored())
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert rows[0] == {
        "ID": "1",
        "probability_of_default": 0.123456,
        "decision": "approve",
        "error": None,
        "warning": "SEX code 9 was not seen in training; scored as an unknown code",
    }
    assert rows[1]["probability_of_default"] is None and rows[1]["decision"] is None
    assert list(rows[2]) == ["ID", "probability_of_default", "decision", "error", "warning"]


def test_open_output_replaces_atomically(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    os.chmod(target, 0o640)
    with open_output(target) as stream:
        stream.write("new\n")
        assert target.read_text() == "old\n"  # nothing visible until the end
    assert target.read_text() == "new\n"
    assert (target.stat().st_mode & 0o777) == 0o640
    assert os.listdir(tmp_path) == ["out.csv"]


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt, InputError])
def test_open_output_leaves_nothing_on_failure(tmp_path, exc):
    target = tmp_path / "out.csv"
    with pytest.raises(exc):
        with open_output(target) as stream:
            stream.write("partial\n")
            raise exc("stop")
    assert os.listdir(tmp_path) == []


def test_open_output_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with open_output(target) as stream:
            stream.write("partial\n")
            raise RuntimeError
    assert target.read_text() == "old\n" and os.listdir(tmp_path) == ["out.csv"]


def test_open_output_missing_directory(tmp_path):
    with pytest.raises(InputError, match="the directory .*nowhere does not exist"):
        with open_output(tmp_path / "nowhere" / "out.csv"):
            pass


def test_open_output_stdout():
    out = io.StringIO()
    with open_output("-", stdout=out) as stream:
        stream.write("x")
    assert out.getvalue() == "x"


@pytest.mark.parametrize("texts", [None, "columns"])
def test_csv_rows_quote_a_lone_carriage_return_and_only_where_one_is(texts):
    """The csv module with "\n" line ends leaves "a\rb" unquoted; a reader splits the row there."""
    rows = [["1\r7", "0.5", ""], [2, "0.25", "AGE must be a number. Got '4\r5' in row 2."], ["3", "0.1", ""]]
    out = io.StringIO(newline="")
    CsvRows(out).writerows(iter(rows), texts=list(zip(*rows)) if texts else None)
    assert out.getvalue().endswith(' row 2."\n3,0.1,\n')  # a row without one is written as before
    assert list(csv.reader(io.StringIO(out.getvalue(), newline=""))) == [[str(v) for v in r] for r in rows]
    plain = io.StringIO(newline="")
    CsvRows(plain).writerows(iter([["3", "0.1", ""]]), texts=[["3"], ["0.1"], [""]])
    assert plain.getvalue() == "3,0.1,\n"


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_a_line_without_end_is_refused_before_it_fills_memory(kind, inputs, monkeypatch, tmp_path):
    """A compressed file can hold gigabytes on one line, which was held in memory whole (40 MiB took 470 MB)."""
    monkeypatch.setattr(tabular, "MAX_LINE_BYTES", 2 << 20)  # 16 MiB in use; the same code path, smaller
    path = tmp_path / f"long.{kind}.gz"
    with gzip.open(path, "wb") as fh:
        fh.write((",".join(inputs) + "\n").encode() if kind == "csv" else b"")
        fh.write(b"1," * (3 << 20) if kind == "csv" else b'{"ID": "' + b"a" * (6 << 20))
    with pytest.raises(InputError, match=rf"line {1 if kind == 'jsonl' else 2} runs on for more than 2 MiB without "
                                         "a line end"):
        list(open_reader(path, inputs))
