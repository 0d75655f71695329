"""`loanscore schema draft`: a lender's own columns become a schema that trains, without writing one by hand."""

from __future__ import annotations

import csv
import json
import random
import re
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from loanscore.cli.main import main
from loanscore.runtime import Scorer
from loanscore.runtime.errors import InputError
from loanscore.runtime.schema import Schema
from loanscore.runtime.tabular import INPUT_ENCODING
from loanscore.train.schema_draft import draft_schema
from loanscore.train.synthetic import generate, write_csv

LENDER_SCHEMA = json.loads((Path(__file__).parent / "lender_schema.json").read_text("utf-8"))


def _structure(schema: Schema) -> dict:
    """What a draft must get right; descriptions, reasons and exact ranges are the lender's to write."""
    return {
        "id": schema.id, "label": schema.label,
        "numeric": {f.name: (f.role, f.transform, f.protected) for f in schema.numeric},
        "categorical": {f.name: (set(f.codes), f.protected) for f in schema.categorical},
        "history": [(h.role, h.columns, h.transform) for h in schema.history],
    }


def _drafted(path: Path, *args: str) -> Schema:
    result = CliRunner().invoke(main, ["schema", "draft", str(path), *args])
    assert result.exit_code == 0, result.output
    return Schema.from_dict(tomllib.loads(result.stdout))


def test_a_lenders_own_columns_are_drafted_as_the_schema_they_were_made_from(tmp_path) -> None:
    """Other names, a 12-month history numbered oldest first, string and integer codes."""
    original = Schema.from_dict(LENDER_SCHEMA)
    data = write_csv(tmp_path / "loans.csv", generate(original, 1500, seed=1))
    drafted = _drafted(data)
    want = _structure(original)
    want["categorical"]["region"] = ({"north", "south", "east", "west"}, False)
    assert _structure(drafted) == want
    assert drafted.history[0].columns[0] == "arrears_m01" and drafted.name == "loans"


def test_the_taiwan_columns_are_drafted_as_the_built_in_schema(tmp_path, dev_data) -> None:
    """The 24,000 development rows, whose months are numbered from the newest (PAY_0, PAY_AMT1: September)."""
    drafted = _drafted(dev_data, "--numbered", "newest-first")
    assert _structure(drafted) == _structure(Schema.default())
    (tmp_path / "taiwan.json").write_text(json.dumps(drafted.to_dict()))
    checked = CliRunner().invoke(main, ["schema", "check", str(tmp_path / "taiwan.json"), "--data", str(dev_data)])
    assert checked.exit_code == 0 and "24,000 rows, default rate 22.12%" in checked.output, checked.output
    assert _drafted(dev_data).history[0].columns == ("PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6")
    assert _structure(_drafted(dev_data, "--numbered", "auto")) == _structure(Schema.default())  # read from the data


@pytest.mark.parametrize("latest", ["last", "first"])
def test_the_months_order_is_read_from_the_data_with_auto_and_said_otherwise(tmp_path, latest) -> None:
    """Arrears tell most about the next default in the latest month: ``auto`` finds which end that is; the
    default (oldest first) keeps its order but says when the data suggest the opposite."""
    rng = random.Random(5)
    months = 8
    rows = []
    for i in range(2000):
        arrears = [rng.choice([0, 0, 0, 1, 2, 3]) for _ in range(months)]
        weights = [0.8 ** (months - 1 - m) for m in range(months)]  # the latest month weighs most
        risk = sum(w * a for w, a in zip(weights, arrears)) + rng.gauss(0, 1)
        rows.append([i, *(arrears if latest == "last" else arrears[::-1]), int(risk > 3)])
    path = tmp_path / "loans.csv"
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows([["id", *(f"arrears_m{m + 1:02d}" for m in range(months)), "bad"], *rows])
    auto = _drafted(path, "--numbered", "auto").history[0].columns
    assert auto[-1] == ("arrears_m08" if latest == "last" else "arrears_m01")  # the latest month, last
    default = CliRunner().invoke(main, ["schema", "draft", str(path)])
    assert Schema.from_dict(tomllib.loads(default.stdout)).history[0].columns[-1] == "arrears_m08"
    assert ("though the data suggest the opposite" in default.stderr) == (latest == "first")


def test_a_draft_trains_exports_scores_and_writes_letters(tmp_path) -> None:
    """The capability the draft is for, end to end: a lender's file, no schema written by hand, a scored applicant
    and adverse-action letters."""
    original = Schema.from_dict(LENDER_SCHEMA)
    data = write_csv(tmp_path / "loans.csv", generate(original, 800, seed=4))
    runner = CliRunner()
    drafted = runner.invoke(main, ["schema", "draft", str(data), "-o", str(tmp_path / "loans.toml")])
    assert drafted.exit_code == 0 and "next: loanscore schema check" in drafted.stderr
    checked = runner.invoke(main, ["schema", "check", str(tmp_path / "loans.toml"), "--data", str(data)])
    assert checked.exit_code == 0 and "OK: " in checked.output and "800 rows" in checked.output
    trained = runner.invoke(main, ["train", "--data", str(data), "--schema", str(tmp_path / "loans.toml"),
                                   "--out", str(tmp_path / "run"), "--epochs", "1", "--teacher", "0"])
    assert trained.exit_code == 0, trained.output
    exported = runner.invoke(main, ["export", str(tmp_path / "run"), "--out", str(tmp_path / "model"), "--data",
                                    str(data)])
    assert exported.exit_code == 0, exported.output
    scorer = Scorer.load(tmp_path / "model")
    with open(data, newline="") as fh:
        record = next(csv.DictReader(fh))
    result = scorer.score(record)
    assert result.ok and 0 < result.probability < 1
    assert scorer.schema.months == 12 and scorer.schema.history[0].columns[-1] == "arrears_m12"
    # Every reason is worded (by role, else by name), so each declined applicant gets an adverse-action letter.
    assert all(f.reason[0] for f in (*scorer.schema.numeric, *scorer.schema.categorical, *scorer.schema.history))
    noticed = runner.invoke(main, ["notices", str(data), "--model", str(tmp_path / "model"), "--out",
                                   str(tmp_path / "letters")])
    assert noticed.exit_code in (0, 1), noticed.output
    with open(tmp_path / "letters" / "notices.csv", newline="", encoding="utf-8") as fh:
        declined = [r for r in csv.DictReader(fh) if r["decision"] == "decline"]
    assert sum(bool(r["notice"]) for r in declined) > len(declined) / 2
    assert not [r for r in declined if not r["notice"] and "no field raises" not in r["error"]]  # none unworded
    assert any(r["reason_1"] == "Late repayments in recent months" for r in declined)  # the status role's words


def _odd_lender_file(path: Path) -> Path:
    """18 months, a channel of 3 months beside it, one with a cell that is not a number (drafted, the cell named
    to fix), free text, missing incomes, a yes/no flag."""
    rng = random.Random(7)
    header = (["loan_ref", "income", "employment", "branch_manager", "gender", "bad"]
              + [f"dpd_{m}" for m in range(1, 19)] + [f"bal_{m}" for m in range(1, 19)]
              + [f"score_{m}" for m in range(1, 4)] + ["insured"] + [f"util_{m}" for m in range(1, 19)])
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for i in range(300):
            writer.writerow([f"L{i:05d}", "" if i % 17 == 0 else rng.randint(12_000, 400_000),
                             rng.choice(["salaried", "self-employed", "retired"]), f"manager {rng.randint(1, 90)}",
                             rng.choice(["F", "M"]), int(rng.random() < 0.2)]
                            + [rng.choice([0, 0, 0, 1, 2, 3]) for _ in range(18)]
                            + [rng.randint(-500, 90_000) for _ in range(18)]
                            + [rng.randint(300, 850) for _ in range(3)] + [rng.choice(["yes", "no"])]
                            + [f"{rng.random():.2f}" if (i, m) != (2, 4) else "12%" for m in range(1, 19)])
    return path


def test_odd_columns_are_left_out_or_marked_and_said_so(tmp_path) -> None:
    data = _odd_lender_file(tmp_path / "odd.csv")
    result = CliRunner().invoke(main, ["schema", "draft", str(data), "-o", str(tmp_path / "odd.toml")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "odd.toml").read_text("utf-8")
    drafted = Schema.load(tmp_path / "odd.toml")
    assert (drafted.id, drafted.label, drafted.months) == ("loan_ref", "bad", 18)
    assert [(h.name, h.role) for h in drafted.history] == [("dpd", "status"), ("bal", "balance"), ("util", "other")]
    assert drafted.history[1].transform == "signed_log" and drafted.history[1].min < -500
    income = next(f for f in drafted.numeric if f.name == "income")
    assert income.missing == "impute" and "18 missing" in text and income.min_exclusive
    assert {f.name: f.protected for f in drafted.categorical} == {"employment": False, "gender": True,
                                                                  "insured": False}
    header = " ".join(line[1:].strip() for line in text.splitlines() if line.startswith("#"))  # notes wrap there
    for said in (result.stderr, header):
        assert re.search(r"branch_manager \(\d+ distinct texts\)", said)
        assert "score_1, score_2, score_3 (3 months; the history has 18)" in said
        assert "Not numbers in columns of numbers, drafted as numbers: util_4 row 3 '12%'. Fix them" in said
        assert "gender" in said and "check the list against the law" in said
    assert "branch_manager" not in drafted.input_names and "score_1" not in drafted.input_names
    checked = CliRunner().invoke(main, ["schema", "check", str(tmp_path / "odd.toml"), "--data", str(data)])
    assert checked.exit_code == 2 and "1 row breaks the input contract" in checked.output
    assert "util_4 must be a number. Got '12%' in row 3." in checked.output


def test_no_outcome_or_no_history_is_a_clear_error(tmp_path) -> None:
    data = _odd_lender_file(tmp_path / "odd.csv")
    runner = CliRunner()
    yes_no = runner.invoke(main, ["schema", "draft", str(data), "--label", "insured"])
    assert yes_no.exit_code == 2 and ("insured is the outcome (--label), but an outcome must be 0 (repaid) or 1 "
                                      "(defaulted) in every row") in yes_no.output
    assert "row 1 holds" in yes_no.output and "Traceback" not in yes_no.output
    assert "has no column 'went_bad'" in runner.invoke(main, ["schema", "draft", str(data), "--label",
                                                              "went_bad"]).output
    flat = tmp_path / "flat.csv"
    flat.write_text("id,income,bad\n1,100,0\n2,200,1\n3,300,0\n")
    result = runner.invoke(main, ["schema", "draft", str(flat)])
    assert result.exit_code == 2 and "no monthly history the LSTM could read" in result.output
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("id,a1,a2,a3,bad\n" + "".join(f"{i},1,2,3,{i % 2}\n" for i in range(20)) + "21,1,2,3,\n")
    result = runner.invoke(main, ["schema", "draft", str(unknown)])
    assert result.exit_code == 2 and "bad looks like the outcome" in result.output and "row 21 is blank" in result.output
    unlabelled = tmp_path / "unlabelled.csv"
    unlabelled.write_text("id,a1,a2,a3\n1,1,2,3\n2,3,4,5\n")
    result = runner.invoke(main, ["schema", "draft", str(unlabelled)])
    assert result.exit_code == 2 and "no column of 0s and 1s to be the outcome" in result.output
    with pytest.raises(InputError, match="header but no rows"):
        (tmp_path / "empty.csv").write_text("id,bad\n")
        draft_schema(tmp_path / "empty.csv")


def test_check_names_the_rows_that_break_a_schema_and_train_points_to_the_draft(tmp_path) -> None:
    original = Schema.from_dict(LENDER_SCHEMA)
    data = write_csv(tmp_path / "loans.csv", generate(original, 200, seed=2))
    schema = tmp_path / "narrow.json"
    narrow = json.loads(json.dumps(LENDER_SCHEMA))
    narrow["numeric"][1]["max"] = 5  # years_at_address: the data reaches further
    schema.write_text(json.dumps(narrow))
    result = CliRunner().invoke(main, ["schema", "check", str(schema), "--data", str(data)])
    assert result.exit_code == 2 and "rows break the input contract" in result.output
    assert "years_at_address" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(main, ["schema", "check", str(tmp_path / "narrow.json"), "--data",
                                       str(_odd_lender_file(tmp_path / "odd.csv"))])
    assert result.exit_code == 2 and "`loanscore schema draft FILE` drafts a schema" in result.output


def _as_workbook(source: Path, book: Path) -> Path:
    """``source``'s rows in a workbook as Excel would hold them: numbers as numbers, under a title and a blank row,
    with a sheet of notes after it."""
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Loans"
    sheet.append(["Loan book, December 2026"])
    sheet.append([])
    with open(source, newline="") as fh:
        for k, row in enumerate(csv.reader(fh)):
            sheet.append(row if k == 0 else [int(v) if re.fullmatch(r"-?\d+", v) else v or None for v in row])
    workbook.create_sheet("Notes").append(["exported by the loan system"])
    workbook.save(book)
    return book


def _as_excel_csv(source: Path, path: Path, numbers: list[str]) -> Path:
    """``source`` as Excel saves CSV where the comma is the decimal mark: semicolons, ``numbers`` with a decimal
    comma, in the Windows code page."""
    with open(source, newline="") as fh:
        rows = list(csv.reader(fh))
    amounts = [j for j, name in enumerate(rows[0]) if name in numbers]
    path.write_text("".join(";".join(f"{v},0" if k and j in amounts and v else v for j, v in enumerate(row)) + "\r\n"
                            for k, row in enumerate(rows)), encoding="cp1252")
    return path


def test_a_draft_passes_over_a_title_but_not_a_header_beside_a_note(tmp_path) -> None:
    """With no column known yet, the header is the first line with at least half the fields of the fullest: a
    title and an export note above it are passed over; a row with a note beside the table, or a field too many,
    is not taken for the header."""
    odd = _odd_lender_file(tmp_path / "odd.csv")
    plain = _structure(_drafted(odd))
    lines = odd.read_text().splitlines(keepends=True)
    titled = tmp_path / "titled.csv"
    titled.write_text("Loan book, December 2026\n\nexported by,the loan system\n" + "".join(lines))
    assert _structure(_drafted(titled)) == plain
    noted = tmp_path / "noted.csv"
    noted.write_text("".join(lines[:3] + [lines[3].rstrip("\n") + ",see note,and another\n"] + lines[4:]))
    refused = CliRunner().invoke(main, ["schema", "draft", str(noted)])
    assert refused.exit_code == 2 and "row 3 has 66 fields; the header has 64" in refused.output  # not a header
    book = _as_workbook(odd, tmp_path / "odd.xlsx")
    assert _structure(_drafted(book, "--sheet", "Loans")) == plain


def test_training_data_is_read_as_scoring_reads_it_from_a_workbook_excels_csv_or_json_lines(tmp_path) -> None:
    """An analyst's data often lives in Excel: drafting, checking and training read a sheet, Excel's semicolon
    CSV with decimal commas, or JSON Lines, as scoring reads them (the title passed over, numbers as Excel shows
    them), with the same result as a plain CSV. The semicolon file was read as one column: "lacks the columns"."""
    from loanscore.train.data import load_dataset

    odd = _odd_lender_file(tmp_path / "odd.csv")
    book = _as_workbook(odd, tmp_path / "odd.xlsx")
    refused = CliRunner().invoke(main, ["schema", "draft", str(book)])
    assert refused.exit_code == 2 and "has values on 2 sheets ('Loans', 'Notes')" in refused.output
    assert "--sheet NAME" in refused.output
    assert _structure(_drafted(book, "--sheet", "Loans")) == _structure(_drafted(odd))
    hinted = CliRunner().invoke(main, ["schema", "draft", str(book), "--sheet", "Loans", "-o",
                                       str(tmp_path / "o.toml")])
    assert f"--data {book} --sheet Loans, then loanscore train --data {book} --sheet Loans --schema" in hinted.stderr
    schema = Schema.default()
    clean = write_csv(tmp_path / "clean.csv", generate(schema, 300, seed=3))
    from_csv, from_book = load_dataset(clean, schema), load_dataset(_as_workbook(clean, tmp_path / "c.xlsx"), schema)
    assert from_book.X.equals(from_csv.X) and (from_book.y == from_csv.y).all()
    assert from_book.fingerprint["columns"] == from_csv.fingerprint["columns"]
    excel_csv = _as_excel_csv(clean, tmp_path / "excel.csv", ["LIMIT_BAL", "BILL_AMT1", "PAY_AMT6"])
    token = INPUT_ENCODING.set("cp1252")  # as --encoding cp1252 sets it
    try:
        from_excel_csv = load_dataset(excel_csv, schema)
    finally:
        INPUT_ENCODING.reset(token)
    assert from_excel_csv.X.equals(from_csv.X) and (from_excel_csv.y == from_csv.y).all()
    with open(clean, newline="") as fh:  # JSON Lines from a system's API: numbers as numbers, null for missing
        records = [{k: None if v == "" else json.loads(v) if re.fullmatch(r"-?\d+(\.\d+)?", v) else v
                    for k, v in r.items()} for r in csv.DictReader(fh)]
    (tmp_path / "clean.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    from_jsonl = load_dataset(tmp_path / "clean.jsonl", schema)
    assert from_jsonl.X.equals(from_csv.X) and (from_jsonl.y == from_csv.y).all()
    lines = clean.read_text().splitlines(keepends=True)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("".join(lines[:1] + [line.replace("\n", ",extra\n") for line in lines[1:3]] + lines[3:]))
    with pytest.raises(InputError, match=r"2 rows cannot be read; fix them.*\n  row 1 has 26 fields; the "
                                         r"header has 25"):
        load_dataset(ragged, schema)
    drafted = CliRunner().invoke(main, ["schema", "draft", str(odd), "-o", str(tmp_path / "odd.toml")])
    assert drafted.exit_code == 0, drafted.output
    checks = [CliRunner().invoke(main, ["schema", "check", str(tmp_path / "odd.toml"), "--data", str(data)])
              for data in (odd, book)]
    assert checks[0].exit_code == checks[1].exit_code == 2 and "the input contract" in checks[1].output
    problems = re.findall(r"  (.*) in row (\d+)\.\n", checks[0].output)
    assert problems and all(f"{what} in row {row} (Excel row {int(row) + 3})." in checks[1].output
                            for what, row in problems)  # the same cells to fix, named as Excel shows them too




def test_json_lines_columns_are_every_key_of_the_file_not_only_the_first_records(tmp_path) -> None:
    """A system's export may leave a key out until it has a value: `region` appears from record 8,500 on, past
    the first chunk (8,192 records). Drafted and trained on like any column, not silently left out ("lacks the
    columns" for a schema's field)."""
    from loanscore.train.data import load_dataset

    original = Schema.from_dict(LENDER_SCHEMA)
    columns = generate(original, 9000, seed=4)
    records = [{k: v[i] for k, v in columns.items() if k != "region" or i >= 8500} for i in range(9000)]
    data = tmp_path / "loans.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    drafted = _drafted(data)
    (region,) = [f for f in drafted.categorical if f.name == "region"]
    assert set(region.codes) == set(columns["region"][8500:])
    loaded = load_dataset(data, original)
    assert (loaded.X["region"].iloc[8500:] == [str(v) for v in columns["region"][8500:]]).all()
    assert (loaded.X["region"].iloc[:8500] == "").all()  # a key a record lacks: its value is missing
