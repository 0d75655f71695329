"""`loanscore fields`: the input contract from the model's schema, and blank files that score once filled in."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from loanscore.cli.main import main
from loanscore.runtime.fields import contract
from loanscore.runtime.schema import Schema


def run(*args):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, [*map(str, args)])


def test_the_contract_lists_every_column_the_model_reads_as_its_schema_says(schema) -> None:
    result = run("fields")
    assert result.exit_code == 0, result.output
    for column in schema.columns():
        assert column.name in result.stdout
    assert "AGE           age in years (protected characteristic)\n              between 18 and 120; when missing: " \
           "the row is rejected" in result.stdout
    assert "PAY_6, PAY_5, PAY_4, PAY_3, PAY_2, PAY_0 (oldest to latest)" in result.stdout
    assert "1 male, 2 female (another code is scored, with a warning)" in result.stdout


def test_a_lenders_own_schema_gives_its_own_contract() -> None:
    ours = Schema.from_dict({"name": "ours", "label": "bad", "id": "loan_no",
                             "numeric": [{"name": "income", "min": 0, "missing": "reject"}],
                             "categorical": [{"name": "region", "codes": ["N", "S"], "labels": {"N": "north"}}],
                             "history": [{"name": "arrears", "columns": ["a1", "a2", "a3"], "min": 0, "max": 12,
                                          "description": "months in arrears"}]})
    rows = contract(ours)
    assert [(r.column, r.role) for r in rows] == [("loan_no", "id"), ("income", "field"), ("region", "field"),
                                                  ("a1", "history"), ("a2", "history"), ("a3", "history"),
                                                  ("bad", "outcome")]
    assert rows[1].allowed == "at least 0" and rows[1].missing == "the row is rejected"
    assert rows[2].allowed.startswith("N north, S (another code")
    assert rows[3].what == "arrears, month 1 of 3 (oldest): months in arrears" and "(latest)" in rows[5].what
    assert rows[4].to_dict()["channel"] == "arrears" and rows[4].to_dict()["max"] == 12


def test_a_blank_csv_filled_in_scores_and_the_contract_as_json_and_csv(schema, applicants, tmp_path) -> None:
    blank, as_json, as_csv = tmp_path / "blank.csv", tmp_path / "c.json", tmp_path / "c.csv"
    result = run("fields", "--template", blank, "-o", as_json)
    assert result.exit_code == 0, result.output
    assert run("fields", "-o", as_csv).exit_code == 0
    header = blank.read_text().strip().split(",")
    assert header == [schema.id, *schema.input_names]
    with open(blank, "a", newline="") as fh:
        csv.DictWriter(fh, fieldnames=header).writerows(applicants(20, seed=91))
    scored = run("score", blank, "-q")
    assert scored.exit_code == 0 and len(scored.stdout.splitlines()) == 21
    columns = json.loads(as_json.read_text())["columns"]
    assert [c["column"] for c in columns] == [*header, schema.label]
    assert [r["column"] for r in csv.DictReader(io.StringIO(as_csv.read_text()))] == [*header, schema.label]
    assert run("fields", "--template", tmp_path / "blank.jsonl").exit_code == 2


def test_a_blank_workbook_has_the_header_and_the_contract_and_scores_once_filled_in(schema, applicants,
                                                                                     tmp_path) -> None:
    openpyxl = pytest.importorskip("openpyxl", reason="openpyxl fills the workbook in (pip install '.[test]')")
    blank = tmp_path / "blank.xlsx"
    assert run("fields", "--template", blank).exit_code == 0
    book = openpyxl.load_workbook(blank)
    assert book.sheetnames == ["applicants", "fields"]
    header = [c.value for c in book["applicants"][1]]
    assert header == [schema.id, *schema.input_names]
    listed = [row[0] for row in book["fields"].iter_rows(min_row=2, values_only=True)]
    assert listed == [*header, schema.label]
    rows = applicants(30, seed=92)
    for r in rows:  # numbers as number cells, as a person types them
        book["applicants"].append([r[h] if h == schema.id else float(r[h]) if "." in r[h] else int(r[h])
                                   for h in header])
    book.save(blank)
    source = tmp_path / "same.csv"
    with open(source, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    from_book, from_csv = run("score", blank, "-q"), run("score", source, "-q")
    assert from_book.exit_code == from_csv.exit_code == 0 and from_book.stdout == from_csv.stdout
