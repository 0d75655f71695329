"""The runtime's numpy metrics give scikit-learn's and SciPy's figures, so reports and back-tests agree with them."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest, fisher_exact
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score, roc_curve

from loanscore.runtime.performance import binomial_two_sided, classification_metrics, fisher_two_sided


@pytest.mark.parametrize("decimals", [None, 2, 1])  # None: no ties; 1: a handful of distinct scores
@pytest.mark.parametrize("seed", [0, 1])
def test_ranking_and_probability_figures_equal_scikit_learns(decimals: int | None, seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random(5000) < 0.22).astype(int)
    p = np.clip(rng.normal(0.2 + 0.2 * y, 0.15), 0, 1)
    if decimals is not None:
        p = np.round(p, decimals)
    m = classification_metrics(y, p, threshold=0.17)
    fpr, tpr, _ = roc_curve(y, p)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, p), abs=1e-12)
    assert m["ks"] == pytest.approx(np.max(tpr - fpr), abs=1e-12)
    assert m["brier"] == pytest.approx(brier_score_loss(y, p), abs=1e-12)


@pytest.mark.parametrize(("k", "n", "rate"), [(7, 10, 0.5), (3, 50, 0.2), (130, 600, 0.2), (0, 5, 0.3),
                                              (1300, 6000, 0.22), (88, 2400, 0.0368), (1717, 2400, 0.7065)])
def test_the_binomial_test_equals_scipys(k: int, n: int, rate: float) -> None:
    assert binomial_two_sided(k, n, rate) == pytest.approx(binomtest(k, n, rate).pvalue, rel=1e-9)


@pytest.mark.parametrize("table", [(3, 1, 1, 3), (0, 40, 9, 31), (160, 40, 80, 120), (24, 16, 18, 22),
                                   (2914, 1145, 964, 922), (9000, 1000, 8600, 1400), (5, 0, 0, 5)])
def test_fishers_exact_test_equals_scipys(table: tuple[int, int, int, int]) -> None:
    a, b, c, d = table
    assert fisher_two_sided(a, b, c, d) == pytest.approx(fisher_exact([[a, b], [c, d]]).pvalue, rel=1e-9)

