"""``loanscore backtest`` with the shipped model: verdicts and exit status, rejected rows, formats, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from loanscore.cli.main import main

LABEL = "default.payment.next.month"


def run(*args: str, **kwargs):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["backtest", *args], **kwargs)


@pytest.fixture(scope="module")
def book(scorer, schema, applicants) -> tuple[list[dict[str, str]], np.ndarray]:
    """3,000 generated applicants with outcomes drawn from the shipped model's own probabilities."""
    rows = applicants(3000, seed=8)
    p = scorer.score_columns({c: [r[c] for r in rows] for c in schema.input_names}).probability
    y = np.random.default_rng(8).random(len(p)) < p
    return [dict(r, **{LABEL: str(int(d))}) for r, d in zip(rows, y)], p


def test_outcomes_drawn_from_the_model_pass_calibration(book, write_csv, tmp_path) -> None:
    rows, p = book
    out = tmp_path / "backtest.json"
    result = run(str(write_csv(rows)), "-o", str(out))
    report = json.loads(out.read_text())
    assert result.exit_code == (4 if report["verdict"] == "alert" else 0), result.output
    assert report["calibration"]["verdict"] == "pass" and "calibration:    pass" in result.output
    assert report["calibration"]["expected_defaults"] == pytest.approx(p.sum(), rel=1e-9)
    assert report["training_data"] is False and "in-sample" not in result.output
    assert "3,000 rows read, 3,000 tested" in result.output


def test_reversed_outcomes_are_an_alert_with_exit_4_and_a_plot_that_shows_it(book, write_csv, tmp_path) -> None:
    import xml.etree.ElementTree as ET

    rows, _ = book
    flipped = [dict(r, **{LABEL: str(1 - int(r[LABEL]))}) for r in rows]
    plot, out = tmp_path / "backtest.svg", tmp_path / "backtest.json"
    result = run(str(write_csv(flipped)), "--plot", str(plot), "-o", str(out))
    assert result.exit_code == 4, result.output
    assert "discrimination: alert" in result.output and result.output.rstrip().endswith("overall: alert")
    svg = ET.parse(plot).getroot()  # well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    bands = json.loads(out.read_text())["calibration"]["bands"]
    dots = svg.findall(f"{ns}circle")
    alpha = 0.01 / len(bands)
    assert len(dots) == len(bands)
    assert [d.get("fill") == "#c0392b" for d in dots] == [b["p_value"] < alpha for b in bands]
    assert len(svg.findall(f"{ns}polyline")) == 1  # the ROC curve
    assert "ROC: alert" in "".join(svg.itertext())


def test_rows_without_a_usable_outcome_or_field_are_listed_not_tested(book, write_csv, tmp_path) -> None:
    rows = [dict(r) for r in book[0][:200]]
    rows[0][LABEL] = ""
    rows[6][LABEL] = "2"
    rows[9]["AGE"] = "500"
    rows[12][LABEL] = "yes"
    rows[12]["SEX"] = "x"
    out = tmp_path / "backtest.json"
    result = run(str(write_csv(rows)), "-o", str(out))
    assert "3 rows of" in result.output and "left out of the back-test" in result.output
    assert f"{LABEL} must be 0 (repaid), 1 (defaulted) or blank (not known yet). Got '2' in row 7." in result.output
    assert "AGE must be between 18 and 120. Got '500' in row 10." in result.output
    assert f"SEX must be a number. Got 'x' in row 13.; {LABEL} must be 0 (repaid), 1" in result.output
    report = json.loads(out.read_text())
    assert (report["rows"], report["scored"], report["without_outcome"]) == (200, 196, 1)  # row 1: not known yet
    assert [r["row"] for r in report["rejected"]] == [7, 10, 13]
    assert "200 rows read, 196 tested, 1 without an outcome yet, 3 rejected" in result.output


def test_a_file_whose_outcomes_are_all_still_unknown_has_nothing_to_test(book, write_csv) -> None:
    rows = [dict(r, **{LABEL: ""}) for r in book[0][:50]]
    result = run(str(write_csv(rows)))
    assert result.exit_code == 2 and "None of the 50 rows of" in result.output and "has an outcome yet" in result.output


def test_another_outcome_column_and_json_lines_on_stdin_give_the_same_figures(book, write_csv, tmp_path) -> None:
    rows = book[0][:1000]
    renamed = [{("defaulted_12m" if k == LABEL else k): v for k, v in r.items()} for r in rows]
    lines = "".join(json.dumps({**r, "defaulted_12m": r["defaulted_12m"] == "1"}) + "\n" for r in renamed)
    as_csv, as_jsonl = tmp_path / "csv.json", tmp_path / "jsonl.json"
    first = run(str(write_csv(rows)), "-o", str(as_csv))
    second = run("-", "--outcome", "defaulted_12m", "--input-format", "jsonl", "-o", str(as_jsonl), input=lines)
    assert second.exit_code == first.exit_code, second.output
    a, b = json.loads(as_csv.read_text()), json.loads(as_jsonl.read_text())
    assert b["source"] == "stdin" and b["outcome"] == "defaulted_12m"
    assert (a["metrics"], a["calibration"]) == (b["metrics"], b["calibration"])


def test_a_file_of_repaid_loans_only_cannot_rank_but_is_still_checked_for_calibration(book, write_csv, tmp_path) -> None:
    out = tmp_path / "backtest.json"
    result = run(str(write_csv([dict(r, **{LABEL: "0"}) for r in book[0][:300]])), "-o", str(out))
    assert result.exit_code == 4, result.output  # no default where about 45 % were expected
    assert "ROC AUC                   n/a" in result.output
    assert "discrimination: not tested (the file holds only one outcome)" in result.output
    report = json.loads(out.read_text())  # strict JSON: an undefined AUC is null, not NaN
    assert report["metrics"]["roc_auc"] is None and report["discrimination"]["interval_95"] == [None, None]
    assert report["calibration"]["verdict"] == "alert"


def test_segments_by_a_model_field_and_by_another_column(book, write_csv, tmp_path) -> None:
    rows = [dict(r, branch=("Taipei", "Tainan", "")[i % 3]) for i, r in enumerate(book[0])]
    out = tmp_path / "backtest.json"
    result = run(str(write_csv(rows)), "--by", "EDUCATION", "--by", "branch", "-o", str(out))
    assert result.exit_code in (0, 4), result.output
    assert "Calibration by EDUCATION (alert below p 0.0014 = 0.01 / 7 segments)" in result.output
    assert "Calibration by branch (alert below p 0.0033 = 0.01 / 3 segments)" in result.output
    segments = json.loads(out.read_text())["segments"]
    education = {s["segment"]: s for s in segments["EDUCATION"]["segments"]}
    assert "1 graduate school" in education and sum(s["rows"] for s in education.values()) == 3000
    assert [s["segment"] for s in segments["branch"]["segments"]] == ["missing", "Tainan", "Taipei"]
    assert [s["rows"] for s in segments["branch"]["segments"]] == [1000, 1000, 1000]
    for s in segments["branch"]["segments"]:
        assert s["segment"] in result.output.split("Calibration by branch")[1]


@pytest.mark.parametrize(("by", "expected"), [
    ("ID", "ID has 3,000 distinct values; segments need at most 20"),
    ("nosuch", "lacks the required columns nosuch"),
    (LABEL, f"--by {LABEL} is the outcome"),
])
def test_a_segment_column_that_cannot_serve_is_refused(by, expected, book, write_csv) -> None:
    result = run(str(write_csv(book[0])), "--by", by)
    assert result.exit_code == 2 and expected in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("problem", ["no outcome column", "outcome is a field", "no rows", "no usable row",
                                     "missing file"])
def test_bad_input_gets_a_message_not_a_traceback(problem, book, write_csv, applicants, tmp_path) -> None:
    rows = book[0][:50]
    args = [str(write_csv(rows))]
    expected = "Error: "
    if problem == "no outcome column":
        args = [str(write_csv(applicants(5)))]
        expected = f"lacks the required columns {LABEL}"
    elif problem == "outcome is a field":
        args += ["--outcome", "AGE"]
        expected = "is one of the model's input fields"
    elif problem == "no rows":
        empty = tmp_path / "empty.csv"
        empty.write_text(",".join(rows[0]) + "\n")
        args = [str(empty)]
        expected = "has a header but no rows"
    elif problem == "no usable row":
        args = [str(write_csv([dict(r, **{LABEL: ""}) for r in rows]))]
        expected = "None of the 50 rows"
    else:
        args = [str(tmp_path / "nope.csv")]
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert expected in result.output and "Traceback" not in result.output
    if problem == "no outcome column":
        assert "--outcome" in result.output


def test_a_quarter_of_the_development_data_passes(dev_sample, tmp_path) -> None:
    sample = dev_sample(6000, seed=1)
    out = tmp_path / "backtest.json"
    result = run(str(sample), "-o", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["scored"] == 6000 and report["training_data"] is False
    assert report["development"]["measured_on"] == "out_of_fold"
    assert len(report["calibration"]["bands"]) == 10  # the development score deciles


def test_the_training_file_itself_is_called_in_sample(dev_data) -> None:
    result = run(str(dev_data))
    assert result.exit_code == 0, result.output
    assert "this is the file the model was trained on, so these figures are in-sample" in result.output
