"""Excel workbooks as applicant files: the cells Excel writes, the sheet chosen, and the files that are refused."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from loanscore.cli.main import main
from loanscore.runtime.errors import InputError
from loanscore.runtime.readers import open_reader
from loanscore.runtime.xlsx import XlsxReader

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ' \
     'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'


STRICT = 'xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main" ' \
         'xmlns:r="http://purl.oclc.org/ooxml/officeDocument/relationships"'


def workbook(path: Path, sheets: dict[str, str], strings: list[str] = (), *, absolute: bool = False,
             strict: bool = False, styles: str = "", date1904: bool = False) -> Path:
    """An .xlsx file as Excel lays one out: ``sheets`` maps each sheet's name to its <sheetData> rows (XML);
    ``strict``: in Strict Open XML's namespaces; ``styles``: the styles part's <numFmts> and <cellXfs>."""
    ns = STRICT if strict else NS
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        if styles:
            z.writestr("xl/styles.xml", f'<?xml version="1.0"?><styleSheet {ns}>{styles}</styleSheet>')
        z.writestr("xl/workbook.xml", f'<?xml version="1.0"?><workbook {ns}>'
                   + ('<workbookPr date1904="1"/>' if date1904 else "") + "<sheets>" + "".join(
            f'<sheet name="{name}" sheetId="{k}" r:id="rId{k}"/>' for k, name in enumerate(sheets, 1))
            + "</sheets></workbook>")
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/relationships">' + "".join(
                       f'<Relationship Id="rId{k}" Type="worksheet" Target="{"/xl/" if absolute else ""}'
                       f'worksheets/sheet{k}.xml"/>' for k in range(1, len(sheets) + 1)) + "</Relationships>")
        for k, rows in enumerate(sheets.values(), 1):
            z.writestr(f"xl/worksheets/sheet{k}.xml", f'<?xml version="1.0"?><worksheet {ns}><sheetData>{rows}'
                       "</sheetData></worksheet>")
        if strings:
            z.writestr("xl/sharedStrings.xml", f'<?xml version="1.0"?><sst {ns}>' + "".join(strings) + "</sst>")
    return path


def s(text: str) -> str:
    return f"<si><t>{text}</t></si>"


def sheet_of(rows: list[dict[str, str]]) -> str:
    """``rows`` (a header of their keys first) as sheet XML; numbers as number cells, the rest as inline text."""
    def cell(v: str) -> str:
        number = v.replace(".", "", 1).lstrip("-").isdigit()
        return f"<c><v>{v}</v></c>" if number else f'<c t="inlineStr"><is><t>{v}</t></is></c>'

    names = list(rows[0])
    return "".join(f'<row r="{k}">' + "".join(cell(v) for v in r) + "</row>"
                   for k, r in enumerate([names, *([r[c] for c in names] for r in rows)], 1))


def test_every_kind_of_cell_excel_writes(tmp_path) -> None:
    strings = [s("ID"), s("name"), s("amount"), s("flag"),
               '<si><r><t>Ana </t></r><r><rPr><b/></rPr><t>Lima</t></r><rPh><t>ana</t></rPh></si>']
    rows = ('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c>'
            '<c r="D1" t="s"><v>3</v></c></row>'
            '<row r="2"><c r="A2"><v>101</v></c><c r="B2" t="s"><v>4</v></c><c r="C2" s="3"><v>1234.5</v></c>'
            '<c r="D2" t="b"><v>1</v></c></row>'
            '<row r="3"><c r="C3" s="1"/></row>'  # styled but empty: no row
            '<row r="5"><c r="A5" t="inlineStr"><is><t>A-7</t></is></c><c r="C5"><f>C2*2</f><v>2469</v></c>'
            '<c r="D5" t="e"><v>#N/A</v></c><c r="F5"><v>99</v></c></row>'  # F: beyond the header
            '<row r="6"><c r="B6" t="str"><f>B2</f><v>Ana Lima</v></c><c r="C6"><v>1.5E-3</v></c></row>')
    path = workbook(tmp_path / "book.xlsx", {"Applicants": rows}, strings)
    reader = open_reader(path, ["amount", "flag", "name"], id_column="ID")
    assert isinstance(reader, XlsxReader) and reader.passthrough == ("ID",) and reader.sheet == "Applicants"
    chunk = next(iter(reader))
    assert chunk.n == 3 and chunk.first_row == 1
    assert chunk.columns == {"amount": ["1234.5", "2469", "1.5E-3"], "flag": ["TRUE", "#N/A", ""],
                             "name": ["Ana Lima", "", "Ana Lima"]}
    assert chunk.passthrough == {"ID": ["101", "A-7", ""]}
    assert chunk.sheet_rows == [2, 5, 6]  # as Excel numbers them: row 3 held nothing, row 4 is not in the file


@pytest.mark.parametrize("date1904", [False, True])
def test_a_date_or_time_reads_as_excel_shows_it_and_other_numbers_as_stored(tmp_path, date1904) -> None:
    """Style 1 is built-in format 14 (a date), 2 a custom date and time, 3 a time of day, 4 an elapsed [h]:mm
    (a duration: a number), 5 a number format with quoted text, 6 a fill colour (no number format): the serial
    numbers Excel stores become the dates and times it shows, the others stay numbers."""
    styles = ('<numFmts count="4"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd\\ hh:mm"/>'
              '<numFmt numFmtId="165" formatCode="h:mm AM/PM"/><numFmt numFmtId="166" formatCode="[h]:mm"/>'
              '<numFmt numFmtId="167" formatCode="#,##0 &quot;days&quot;"/></numFmts>'
              '<cellXfs count="7"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/><xf numFmtId="165"/>'
              '<xf numFmtId="166"/><xf numFmtId="167"/><xf numFmtId="0" fillId="2"/></cellXfs>')
    shift = 1462 if date1904 else 0  # the 1904 system counts 1,462 days fewer to the same date
    cells = [(1, 45658 - shift), (2, 45658.75 - shift), (3, 0.5), (4, 1.5), (5, 45658), (6, 45658), (1, -3)]
    rows = ('<row r="1">' + "".join(f'<c t="inlineStr"><is><t>c{k}</t></is></c>' for k in range(len(cells)))
            + '</row><row r="2">' + "".join(f'<c s="{style}"><v>{v}</v></c>' for style, v in cells) + "</row>")
    path = workbook(tmp_path / "dates.xlsx", {"Sheet1": rows}, styles=styles, date1904=date1904)
    chunk = next(iter(open_reader(path, [f"c{k}" for k in range(len(cells))])))
    assert [chunk.columns[f"c{k}"][0] for k in range(len(cells))] == [
        "2025-01-01", "2025-01-01 18:00:00", "12:00:00", "1.5", "45658", "45658", "-3"]


def test_a_kept_date_column_comes_out_as_a_date(applicants, tmp_path) -> None:
    rows = [{**r, "applied": str(45990 + k)} for k, r in enumerate(applicants(3, seed=4))]
    xml = sheet_of(rows)
    for k in range(3):
        xml = xml.replace(f"<c><v>{45990 + k}</v></c>", f'<c s="1"><v>{45990 + k}</v></c>')
    path = workbook(tmp_path / "book.xlsx", {"Applicants": xml}, styles='<cellXfs><xf numFmtId="0"/>'
                                                                          '<xf numFmtId="14"/></cellXfs>')
    result = CliRunner().invoke(main, ["score", str(path), "--keep-columns", "applied", "-q"])
    assert result.exit_code == 0, result.output
    assert [r["applied"] for r in csv.DictReader(io.StringIO(result.stdout))] == [
        "2025-11-29", "2025-11-30", "2025-12-01"]


def test_dates_libreoffice_writes_read_as_it_shows_them(libreoffice, tmp_path) -> None:
    (tmp_path / "dates.csv").write_text("applied,amount,at\n2026-12-07,12.5,2026-12-07 14:30:00\n")
    book = libreoffice(tmp_path / "dates.csv", "xlsx", tmp_path)
    assert next(iter(open_reader(book, ["applied", "amount", "at"]))).columns == {
        "applied": ["2026-12-07"], "amount": ["12.5"], "at": ["2026-12-07 14:30:00"]}


def test_a_formula_excel_never_computed_is_named_not_filled_in(applicants, tmp_path) -> None:
    """A workbook a program wrote with formulas and no stored results: the cell is not missing (BILL_AMT1 may be
    missing, and would be imputed unseen) but says what it is, and the row is rejected, Excel's row named."""
    rows = applicants(3, seed=8)
    xml = sheet_of(rows)
    bill = rows[1]["BILL_AMT1"]
    xml = xml.replace(f"<c><v>{bill}</v></c>", "<c><f>M2*2</f></c>", 1)
    assert "<f>" in xml
    path = workbook(tmp_path / "book.xlsx", {"Applicants": xml})
    result = CliRunner().invoke(main, ["score", str(path), "-q"])
    assert result.exit_code == 1, result.output
    errors = [r["error"] for r in csv.DictReader(io.StringIO(result.stdout))]
    assert errors == ["", "BILL_AMT1 must be a number. Got '(a formula with no computed value)' in row 2 "
                          "(Excel row 3).", ""]


def test_rows_hidden_by_a_filter_are_read_and_counted_aloud(applicants, tmp_path) -> None:
    """A clerk filtered the sheet to today's applicants: the hidden rows are still rows of the file, so they are
    scored (none left out unsaid), and the commands say how many there were."""
    rows = applicants(6, seed=9)
    xml = sheet_of(rows)
    for k in (3, 5, 6):
        xml = xml.replace(f'<row r="{k}">', f'<row r="{k}" hidden="1">')
    path = workbook(tmp_path / "book.xlsx", {"Applicants": xml})
    result = CliRunner().invoke(main, ["score", str(path), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 0 and "scored 6 of 6 rows" in result.output
    assert "Note: 3 rows of" in result.output and "(sheet 'Applicants') are hidden in Excel (a filter, or hidden " \
        "rows): read and scored like the others." in result.output
    result = CliRunner().invoke(main, ["notices", str(path), "--out", str(tmp_path / "letters")])
    assert "are hidden in Excel (a filter, or hidden rows): read and given a letter if declined" in result.output
    shown = workbook(tmp_path / "shown.xlsx", {"Applicants": sheet_of(rows)})
    assert "Note:" not in CliRunner().invoke(main, ["score", str(shown), "-o", str(tmp_path / "o.csv")]).output


def test_a_title_above_the_header_is_passed_over_and_said(applicants, write_csv, tmp_path) -> None:
    """A report-style sheet: a title, a blank row, then the table. The header is found below the title (it was
    refused, with the rows to delete); the rows above it are not applicants, and a note says they were not read."""
    rows = applicants(3, seed=10)
    rows[1]["AGE"] = "abc"
    title = ('<row r="1"><c t="inlineStr"><is><t>Applicants, branch 12</t></is></c></row>'
             '<row r="2"><c r="B2" t="inlineStr"><is><t>printed 2026-12-07</t></is></c></row>')
    table = re.sub(r'<row r="(\d+)">', lambda m: f'<row r="{int(m[1]) + 3}">', sheet_of(rows))  # from row 4
    path = workbook(tmp_path / "book.xlsx", {"Applicants": title + table})
    result = CliRunner().invoke(main, ["score", str(path)])
    plain = CliRunner().invoke(main, ["score", str(write_csv(rows))])
    assert result.exit_code == plain.exit_code == 1, result.output
    assert result.stdout == plain.stdout.replace("in row 2.", "in row 2 (Excel row 6).")
    assert ("Note: the header of " in result.stderr and "is Excel row 4; the 2 rows with values above it (a title, "
            "notes) were not read as applicants." in result.stderr)
    for command in (["monitor", str(path)], ["cutoffs", str(path)], ["fairness", str(path)]):  # the others say it too
        said = CliRunner().invoke(main, command)
        assert said.exit_code in (0, 4) and "is Excel row 4; the 2 rows with values above it" in said.stderr, command
    other = workbook(tmp_path / "other.xlsx", {"Notes": title})
    result = CliRunner().invoke(main, ["score", str(other)])
    assert result.exit_code == 2 and "lacks the required columns" in result.output


def test_a_rejected_row_is_named_as_excel_numbers_it(applicants, tmp_path) -> None:
    """Blank rows between applicants: the error names the data row and the row the clerk sees in Excel; rows
    written without their number (r is optional) follow on from the one before."""
    rows = applicants(4, seed=3)
    rows[2]["AGE"] = "500"
    names = list(rows[0])
    xml = sheet_of(rows).split("</row>")[:-1]  # header, then the four applicants, each '<row r="k">...'
    numbered = [xml[0].replace('<row r="1">', '<row r="2">'), xml[1].replace('<row r="2">', '<row r="4">'),
                xml[2].replace('<row r="3">', '<row r="7">'), xml[3].replace('<row r="4">', "<row>"),
                xml[4].replace('<row r="5">', "<row>")]
    path = workbook(tmp_path / "book.xlsx", {"Applicants": "</row>".join(numbered) + "</row>"})
    chunk = next(iter(open_reader(path, names)))
    assert chunk.sheet_rows == [4, 7, 8, 9]
    result = CliRunner().invoke(main, ["score", str(path), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 1, result.output
    with open(tmp_path / "out.csv", newline="") as fh:
        assert [r["error"] for r in csv.DictReader(fh)][2] == "AGE must be between 18 and 120. Got '500' in row 3 " \
                                                             "(Excel row 8)."
    result = CliRunner().invoke(main, ["monitor", str(path)])  # the commands that list rejected rows on stderr
    assert "AGE must be between 18 and 120. Got '500' in row 3 (Excel row 8)." in result.output


def test_rows_come_in_chunks_and_the_sheet_is_found_by_its_columns(tmp_path) -> None:
    header = '<row r="1"><c t="inlineStr"><is><t>x</t></is></c><c t="inlineStr"><is><t>y</t></is></c></row>'
    body = "".join(f'<row r="{k + 2}"><c><v>{k}</v></c><c><v>{-k}</v></c></row>' for k in range(25))
    notes = '<row r="1"><c t="inlineStr"><is><t>read me first</t></is></c></row>'
    path = workbook(tmp_path / "two.xlsx", {"Notes": notes, "Data": header + body}, absolute=True)
    reader = open_reader(path, ["y", "x"], chunk_rows=10)
    chunks = list(reader)
    assert reader.sheet == "Data" and [(c.first_row, c.n) for c in chunks] == [(1, 10), (11, 10), (21, 5)]
    assert [v for c in chunks for v in c.columns["y"]] == [str(-k) for k in range(25)]
    with pytest.raises(InputError, match=r"\(sheet 'Notes'\) lacks the required columns z.*No other sheet has "
                                         r"them either: 'Data'"):
        open_reader(path, ["z"])
    with pytest.raises(InputError, match="has no sheet named 'Other'; its sheets: 'Notes', 'Data'"):
        XlsxReader(path, ["x"], sheet="Other")
    strict = workbook(tmp_path / "strict.xlsx", {"Notes": notes, "Data": header + body}, strict=True)
    assert [v for c in open_reader(strict, ["y"]) for v in c.columns["y"]] == [str(-k) for k in range(25)]


def test_a_workbook_with_applicants_on_two_sheets_is_read_by_the_sheet_named(tmp_path, write_csv) -> None:
    def data(k0: int) -> str:
        return sheet_of([{"x": str(k), "y": str(-k)} for k in range(k0, k0 + 3)])

    notes = '<row r="1"><c t="inlineStr"><is><t>read me first</t></is></c></row>'
    path = workbook(tmp_path / "months.xlsx", {"Notes": notes, "January": data(0), "February": data(10)})
    with pytest.raises(InputError, match=r"months\.xlsx has applicants on 2 sheets \('January', 'February'\), "
                                         r"and a run reads one sheet: name it with --sheet NAME"):
        open_reader(path, ["x", "y"])
    titled = '<row r="1"><c t="inlineStr"><is><t>February, branch 12</t></is></c></row>' + data(10).replace(
        '<row r="', '<row r="1')  # the table from Excel row 11 down, under a title
    later = workbook(tmp_path / "titled.xlsx", {"January": data(0), "February": titled})
    with pytest.raises(InputError, match=r"has applicants on 2 sheets \('January', 'February'\)"):
        open_reader(later, ["x", "y"])
    assert [v for c in open_reader(later, ["y"], sheet="February") for v in c.columns["y"]] == ["-10", "-11", "-12"]
    read = open_reader(path, ["y"], sheet="february")  # as Excel, regardless of case
    assert read.sheet == "February" and [v for c in read for v in c.columns["y"]] == ["-10", "-11", "-12"]
    one = workbook(tmp_path / "one.xlsx", {"January": data(0), "Totals": sheet_of([{"x": "3", "total": "1"}])})
    assert [v for c in open_reader(one, ["x", "y"]) for v in c.columns["x"]] == ["0", "1", "2"]
    with pytest.raises(InputError, match=r"--sheet January names a sheet of an Excel workbook, but .*in\.csv is "
                                         r"read as CSV"):
        open_reader(write_csv([{"x": "1", "y": "2"}]), ["x"], sheet="January")


@pytest.mark.parametrize("content, name, message", [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "old.xls", "is an Excel 97-2003 workbook (.xls)"),
    (b"PK\x03\x04 not really a zip", "broken.xlsx", "is not an Excel workbook (.xlsx) that can be read"),
    (None, "nosheet.xlsx", "is not an Excel workbook: it has no xl/workbook.xml"),
    (None, "damaged.xlsx", "cannot be read"),
    (None, "empty.xlsx", "(sheet 'Sheet1') is empty: it has no header"),
])
def test_a_file_that_is_no_readable_workbook_gets_a_message(tmp_path, content, name, message) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    elif name == "nosheet.xlsx":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("hello.txt", "hi")
    elif name == "damaged.xlsx":
        workbook(path, {"Sheet1": '<row r="1"><c><v>1</v></row>'})
    else:
        workbook(path, {"Sheet1": ""})
    with pytest.raises(InputError) as err:
        list(open_reader(path, ["x"]))
    assert message in str(err.value) and str(path) in str(err.value)


def test_score_reads_a_workbook_as_it_reads_the_same_rows_as_csv(applicants, write_csv, tmp_path) -> None:
    rows = applicants(40, seed=61)
    rows[3]["AGE"] = "abc"  # rejected, named by row, as in CSV
    book = workbook(tmp_path / "in.xlsx", {"Sheet1": sheet_of(rows)})
    from_csv = CliRunner().invoke(main, ["score", str(write_csv(rows)), "--reasons", "2", "-q"])
    from_book = CliRunner().invoke(main, ["score", str(book), "--reasons", "2", "-q"])
    assert from_book.exit_code == from_csv.exit_code == 1
    # the same, but that a workbook's error names the row as Excel shows it too
    assert from_book.stdout == from_csv.stdout.replace("in row 4.", "in row 4 (Excel row 5).")
    assert "AGE must be a number. Got 'abc' in row 4 (Excel row 5)." in from_book.stdout
    log = tmp_path / "audit.jsonl"
    piped = CliRunner().invoke(main, ["score", "-", "--input-format", "xlsx", "-q", "--audit-log", str(log)],
                               input=book.read_bytes())
    assert piped.exit_code == 1 and piped.stdout.splitlines()[1:] == [
        ",".join(r.split(",")[:5]) for r in CliRunner().invoke(main, ["score", str(book), "-q"]).stdout.splitlines()[1:]]
    import hashlib
    import json

    source = json.loads(log.read_text().splitlines()[-1])["input"]  # stdin is gone: its bytes were hashed
    assert source == {"path": "stdin", "bytes": book.stat().st_size,
                      "sha256": hashlib.sha256(book.read_bytes()).hexdigest()}


@pytest.mark.parametrize("command", ["score", "explain", "notices", "cutoffs", "backtest", "compare", "fairness",
                                     "overrides", "monitor", "migration"])
def test_every_command_reading_applicants_takes_the_sheet_named(command, applicants, model_dir, tmp_path) -> None:
    label = json.loads((model_dir / "manifest.json").read_text())["schema"]["label"]
    weeks = [[{**r, label: str(k % 2), "final_decision": "approved"} for k, r in enumerate(applicants(40, seed=seed))]
             for seed in (64, 65)]
    book = workbook(tmp_path / "weeks.xlsx", {"Week 1": sheet_of(weeks[0]), "Week 2": sheet_of(weeks[1])})
    args = {"notices": ["--out", str(tmp_path / "letters")], "compare": ["--challenger", str(model_dir)],
            "migration": [str(book)]}.get(command, [])
    refused = CliRunner().invoke(main, [command, str(book), *args, "-q"])
    assert refused.exit_code == 2 and "has applicants on 2 sheets ('Week 1', 'Week 2')" in refused.output
    log = tmp_path / "audit.jsonl"
    done = CliRunner().invoke(main, [command, str(book), *args, "--sheet", "Week 2", "-q", "--audit-log", str(log)])
    assert done.exit_code in (0, 1, 4) and "Error" not in done.output, done.output
    record = json.loads(log.read_text().splitlines()[-1])
    assert record["event"] == command and record["sheet"] == "Week 2"
    if command in ("score", "explain"):
        single = CliRunner().invoke(main, [command, "--json", "{}", "--sheet", "Week 2"])
        assert single.exit_code == 2 and "--json is a single applicant" in single.output


def test_a_workbook_written_by_openpyxl_scores_as_its_csv_does(dev_sample, tmp_path) -> None:
    """2,000 real rows saved by a spreadsheet library (shared strings, styles, its own layout)."""
    openpyxl = pytest.importorskip("openpyxl", reason="openpyxl writes the workbook (pip install '.[test]')")
    source = dev_sample(2000, seed=62)
    with open(source, newline="") as fh:
        rows = list(csv.reader(fh))
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Applicants 2026"
    sheet.append(rows[0])
    for r in rows[1:]:
        sheet.append([float(v) if "." in v else int(v) for v in r])
    path = tmp_path / "applicants.xlsx"
    book.save(path)
    want = CliRunner().invoke(main, ["score", str(source), "--grade", "--points", "-q"])
    got = CliRunner().invoke(main, ["score", str(path), "--grade", "--points", "-q"])
    assert got.exit_code == want.exit_code == 0 and got.stdout == want.stdout
    assert len(got.stdout.splitlines()) == 2001


def test_watch_takes_workbooks_from_the_inbox(applicants, model_dir, tmp_path) -> None:
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    sheet = sheet_of(applicants(5, seed=63))
    workbook(inbox / "branch 12.xlsx", {"Sheet1": sheet})
    result = CliRunner().invoke(main, ["watch", str(inbox), "--out", str(out), "--model", str(model_dir), "--once"])
    assert result.exit_code == 0, result.output
    scored = list(csv.DictReader(io.StringIO((out / "branch 12.scored.csv").read_text())))
    assert len(scored) == 5 and all(r["decision"] for r in scored)
    assert (inbox / "processed" / "branch 12.xlsx").exists()
    workbook(inbox / "branch 13.xlsx", {"Sheet1": sheet})  # and back as a workbook
    result = CliRunner().invoke(main, ["watch", str(inbox), "--out", str(out), "--model", str(model_dir), "--once",
                                       "--format", "xlsx"])
    assert result.exit_code == 0, result.output
    back = read_back(out / "branch 13.scored.xlsx")
    assert back[0] == list(scored[0]) and [r[1] for r in back[1:]] == [r["probability_of_default"] for r in scored]


def test_watch_reads_the_sheet_named_in_each_workbook_and_csv_files_as_they_are(applicants, write_csv,
                                                                                 model_dir, tmp_path) -> None:
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    two = {"Week 1": sheet_of(applicants(3, seed=66)), "Week 2": sheet_of(applicants(4, seed=67))}
    workbook(inbox / "weeks.xlsx", two)
    (inbox / "plain.csv").write_bytes(write_csv(applicants(2, seed=68)).read_bytes())
    args = ["watch", str(inbox), "--out", str(out), "--model", str(model_dir), "--once"]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 2 and "has applicants on 2 sheets ('Week 1', 'Week 2')" in refused.output
    assert (out / "plain.scored.csv").exists()
    (inbox / "failed" / "weeks.xlsx").rename(inbox / "weeks.xlsx")
    taken = CliRunner().invoke(main, [*args, "--sheet", "week 2"])
    assert taken.exit_code == 0, taken.output
    assert len((out / "weeks.scored.csv").read_text().splitlines()) == 1 + 4


def test_a_workbook_piped_to_stdin_is_known_by_its_first_bytes(applicants, to_csv, tmp_path) -> None:
    import subprocess
    import sys

    rows = applicants(3, seed=64)
    book = workbook(tmp_path / "in.xlsx", {"Sheet1": sheet_of(rows)})
    (tmp_path / "in.csv").write_text(to_csv(rows))
    command = [sys.executable, "-c", "from loanscore.cli.main import main; main()", "score", "-", "-q"]
    with open(book, "rb") as fh:
        piped = subprocess.run(command, stdin=fh, capture_output=True, text=True, timeout=120)
    with open(tmp_path / "in.csv", "rb") as fh:
        plain = subprocess.run(command, stdin=fh, capture_output=True, text=True, timeout=120)
    assert piped.returncode == plain.returncode == 0 and piped.stdout == plain.stdout, piped.stderr


# -- writing ---------------------------------------------------------------------


def read_back(path: Path) -> list[list[str]]:
    """Every cell of a written workbook's sheet as text, by loanscore's own reader (header first)."""
    with zipfile.ZipFile(path) as z:
        header_xml = z.read("xl/worksheets/sheet1.xml").decode()
    header = [t for t in re.findall(r"<t[^>]*>([^<]*)</t>", header_xml.split("</row>")[0])]
    reader = XlsxReader(path, header)
    rows = [list(values) for chunk in reader for values in zip(*(chunk.columns[c] for c in header))]
    return [header, *rows]


def test_a_workbook_out_holds_what_the_csv_output_holds(applicants, write_csv, tmp_path) -> None:
    rows = applicants(300, seed=65)
    rows[2]["AGE"] = "500"
    rows[4]["ID"] = "007 <&> \x01"  # leading zeros, XML's own characters, a control character
    source, book = write_csv(rows), tmp_path / "scores.xlsx"
    options = ["--points", "--grade", "--reasons", "2", "--stamp"]
    result = CliRunner().invoke(main, ["score", str(source), *options, "-o", str(book), "-q"])
    assert result.exit_code == 1, result.output
    csv_text = CliRunner().invoke(main, ["score", str(source), *options, "-q"]).stdout
    want = list(csv.reader(io.StringIO(csv_text)))
    got = read_back(book)
    assert got[5][0] == "007 <&> \ufffd" and want[5][0] == "007 <&> \x01"  # XML 1.0 holds no control characters
    want[5][0] = got[5][0]
    stamp = want[0].index("scored_at")  # the runs' start times may differ by a second
    assert [r[:stamp] for r in got] == [r[:stamp] for r in want]
    assert got[3][want[0].index("error")].startswith("AGE must be between 18 and 120")


def test_spreadsheet_programs_read_the_cells_with_their_types(applicants, write_csv, tmp_path) -> None:
    openpyxl = pytest.importorskip("openpyxl", reason="openpyxl reads the workbook (pip install '.[test]')")
    rows = applicants(50, seed=66)
    rows[0]["ID"] = "0042"
    book = tmp_path / "scores.xlsx"
    assert CliRunner().invoke(main, ["score", str(write_csv(rows)), "--points", "--grade", "-o", str(book),
                                     "-q"]).exit_code == 0
    sheet = openpyxl.load_workbook(book).active
    header, *cells = list(sheet.iter_rows(values_only=True))
    assert sheet.title == "scores" and header[:5] == ("ID", "probability_of_default", "points", "grade", "decision")
    assert cells[0][0] == "0042" and all(isinstance(r[1], float) and isinstance(r[2], int) for r in cells)
    assert all(isinstance(r[3], str) for r in cells) and len(cells) == 50


def test_libreoffice_opens_the_workbook_as_the_csv_reads(applicants, libreoffice, write_csv, tmp_path) -> None:
    rows = applicants(40, seed=67)
    source, book = write_csv(rows), tmp_path / "scores.xlsx"
    assert CliRunner().invoke(main, ["score", str(source), "--points", "-o", str(book), "-q"]).exit_code == 0
    opened = list(csv.reader(io.StringIO(libreoffice(book, "csv", tmp_path).read_text())))
    want = list(csv.reader(io.StringIO(CliRunner().invoke(main, ["score", str(source), "--points", "-q"]).stdout)))
    p = want[0].index("probability_of_default")  # a number cell: shown without trailing zeros (0.77512)
    assert [float(r[p]) for r in opened[1:]] == [float(r[p]) for r in want[1:]]
    assert [r[:p] + r[p + 1:] for r in opened] == [r[:p] + r[p + 1:] for r in want] and len(opened) == 41


def test_a_workbook_needs_a_file_and_has_no_separator(applicants, write_csv, tmp_path) -> None:
    source = write_csv(applicants(3))
    to_stdout = CliRunner().invoke(main, ["score", str(source), "--format", "xlsx"])
    assert to_stdout.exit_code == 2 and "give -o FILE.xlsx" in to_stdout.output
    semicolons = CliRunner().invoke(main, ["score", str(source), "-o", str(tmp_path / "x.xlsx"), "--separator",
                                           "semicolon"])
    assert semicolons.exit_code == 2 and "workbooks have none" in semicolons.output
    assert not (tmp_path / "x.xlsx").exists()


def test_a_workbook_libreoffice_saves_scores_as_its_csv(dev_sample, libreoffice, tmp_path) -> None:
    """LibreOffice's own .xlsx (shared strings, styles, its layout) of 500 real rows, read by loanscore."""
    source = dev_sample(500, seed=68)
    book = libreoffice(source, "xlsx", tmp_path)
    want = CliRunner().invoke(main, ["score", str(source), "-q"])
    got = CliRunner().invoke(main, ["score", str(book), "-q"])
    assert got.exit_code == want.exit_code == 0 and got.stdout == want.stdout and len(got.stdout.splitlines()) == 501


def test_more_rows_than_a_sheet_holds_leave_no_workbook(applicants, write_csv, tmp_path, monkeypatch) -> None:
    import loanscore.runtime.xlsx as xlsx

    monkeypatch.setattr(xlsx, "MAX_ROWS", 11)  # an Excel sheet's 1,048,576, made small
    book = tmp_path / "scores.xlsx"
    fits = CliRunner().invoke(main, ["score", str(write_csv(applicants(10), name="ten.csv")), "-o", str(book), "-q"])
    assert fits.exit_code == 0 and len(read_back(book)) == 11
    book.unlink()
    result = CliRunner().invoke(main, ["score", str(write_csv(applicants(11))), "-o", str(book), "-q"])
    assert result.exit_code == 2 and "do not fit in one Excel sheet (10 rows at most)" in result.output
    assert not book.exists()


def test_backtest_and_explain_read_a_workbook_as_they_read_its_csv(dev_sample, tmp_path) -> None:
    """Commands other than score take workbooks too: the same figures and the same case from the same rows."""
    source = dev_sample(600, seed=69)
    with open(source, newline="") as fh:
        rows = list(csv.DictReader(fh))
    book = workbook(tmp_path / "book.xlsx", {"Outcomes": sheet_of(rows)})
    for args in (["backtest", "-q", "-o", "{out}"], ["explain", "--row", "5", "--format", "jsonl", "-o", "{out}"]):
        got, want = tmp_path / "got.json", tmp_path / "want.json"
        a = CliRunner().invoke(main, [args[0], str(book), *[x.format(out=got) for x in args[1:]]])
        b = CliRunner().invoke(main, [args[0], str(source), *[x.format(out=want) for x in args[1:]]])
        assert a.exit_code == b.exit_code and a.exit_code in (0, 4), a.output
        assert _figures(got, book) == _figures(want, source)


def _figures(path: Path, source: Path) -> str:
    """A command's output without what differs between two runs: the file's name and the time taken."""
    return re.sub(r'"seconds": [0-9.e-]+', '"seconds": 0', path.read_text().replace(str(source), "SOURCE"))


def test_a_zip_bomb_or_an_entity_bomb_is_refused_before_it_fills_memory(applicants, tmp_path) -> None:
    """A workbook from a USB stick or a mail: a shared-strings part of 600 MiB packed into under 1 MiB took 1.3 GB
    of memory before its refusal was confused; entities that expand a billionfold are expat's to refuse."""
    rows = applicants(3)
    book = workbook(tmp_path / "bomb.xlsx", {"Applicants": sheet_of(rows)})
    with zipfile.ZipFile(book, "a", zipfile.ZIP_DEFLATED) as z, z.open("xl/sharedStrings.xml", "w") as part:
        part.write(f'<?xml version="1.0"?><sst {NS}><si><t>'.encode())
        block = b"a" * (1 << 20)
        for _ in range(80):
            part.write(block)
        part.write(b"</t></si></sst>")
    with pytest.raises(InputError, match=r"sharedStrings.xml would unpack to 83,886,\d+ bytes from [\d,]+ \(\d[\d,]* "
                                         r"times as many.*not a workbook Excel saved"):
        XlsxReader(book, list(rows[0]))
    laughs = "".join(f'<!ENTITY l{k} "{f"&l{k - 1};" * 10}">' for k in range(1, 10))
    entity = workbook(tmp_path / "laughs.xlsx", {"Applicants": sheet_of(rows)}, [s("&l9;")])
    with zipfile.ZipFile(entity) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    parts["xl/sharedStrings.xml"] = parts["xl/sharedStrings.xml"].replace(
        b"<sst", f'<!DOCTYPE sst [<!ENTITY l0 "lol">{laughs}]><sst'.encode(), 1)
    with zipfile.ZipFile(entity, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    with pytest.raises(InputError, match="sharedStrings.xml cannot be read"):
        XlsxReader(entity, list(rows[0]))


@pytest.mark.parametrize("ref", [" Q3", "ZZZZZZZZ3", "XFE3", "3"])
def test_a_cell_reference_naming_no_column_excel_has_is_named(applicants, tmp_path, ref) -> None:
    """A damaged reference gave a negative column (an IndexError: exit 70) or a huge one (a row list of billions of
    cells: memory); the last column Excel has is XFD."""
    rows = applicants(3)
    sheet = sheet_of(rows).replace('<row r="3">', f'<row r="3"><c r="{ref}"><v>1</v></c>', 1)
    path = workbook(tmp_path / "book.xlsx", {"Applicants": sheet})
    with pytest.raises(InputError, match=rf"the cell reference '{ref}' in Excel row 3 names no column Excel has"):
        list(XlsxReader(path, list(rows[0])))
    row3 = re.search(r'<row r="3">.*?</row>', sheet_of(rows)).group(0)
    edge = workbook(tmp_path / "edge.xlsx", {"Applicants": sheet_of(rows).replace(
        row3, row3.replace("</row>", '<c r="XFD3"><v>1</v></c></row>'))})
    assert sum(chunk.n for chunk in XlsxReader(edge, list(rows[0]))) == 3  # Excel's last column: beyond the header


def test_a_value_right_of_the_header_is_a_warning_on_its_row(applicants, write_csv, tmp_path) -> None:
    """A note beside the table, or a row a clerk shifted one cell right: the value beyond the header's last column
    is not read, and was passed over without a word (a CSV row with an extra field is rejected). A formatted empty
    cell there, which Excel keeps, says nothing."""
    rows = applicants(3, seed=12)
    table = sheet_of(rows)
    row2, row3 = (re.search(rf'<row r="{k}">.*?</row>', table).group(0) for k in (2, 3))
    table = table.replace(row2, row2.replace("</row>", '<c r="AB2" t="inlineStr"><is><t>call back</t></is></c></row>'))
    table = table.replace(row3, row3.replace("</row>", '<c r="AC3" s="4"/></row>'))
    path = workbook(tmp_path / "book.xlsx", {"Applicants": table})
    result = CliRunner().invoke(main, ["score", str(path)])
    plain = CliRunner().invoke(main, ["score", str(write_csv(rows))])
    got, want = (list(csv.DictReader(io.StringIO(r.stdout))) for r in (result, plain))
    assert result.exit_code == 0 and [g["probability_of_default"] for g in got] == [
        w["probability_of_default"] for w in want]
    assert got[0]["warning"] == "a value in column AB, right of the header's last column (X), was not read"
    assert got[1]["warning"] == got[2]["warning"] == ""


def test_a_row_of_formatted_empty_cells_is_no_row(applicants, tmp_path) -> None:
    """Excel keeps the cells of a row that was formatted and left empty, each with its reference, as a filled row's
    are: such a row holds no applicant, wherever it is read from."""
    from loanscore.runtime.xlsx import _letters

    rows = applicants(3, seed=13)
    names = list(rows[0])

    def row(k: int, values: list[str]) -> str:
        cells = (f'<c r="{_letters(j)}{k}" t="inlineStr"><is><t>{v}</t></is></c>' if v else
                 f'<c r="{_letters(j)}{k}" s="1"/>' for j, v in enumerate(values))
        return f'<row r="{k}">{"".join(cells)}</row>'

    table = [row(1, names), row(2, [rows[0][c] for c in names]), row(3, [""] * len(names)),
             row(4, [rows[1][c] for c in names]), row(5, [""] * 3), row(6, [rows[2][c] for c in names])]
    path = workbook(tmp_path / "book.xlsx", {"Applicants": "".join(table)})
    chunks = list(XlsxReader(path, names[1:], id_column=names[0]))
    assert [n for chunk in chunks for n in chunk.sheet_rows] == [2, 4, 6]
    assert chunks[0].passthrough[names[0]] == [r[names[0]] for r in rows]
