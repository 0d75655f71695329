"""Threshold rules on small hand-made scores: each rule gives the value it promises."""

import numpy as np
import pytest

from loanscore.train.threshold import ThresholdRule


def calibrated(n: int = 20000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.beta(1.2, 4.0, n)
    return (rng.random(n) < p).astype(int), p


def test_cost_rule_takes_the_threshold_from_the_costs_and_reports_the_empirical_minimum() -> None:
    y, p = calibrated()
    t = ThresholdRule("cost", cost_default=4.0, cost_decline_good=1.0).choose(y, p, "validation split")
    assert t["value"] == pytest.approx(0.2) and t["chosen_on"] == "the costs" and t["measured_on"] == "validation split"
    assert t["approval_rate"] == pytest.approx(np.mean(p < 0.2))
    # On calibrated probabilities the labels' own minimum lies near the cost ratio and costs barely less.
    best = t["empirical_minimum"]
    assert abs(best["value"] - 0.2) <= 0.03
    assert 0 <= t["expected_cost_per_applicant"] - best["expected_cost_per_applicant"] < 0.005


def test_cost_rule_does_not_move_with_the_rows_but_the_empirical_rule_does() -> None:
    rule, empirical = ThresholdRule("cost"), ThresholdRule("cost_empirical")
    values = {rule.choose(*calibrated(2000, s))["value"] for s in range(5)}
    assert values == {1 / 6}
    assert len({empirical.choose(*calibrated(2000, s))["value"] for s in range(5)}) > 1


def test_cost_empirical_picks_the_least_cost_on_the_labels() -> None:
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.5, 0.3, 0.9])
    # Declining from 0.3 stops both defaulters (5 each) at the price of the payer at 0.5 (1).
    t = ThresholdRule("cost_empirical").choose(y, p)
    assert 0.1 < t["value"] <= 0.3 and t["expected_cost_per_applicant"] == pytest.approx(0.25)
    assert t["chosen_on"] == "validation split" and "empirical_minimum" not in t


def test_approval_rate_approves_that_share() -> None:
    p = np.linspace(0, 1, 1001)
    t = ThresholdRule("approval_rate", approval_rate=0.75).choose(np.zeros(1001, int), p)
    assert t["approval_rate"] == pytest.approx(0.75, abs=0.002)


@pytest.mark.parametrize("kwargs, message", [({"rule": "gut"}, "must be one of"), ({"cost_default": 0}, "positive"),
                                             ({"approval_rate": 1.0}, "between 0 and 1")])
def test_bad_rules_are_refused_with_a_reason(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        ThresholdRule(**kwargs)


def test_training_refuses_the_cost_rule_on_uncalibrated_probabilities(tmp_path) -> None:
    from loanscore.train.trainer import TrainConfig, train

    with pytest.raises(ValueError, match="calibrated probabilities"):
        train(tmp_path / "never_read.csv", tmp_path / "run", config=TrainConfig(calibration="none"))
