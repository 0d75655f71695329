"""Score points on the command line: `score --points`, cut-offs in points, `watch`, `explain`, `cutoffs`,
`loanscore points`, and the audit record."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from click.testing import CliRunner

from loanscore.cli.main import main
from loanscore.runtime.points import PointsScale

OURS = "points = 500\nodds = 19\npdo = 40\nlowest = 0\nhighest = 1000\n"


def run(*args, env=None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, [*map(str, args)], env=env)


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def probabilities(scorer, schema, rows) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The runtime's own P(default) of ``rows`` (not rounded as printed; NaN where rejected)."""
    return scorer.score_columns({c: [r[c] for r in rows] for c in schema.input_names}).probability.astype(np.float64)


def test_each_row_gets_the_points_of_its_probability_and_a_rejected_row_none(scorer, schema, applicants,
                                                                            write_csv) -> None:
    rows = applicants(300, seed=41)
    rows[5]["AGE"] = "500"
    result = run("score", write_csv(rows), "--points", "--grade", "-q")
    assert result.exit_code == 1, result.output
    out = rows_of(result.stdout)
    assert list(out[0])[:5] == ["ID", "probability_of_default", "points", "grade", "decision"]
    p = probabilities(scorer, schema, rows)
    assert [r["points"] for r in out] == PointsScale().text(p)
    assert out[5]["points"] == "" and out[5]["error"] and len({r["points"] for r in out}) > 50
    jsonl = run("score", write_csv(rows), "--points", "--format", "jsonl", "-q")
    assert [json.loads(line)["points"] for line in jsonl.stdout.splitlines()] == PointsScale().values(p)


def test_the_lenders_scale_from_the_option_or_the_environment(scorer, schema, applicants, write_csv,
                                                              tmp_path) -> None:
    ours = tmp_path / "ours.toml"
    ours.write_text(OURS, "utf-8")
    rows = applicants(200, seed=42)
    source = write_csv(rows)
    by_option = run("score", source, "--points", "--points-scale", ours, "-q")
    by_env = run("score", source, "--points", "-q", env={"LOANSCORE_POINTS_SCALE": str(ours)})
    assert by_option.exit_code == by_env.exit_code == 0 and by_option.stdout == by_env.stdout
    assert [r["points"] for r in rows_of(by_option.stdout)] == PointsScale.load(ours).text(
        probabilities(scorer, schema, rows))
    plain = run("score", source, "-q", env={"LOANSCORE_POINTS_SCALE": str(ours)})  # the environment adds no column
    assert "points" not in plain.stdout.splitlines()[0]


def test_cut_offs_in_points_decide_exactly_as_the_points_read(applicants, write_csv) -> None:
    source = write_csv(applicants(1500, seed=43))
    result = run("score", source, "--approve-from-points", 545, "--decline-below-points", 520, "-q")
    assert result.exit_code == 0, result.output
    out = rows_of(result.stdout)
    assert list(out[0])[:4] == ["ID", "probability_of_default", "points", "decision"]  # the cut-offs imply --points
    points = np.array([int(r["points"]) for r in out])
    want = np.where(points >= 545, "approve", np.where(points < 520, "decline", "review"))
    assert [r["decision"] for r in out] == want.tolist() and set(want) == {"approve", "review", "decline"}
    one_sided = rows_of(run("score", source, "--approve-from-points", 560, "-q").stdout)
    threshold = run("score", source, "-q")
    assert all(r["decision"] == "approve" for r in one_sided if int(r["points"]) >= 560)
    assert [r["decision"] for r in one_sided if int(r["points"]) < 560] == [  # the rest decided by the threshold
        d["decision"].replace("approve", "review") for d, r in zip(rows_of(threshold.stdout), one_sided, strict=True)
        if int(r["points"]) < 560]


@pytest.mark.parametrize("args, message", [
    (["--approve-from-points", 540, "--approve-below", 0.1], "Give --approve-below or --approve-from-points"),
    (["--decline-below-points", 540, "--decline-from", 0.3], "Give --decline-from or --decline-below-points"),
    (["--approve-from-points", 520, "--decline-below-points", 540], "(540) must not exceed --approve-from-points"),
    (["--approve-from-points", 300], "300 is outside the points scale: scores run from 300 to 900"),
    (["--points-scale", "ours.toml"], "--points-scale scores applicants in points; add --points"),
])
def test_bad_options_stop_before_anything_is_written(args, message, applicants, write_csv, tmp_path) -> None:
    out = tmp_path / "out.csv"
    result = run("score", write_csv(applicants(5)), *args, "-o", out)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_a_bad_scale_file_is_named_and_nothing_is_written(applicants, write_csv, tmp_path) -> None:
    bad, out = tmp_path / "bad.toml", tmp_path / "out.csv"
    bad.write_text(OURS.replace("pdo = 40", "pdo = 0"), "utf-8")
    result = run("score", write_csv(applicants(5)), "--points", "--points-scale", bad, "-o", out)
    assert result.exit_code == 2 and f"Points scale {bad}: pdo (points to double the odds) must be above 0" in \
        result.output and not out.exists()


def test_watch_scores_in_points_and_the_audit_log_records_the_scale(applicants, to_csv, model_dir,
                                                                   tmp_path) -> None:
    inbox, out, log, ours = tmp_path / "inbox", tmp_path / "out", tmp_path / "audit.jsonl", tmp_path / "ours.toml"
    inbox.mkdir()
    ours.write_text(OURS, "utf-8")
    text = to_csv(applicants(40, seed=44))
    (inbox / "a.csv").write_text(text)
    (tmp_path / "a.csv").write_text(text)
    result = run("watch", inbox, "--out", out, "--model", model_dir, "--once", "--points-scale", ours,
                 "--decline-below-points", 350, "--audit-log", log)
    assert result.exit_code == 0, result.output
    scored = run("score", tmp_path / "a.csv", "--model", model_dir, "--points-scale", ours,
                 "--decline-below-points", 350, "-q")
    assert (out / "a.scored.csv").read_text() == scored.stdout and "points" in scored.stdout.splitlines()[0]
    record = json.loads(log.read_text().splitlines()[-1])
    assert {k: record["points_scale"][k] for k in ("points", "odds", "pdo", "lowest", "highest")} == {
        "points": 500, "odds": 19, "pdo": 40, "lowest": 0, "highest": 1000}
    assert record["points_scale"]["source"] == str(ours) and len(record["points_scale"]["sha256"]) == 64


def test_points_shows_the_scale_and_the_threshold_and_writes_a_file_that_reads_back(scorer, tmp_path) -> None:
    shown = run("points")
    assert shown.exit_code == 0, shown.output
    exact = float(PointsScale().exact([scorer.threshold])[0])
    whole = int(PointsScale().score([scorer.threshold])[0])
    assert f"P(default) {scorer.threshold:.4f}, is {exact:.1f} points:" in shown.output
    assert f"{whole + 1} and up are approved, {whole - 1} and below declined, {whole} either way" in shown.output
    assert "5      11.1 % - 20 %    527.1 - 547.1" in shown.output and "10     > 80 %           300 - 447.1" in \
        shown.output
    path, ours = tmp_path / "points.toml", tmp_path / "ours.json"
    assert run("points", "-o", path).exit_code == 0 and PointsScale.load(path).to_dict() == {
        **PointsScale().to_dict(), "source": str(path)}
    (tmp_path / "lender.toml").write_text(OURS, "utf-8")
    assert run("points", "--points-scale", tmp_path / "lender.toml", "--format", "json", "-o", ours).exit_code == 0
    assert PointsScale.load(ours).score([0.05]).tolist() == [500]


def test_explain_gives_every_probabilitys_points_and_each_fields_cost(applicants, write_csv, tmp_path) -> None:
    path, out = write_csv(applicants(20, seed=45)), tmp_path / "cases.jsonl"
    assert run("explain", path, "--points", "--format", "jsonl", "-o", out).exit_code == 0
    scored = rows_of(run("score", path, "--points", "-q").stdout)
    cases = [json.loads(line) for line in out.read_text().splitlines()]
    scale = PointsScale()
    assert [str(c["points"]) for c in cases] == [r["points"] for r in scored]
    for case in cases:
        assert case["typical_points"] == scale.values([case["typical_probability_of_default"]])[0]
        assert [e["points_if_typical"] for e in case["effects"]] == scale.values(
            [e["probability_if_typical"] for e in case["effects"]])
    first = cases[0]
    svg = tmp_path / "case.svg"
    assert run("explain", path, "--row", "1", "--points", "--grade", "--plot", svg).exit_code == 0
    from loanscore.runtime.grades import MasterScale

    grade = MasterScale.built_in().grade([first["probability_of_default"]])[0]
    assert f"P(default) {first['probability_of_default']:.3f}, {first['points']} points, grade {grade}, " in \
        svg.read_text()
    text = run("explain", path, "--row", "1", "--points").stdout.splitlines()
    assert text[1].startswith(f"P(default) {first['probability_of_default']:.4f}, {first['points']} points: ")
    costs = {line.split()[0]: line for line in text[4:] if line and not line.startswith(" ")}
    for effect in first["effects"]:
        lost = first["points"] - effect["points_if_typical"]
        assert f" {lost:+d} " in costs[effect["field"]] if lost else "  0  " in costs[effect["field"]]


def test_cutoffs_tabulates_a_policy_in_points(scorer, schema, applicants, write_csv, tmp_path) -> None:
    rows = applicants(1200, seed=46)
    source, out = write_csv(rows), tmp_path / "table.json"
    result = run("cutoffs", source, "--cutoff-points", 540, "--cutoff-points", 560, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    points = PointsScale().score(probabilities(scorer, schema, rows))
    table = {c["approve"]: c for c in json.loads(out.read_text())["cutoffs"]}
    assert table["from 540 points"]["approved"] == int((points >= 540).sum()) > 0
    assert table["from 560 points"]["approved"] == int((points >= 560).sum()) > 0
    refused = run("cutoffs", source, "--cutoff-points", 950)
    assert refused.exit_code == 2 and "950 is outside the points scale" in refused.output
