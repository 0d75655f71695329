"""``loanscore report eda`` on generated data: the page, its figures, its numbers, any schema."""

from __future__ import annotations

import base64
import json
import re
from collections import Counter

import pytest
from click.testing import CliRunner

from loanscore.cli.main import main
from loanscore.train.reports.eda import write_eda_report
from loanscore.train.synthetic import generate, write_csv

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TAIWAN_FIGURES = {"distributions", "default_rate_by_bin", "transitions_repayment_status", "trajectories", "correlation"}


def check_page(paths, figures, no_remote):
    html = paths["html"].read_text("utf-8")
    assert no_remote(html) == []
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(embedded) == len(figures)
    for data in embedded:
        assert base64.b64decode(data).startswith(PNG_MAGIC)
    files = {p.stem: p for p in paths["figures"].glob("*.png")}
    assert set(files) == figures
    for p in files.values():
        data = p.read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5_000, p  # a blank canvas compresses to far less
    assert base64.b64encode(files[sorted(figures)[0]].read_bytes()).decode() in html  # same bytes as embedded
    return html, json.loads(paths["json"].read_text("utf-8"))


def test_eda_report_on_the_taiwan_schema(taiwan, taiwan_columns, tmp_path, no_remote):
    cols = {k: list(v) for k, v in taiwan_columns.items()}
    cols["EDUCATION"][:7] = [5, 5, 5, 5, 0, 0, 6]  # codes the schema lists but labels "undocumented"
    cols["MARRIAGE"][10:13] = [0, 0, 0]
    path = write_csv(tmp_path / "applicants.csv", cols)
    paths = write_eda_report(path, tmp_path / "out" / "eda.html", taiwan)
    html, data = check_page(paths, TAIWAN_FIGURES, no_remote)
    y = cols[taiwan.label]
    assert data["overview"]["rows"] == len(y)
    assert data["overview"]["defaults"] == sum(y)
    issues = {f["field"]: f for f in data["overview"]["fields_with_issues"]}
    assert issues["EDUCATION"]["undocumented_codes"] == {"0": 2, "5": 4, "6": 1}
    assert issues["MARRIAGE"]["undocumented_codes"] == {"0": 3}
    assert set(issues) == {"EDUCATION", "MARRIAGE"}
    assert "5 (undocumented): 4" in html
    assert "Data: &quot;default of credit card clients&quot;" in html and "CC BY 4.0" in html
    # every bin's counts add up to the rows, field by field
    per_field = Counter()
    for b in data["default_rate_by_bin"]:
        per_field[b["field"]] += b["count"]
    assert set(per_field.values()) == {len(y)}
    assert data["summary"] and data["signals"][0]["auc"] >= data["signals"][-1]["auc"]


def test_invalid_missing_and_unknown_values_are_counted(taiwan, taiwan_columns, tmp_path, no_remote):
    cols = {k: list(v) for k, v in taiwan_columns.items()}
    cols["AGE"][:3] = ["abc", "500", ""]          # two invalid, one missing (AGE is required)
    cols["SEX"][:2] = [9, 9]                       # a code the schema does not list
    cols[taiwan.label][-1] = "maybe"               # a bad label: the row is dropped and counted
    path = write_csv(tmp_path / "dirty.csv", cols)
    paths = write_eda_report(path, tmp_path / "dirty.html", taiwan)
    _, data = check_page(paths, TAIWAN_FIGURES, no_remote)
    issues = {f["field"]: f for f in data["overview"]["fields_with_issues"]}
    assert (issues["AGE"]["invalid"], issues["AGE"]["missing"]) == (2, 1)
    assert issues["AGE"]["invalid_examples"] == ["500", "abc"]
    assert issues["SEX"]["unknown_codes"] == {"9": 2}
    assert data["overview"]["bad_label_rows"] == 1
    assert data["overview"]["rows"] == len(cols["AGE"]) - 1
    assert data["overview"]["rejected_rows"] == 3


def test_eda_report_follows_any_schema(other_schema, tmp_path, no_remote):
    cols = generate(other_schema, 400, seed=2)
    cols["region"][:9] = ["X"] * 9
    path = write_csv(tmp_path / "other.csv", cols)
    paths = write_eda_report(path, tmp_path / "other.html", other_schema)
    html, data = check_page(paths, {"distributions", "default_rate_by_bin", "transitions_arrears", "trajectories",
                                    "correlation"}, no_remote)
    assert data["transitions"]["arrears"]["states"]
    assert len(data["trajectories"]["balance"]["payers"]["median"]) == 12
    assert "Yeh" not in html  # a lender's own data is not credited to the UCI data set
    assert {f["field"]: f for f in data["overview"]["fields_with_issues"]}["region"]["undocumented_codes"] == {"X": 9}


def test_cli_eda(taiwan_csv, tmp_path):
    out = tmp_path / "cli" / "eda.html"
    result = CliRunner().invoke(main, ["report", "eda", "--data", str(taiwan_csv), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and (tmp_path / "cli" / "eda_figures" / "correlation.png").is_file()
    assert (tmp_path / "cli" / "eda.json").is_file()


def test_cli_eda_names_the_missing_columns(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("LIMIT_BAL,AGE\n1000,30\n")
    result = CliRunner().invoke(main, ["report", "eda", "--data", str(bad), "--output", str(tmp_path / "x.html")])
    assert result.exit_code == 2
    assert "lacks the columns" in result.output and "SEX" in result.output
    assert not (tmp_path / "x.html").exists()


@pytest.mark.parametrize("args", [["--data", "nope.csv"], []])
def test_cli_eda_usage_errors(args, tmp_path):
    result = CliRunner().invoke(main, ["report", "eda", *args, "--output", str(tmp_path / "x.html")])
    assert result.exit_code == 2


def test_a_report_never_replaces_the_data_it_reads(taiwan_columns, tmp_path) -> None:
    """`--data d.json --output d.html`: the page's numbers go to d.json, which is the data; before, the report
    replaced the applicants with its numbers. Refused before anything is written."""
    rows = [dict(zip(taiwan_columns, values)) for values in zip(*taiwan_columns.values())]
    data = tmp_path / "d.json"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    before = data.read_bytes()
    result = CliRunner().invoke(main, ["report", "eda", "--data", str(data), "--output", str(tmp_path / "d.html")])
    assert result.exit_code == 2, result.output
    assert f"Cannot write {data}: it is a file this command reads" in result.output
    assert data.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["d.json"]
