"""The runtime's metrics against definitions written out the slow way, and the DeLong interval's coverage.

scikit-learn and SciPy are not installed with the runtime; the training tests
check the same functions against them (tests/train/test_metrics_match_sklearn.py).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from loanscore.runtime.performance import (
    Z_95,
    average_precision,
    binomial_two_sided,
    classification_metrics,
    expected_calibration_error,
    fisher_two_sided,
    ks_statistic,
    midranks,
    normal_cdf,
    roc_auc_with_se,
)


def scores_with_ties(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    p = np.round(np.clip(rng.normal(0.3 + 0.2 * y, 0.2), 0, 1), 1)  # few distinct values: many ties
    return y, p


def test_midranks_share_the_mean_rank_of_a_tie() -> None:
    assert midranks(np.array([3.0, 1.0, 3.0, 2.0, 3.0])).tolist() == [4.0, 1.0, 4.0, 2.0, 4.0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_and_its_delong_error_equal_the_pairwise_definitions(seed: int) -> None:
    y, p = scores_with_ties(120, seed)
    pos, neg = p[y], p[~y]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])  # each defaulter-payer pair
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    se = math.sqrt(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg))
    auc, got_se = roc_auc_with_se(y, p)
    assert auc == pytest.approx(psi.mean(), abs=1e-12)
    assert got_se == pytest.approx(se, abs=1e-12)


def test_the_delong_interval_covers_the_true_auc_95_times_in_100() -> None:
    """Binormal scores 1 sd apart have AUC = Phi(1/sqrt 2) = 0.760. In 2,000 samples of 600 a 95 % interval
    should cover it 95 % of the time; half (or double) the variance would cover it about 84 % (or 99 %)."""
    true_auc = normal_cdf(1 / math.sqrt(2))
    rng = np.random.default_rng(7)
    covered = 0
    for _ in range(2000):
        y = rng.random(600) < 0.25
        p = rng.normal(y.astype(float), 1.0)
        auc, se = roc_auc_with_se(y, p)
        covered += abs(auc - true_auc) <= Z_95 * se
    assert 0.935 <= covered / 2000 <= 0.965  # 0.95 +- 3 binomial sd (0.005) of a share of 2,000


@pytest.mark.parametrize("seed", [0, 1])
def test_ks_and_average_precision_equal_their_definitions_over_thresholds(seed: int) -> None:
    y, p = scores_with_ties(300, seed)
    thresholds = np.unique(p)[::-1]
    gaps, ap, last_recall = [], 0.0, 0.0
    for t in thresholds:
        declined = p >= t
        recall = (declined & y).sum() / y.sum()
        gaps.append(recall - (declined & ~y).sum() / (~y).sum())
        ap += (recall - last_recall) * (declined & y).sum() / declined.sum()
        last_recall = recall
    assert ks_statistic(y, p) == pytest.approx(max(gaps), abs=1e-12)
    assert average_precision(y, p) == pytest.approx(ap, abs=1e-12)


def test_one_class_leaves_ranking_figures_undefined_not_wrong() -> None:
    y, p = np.zeros(5), np.linspace(0.1, 0.5, 5)
    assert math.isnan(roc_auc_with_se(y, p)[0]) and math.isnan(ks_statistic(y, p))
    assert math.isnan(average_precision(y, p))


def test_calibration_error_and_threshold_figures_by_hand() -> None:
    y = np.array([0, 0, 1, 1, 1])
    p = np.array([0.05, 0.15, 0.15, 0.85, 0.95])
    # bins [0, .1): |0 - .05| * 1/5; [.1, .2): |.5 - .15| * 2/5; [.8, .9) and [.9, 1]: |1 - .85|, |1 - .95| * 1/5
    assert expected_calibration_error(y, p) == pytest.approx((0.05 + 0.7 + 0.15 + 0.05) / 5)
    m = classification_metrics(y, p, threshold=0.5)
    assert m["confusion_matrix"] == {"tp": 2, "fp": 0, "tn": 2, "fn": 1}
    assert (m["precision"], m["recall"], m["approval_rate"]) == (1.0, pytest.approx(2 / 3), 0.6)


def test_binomial_test_by_hand_and_by_brute_force() -> None:
    assert binomial_two_sided(7, 10, 0.5) == pytest.approx(352 / 1024, abs=1e-12)  # P(X >= 7) + P(X <= 3)
    for n, rate in [(20, 0.1), (37, 0.22), (60, 0.7)]:
        pmf = [math.comb(n, k) * rate**k * (1 - rate) ** (n - k) for k in range(n + 1)]
        for k in range(n + 1):
            brute = sum(q for q in pmf if q <= pmf[k] * (1 + 1e-7))
            assert binomial_two_sided(k, n, rate) == pytest.approx(min(1.0, brute), rel=1e-9, abs=1e-15)


def test_binomial_test_is_finite_for_a_million_rows_and_at_the_edges() -> None:
    assert binomial_two_sided(220_000, 1_000_000, 0.22) == pytest.approx(1.0, abs=1e-3)
    assert binomial_two_sided(222_000, 1_000_000, 0.22) < 1e-5  # 4.8 sd above
    assert binomial_two_sided(0, 50, 0.0) == 1.0 and binomial_two_sided(1, 50, 0.0) == 0.0
    assert binomial_two_sided(0, 0, 0.3) == 1.0


def test_fisher_test_by_hand_and_by_brute_force() -> None:
    assert fisher_two_sided(3, 1, 1, 3) == pytest.approx(34 / 70, abs=1e-12)  # Fisher's tea tasting
    assert fisher_two_sided(5, 0, 5, 0) == 1.0  # one column empty: nothing can differ
    with pytest.raises(ValueError):
        fisher_two_sided(-1, 2, 3, 4)
    for a, b, c, d in [(2, 9, 7, 3), (0, 12, 5, 5), (10, 30, 22, 18), (1, 1, 30, 0)]:
        row, col, n = a + b, a + c, a + b + c + d
        pmf = {k: math.comb(col, k) * math.comb(n - col, row - k) for k in range(max(0, row + col - n), min(row, col) + 1)}
        brute = sum(q for q in pmf.values() if q <= pmf[a] * (1 + 1e-7)) / sum(pmf.values())
        assert fisher_two_sided(a, b, c, d) == pytest.approx(brute, rel=1e-9), (a, b, c, d)

