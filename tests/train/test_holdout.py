"""benchmarks/holdout.py: the held-back comparison end to end, and its warning for a file of development rows."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from holdout import held_back_overlap  # noqa: E402


def test_overlap_warns_only_when_the_file_repeats_development_rows() -> None:
    rng = np.random.default_rng(0)
    dev = pd.DataFrame(rng.integers(0, 1000, (1000, 3)))
    fresh = pd.DataFrame(rng.integers(1000, 2000, (500, 3)))
    assert held_back_overlap(dev, fresh) == ("", 0)
    # A few coincidences are what distinct clients produce: counted, not flagged.
    assert held_back_overlap(dev, pd.concat([fresh, dev.iloc[:3]])) == ("", 3)
    warning, shared = held_back_overlap(dev, pd.concat([fresh, dev.iloc[:100]]))
    assert shared == 100 and warning.startswith("warning: 100 of 600 held-back rows equal a development row in all 3")


def test_the_shipped_model_and_a_comparator_are_scored_compared_and_drawn(schema, model_dir, tmp_path) -> None:
    """End to end on generated clients: the runtime's probabilities, the comparator, the bootstrap, JSON and plot."""
    import json

    from sklearn.metrics import roc_auc_score

    from holdout import main
    from loanscore.runtime import Scorer
    from loanscore.train.synthetic import generate, write_csv

    dev = write_csv(tmp_path / "dev.csv", generate(schema, 1000, seed=1))
    held = write_csv(tmp_path / "held.csv", generate(schema, 400, seed=2))
    out, png = tmp_path / "holdout.json", tmp_path / "holdout.png"
    assert main([str(held), "--data", str(dev), "--models", "logreg", "--bootstrap", "200", "--model", str(model_dir),
                 "--out", str(out), "--plot", str(png)]) == 0
    r = json.loads(out.read_text())
    assert list(r["results"]) == ["shipped", "logreg"] and r["rows_equal_to_development"] == 0
    frame = pd.read_csv(held, dtype=str)
    y = frame.pop(schema.label).astype(int).to_numpy()
    p = Scorer.load(model_dir).score_columns({c: frame[c].to_numpy() for c in frame.columns}).probability
    assert r["results"]["shipped"]["roc_auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    versus = r["shipped_versus"]["logreg"]
    assert versus["roc_auc_diff"] == pytest.approx(r["results"]["shipped"]["roc_auc"] - r["results"]["logreg"]["roc_auc"])
    assert versus["roc_auc_diff_ci95"][0] <= versus["roc_auc_diff"] <= versus["roc_auc_diff_ci95"][1]
    for deciles in r["deciles"].values():
        assert sum(d["count"] for d in deciles) == 400
        assert sum(d["count"] * d["observed"] for d in deciles) == pytest.approx(y.sum())
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    stability = r["population_stability"]  # generated clients against the real development population
    assert stability["scored"] == 400 and sum(b["count"] for b in stability["score"]["bins"]) == 400
    assert stability["reference"]["training_data"] is True and stability["verdict"] == "shift"
    backtest = r["backtest"]  # the runtime's back-test of the same probabilities
    assert backtest["scored"] == 400 and backtest["metrics"]["roc_auc"] == r["results"]["shipped"]["roc_auc"]
    assert sum(b["rows"] for b in backtest["calibration"]["bands"]) == 400
    assert backtest["calibration"]["defaults"] == y.sum()


def test_an_unknown_comparator_is_refused_by_name(tmp_path, capsys) -> None:
    from holdout import main

    held = tmp_path / "held.csv"
    held.write_text("x\n1\n")
    with pytest.raises(SystemExit):
        main([str(held), "--models", "xgboost"])
    assert "unknown models ['xgboost']" in capsys.readouterr().err
