"""``loanscore monitor``: the table, the exit status, rejected rows, the JSON report and plot, a model without a reference."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from loanscore.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["monitor", *args])


@pytest.fixture()
def files(write_csv, applicants):  # type: ignore[no-untyped-def]
    rows = applicants(2000, seed=4)
    moved = [dict(r, LIMIT_BAL=str(max(1, int(r["LIMIT_BAL"]) // 100))) for r in rows]
    moved[4]["AGE"] = "500"
    moved[9]["SEX"] = "x"
    return {"base": write_csv(applicants(2000, seed=3), name="base.csv"), "same": write_csv(rows, name="same.csv"),
            "moved": write_csv(moved, name="moved.csv")}


def test_a_sample_of_the_same_population_is_stable(files) -> None:
    result = run(str(files["same"]), "--reference", str(files["base"]))
    assert result.exit_code == 0, result.output
    assert "overall: stable" in result.output
    assert "2,000 rows read, 2,000 scored" in result.output


def test_a_shift_exits_4_and_names_the_field(files, tmp_path) -> None:
    out, plot = tmp_path / "stability.json", tmp_path / "stability.svg"
    result = run(str(files["moved"]), "--reference", str(files["base"]), "-o", str(out), "--plot", str(plot))
    assert result.exit_code == 4, result.output
    limit_line = next(line for line in result.output.splitlines() if line.startswith("LIMIT_BAL"))
    assert limit_line.endswith("shift")
    report = json.loads(out.read_text())
    assert report["verdict"] == "shift"
    assert report["fields"]["LIMIT_BAL"]["verdict"] == "shift" and report["fields"]["AGE"]["verdict"] == "stable"
    assert report["fields"]["LIMIT_BAL"]["psi"] >= 0.25
    words = "".join(ET.parse(plot).getroot().itertext())
    assert "LIMIT_BAL, the field that moved most" in words and "overall shift" in words


def test_rejected_rows_are_listed_with_row_field_and_reason_not_binned(files, tmp_path) -> None:
    out = tmp_path / "stability.json"
    result = run(str(files["moved"]), "--reference", str(files["base"]), "-o", str(out))
    assert "2 rows of" in result.output and "could not be scored" in result.output
    assert "AGE must be between 18 and 120. Got '500' in row 5." in result.output
    assert "SEX must be a number. Got 'x' in row 10." in result.output
    report = json.loads(out.read_text())
    assert (report["rows"], report["scored"]) == (2000, 1998)
    assert [r["row"] for r in report["rejected"]] == [5, 10]
    for variable in [report["score"], *report["fields"].values()]:
        assert sum(b["count"] for b in variable["bins"]) == 1998


def test_json_lines_from_stdin_give_the_same_figures_as_the_csv_file(files, tmp_path) -> None:
    with open(files["same"], newline="") as fh:
        lines = "".join(json.dumps(row) + "\n" for row in csv.DictReader(fh))
    as_csv, as_jsonl = tmp_path / "csv.json", tmp_path / "jsonl.json"
    run(str(files["same"]), "--reference", str(files["base"]), "-o", str(as_csv))
    result = CliRunner().invoke(main, ["monitor", "-", "--input-format", "jsonl", "--reference", str(files["base"]),
                                       "-o", str(as_jsonl)], input=lines)
    assert result.exit_code == 0, result.output
    a, b = json.loads(as_csv.read_text()), json.loads(as_jsonl.read_text())
    assert b["source"] == "stdin" and b["rows"] == 2000
    assert (a["score"], a["fields"]) == (b["score"], b["fields"])


def test_the_file_against_itself_has_no_shift_at_all(files) -> None:
    result = run(str(files["base"]), "--reference", str(files["base"]))
    assert result.exit_code == 0, result.output
    psi = [line.split()[1] for line in result.output.splitlines()[5:] if line and not line.startswith("overall")]
    assert len(psi) == 24 and set(psi) == {"0.000"}  # the score and 23 fields


def test_several_files_side_by_side_show_where_the_shift_began(files, tmp_path) -> None:
    out, plot = tmp_path / "trend.json", tmp_path / "trend.svg"
    result = run(str(files["same"]), str(files["moved"]), str(files["same"]), "--reference", str(files["base"]),
                 "-o", str(out), "--plot", str(plot))
    assert result.exit_code == 4, result.output
    assert f"Population stability of 3 files against {files['base']}, 2,000 rows" in result.output
    assert f"  2  {files['moved']}: 2,000 rows read, 1,998 scored, 2 rejected" in result.output
    limit = next(line for line in result.output.splitlines() if line.startswith("LIMIT_BAL")).split()
    assert limit[2].endswith("!") and limit[-1] == "shift" and not limit[1].endswith("!") and limit[1] == limit[3]
    report = json.loads(out.read_text())
    assert report["verdict"] == "shift" and report["not_compared"] == []
    assert [f["verdict"] for f in report["files"]] == ["stable", "shift", "stable"]
    assert report["files"][0]["fields"] == report["files"][2]["fields"]  # the same file gives the same figures
    names = {p.find("{http://www.w3.org/2000/svg}title").text.split(":")[0]
             for p in ET.parse(plot).getroot().iter("{http://www.w3.org/2000/svg}polyline")}
    assert {"LIMIT_BAL", "AGE", "probability_of_default"} <= names


def test_grades_are_compared_with_the_shipped_reference_and_agree_with_score(files, model_dir, tmp_path) -> None:
    """monitor --grade counts each grade as `score --grade` assigns it, against the grades recorded at export."""
    out, plot, scored = tmp_path / "stability.json", tmp_path / "stability.svg", tmp_path / "scored.csv"
    result = run(str(files["moved"]), "--grade", "-o", str(out), "--plot", str(plot))
    assert result.exit_code == 4, result.output
    assert CliRunner().invoke(main, ["score", str(files["moved"]), "--grade", "-o", str(scored)]).exit_code == 1
    grades = [r["grade"] for r in csv.DictReader(scored.read_text().splitlines()) if r["grade"]]
    report = json.loads(out.read_text())["grade"]
    assert [b["count"] for b in report["bins"]] == [grades.count(str(k)) for k in range(1, 11)]
    recorded = json.loads((model_dir / "manifest.json").read_text())["population"]["grades"]
    assert sum(recorded["counts"]) == 24_000 and [b["reference"] for b in report["bins"]] == pytest.approx(
        [c / 24_000 for c in recorded["counts"]], abs=1e-6)
    lines = result.output.splitlines()
    assert next(line for line in lines if line.startswith("grade ")).split()[1] == f"{report['psi']:.3f}"
    assert "Grades on the built-in master scale (each grade doubles the odds of default):" in lines
    assert f"{report['herfindahl']['reference']:.3f} -> {report['herfindahl']['actual']:.3f}" in result.output
    assert "grade, the rating grades" in "".join(ET.parse(plot).getroot().itertext())
    without = run(str(files["moved"]), "-o", str(out))
    assert "grade" not in json.loads(out.read_text()) and "Grades on" not in without.output


def test_another_master_scale_needs_its_own_reference(files, tmp_path) -> None:
    ours = tmp_path / "ours.toml"
    ours.write_text('[[grade]]\nname = "A"\nupper = 0.1\n\n[[grade]]\nname = "B"\nupper = 1\n')
    refused = run(str(files["same"]), "--grade", "--master-scale", str(ours))
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert "graded on the built-in master scale" in refused.output and "--reference FILE" in refused.output
    out = tmp_path / "trend.json"
    result = run(str(files["same"]), str(files["moved"]), "--reference", str(files["base"]), "--grade",
                 "--master-scale", str(ours), "-o", str(out))
    assert result.exit_code == 4, result.output
    lines = result.output.splitlines()
    grade_row = next(line for line in lines if line.startswith("grade ") and "concentration" not in line).split()
    hhi_row = next(line for line in lines if line.startswith("grade concentration (HHI)")).split()[3:]
    files_ = json.loads(out.read_text())["files"]
    assert len(grade_row) == 4 and [c.rstrip("*!?") for c in grade_row[1:3]] == [f"{f['grade']['psi']:.3f}"
                                                                               for f in files_]
    herfindahl = [files_[0]["grade"]["herfindahl"]["reference"], *[f["grade"]["herfindahl"]["actual"] for f in files_]]
    assert hhi_row == [f"{h:.3f}" for h in herfindahl]
    assert [[b["bin"] for b in f["grade"]["bins"]] for f in files_] == [["A", "B"], ["A", "B"]]
    assert files_[0]["grade"]["master_scale"]["source"] == str(ours)
    usage = run(str(files["same"]), "--master-scale", str(ours))
    assert usage.exit_code == 2 and "add --grade" in usage.output


def test_a_file_that_cannot_be_compared_is_named_and_the_others_still_are(files, tmp_path) -> None:
    out = tmp_path / "trend.json"
    missing = tmp_path / "2026_10.csv"
    result = run(str(files["same"]), str(missing), str(files["same"]), "--reference", str(files["base"]), "-o", str(out))
    assert result.exit_code == 2, result.output
    assert f"Error: Cannot read {missing}" in result.output and "It is left out of the trend." in result.output
    assert "Traceback" not in result.output
    report = json.loads(out.read_text())
    assert [f["verdict"] for f in report["files"]] == ["stable", "stable"]
    assert [f["file"] for f in report["not_compared"]] == [str(missing)]
    alone = run(str(missing), str(tmp_path / "also_missing.csv"))
    assert alone.exit_code == 2 and "None of the 2 files could be compared." in alone.output
    twice = run("-", "-")
    assert twice.exit_code == 2 and "Only one of INPUT and --reference can be stdin" in twice.output


def test_a_model_without_a_reference_says_how_to_get_one(files, model_dir, edit_manifest, tmp_path) -> None:
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    edit_manifest(model, lambda manifest: manifest.pop("population"))
    result = run(str(files["same"]), "--model", str(model))
    assert result.exit_code == 2
    assert "records no reference population" in result.output and "--data" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("problem", ["missing file", "no rows", "no scorable row", "empty reference", "unwritable report"])
def test_bad_input_gets_a_message_not_a_traceback(problem, files, write_csv, applicants, tmp_path) -> None:
    args = [str(files["same"]), "--reference", str(files["base"])]
    if problem == "missing file":
        args[0] = str(tmp_path / "nope.csv")
    elif problem == "no rows":
        empty = tmp_path / "empty.csv"
        empty.write_text(",".join(applicants(1)[0]) + "\n")  # the header alone
        args[0] = str(empty)
    elif problem == "empty reference":
        empty = tmp_path / "empty.csv"
        empty.write_text(",".join(applicants(1)[0]) + "\n")
        args[2] = str(empty)
    elif problem == "no scorable row":
        args[0] = str(write_csv([dict(r, AGE="7") for r in applicants(3)], name="bad.csv"))
    else:
        args += ["-o", str(tmp_path / "no" / "such" / "dir.json")]
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines()[-1].startswith("Error: ") and "Traceback" not in result.output
    assert not list(tmp_path.glob("**/.*.tmp"))


def test_the_development_data_against_the_shipped_reference(dev_sample, tmp_path) -> None:
    """A random quarter of the development data, like the held-back clients, sits within chance of the reference."""
    sample = dev_sample(6000, seed=0)
    out = tmp_path / "stability.json"
    result = run(str(sample), "-o", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["reference"]["training_data"] is True and report["scored"] == 6000
    for name, variable in {"score": report["score"], **report["fields"]}.items():
        assert variable["verdict"] == "stable" and variable["psi"] <= variable["chance_99"], name


def test_the_readme_drift_example_shifts_exactly_what_it_moved(dev_data, tmp_path) -> None:
    """benchmarks/drift_example.py, as docs/monitoring.md runs it: halved credit lines and a later PAY_0 shift; the rest stays."""
    out, plot = tmp_path / "drift.json", tmp_path / "drift.svg"
    script = ROOT / "benchmarks" / "drift_example.py"
    done = subprocess.run([sys.executable, str(script), "--data", str(dev_data), "--rows", "3000", "--seed", "2",
                           "--out", str(out), "--plot", str(plot)], capture_output=True, text=True)
    assert done.returncode == 0 and "exit status 4" in done.stdout, done.stdout + done.stderr
    report = json.loads(out.read_text())
    assert [(r["row"], r["error"]) for r in report["rejected"]] == [
        (row, f"AGE must be between 18 and 120. Got '500' in row {row}.") for row in (11, 21, 31)]
    verdicts = {name: f["verdict"] for name, f in report["fields"].items()}
    assert verdicts.pop("LIMIT_BAL") == verdicts.pop("PAY_0") == report["score"]["verdict"] == "shift"
    assert set(verdicts.values()) == {"stable"}
    assert "PAY_0, the field that moved most" in "".join(ET.parse(plot).getroot().itertext())


def test_the_drift_example_over_months_builds_up_file_by_file(dev_data, tmp_path) -> None:
    """drift_example.py --months 3: none, half and all of the rows moved; the PSI of what moved grows in that order."""
    out = tmp_path / "trend.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "drift_example.py"), "--data", str(dev_data),
                           "--rows", "2000", "--months", "3", "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0 and "exit status 4" in done.stdout, done.stdout + done.stderr
    files = json.loads(out.read_text())["files"]
    assert [f["source"] for f in files] == [f"applicants_month{k}.csv" for k in (1, 2, 3)]
    assert files[0]["verdict"] == "stable" and files[2]["verdict"] == "shift"
    for name in ("LIMIT_BAL", "PAY_0"):
        psi = [f["fields"][name]["psi"] for f in files]
        assert psi[0] < psi[1] < psi[2] and psi[2] >= 0.25, name
    assert {f["fields"]["AGE"]["verdict"] for f in files} == {"stable"}
