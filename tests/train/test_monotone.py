"""The delay penalty: later statuses as the report makes them, the loss it adds, and training with it."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from loanscore.cli.main import main
from loanscore.runtime.schema import Schema
from loanscore.train.monotone import MonotoneTraining, later_features, lowered_share
from loanscore.train.riskier import LOWER, one_month_later, riskier_steps
from loanscore.train.synthetic import generate, write_csv


def test_one_month_later_follows_the_report_step() -> None:
    got = one_month_later([-2, -1, 0, 1, 8, 9, np.nan], top=9)
    np.testing.assert_array_equal(got, [1, 1, 1, 2, 9, 9, np.nan])


def test_later_features_move_one_status_month_each() -> None:
    schema = Schema.default()
    X = pd.DataFrame(generate(schema, 30, seed=3, label=False))[schema.input_names].astype(float)
    later = later_features(X, schema, lambda frame: frame.to_numpy())
    status = [c for h in schema.history if h.role == "status" for c in h.columns]
    assert later.shape == (30, len(status), len(schema.input_names))
    for m, column in enumerate(status):
        moved = pd.DataFrame(later[:, m], columns=schema.input_names)
        np.testing.assert_array_equal(moved[column], one_month_later(X[column], 9))
        others = [c for c in schema.input_names if c != column]
        np.testing.assert_array_equal(moved[others].to_numpy(), X[others].to_numpy(np.float32))


def test_other_roles_lower_the_credit_line_and_each_payment_after_the_status_months() -> None:
    schema = Schema.default()
    X = pd.DataFrame(generate(schema, 30, seed=5, label=False))[schema.input_names].astype(float)
    roles = ("status", "credit_limit", "payment")
    steps = [s.column for s in riskier_steps(schema, roles)]
    payments = [c for h in schema.history if h.role == "payment" for c in h.columns]
    assert steps == [c for h in schema.history if h.role == "status" for c in h.columns] + ["LIMIT_BAL", *payments]
    later = later_features(X, schema, lambda frame: frame.to_numpy(), roles)
    assert later.shape == (30, len(steps), len(schema.input_names))
    for m, column in enumerate(steps[6:], 6):
        moved = pd.DataFrame(later[:, m], columns=schema.input_names)
        np.testing.assert_allclose(moved[column], (X[column] * LOWER).astype(np.float32))
        others = [c for c in schema.input_names if c != column]
        np.testing.assert_array_equal(moved[others].to_numpy(), X[others].to_numpy(np.float32))
    assert [s.column for s in riskier_steps(schema, ("payment",))] == payments
    with pytest.raises(ValueError, match="monotone roles must be among status, credit_limit, payment; got bills"):
        riskier_steps(schema, ("status", "bills"))


def test_on_time_scope_leaves_the_late_applicants_amounts_alone_but_not_their_status() -> None:
    schema = Schema.default()
    X = pd.DataFrame(generate(schema, 60, seed=5, label=False))[schema.input_names].astype(float)
    roles = ("status", "credit_limit", "payment")
    steps = riskier_steps(schema, roles)
    every, on_time = (later_features(X, schema, lambda frame: frame.to_numpy(), roles, scope)
                      for scope in ("all", "on_time"))
    late = X["PAY_0"].to_numpy() >= 1
    assert 0 < late.sum() < len(X)
    for m, step in enumerate(steps):
        np.testing.assert_array_equal(on_time[~late, m], every[~late, m])
        if step.role == "status":
            np.testing.assert_array_equal(on_time[late, m], every[late, m])
        else:  # a late row's credit line or payment is left as it is
            np.testing.assert_array_equal(on_time[late, m], X.to_numpy(np.float32)[late])
    with pytest.raises(ValueError, match="monotone scope must be one of all, on_time"):
        later_features(X, schema, lambda frame: frame.to_numpy(), roles, "late")


def test_train_takes_the_roles_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", generate(Schema.default(), 300, seed=6))
    result = CliRunner().invoke(main, ["train", "--data", str(data), "--out", str(tmp_path / "bad"),
                                       "--monotone-roles", "status,limit"])
    assert result.exit_code == 2 and "give one or more of status, credit_limit, payment" in result.output
    assert not (tmp_path / "bad").exists()
    result = CliRunner().invoke(main, ["train", "--data", str(data), "--out", str(tmp_path / "run"), "--epochs", "1",
                                       "--ensemble", "1", "--monotone-roles", "status, credit_limit,payment"])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "run" / "run.json").read_text())["config"]
    assert config["monotone_roles"] == ["status", "credit_limit", "payment"] and config["monotone"] == 4.0


def test_penalty_is_added_only_where_the_later_history_scores_lower_on_a_quarter_of_the_batch() -> None:
    keras.utils.set_random_seed(0)
    net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    net.set_weights([np.array([[1.0], [-2.0], [0.0]], np.float32), np.zeros(1, np.float32)])
    F = np.array([[k, 0, 0] for k in range(8)], np.float32)
    later = np.repeat((F + [[0, 1, 0]])[:, None, :], 2, axis=1)  # both months alike: the draw cannot matter
    later[1] = F[1]  # a row already at the top: no change
    y = np.array([1, 0, 1, 0, 1, 0, 0, 0], np.float32)
    trainer = MonotoneTraining(net, weight=3.0, seed=0)
    trainer.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True))
    x = {"features": F, "later": later}
    logit = net(F)
    plain = float(keras.losses.BinaryCrossentropy(from_logits=True)(y[:, None], logit))
    loss = float(trainer.compute_loss(x=x, y=y[:, None], y_pred=logit, training=True))
    # The first quarter of the batch (rows 1 and 2) is measured: one step later lowers the logit by 2 on
    # row 1, not on row 2, which is at the top: penalty 3 * (2 + 0) / 2. Rows 3-8 fall too but are not measured.
    np.testing.assert_allclose(loss, plain + 3.0 * 2 / 2, rtol=1e-5)
    assert float(trainer.compute_loss(x=x, y=y[:, None], y_pred=logit, training=False)) == np.float32(plain)
    shares = lowered_share(lambda f: 1 / (1 + np.exp(-np.asarray(net(f)).reshape(-1))), F, later)
    assert shares == [1.0, 1.0]  # of the seven rows that moved, all fell


def test_training_with_the_penalty_is_deterministic_and_exports_with_parity(tmp_path: Path) -> None:
    from loanscore.export.exporter import export_run

    data = write_csv(tmp_path / "d.csv", generate(Schema.default(), 600, seed=4))
    runner = CliRunner()
    for name in ("a", "b"):
        result = runner.invoke(main, ["train", "--data", str(data), "--out", str(tmp_path / name), "--epochs", "2",
                                      "--ensemble", "2", "--monotone", "2"])
        assert result.exit_code == 0, result.output
    weights = [keras.saving.load_model(tmp_path / n / "model.keras", compile=False).get_weights() for n in "ab"]
    for wa, wb in zip(*weights, strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert json.loads((tmp_path / "a" / "run.json").read_text())["config"]["monotone"] == 2.0
    result = export_run(tmp_path / "a", tmp_path / "model", data=data, progress=lambda s: None)
    assert result.parity["data"]["max_abs_diff"] <= 1e-5  # the penalty shapes training; the graph is the network
    card = (tmp_path / "model" / "MODEL_CARD.md").read_text()
    assert "one month's repayment status one month later" in card


def test_without_a_status_channel_an_asked_penalty_is_refused_and_the_default_left_out(tmp_path: Path) -> None:
    schema = Schema.default().to_dict()
    for h in schema["history"]:
        if h.get("role") == "status":
            h["role"] = "other"
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    data = write_csv(tmp_path / "d.csv", generate(Schema.default(), 50, seed=1))
    result = CliRunner().invoke(main, ["train", "--data", str(data), "--out", str(tmp_path / "run"),
                                       "--schema", str(tmp_path / "schema.json"), "--monotone", "1"])
    assert result.exit_code == 2
    assert "no column with role 'status'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()
    result = CliRunner().invoke(main, ["train", "--data", str(data), "--out", str(tmp_path / "run"), "--epochs", "1",
                                       "--ensemble", "1", "--schema", str(tmp_path / "schema.json")])
    assert result.exit_code == 0, result.output
    assert "trained without the delay penalty" in result.output
    assert json.loads((tmp_path / "run" / "run.json").read_text())["config"]["monotone"] == 0.0



def test_the_model_card_names_the_steps_the_penalty_covered() -> None:
    from loanscore.export.model_card import model_card

    manifest = json.loads((Path(__file__).resolve().parents[2] / "artifacts" / "model" / "manifest.json").read_text())
    shipped = model_card(manifest)
    assert "Trained to score a later repayment as no less risky" in shipped
    assert "with one month's repayment status one month later (one month drawn per row)" in shipped
    manifest["training"]["config"]["monotone_roles"] = ["status", "credit_limit", "payment"]
    wider = model_card(manifest)
    assert ("Trained to score a riskier applicant as no less risky: each training step also scored a quarter of its "
            "rows with one month's repayment status one month later or a credit line 20 % lower or one month's payment 20 % "
            "lower (one step drawn per row)") in wider
    assert "only for applicants on time" not in wider and "where it fell. The penalty shapes training only" in wider
    manifest["training"]["config"]["monotone_scope"] = "on_time"
    assert ("where it fell (the credit-line and payment steps only for applicants on time in the newest month). "
            "The penalty shapes training only") in model_card(manifest)
