"""``loanscore cutoffs`` with the shipped model: the table against `score`'s own decisions, outcomes, bad input."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from click.testing import CliRunner

from loanscore.cli.main import main

LABEL = "default.payment.next.month"


def run(*args, **kwargs):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["cutoffs", *map(str, args)], **kwargs)


def decisions(path) -> list[str]:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(main, ["score", str(path), "-q"])
    return [r["decision"] for r in csv.DictReader(io.StringIO(result.stdout))]


def probabilities(scorer, schema, rows) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The shipped model's P(default) of valid ``rows``, as the runtime computes them (not rounded as printed)."""
    return scorer.score_columns({c: [r[c] for r in rows] for c in schema.input_names}).probability.astype(np.float64)


def test_the_thresholds_row_approves_whom_score_approves_and_the_figures_add_up(scorer, schema, applicants,
                                                                                write_csv, tmp_path) -> None:
    rows = applicants(1500, seed=21)
    source, out, plot = write_csv(rows), tmp_path / "s.json", tmp_path / "s.svg"
    result = run(source, "--cutoff", "0.1", "-o", out, "--plot", plot, "-q")
    assert result.exit_code == 0, result.output
    p = probabilities(scorer, schema, rows)
    table = json.loads(out.read_text())
    assert table["applicants"] == table["rows"] == 1500 and table["costs"] == {"cost_default": 5.0,
                                                                              "cost_decline_good": 1.0}
    by_label = {c["approve"]: c for c in table["cutoffs"]}
    threshold = by_label["the model's threshold"]
    assert threshold["approved"] == decisions(source).count("approve")
    assert threshold["expected_defaults"] == pytest.approx(p[p < table["threshold"]].sum(), rel=1e-6)
    assert by_label["below 0.1"]["approved"] == int((p < 0.1).sum())
    assert by_label["through grade 10"]["approval_rate"] == 1.0
    assert table["expected_default_rate"] == pytest.approx(p.mean(), rel=1e-6)
    assert table["least_expected_cost"] == "the model's threshold"
    assert "the model's threshold     < 16.7%" in result.output and "<- least expected cost" in result.output
    assert "observed" not in result.output
    svg = plot.read_text()
    dots = 2 * len(table["cutoffs"]) - sum(c["approved"] == 0 for c in table["cutoffs"])  # none at 0 approved
    assert svg.startswith("<svg") and svg.count("<circle") == dots and "least: the model's threshold" in svg


def test_with_outcomes_the_observed_figures_stand_beside_and_a_row_without_one_is_listed(scorer, schema, applicants,
                                                                                        write_csv, tmp_path) -> None:
    rows = applicants(1200, seed=22)
    y = np.random.default_rng(22).random(1200) < 0.2
    for r, d in zip(rows, y):
        r[LABEL] = str(int(d))
    rows[9][LABEL] = "maybe"
    rows[11]["LIMIT_BAL"] = "lots"
    source, out = write_csv(rows), tmp_path / "s.json"
    result = run(source, "--outcome", LABEL, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    assert "2 rows of" in result.stderr and "row 10" in result.stderr and "row 12" in result.stderr
    assert "LIMIT_BAL" in result.stderr and LABEL in result.stderr
    keep = np.ones(1200, bool)
    keep[[9, 11]] = False
    p, y = probabilities(scorer, schema, [r for r, k in zip(rows, keep) if k]), y[keep]
    table = json.loads(out.read_text())
    assert table["applicants"] == 1198 and table["rows"] == 1200 and [r["row"] for r in table["rejected"]] == [10, 12]
    assert table["observed_default_rate"] == pytest.approx(y.mean())
    for c in table["cutoffs"]:
        approved = p < c["approve_below"]
        assert c["observed_defaults"] == int(y[approved].sum()), c["approve"]
        assert c["observed_good_declined"] == int((~y[~approved]).sum()), c["approve"]
    assert "observed rate" in result.output and f"observed {y.mean():.1%}" in result.stdout.splitlines()[0]


def test_outcomes_of_the_approved_only_give_observed_figures_only_where_every_one_is_known(scorer, schema,
                                                                                          applicants, write_csv,
                                                                                          tmp_path) -> None:
    """The declined got no loan, so their outcome is blank: a cut-off no looser than the decisions made has its
    observed defaults; a looser one, and every count of good payers declined, is '-' rather than a guess; the
    default rate is among the approved that have an outcome."""
    rows = applicants(1200, seed=24)
    p = probabilities(scorer, schema, rows)
    decided = 0.3
    y = np.random.default_rng(24).random(1200) < p
    for r, d, q in zip(rows, y, p):
        r[LABEL] = str(int(d)) if q < decided else ""
    out = tmp_path / "s.json"
    result = run(write_csv(rows), "--outcome", LABEL, "--cutoff", decided, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    table = json.loads(out.read_text())
    assert table["rejected"] == [] and table["applicants"] == 1200
    assert table["observed_default_rate"] == pytest.approx(y[p < decided].mean())
    for c in table["cutoffs"]:
        approved = p < c["approve_below"]
        known = approved & (p < decided)
        assert c["approved_with_outcome"] == int(known.sum())
        if known.any():
            assert c["observed_default_rate_of_approved"] == pytest.approx(y[known].mean())
        assert c["observed_defaults"] == (int(y[approved].sum()) if c["approve_below"] <= decided else None)
        assert c["observed_good_declined"] == (0 if c["approved"] == 1200 else None)  # none declined: none unknown
        assert c["observed_cost_per_applicant"] is None
    assert any(c["approve_below"] > decided for c in table["cutoffs"])
    assert "Observed: some applicants have no outcome yet" in result.stdout and "% known)" in result.stdout


def test_the_lenders_scale_names_the_rows(applicants, write_csv, tmp_path) -> None:
    ours = tmp_path / "ours.toml"
    ours.write_text('[[grade]]\nname = "A"\nupper = 0.1\n\n[[grade]]\nname = "B"\nupper = 1\n', "utf-8")
    log = tmp_path / "audit.jsonl"
    result = run(write_csv(applicants(300, seed=23)), "--master-scale", ours, "-q", "--audit-log", log)
    assert result.exit_code == 0, result.output
    record = json.loads(log.read_text())
    names = [g["name"] for g in record["master_scale"]["grade"]]
    assert record["event"] == "cutoffs" and record["scored"] == 300 and names == ["A", "B"]
    assert CliRunner().invoke(main, ["audit", str(log)]).exit_code == 0
    labels = [line.split("  ")[0] for line in result.output.splitlines() if line.startswith(("through", "the model"))]
    assert labels == ["through grade A", "the model's threshold", "through grade B"]
    assert str(ours) in result.output


@pytest.mark.parametrize("args, message", [
    (["--cutoff", "0"], "0<x<=1"),
    (["--cutoff", "1.5"], "0<x<=1"),
    (["--outcome", "nope"], "name another column with --outcome"),
    (["--outcome", "AGE"], "is one of the model's input fields"),
])
def test_bad_options_get_a_message_not_a_traceback(args, message, applicants, write_csv) -> None:
    result = run(write_csv(applicants(20, seed=24)), *args, "-q")
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_a_file_of_bad_rows_only_tabulates_nothing(applicants, write_csv) -> None:
    rows = applicants(3, seed=25)
    for r in rows:
        r["AGE"] = "old"
    result = run(write_csv(rows), "-q")
    assert result.exit_code == 2 and "None of the 3 rows" in result.output and "AGE" in result.output
