"""A model trained without protected attributes (and a history channel): it does not read them, its report still
slices by the attributes, and its card names all of them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from loanscore.cli.main import main
from loanscore.runtime.scorer import Scorer
from loanscore.train.reports.evaluation import write_model_report

LEFT_OUT = ["SEX", "MARRIAGE", "AGE"]
CHANNEL = "bill_amount"


@pytest.fixture(scope="module")
def lean_model(taiwan_csv, tmp_path_factory) -> Path:
    pytest.importorskip("tensorflow", reason="training needs the [train] extra (tensorflow)")
    root = tmp_path_factory.mktemp("lean")
    runner = CliRunner()
    trained = runner.invoke(main, ["train", "--data", str(taiwan_csv), "--out", str(root / "run"), "--without",
                                   ",".join([*LEFT_OUT, CHANNEL]), "--epochs", "2", "--ensemble", "2"])
    assert trained.exit_code == 0, trained.output
    exported = runner.invoke(main, ["export", str(root / "run"), "--out", str(root / "model"),
                                    "--data", str(taiwan_csv)])
    assert exported.exit_code == 0, exported.output
    return root / "model"


def test_the_model_does_not_read_what_it_was_trained_without(lean_model, taiwan_csv):
    manifest = json.loads((lean_model / "manifest.json").read_text("utf-8"))
    bills = [f"BILL_AMT{m}" for m in range(6, 0, -1)]
    assert not {*LEFT_OUT, *bills} & {i["name"] for i in manifest["inputs"]}
    assert [f["name"] for f in manifest["schema"]["left_out"]["numeric"]] == ["AGE"]
    assert [(h["name"], h["columns"]) for h in manifest["schema"]["left_out"]["history"]] == [(CHANNEL, bills)]
    frame = pd.read_csv(taiwan_csv)
    scorer = Scorer.load(lean_model)
    records = frame.to_dict("records")
    nonsense = [{**r, "SEX": 9, "MARRIAGE": "?", "AGE": -1, **dict.fromkeys(bills, "n/a")}  # invalid for the full schema
                for r in records]
    p = [r.probability for r in scorer.score_records(records)]
    assert [r.probability for r in scorer.score_records(nonsense)] == p
    assert not any(r.errors for r in scorer.score_records(nonsense))


def test_its_report_and_card_still_slice_by_them(lean_model):
    slices = json.loads((lean_model / "report.json").read_text("utf-8"))["slices"]
    assert {"SEX", "MARRIAGE", "AGE band", "EDUCATION"} <= {s["field"] for s in slices}
    assert sum(s["count"] for s in slices if s["field"] == "SEX") == 600
    html = (lean_model / "report.html").read_text("utf-8")
    assert "The model was trained without AGE, SEX, MARRIAGE and does not read them; the slices below take them " \
           "from this file." in html
    card = (lean_model / "MODEL_CARD.md").read_text("utf-8")
    assert ("Trained without AGE, SEX, MARRIAGE, the history channel bill_amount (BILL_AMT6, BILL_AMT5, BILL_AMT4, "
            "BILL_AMT3, BILL_AMT2, BILL_AMT1) (`loanscore train --without`): the model does not read them, and its "
            "evaluation report still slices its decisions by AGE, SEX, MARRIAGE where the data has them.") in card
    assert "| SEX | 1 male" in card
    assert "Protected characteristics (marked in the schema): AGE, SEX, MARRIAGE, left out of it." in card


def test_fairness_reviews_them_from_the_file_as_the_report_slices_them(lean_model, taiwan_csv, tmp_path):
    out = tmp_path / "fairness.json"
    result = CliRunner().invoke(main, ["fairness", str(taiwan_csv), "--model", str(lean_model), "-o", str(out)])
    assert result.exit_code in (0, 4), result.output
    review = json.loads(out.read_text("utf-8"))
    assert [(f["field"], f["protected"]) for f in review["fields"]] == [("AGE", True), ("SEX", True),
                                                                        ("MARRIAGE", True)]
    assert review["outcome"] == "default.payment.next.month"  # the label column, found in the header
    sex = next(f for f in review["fields"] if f["field"] == "SEX")["groups"]
    assert not any("approval_rate_as_reference" in g for g in sex)  # the model does not read SEX: nothing to set
    slices = json.loads((lean_model / "report.json").read_text("utf-8"))["slices"]
    for field, sliced in (("AGE", "AGE band"), ("SEX", "SEX"), ("MARRIAGE", "MARRIAGE")):
        mine = next(f for f in review["fields"] if f["field"] == field)["groups"]
        theirs = [s for s in slices if s["field"] == sliced]
        assert [(g["group"], g["rows"], g["approved"], g["defaults"]) for g in mine] == \
               [(s["group"], s["count"], s["approved"], s["defaults"]) for s in theirs]
        assert [g["p_value"] for g in mine] == pytest.approx([s["p_value"] for s in theirs], nan_ok=True)
        assert [g["adverse_impact"] for g in mine] == [s["adverse_impact"] for s in theirs]


def test_a_file_without_those_columns_is_still_reported(lean_model, taiwan_csv, tmp_path):
    frame = pd.read_csv(taiwan_csv)
    frame["MARRIAGE"] = frame["MARRIAGE"].astype(object)
    frame.loc[:9, "MARRIAGE"] = "x"  # invalid for the full schema: a missing group; the model never reads it
    path = tmp_path / "no_sex.csv"
    frame.drop(columns=["SEX"]).to_csv(path, index=False)
    out = write_model_report(path, tmp_path / "r.html", lean_model)
    data = json.loads(out["json"].read_text("utf-8"))
    fields = {s["field"] for s in data["slices"]}
    assert "SEX" not in fields and "MARRIAGE" in fields and data["rows"]["scored"] == 600
    assert [s["count"] for s in data["slices"] if s["field"] == "MARRIAGE" and s["group"] == "missing"] == [10]
    assert "from this file, which lacks SEX." in out["html"].read_text("utf-8")


def test_train_refuses_an_unknown_field(taiwan_csv, tmp_path):
    result = CliRunner().invoke(main, ["train", "--data", str(taiwan_csv), "--out", str(tmp_path / "run"),
                                       "--without", "SEX,GENDER"])
    assert result.exit_code == 2
    assert "has no field or history channel GENDER" in result.output and not (tmp_path / "run").exists()


def test_compare_shows_what_leaving_them_out_does_to_each_group(lean_model, model_dir, taiwan_csv, tmp_path):
    out = tmp_path / "compare.json"
    for champion, challenger in ((model_dir, lean_model), (lean_model, model_dir)):
        result = CliRunner().invoke(main, ["compare", str(taiwan_csv), "--model", str(champion), "--challenger",
                                           str(challenger), "--by", "SEX", "-q", "-o", str(out)])
        assert result.exit_code == 0, result.output
        report = json.loads(out.read_text("utf-8"))
        groups = {s["segment"]: s["rows"] for s in report["segments"]["SEX"]}
        assert report["compared"] == 600 and sum(groups.values()) == 600
        assert set(groups) == {"1 male", "2 female"}  # the field's codes and meanings, from the model that reads it
