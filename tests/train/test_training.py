"""Training is deterministic, refuses bad data with row-level messages, and keeps parity on real rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from loanscore.cli.main import main
from loanscore.runtime.errors import InputError
from loanscore.runtime.schema import Schema
from loanscore.train.data import load_dataset
from loanscore.train.synthetic import generate, write_csv

ROOT = Path(__file__).resolve().parents[2]


def _weights(run: Path) -> list[np.ndarray]:
    import keras

    return keras.saving.load_model(run / "model.keras", compile=False).get_weights()


def test_same_seed_same_model(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", generate(Schema.default(), 800, seed=5))
    runner = CliRunner()
    for name in ("a", "b"):
        result = runner.invoke(main, ["train", "--data", str(data), "--out", str(tmp_path / name), "--epochs", "2"])
        assert result.exit_code == 0, result.output
    for wa, wb in zip(_weights(tmp_path / "a"), _weights(tmp_path / "b"), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert "epoch   1/2" in result.output and "epoch   2/2" in result.output  # progress per epoch
    assert "teacher: boosted trees' out-of-fold probabilities" in result.output
    assert "  auc " not in result.output  # Keras's training AUC is meaningless on soft targets: not shown


def test_bad_training_rows_are_listed_not_dropped(tmp_path: Path) -> None:
    cols = generate(Schema.default(), 50, seed=2)
    cols["AGE"][4] = 500
    cols["LIMIT_BAL"][9] = "lots"
    cols["default.payment.next.month"][11] = 2
    path = write_csv(tmp_path / "bad.csv", cols)
    with pytest.raises(InputError) as info:
        load_dataset(path, Schema.default())
    message = str(info.value)
    assert "3 rows break the input contract" in message
    assert "AGE must be between 18 and 120. Got '500' in row 5." in message
    assert "LIMIT_BAL must be a number. Got 'lots' in row 10." in message
    assert "must be 0 or 1. Got '2' in row 12." in message


def test_training_reads_every_spelling_of_a_number_as_scoring_does(tmp_path: Path) -> None:
    """The validator accepts these as scoring reads them; training then parsed them again with pandas, which
    refuses a NUL or Arabic-Indic digits: a crash after the check had passed."""
    from loanscore.runtime import Scorer

    spellings = ["40\x00", "\u0664\u0660", " 35 ", "4e1", "0040", "+40", "40.0"]
    cols = generate(Schema.default(), len(spellings), seed=9)
    cols["AGE"] = spellings
    dataset = load_dataset(write_csv(tmp_path / "ages.csv", cols), Schema.default())
    assert dataset.X["AGE"].tolist() == [40, 40, 35, 40, 40, 40, 40]
    scored = Scorer.load().score_records([{k: v[i] for k, v in cols.items()} for i in range(len(spellings))])
    assert not any(r.errors for r in scored)


def test_train_cli_reports_missing_columns_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "few.csv"
    path.write_text("ID,AGE\n1,30\n")
    result = CliRunner().invoke(main, ["train", "--data", str(path), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "lacks the columns LIMIT_BAL" in result.output and "Traceback" not in result.output


def test_parity_on_the_development_data(dev_data: Path, tmp_path: Path) -> None:
    """A short training on the real rows, then export proves parity on all 24,000 of them."""
    runner = CliRunner()
    result = runner.invoke(main, ["train", "--data", str(dev_data), "--out", str(tmp_path / "run"), "--epochs", "2"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["export", str(tmp_path / "run"), "--out", str(tmp_path / "model"), "--data", str(dev_data)])
    assert result.exit_code == 0, result.output
    parity = json.loads((tmp_path / "model" / "parity.json").read_text())["data"]
    assert parity["n"] == 24000
    assert parity["max_abs_diff"] <= 1e-5
    assert parity["decision_agreement"] >= 0.999


def test_shipped_model_matches_its_training_run_on_the_development_data(dev_data: Path, model_dir: Path) -> None:
    run = ROOT / "artifacts" / "run"
    if not (run / "model.keras").is_file():
        pytest.skip("artifacts/run (the shipped model's training run) is absent")
    result = CliRunner().invoke(main, ["verify", str(model_dir), "--reference", str(run), "--data", str(dev_data)])
    assert result.exit_code == 0, result.output
    assert "parity on 24000 rows" in result.output


def test_training_knobs_export_with_parity(tmp_path: Path) -> None:
    """Signed-log amounts, no teacher, balanced classes, input noise, AdamW and stopping on loss: parity holds."""
    from dataclasses import replace

    from loanscore.export.exporter import export_run
    from loanscore.train.trainer import TrainConfig, train

    schema = Schema.default()
    data = write_csv(tmp_path / "d.csv", generate(schema, 600, seed=7))
    base = TrainConfig(ensemble=2, amounts="signed_log", teacher=0.0, class_weight="balanced")
    config = replace(base, network=replace(base.network, input_noise=0.1, l2=0.0, weight_decay=0.02,
                                           monitor="loss", max_epochs=2))
    train(data, tmp_path / "run", config=config, progress=lambda s: None)
    run_info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run_info["config"]["network"]["input_noise"] == 0.1 and run_info["config"]["amounts"] == "signed_log"
    assert run_info["config"]["teacher"] == 0.0
    result = export_run(tmp_path / "run", tmp_path / "model", data=data, progress=lambda s: None)
    assert result.parity["data"]["max_abs_diff"] <= 1e-5
    assert result.parity["data"]["n"] == 600


def test_teacher_targets_blend_labels_with_out_of_fold_trees() -> None:
    from sklearn.metrics import roc_auc_score

    from loanscore.train.trainer import teacher_targets

    rng = np.random.default_rng(0)
    F = rng.normal(size=(2000, 5)).astype(np.float32)
    y = (rng.random(2000) < 1 / (1 + np.exp(-2 * F[:, 0]))).astype(np.float32)
    np.testing.assert_array_equal(teacher_targets(F, y, 0.0, seed=1), y)
    p = teacher_targets(F, y, 1.0, seed=1)
    assert 0 < p.min() and p.max() < 1
    assert roc_auc_score(y, p) > 0.8  # the trees find the signal (feature 0 alone: 0.86)
    np.testing.assert_allclose(teacher_targets(F, y, 0.6, seed=1), 0.4 * y + 0.6 * p, atol=1e-6)
    # Out of fold: on labels that are pure noise, no row's target can carry its own label. The same
    # trees fitted on all rows and scored on them give an AUC of 0.71 here.
    noise = rng.integers(0, 2, len(y)).astype(np.float32)
    assert abs(roc_auc_score(noise, teacher_targets(F, noise, 1.0, seed=1)) - 0.5) < 0.05


def test_training_data_in_a_legacy_encoding_is_read_with_encoding(tmp_path: Path) -> None:
    """A lender's export in Big5 (a branch column in Chinese): refused with the advice to name the encoding, then
    read with it (as `--encoding cp950` sets it for a run) to the same frame as its UTF-8 copy."""
    from loanscore.runtime.tabular import INPUT_ENCODING

    cols = generate(Schema.default(), 40, seed=5)
    cols["branch"] = ["台北", "台中"] * 20
    utf8 = write_csv(tmp_path / "utf8.csv", cols)
    big5 = tmp_path / "big5.csv"
    big5.write_bytes(utf8.read_text("utf-8").encode("cp950"))
    with pytest.raises(InputError, match="is not valid UTF-8 .*name the encoding it was saved in with --encoding"):
        load_dataset(big5, Schema.default())
    token = INPUT_ENCODING.set("cp950")
    try:
        legacy = load_dataset(big5, Schema.default())
    finally:
        INPUT_ENCODING.reset(token)
    plain = load_dataset(utf8, Schema.default())
    assert legacy.X.equals(plain.X) and np.array_equal(legacy.y, plain.y)
