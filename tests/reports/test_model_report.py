"""``loanscore report model`` and what ``loanscore export`` writes beside the model: report and model card."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from numpy.testing import assert_allclose

from loanscore.cli.main import main
from loanscore.runtime.scorer import Scorer
from loanscore.runtime.performance import classification_metrics
from loanscore.train.reports.evaluation import threshold_costs, tradeoff, write_model_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FIGURES = {"roc_pr", "ks", "score_histogram", "calibration", "grades", "confusion_matrix", "threshold_tradeoff",
           "slices", "population_stability", "reasons", "riskier_response"}


@pytest.fixture(scope="module")
def report(tiny_model, taiwan_csv, tmp_path_factory):
    return write_model_report(taiwan_csv, tmp_path_factory.mktemp("report") / "model.html", tiny_model)


def test_every_figure_is_written_and_embedded(report, no_remote):
    html = report["html"].read_text("utf-8")
    assert no_remote(html) == []
    assert html.count('src="data:image/png;base64,') == len(FIGURES)
    files = {p.stem: p.read_bytes() for p in report["figures"].glob("*.png")}
    assert set(files) == FIGURES
    for name, data in files.items():
        assert data.startswith(PNG_MAGIC) and len(data) > 5_000, name
    assert "CC BY 4.0" in html and "Yeh, I. C. and Lien, C. H." in html


def test_metrics_are_those_of_the_runtime_scores(report, tiny_model, taiwan_csv):
    data = json.loads(report["json"].read_text("utf-8"))
    scorer = Scorer.load(tiny_model)
    frame = pd.read_csv(taiwan_csv)
    p = scorer.score_columns({c: frame[c].to_numpy() for c in scorer.schema.input_names}).probability
    y = frame[scorer.schema.label].to_numpy()
    expected = classification_metrics(y, p, scorer.threshold)
    for key in ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "ks", "brier"):
        assert data["metrics"][key] == pytest.approx(expected[key], abs=1e-12), key
    assert data["metrics"]["confusion_matrix"] == expected["confusion_matrix"]
    assert data["rows"] == {"read": len(y), "bad_label": 0, "rejected": 0, "scored": len(y)}
    # slices: one table per categorical field plus AGE bands, each field's counts add up to the rows
    fields = {s["field"] for s in data["slices"]}
    assert fields == {"AGE band", "SEX", "EDUCATION", "MARRIAGE"}
    for f in fields:
        rows = [s for s in data["slices"] if s["field"] == f]
        assert sum(s["count"] for s in rows) == len(y)
        assert sum(s["approved"] for s in rows) == pytest.approx(data["metrics"]["approval_rate"] * len(y))
        assert sum(s["reference"] for s in rows) == 1
        for s in rows:
            # No ratio (None) when the reference group approves nobody: then nothing can be flagged.
            assert s["four_fifths_flag"] == (s["approval_ratio"] is not None and s["approval_ratio"] < 0.8)
    assert data["four_fifths_flags"] == [{"field": s["field"], "group": s["group"], "approval_ratio": s["approval_ratio"]}
                                         for s in data["slices"] if s["four_fifths_flag"]]


def test_the_grade_table_is_backtest_by_grade_on_the_same_rows(report, tiny_model, taiwan_csv, tmp_path):
    data = json.loads(report["json"].read_text("utf-8"))["grades"]
    out = tmp_path / "backtest.json"
    CliRunner().invoke(main, ["backtest", str(taiwan_csv), "--model", str(tiny_model), "--by-grade", "-o", str(out)])
    expected = json.loads(out.read_text())["grades"]
    assert data["grades"] == expected["grades"] and data["verdict"] == expected["verdict"]
    assert sum(g["rows"] for g in data["grades"]) == json.loads(report["json"].read_text("utf-8"))["rows"]["scored"]
    recorded = json.loads((tiny_model / "manifest.json").read_text())["population"]["grades"]["master_scale"]
    assert data["master_scale"]["grade"] == recorded["grade"]  # the scale the model's population was graded on
    assert "<h2" in report["html"].read_text("utf-8") and ">Rating grades</h2>" in report["html"].read_text("utf-8")


def test_population_stability_of_the_training_file_is_zero_and_shifted_data_is_flagged(report, tiny_model,
                                                                                    taiwan_columns, tmp_path):
    stability = json.loads(report["json"].read_text("utf-8"))["population_stability"]
    assert stability["reference"]["training_data"] is True and stability["scored"] == 600
    assert stability["score"]["psi"] == 0 and {f["psi"] for f in stability["fields"].values()} == {0}
    assert "This file is the reference population itself" in report["html"].read_text("utf-8")

    moved = {k: list(v) for k, v in taiwan_columns.items()}
    moved["LIMIT_BAL"] = [max(1.0, float(x) / 100) for x in moved["LIMIT_BAL"]]
    from loanscore.train.synthetic import write_csv

    out = write_model_report(write_csv(tmp_path / "moved.csv", moved), tmp_path / "moved.html", tiny_model)
    stability = json.loads(out["json"].read_text("utf-8"))["population_stability"]
    assert stability["fields"]["LIMIT_BAL"]["verdict"] == "shift"
    assert {f["verdict"] for name, f in stability["fields"].items() if name != "LIMIT_BAL"} == {"stable"}


def test_a_model_without_a_reference_population_says_so(tiny_model, taiwan_csv, edit_manifest, tmp_path):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    edit_manifest(model, lambda manifest: manifest.pop("population"))
    out = write_model_report(taiwan_csv, tmp_path / "r.html", model)
    assert "records no reference population" in out["html"].read_text("utf-8")
    assert {p.stem for p in out["figures"].glob("*.png")} == FIGURES - {"population_stability", "reasons"}
    assert "no typical applicant to explain a score against" in out["html"].read_text("utf-8")


def test_reason_codes_are_those_the_runtime_gives_the_declined(report, tiny_model, taiwan_csv):
    tally = json.loads(report["json"].read_text("utf-8"))["reason_codes"]
    scorer = Scorer.load(tiny_model)
    frame = pd.read_csv(taiwan_csv)
    batch = scorer.score_columns({c: frame[c].to_numpy() for c in scorer.schema.input_names}, reasons=3)
    declined = [batch.reasons[i] for i in np.flatnonzero(batch.decision == "decline")]
    assert tally["declined"] == len(declined) > 0
    assert tally["without_reason"] == sum(1 for r in declined if not r)
    rows = {r["field"]: r for r in tally["per_field"]}
    assert set(rows) == {name for name, _ in scorer.explainer.groups}
    for name, row in rows.items():
        assert row["first"] == sum(1 for r in declined if r and r[0].field == name), name
        assert row["among_first"] == sum(1 for r in declined if name in {x.field for x in r}), name
        assert row["first_share"] == pytest.approx(row["first"] / len(declined))
    assert sum(r["first"] for r in rows.values()) == len(declined) - tally["without_reason"]
    firsts = [r["first"] for r in tally["per_field"]]
    assert firsts == sorted(firsts, reverse=True)
    stated = [r[0].statement for r in declined if r]
    assert tally["first_stated"] == {text: stated.count(text) for text in tally["first_stated"]}
    assert sum(tally["first_stated"].values()) == len(stated) and "Late repayments in recent months" in stated
    assert "first reason as stated" in report["html"].read_text("utf-8")


def test_the_riskier_response_is_the_runtimes_answer_to_each_step(report, tiny_model, taiwan_csv):
    table = json.loads(report["json"].read_text("utf-8"))["riskier_response"]
    scorer = Scorer.load(tiny_model)
    status, payment = (next(h for h in scorer.schema.history if h.role == role) for role in ("status", "payment"))
    assert [(r["role"], r["month"]) for r in table] == [
        *(("status", m) for m in [*status.columns, "all months"]), ("credit_limit", None),
        *(("payment", m) for m in [*payment.columns, "all months"])]
    records = pd.read_csv(taiwan_csv)[scorer.schema.input_names].to_dict("records")
    p = np.array([r.probability for r in scorer.score_records(records)])
    steps = {"status": lambda v: min(max(v, 0) + 1, status.max), "credit_limit": lambda v: v * 0.8,
             "payment": lambda v: v * 0.8}
    for row in table:
        channel = status if row["role"] == "status" else payment
        columns = channel.columns if row["month"] == "all months" else [row["month"] or row["channel"]]
        later = [{**r, **{c: steps[row["role"]](r[c]) for c in columns}} for r in records]
        moved = np.array([any(a[c] != b[c] for c in columns) for a, b in zip(records, later)])
        change = np.array([r.probability for r in scorer.score_records(later)]) - p
        assert row["rows"] == moved.sum() > 0, row
        assert row["raised"] == np.sum(change[moved] >= 0.001) and row["lowered"] == np.sum(change[moved] <= -0.001)
        assert row["mean_change"] == pytest.approx(change[moved].mean(), abs=1e-6)
        late = np.array([r[status.columns[-1]] >= 1 for r in records])
        for name, among in (("on_time", moved & ~late), ("late", moved & late)):
            assert row[f"{name}_rows"] == among.sum() > 0, row
            assert row[f"{name}_lowered_share"] == pytest.approx(np.mean(change[among] <= -0.001), abs=1e-12)
    zero_payments = sum(1 for r in records if r[payment.columns[0]] == 0)
    assert zero_payments and table[8]["rows"] == len(records) - zero_payments  # a zero payment stays zero


def test_tradeoff_arithmetic():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.4, 0.3, 0.9])
    t = tradeoff(y, p, np.array([0.2, 0.35, 0.95]), {"cost_default": 5.0, "cost_decline_good": 1.0})
    assert_allclose(t["approval_rate"], [0.25, 0.5, 1.0])
    assert_allclose(t["bad_rate_approved"], [0.0, 0.5, 0.5])
    # t=.2: declines .4 (payer, 1), .3 and .9 (defaulters): cost 1/4; t=.35: approves .3 (defaulter, 5), declines .4 (1)
    assert_allclose(t["expected_cost"], [0.25, 1.5, 2.5])


def test_costs_come_from_the_manifest():
    cost = {"threshold": {"rule": "cost", "inputs": {"cost_default": 7, "cost_decline_good": 2}}}
    assert threshold_costs(cost)["cost_default"] == 7.0
    by_rate = {"threshold": {"rule": "approval_rate", "inputs": {"approval_rate": 0.7}},
               "training": {"config": {"threshold": {"cost_default": 4, "cost_decline_good": 1}}}}
    assert threshold_costs(by_rate)["cost_default"] == 4.0
    assert threshold_costs({"threshold": {"rule": "approval_rate", "inputs": {}}}) is None


def test_export_writes_report_and_model_card(tiny_model, no_remote):
    for name in ("report.html", "report.json", "MODEL_CARD.md"):
        assert (tiny_model / name).is_file(), name
    assert {p.stem for p in (tiny_model / "report_figures").glob("*.png")} == FIGURES
    html = (tiny_model / "report.html").read_text("utf-8")
    assert no_remote(html) == []
    assert "Model evaluation: model on applicants.csv" in html and ".model-" not in html  # not the staging name
    card = (tiny_model / "MODEL_CARD.md").read_text("utf-8")
    manifest = json.loads((tiny_model / "manifest.json").read_text("utf-8"))
    for text in ("## Intended use and users", "## Training data", "CC BY 4.0", "Yeh, I. C. and Lien, C. H.",
                 "Expert Systems with Applications 36(2)", "UCI Machine Learning Repository",
                 "default of credit card clients", "## Limitations", "2005", "interest rate",
                 "loanscore verify MODEL_DIR", "loanscore verify MODEL_DIR --reference RUN_DIR --data CSV",
                 "`loanscore monitor FILE`", "the 600 rows of `applicants.csv` recorded at export",
                 "Reason codes (`loanscore score --reasons N`)",
                 f"**{manifest['threshold']['value']:g}**", manifest["sha256"]):
        assert text in card, text
    auc, all_rows = manifest["metrics"]["validation"]["roc_auc"], manifest["metrics"]["out_of_fold"]["roc_auc"]
    assert f"| ROC AUC | {auc:.4f} | {all_rows:.4f} |" in card
    assert "cross-fitted: the 600 rows in 4 stratified folds" in card  # the default training, described as it ran
    assert "0.4 × the label + 0.6 × the out-of-fold probability of gradient-boosted trees" in card
    threshold = manifest["threshold"]
    assert threshold["chosen_on"] == "the costs" and threshold["measured_on"] == "out-of-fold predictions on all 600 rows"
    assert "chosen on: the costs. On the out-of-fold predictions on all 600 rows it approves" in card
    assert f"the lowest cost on those rows' labels: {threshold['empirical_minimum']['expected_cost_per_applicant']:.4f}" in card
    assert re.search(r"\| SEX \| 1 male.*\|", card) and "| AGE band |" in card
    limit = next(r for r in json.loads((tiny_model / "report.json").read_text("utf-8"))["riskier_response"]
                 if r["role"] == "credit_limit")
    assert (f"A credit line (LIMIT_BAL) 20 % lower lowers P(default) by 0.001 or more for {limit['lowered']:,} of "
            f"{limit['rows']:,} applicants") in card
    assert "One month more delay in a single month of repayment_status lowers" in card
    assert "A single month's payment in payment_amount 20 % lower lowers" in card


def test_verify_still_passes_with_the_documents(tiny_model):
    result = CliRunner().invoke(main, ["verify", str(tiny_model)])
    assert result.exit_code == 0, result.output


def test_cli_model_report(tiny_model, taiwan_csv, tmp_path):
    out = tmp_path / "r.html"
    result = CliRunner().invoke(main, ["report", "model", str(tiny_model), "--data", str(taiwan_csv), "--output", str(out),
                                       "--band-edges", "30,50"])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "r.json").read_text("utf-8"))
    assert [s["group"] for s in data["slices"] if s["field"] == "AGE band"] == ["<30", "30-49", "50+"]


@pytest.mark.parametrize("edges", ["30,x", "50,30", ""])
def test_cli_model_report_refuses_bad_band_edges(edges, taiwan_csv, tmp_path):
    result = CliRunner().invoke(main, ["report", "model", "--data", str(taiwan_csv), "--output", str(tmp_path / "r.html"),
                                       "--band-edges", edges])
    assert result.exit_code == 2
    assert "--band-edges" in result.output


def test_cli_model_report_needs_the_label(tiny_model, taiwan_csv, tmp_path):
    frame = pd.read_csv(taiwan_csv).drop(columns=["default.payment.next.month"])
    unlabelled = tmp_path / "unlabelled.csv"
    frame.to_csv(unlabelled, index=False)
    result = CliRunner().invoke(main, ["report", "model", str(tiny_model), "--data", str(unlabelled),
                                       "--output", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "default.payment.next.month" in result.output and "label" in result.output


def test_the_card_says_where_a_marked_step_lowers_the_score():
    from loanscore.export.model_card import _riskier_limitations

    row = {"role": "credit_limit", "channel": "LIMIT_BAL", "month": None, "rows": 1000, "lowered": 120,
           "lowered_share": 0.12, "on_time_rows": 800, "on_time_lowered_share": 0.025, "late_rows": 200,
           "late_lowered_share": 0.5}
    marked, = _riskier_limitations({"riskier_response": [row]}, [])
    assert ("for 120 of 1,000 applicants (12.00 %); 2.5 % of the 800 on time in the newest month and 50.0 % of the "
            "200 late. Training did not penalize this step") in marked
    unmarked, = _riskier_limitations({"riskier_response": [{**row, "lowered": 20, "lowered_share": 0.02}]}, [])
    assert "on time" not in unmarked
    no_status = {k: v for k, v in row.items() if not k.startswith(("on_time", "late"))}
    without_status, = _riskier_limitations({"riskier_response": [no_status]}, [])
    assert "(12.00 %). Training did not penalize" in without_status
