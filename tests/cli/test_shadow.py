"""Shadow scoring: `score --shadow` and `watch --shadow` score with a second model that decides nothing."""

from __future__ import annotations

import csv
import io
import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from loanscore.cli.main import main


def run(*args, env=None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, [*map(str, args)], env=env)


@pytest.fixture()
def strict(model_dir, edit_manifest, tmp_path):  # type: ignore[no-untyped-def]
    """The shipped model with a stricter threshold (0.12): the same probabilities, other decisions."""
    copy = tmp_path / "strict"
    shutil.copytree(model_dir, copy)
    return edit_manifest(copy, lambda manifest: manifest["threshold"].update(value=0.12))


def test_the_shadow_models_results_close_each_row_and_decide_nothing(strict, applicants, write_csv,
                                                                     tmp_path) -> None:
    rows = applicants(1000, seed=51)
    rows[9]["AGE"] = "500"
    source, log = write_csv(rows), tmp_path / "audit.jsonl"
    plain = run("score", source, "-q")
    result = run("score", source, "--shadow", strict, "--audit-log", log)
    assert result.exit_code == 1, result.output  # row 10 rejected, by both
    out = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(out[0])[-3:] == ["shadow_probability", "shadow_decision", "shadow_error"]
    assert [{k: r[k] for k in list(r)[:5]} for r in out] == list(csv.DictReader(io.StringIO(plain.stdout)))
    assert [r["shadow_probability"] for r in out] == [r["probability_of_default"] for r in out]
    p = np.array([float(r["probability_of_default"] or "nan") for r in out])
    want = np.where(np.isnan(p), "", np.where(p < 0.12, "approve", "decline"))
    assert [r["shadow_decision"] for r in out] == want.tolist()
    assert out[9]["shadow_error"] == out[9]["error"] != "" and out[9]["shadow_probability"] == ""

    scored = ~np.isnan(p)
    ours = np.array([r["decision"] for r in out])
    same, moved = int(np.sum(scored & (ours == want))), int(np.sum(scored & (ours != want)))
    assert moved > 20  # approved in force, declined by the stricter shadow
    assert (f"same decision for {same:,} of the 999 rows both scored ({same / 999:.1%})" in result.stderr
            and "1 rows rejected by the shadow model" in result.stderr)
    record = json.loads(log.read_text().splitlines()[-1])["shadow"]
    assert record["threshold"] == 0.12 and record["same_decision"] == same and record["shadow_rejected"] == 1
    assert record["decisions"]["approve"]["decline"] == moved and record["decisions"]["decline"]["approve"] == 0
    assert record["mean_probability"] == pytest.approx(record["mean_shadow_probability"], abs=1e-12)
    assert record["mean_probability"] == pytest.approx(p[scored].mean(), abs=1e-6)
    listed = run("audit", log)  # the run's line says what ran in the shadow and how often it agreed
    assert f"shadow {record['sha256'][:12]} same {same / 999:.1%}" in listed.output

    jsonl = run("score", source, "--shadow", strict, "--format", "jsonl", "-q")
    lines = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert [x["shadow_decision"] or "" for x in lines] == want.tolist() and lines[9]["shadow_probability"] is None


def test_watch_scores_with_a_shadow_model_as_score_does(strict, applicants, to_csv, model_dir, tmp_path) -> None:
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    text = to_csv(applicants(60, seed=52))
    (inbox / "a.csv").write_text(text)
    (tmp_path / "a.csv").write_text(text)
    result = run("watch", inbox, "--out", out, "--model", model_dir, "--once", "--shadow", strict)
    assert result.exit_code == 0, result.output
    assert "shadow model strict" in result.output and "same decision for" in result.output
    scored = run("score", tmp_path / "a.csv", "--model", model_dir, "--shadow", strict, "-q")
    assert (out / "a.scored.csv").read_text() == scored.stdout


def test_a_shadow_model_that_cannot_be_loaded_stops_before_anything_is_written(applicants, write_csv,
                                                                               tmp_path) -> None:
    out = tmp_path / "out.csv"
    result = run("score", write_csv(applicants(5)), "--shadow", tmp_path / "nowhere", "-o", out)
    assert result.exit_code == 2 and "Traceback" not in result.output and not out.exists()
