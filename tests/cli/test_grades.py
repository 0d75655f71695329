"""Rating grades on the command line: `score --grade`, `backtest --by-grade`, `watch --grade`, `loanscore grades`."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
from click.testing import CliRunner

from loanscore.cli.main import main
from loanscore.runtime.grades import MasterScale

LABEL = "default.payment.next.month"
OURS = '[[grade]]\nname = "low"\nupper = 0.1\n\n[[grade]]\nname = "medium"\nupper = 0.3\n\n[[grade]]\nname = "high"\nupper = 1\n'


def run(*args, env=None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, [*map(str, args)], env=env)


def test_each_row_gets_the_grade_of_its_probability_and_a_rejected_row_none(applicants, write_csv, tmp_path) -> None:
    rows = applicants(200, seed=4)
    rows[7]["AGE"] = "500"
    result = run("score", write_csv(rows), "--grade", "-q")
    assert result.exit_code == 1, result.output
    out = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(out[0])[:4] == ["ID", "probability_of_default", "grade", "decision"]
    p = np.array([float(r["probability_of_default"] or "nan") for r in out])
    assert [r["grade"] for r in out] == MasterScale.built_in().grade(p)
    assert out[7]["grade"] == "" and out[7]["error"] and len({r["grade"] for r in out}) >= 4


def test_the_lenders_scale_from_the_option_or_the_environment(applicants, write_csv, tmp_path) -> None:
    ours = tmp_path / "ours.toml"
    ours.write_text(OURS, "utf-8")
    source = write_csv(applicants(400, seed=5))
    by_option = run("score", source, "--grade", "--master-scale", ours, "--format", "jsonl", "-q")
    by_env = run("score", source, "--grade", "--format", "jsonl", "-q", env={"LOANSCORE_MASTER_SCALE": str(ours)})
    assert by_option.exit_code == by_env.exit_code == 0 and by_option.stdout == by_env.stdout
    records = [json.loads(line) for line in by_option.stdout.splitlines()]
    want = ["low" if r["probability_of_default"] <= 0.1 else "medium" if r["probability_of_default"] <= 0.3 else "high"
            for r in records]
    assert [r["grade"] for r in records] == want and set(want) == {"low", "medium", "high"}
    plain = run("score", source, "-q", env={"LOANSCORE_MASTER_SCALE": str(ours)})  # the environment adds no column
    assert "grade" not in plain.stdout.splitlines()[0]


def test_a_scale_without_grade_or_a_bad_scale_file_stops_before_anything_is_written(applicants, write_csv,
                                                                                     tmp_path) -> None:
    source, out = write_csv(applicants(5)), tmp_path / "out.csv"
    alone = run("score", source, "--master-scale", tmp_path / "x.toml", "-o", out)
    assert alone.exit_code == 2 and "--master-scale grades applicants; add --grade" in alone.output
    bad = tmp_path / "bad.toml"
    bad.write_text(OURS.replace("upper = 0.3", "upper = 0.05"), "utf-8")
    result = run("score", source, "--grade", "--master-scale", bad, "-o", out)
    assert result.exit_code == 2 and "grade 2 (medium): upper 0.05 is not above grade 1's 0.1" in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_grades_shows_the_scale_and_writes_one_that_reads_back(tmp_path) -> None:
    shown = run("grades")
    assert shown.exit_code == 0 and "5      11.1 % - 20 %    1:4" in shown.output and "10     > 80 %" in shown.output
    path = tmp_path / "grades.toml"
    assert run("grades", "-o", path).exit_code == 0
    assert MasterScale.load(path).upper == MasterScale.built_in().upper
    ours = tmp_path / "ours.json"
    assert run("grades", "--master-scale", path, "--format", "json", "-o", ours).exit_code == 0
    assert MasterScale.load(ours).upper == MasterScale.built_in().upper
    path.write_text(OURS.replace('name = "high"', 'name = "low"'), "utf-8")
    bad = run("grades", "--master-scale", path)
    assert bad.exit_code == 2 and "grade 3 is named 'low' like grade 1" in bad.output


def test_backtest_by_grade_tests_each_grade_and_writes_it(scorer, schema, applicants, write_csv, tmp_path) -> None:
    rows = applicants(3000, seed=9)
    p = scorer.score_columns({c: [r[c] for r in rows] for c in schema.input_names}).probability
    rng = np.random.default_rng(9)
    high = p > 0.3  # the lender's "high" grade defaults half as often as predicted
    y = rng.random(len(p)) < np.where(high, 0.5 * p, p)
    book = write_csv([dict(r, **{LABEL: str(int(d))}) for r, d in zip(rows, y, strict=True)])
    ours, out = tmp_path / "ours.toml", tmp_path / "backtest.json"
    ours.write_text(OURS, "utf-8")
    result = run("backtest", book, "--by-grade", "--master-scale", ours, "-o", out, "-q")
    assert result.exit_code == 4, result.output
    report = json.loads(out.read_text())["grades"]
    assert report["master_scale"] == str(ours) and report["verdict"] == "alert"
    assert [(g["band"], g["rows"]) for g in report["grades"]] == [
        ("low (<= 10 %)", int(np.sum(p <= 0.1))), ("medium (10 % - 30 %)", int(np.sum((p > 0.1) & ~high))),
        ("high (> 30 %)", int(high.sum()))]
    assert [g["p_value"] < report["alpha"] for g in report["grades"]] == [False, False, True]
    assert "Calibration by grade (master scale:" in result.output and "grades:         alert" in result.output


def test_watch_grades_and_the_audit_log_names_the_scale(applicants, to_csv, model_dir, tmp_path) -> None:
    inbox, out, log, ours = tmp_path / "inbox", tmp_path / "out", tmp_path / "audit.jsonl", tmp_path / "ours.toml"
    inbox.mkdir()
    ours.write_text(OURS, "utf-8")
    (inbox / "a.csv").write_text(to_csv(applicants(20, seed=6)))
    result = run("watch", inbox, "--out", out, "--model", model_dir, "--once", "--grade", "--master-scale", ours,
                 "--audit-log", log)
    assert result.exit_code == 0, result.output
    with open(out / "a.scored.csv", newline="") as fh:
        assert {r["grade"] for r in csv.DictReader(fh)} <= {"low", "medium", "high"}
    record = json.loads(log.read_text().splitlines()[-1])
    assert record["master_scale"]["path"] == str(ours.resolve()) and len(record["master_scale"]["sha256"]) == 64


def test_compare_by_grade_shows_the_migration_matrix(model_dir, applicants, write_csv, tmp_path) -> None:
    rows = applicants(300, seed=10)
    book = write_csv([dict(r, **{LABEL: str(k % 4 == 0)}) for k, r in enumerate(rows)])
    out = tmp_path / "compare.json"
    result = run("compare", book, "--challenger", model_dir, "--by-grade", "-o", out, "-q")
    assert result.exit_code == 0, result.output
    m = json.loads(out.read_text())["migration"]
    matrix = np.array(m["rows"])
    assert matrix.sum() == 300 and np.trace(matrix) == 300 and m["same_grade"] == 1.0  # a model against itself
    assert "Grade migration (master scale: built-in" in result.output
    assert "Same grade 100.0%, one grade apart 0.0%, further 0.0%" in result.output
