"""`loanscore explain`: choosing applicants, what it prints, bad input and the picture."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner
from loanscore.cli.main import main
from loanscore.runtime.explain import render_text


@pytest.fixture()
def explain(model_dir):
    """``explain(*args, input=None)``: run `loanscore explain` in-process with the shipped model."""

    def run(*args, input=None):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(main, ["explain", *map(str, args)], input=input, catch_exceptions=False)

    return run


def test_an_id_prints_that_applicants_explanation(explain, scorer, applicants, write_csv):
    rows = applicants(12, seed=4)
    path = write_csv(rows)
    result = explain(path, "--id", "7")
    assert result.exit_code == 0, result.output
    record = {k: v for k, v in rows[6].items() if k != "ID"}
    assert result.stdout == render_text(scorer.explain(record), scorer.schema, f"Applicant 7 (row 7 of {path})") + "\n"
    assert "explained 1 of 1 applicants" in result.stderr


def test_ids_and_rows_come_in_input_order_as_json_lines(explain, scorer, applicants, write_csv, tmp_path):
    rows = applicants(30, seed=5)
    out = tmp_path / "cases.jsonl"
    result = explain(write_csv(rows), "--id", "21", "--row", "3", "--id", "9", "--format", "jsonl", "-o", out)
    assert result.exit_code == 0, result.output
    cases = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(c["id"], c["row"]) for c in cases] == [("3", 3), ("9", 9), ("21", 21)]
    for case in cases:
        want = scorer.explain({k: v for k, v in rows[case["row"] - 1].items() if k != "ID"})
        assert case["probability_of_default"] == pytest.approx(want.probability, abs=1e-6)
        assert [e["field"] for e in case["effects"]] == [e.field for e in want.effects]
        status = next(e for e in case["effects"] if e["field"] == "repayment_status")
        assert [m["column"] for m in status["months"]] == list(scorer.schema.history[0].columns)


def test_without_a_choice_every_row_is_explained(explain, applicants, write_csv):
    result = explain(write_csv(applicants(6, seed=1)), "--format", "jsonl")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["row"] for line in result.stdout.splitlines()] == [1, 2, 3, 4, 5, 6]


def test_an_id_or_row_not_in_the_file_writes_nothing(explain, applicants, write_csv, tmp_path):
    out = tmp_path / "cases.txt"
    result = explain(write_csv(applicants(5)), "--id", "2", "--id", "77", "--row", "9", "-o", out)
    assert result.exit_code == 2
    assert "has no ID 77, no row 9; nothing was explained." in result.stderr
    assert not out.exists()


def test_a_rejected_row_is_named_with_its_field_and_reason_and_the_others_explained(explain, applicants, write_csv):
    rows = applicants(5, seed=2)
    rows[1]["AGE"] = "500"
    result = explain(write_csv(rows), "--row", "1", "--row", "2")
    assert result.exit_code == 1
    assert "Applicant 2 (row 2 of" in result.stdout
    assert "Not explained: AGE must be between 18 and 120. Got '500' in row 2." in result.stdout
    assert "Applicant 1 (row 1 of" in result.stdout and "by month" in result.stdout
    assert "explained 1 of 2 applicants; 1 could not be scored" in result.stderr


def test_one_applicant_as_json(explain, scorer, applicants):
    record = {k: v for k, v in applicants(1, seed=9)[0].items() if k != "ID"}
    result = explain("--json", json.dumps(record), "--format", "jsonl")
    assert result.exit_code == 0, result.output
    case = json.loads(result.stdout)
    assert case["row"] is None and case["probability_of_default"] == pytest.approx(scorer.score(record).probability, abs=1e-6)
    text = explain("--json", json.dumps(record)).stdout
    assert text.startswith("The applicant (--json)\n")


def test_the_plot_draws_the_chosen_applicant(explain, applicants, write_csv, tmp_path):
    plot = tmp_path / "case.svg"
    result = explain(write_csv(applicants(4, seed=3)), "--row", "2", "--plot", plot, "-q")
    assert result.exit_code == 0, result.output
    root = ET.fromstring(plot.read_text())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "Applicant 2 (row 2 of" in plot.read_text()


def test_the_plot_needs_exactly_one_applicant(explain, applicants, write_csv, tmp_path):
    rows = applicants(4)
    rows[3]["ID"] = "2"
    path, plot = write_csv(rows), tmp_path / "case.svg"
    two = explain(path, "--row", "1", "--row", "2", "--plot", plot)
    assert two.exit_code == 2 and "--plot draws one applicant" in two.stderr
    same_id = explain(path, "--id", "2", "--plot", plot)
    assert same_id.exit_code == 2 and "ID 2 is on row 2, row 4; choose one with --row." in same_id.stderr
    assert not plot.exists()


def test_usage_errors(explain, applicants, write_csv, to_csv, tmp_path):
    path = write_csv(applicants(3))
    assert explain().exit_code == 2
    assert explain(path, "--json", "{}").exit_code == 2
    assert "--json is a single applicant" in explain("--json", "{}", "--row", "1").stderr
    no_ids = tmp_path / "no_ids.csv"
    no_ids.write_text(to_csv([{k: v for k, v in r.items() if k != "ID"} for r in applicants(3)]))
    result = explain(no_ids, "--id", "1")
    assert result.exit_code == 2 and "has no ID column; choose rows with --row" in result.stderr
    assert explain(no_ids, "--row", "3", "-q").exit_code == 0


def test_a_model_without_a_population_fails_before_any_output(explain, model_dir, edit_manifest, applicants, write_csv,
                                                              tmp_path):
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    edit_manifest(model, lambda manifest: manifest.pop("population"))
    result = explain(write_csv(applicants(2)), "--model", model, "--row", "1")
    assert result.exit_code == 2 and "records no reference population" in result.stderr
    assert result.stdout == ""


def test_stdout_closed_early_is_not_an_error(model_dir, applicants, write_csv):
    import subprocess
    import sys

    path = write_csv(applicants(300))  # about 400 kB of text: more than a pipe holds
    cli = "import sys; from loanscore.cli.main import main; sys.argv[0] = 'loanscore'; main()"
    proc = subprocess.run(f"{sys.executable!r} -c {cli!r} explain {path} | head -2; exit ${{PIPESTATUS[0]}}",
                          shell=True, executable="/bin/bash", capture_output=True, timeout=120)
    assert proc.stdout.decode().startswith("Applicant 1 (row 1 of")
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr and b"BrokenPipe" not in proc.stderr


def test_the_output_and_the_plot_appear_together_or_not_at_all(explain, applicants, write_csv, tmp_path):
    path, out, plot = write_csv(applicants(3)), tmp_path / "case.txt", tmp_path / "case.svg"
    no_dir = explain(path, "--row", "1", "-o", out, "--plot", tmp_path / "absent" / "case.svg")
    assert no_dir.exit_code == 2 and "does not exist" in no_dir.stderr
    assert not out.exists()
    assert explain(path, "--row", "1", "-o", tmp_path / "absent" / "case.txt", "--plot", plot).exit_code == 2
    assert not plot.exists()
    both = explain(path, "--row", "1", "-o", out, "--plot", plot)
    assert both.exit_code == 0 and out.read_text().startswith("Applicant 1") and plot.read_text().startswith("<svg")


def test_the_text_ends_with_the_reasons_as_stated_and_a_statements_file_rewords_them(explain, applicants, write_csv,
                                                                                    tmp_path):
    rows = applicants(20, seed=6)
    path = write_csv(rows)
    words = tmp_path / "words.json"
    words.write_text(json.dumps({"repayment_status": {"higher": "D1 Late", "lower": "D2 Inactive"}}))
    shipped = [json.loads(line) for line in explain(path, "--format", "jsonl", "-q").stdout.splitlines()]
    reworded = [json.loads(line) for line in explain(path, "--format", "jsonl", "--statements", words).stdout.splitlines()]
    for a, b in zip(shipped, reworded):
        for x, y in zip(a["effects"], b["effects"]):
            assert x["field"] == y["field"] and x["effect"] == y["effect"]
            assert x["statement"] != x["field"]  # the shipped model words every field
            want = {"Late repayments in recent months": "D1 Late", "Little recent use of revolving credit": "D2 Inactive"}
            assert y["statement"] == want.get(x["statement"], x["field"])
    assert any(e["statement"] == "D1 Late" for case in reworded for e in case["effects"])
    text = explain(path, "--row", "1").stdout
    assert "\nReasons as stated to the applicant:\n  1. " in text
    result = explain(path, "--row", "1", "--statements", tmp_path / "absent.toml")
    assert result.exit_code == 2 and "Cannot read statements file" in result.stderr and result.stdout == ""


def test_grade_gives_every_probabilitys_grade_on_the_scale(explain, applicants, write_csv, tmp_path):
    """The applicant's grade is `score --grade`'s; the typical applicant's and each field's if typical are their
    probabilities' grades on the same scale (here a lender's three-grade file)."""
    from loanscore.runtime.grades import MasterScale

    ours = tmp_path / "ours.toml"
    ours.write_text('[[grade]]\nname = "A"\nupper = 0.1\n\n[[grade]]\nname = "B"\nupper = 0.3\n\n'
                    '[[grade]]\nname = "C"\nupper = 1\n')
    scale = MasterScale.load(ours)
    path, out, scored = write_csv(applicants(20, seed=8)), tmp_path / "cases.jsonl", tmp_path / "scored.csv"
    assert explain(path, "--grade", "--master-scale", ours, "--format", "jsonl", "-o", out).exit_code == 0
    assert CliRunner().invoke(main, ["score", str(path), "--grade", "--master-scale", str(ours), "-o",
                                     str(scored)]).exit_code == 0
    cases = [json.loads(line) for line in out.read_text().splitlines()]
    assert [c["grade"] for c in cases] == [line.split(",")[2] for line in scored.read_text().splitlines()[1:]]
    for case in cases:
        assert case["typical_grade"] == scale.grade([case["typical_probability_of_default"]])[0]
        assert [e["grade_if_typical"] for e in case["effects"]] == scale.grade(
            [e["probability_if_typical"] for e in case["effects"]])
    assert {c["grade"] for c in cases} | {c["typical_grade"] for c in cases} <= {"A", "B", "C"}
    text = explain(path, "--row", "1", "--grade", "--master-scale", ours).stdout.splitlines()
    assert text[1].startswith(f"P(default) {cases[0]['probability_of_default']:.4f}, grade {cases[0]['grade']}: ")
    assert text[2].endswith(f", grade {cases[0]['typical_grade']}") and f"Grades: the master scale in {ours}." in text
    plain = explain(path, "--row", "1", "--format", "jsonl").stdout
    assert "grade" not in json.loads(plain)
    assert explain(path, "--row", "1", "--master-scale", ours).exit_code == 2  # a usage error: add --grade
