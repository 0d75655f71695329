"""benchmarks/ceiling.py's blend table: each weight's per-fold ROC AUC of the two models' weighted mean."""

import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import ceiling  # noqa: E402


def _two_noisy_scores(seed: int, n: int = 4000):
    """Two predictors of the same latent risk with independent noise: their mean ranks better than either."""
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    y = (risk + rng.normal(size=n) > 1.0).astype(int)
    return y, risk + rng.normal(size=n), risk + rng.normal(size=n)


def test_the_ends_are_each_model_alone_and_the_middle_gains_from_independent_errors():
    y, a, b = _two_noisy_scores(0)
    tests = np.array_split(np.arange(len(y)), 2)
    rows = ceiling.blends(y, tests, [a[t] for t in tests], [b[t] for t in tests], weights=(0.0, 0.5, 1.0))
    by_w = {r["w_lstm_cnn"]: r for r in rows}
    assert by_w[1.0]["folds"] == [roc_auc_score(y[t], a[t]) for t in tests]
    assert by_w[0.0]["folds"] == [roc_auc_score(y[t], b[t]) for t in tests]
    assert by_w[0.5]["mean"] == np.mean(by_w[0.5]["folds"])
    assert by_w[0.5]["mean"] > max(by_w[0.0]["mean"], by_w[1.0]["mean"])
