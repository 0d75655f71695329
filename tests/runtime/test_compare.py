"""Champion against challenger: DeLong's test for two AUCs on the same rows, the Brier test and the swap set."""

from __future__ import annotations

import math

import numpy as np
import pytest

from loanscore.runtime.compare import SWAPS, compare_arrays
from loanscore.runtime.performance import paired_auc_difference, roc_auc

MANIFEST = {"threshold": {"value": 0.5, "inputs": {"cost_default": 5.0, "cost_decline_good": 1.0}}}


def brute_force(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """DeLong et al. (1988) written out pair by pair: each model's kernel psi(x, y) = 1, 1/2 or 0 per
    (defaulter, payer) pair, its placements, and the 2 x 2 covariance of those placements."""
    def placements(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos, neg = p[y == 1], p[y == 0]
        psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
        return psi.mean(axis=1), psi.mean(axis=0)

    (a10, a01), (b10, b01) = placements(a), placements(b)
    s10, s01 = np.cov(np.vstack([a10, b10])), np.cov(np.vstack([a01, b01]))
    var = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / len(a10) + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / len(a01)
    return b10.mean() - a10.mean(), math.sqrt(var)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_paired_delong_difference_is_the_pairwise_definition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random(300) < 0.3).astype(float)
    a = np.round(rng.random(300) + 0.4 * y, 1)  # rounded: many ties, which count half
    b = np.round(rng.random(300) + 0.6 * y, 2)
    diff, se = paired_auc_difference(y, a, b)
    want_diff, want_se = brute_force(y, a, b)
    assert diff == pytest.approx(want_diff, abs=1e-12) == pytest.approx(roc_auc(y, b) - roc_auc(y, a), abs=1e-12)
    assert se == pytest.approx(want_se, rel=1e-9)


def test_a_model_against_itself_differs_by_nothing_and_one_outcome_is_not_tested() -> None:
    y = np.array([0, 1, 0, 1, 1.0])
    p = np.array([0.1, 0.8, 0.4, 0.3, 0.9])
    assert paired_auc_difference(y, p, p) == (0.0, 0.0)
    assert all(math.isnan(v) for v in paired_auc_difference(np.ones(5), p, p[::-1]))


def test_the_test_holds_its_level_and_its_standard_error_is_the_spread_of_the_difference() -> None:
    """400 simulated files of 1,000 applicants. Two equally good scores: about 5 % of p-values under 0.05 (a 99.9 %
    binomial bound is 8 to 37 of 400). For an equal pair and for a pair where one score has half the signal, the
    mean DeLong standard error matches the difference's spread over the files within 10 % (with 400 files the
    spread itself is known to about 3.5 %, so 10 % is a 3-sigma bound)."""
    rng = np.random.default_rng(7)
    null_hits = 0
    equal: list[tuple[float, float]] = []
    unequal: list[tuple[float, float]] = []
    for _ in range(400):
        risk = rng.normal(size=1000)
        y = (rng.random(1000) < 1 / (1 + np.exp(-(risk - 1.3)))).astype(float)
        a, b, weak = (1 / (1 + np.exp(-(s * risk + rng.normal(size=1000)))) for s in (1.0, 1.0, 0.5))
        c = compare_arrays(y, a, b, MANIFEST, MANIFEST)
        null_hits += c.auc_p_value < 0.05
        equal.append((c.auc_difference, c.auc_difference_se))
        unequal.append(paired_auc_difference(y, weak, b))
    assert 8 <= null_hits <= 37
    for pairs in (equal, unequal):
        diffs, ses = np.array(pairs).T
        assert np.mean(ses) == pytest.approx(np.std(diffs, ddof=1), rel=0.10)
    assert np.mean(np.array(unequal)[:, 0]) > 0.05  # the weaker score really is weaker


def test_the_swap_set_costs_and_brier_on_a_worked_example() -> None:
    y = np.array([1, 0, 1, 0, 0, 1.0])
    champion = np.array([0.7, 0.6, 0.2, 0.1, 0.3, 0.9])   # declines rows 1, 2, 6 at 0.5
    challenger = np.array([0.2, 0.8, 0.6, 0.1, 0.2, 0.9])  # declines rows 2, 3, 6
    c = compare_arrays(y, champion, challenger, MANIFEST, MANIFEST)
    assert dict(zip(SWAPS, [(2, 0), (2, 1), (1, 1), (1, 1)])) == c.swaps
    # champion: approves a defaulter (row 3, cost 5) and declines a payer (row 2, cost 1)
    assert c.champion.cost == pytest.approx(6 / 6) and c.challenger.cost == pytest.approx(6 / 6)
    brier = lambda p: np.mean((p - y) ** 2)  # noqa: E731
    assert c.brier_difference == pytest.approx(brier(challenger) - brier(champion))
    data = c.to_dict()
    assert data["swap_set"][2] == {"group": SWAPS[2], "rows": 1, "defaults": 1, "default_rate": 1.0}
    assert data["costs"] == MANIFEST["threshold"]["inputs"] and data["compared"] == 6


def test_without_a_cost_rule_there_is_no_cost() -> None:
    manifest = {"threshold": {"value": 0.5, "rule": "approval_rate", "inputs": {"approval_rate": 0.6}}}
    c = compare_arrays([0, 1], [0.2, 0.7], [0.3, 0.6], manifest, MANIFEST)
    assert c.costs is None and c.champion.cost is None and c.to_dict()["costs"] is None
