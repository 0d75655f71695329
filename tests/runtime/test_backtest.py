"""Back-testing: false alarms stay near 1 in 100, real degradation is caught, outcomes are read strictly."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from loanscore.runtime.backtest import ALERT, NOT_TESTED, PASS, evaluate, outcome_errors, outcomes
from loanscore.runtime.performance import roc_auc


@pytest.fixture(scope="module")
def manifest() -> dict:
    """A manifest whose development AUC is the true AUC of the simulated population below."""
    rng = np.random.default_rng(0)
    p = rng.beta(2, 7, 1_000_000)  # mean 0.22, like the development data's default rate
    true_auc = roc_auc(rng.random(len(p)) < p, p)
    return {"threshold": {"value": 0.2, "inputs": {"cost_default": 5.0, "cost_decline_good": 1.0},
                          "expected_cost_per_applicant": 0.5},
            "metrics": {"out_of_fold": {"n": 10_000, "roc_auc": true_auc}}}


def sample(seed: int, n: int = 2000) -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
    rng = np.random.default_rng(seed)
    return rng.beta(2, 7, n), rng.random(n), rng


def test_a_sound_model_rarely_raises_an_alert(manifest) -> None:
    """Outcomes drawn from the probabilities themselves: each test should alert about 1 time in 100
    (calibration at most 2: the file's test plus the bands' Bonferroni share). 300 files of 2,000 rows."""
    alerts = {"discrimination": 0, "calibration": 0}
    for seed in range(300):
        p, u, _ = sample(100 + seed)
        result = evaluate(u < p, p, manifest)
        alerts["discrimination"] += result.discrimination == ALERT
        alerts["calibration"] += result.calibration == ALERT
    assert alerts["discrimination"] <= 9 and alerts["calibration"] <= 9, alerts  # 3 %: nominal + 2 binomial sd


def test_defaults_a_quarter_above_the_probabilities_are_a_calibration_alert(manifest) -> None:
    caught = 0
    for seed in range(100):
        p, u, _ = sample(1000 + seed)
        caught += evaluate(u < np.minimum(1.0, 1.25 * p), p, manifest).calibration == ALERT
    assert caught >= 90


def test_a_model_that_ranks_worse_is_a_discrimination_alert(manifest) -> None:
    """Outcomes follow another ranking for 35 % of the rows: the AUC drops by about 0.05."""
    caught = 0
    for seed in range(100):
        p, u, rng = sample(2000 + seed)
        truth = p.copy()
        rows = rng.permutation(len(p))[:700]
        truth[rows] = rng.permutation(truth[rows])
        caught += evaluate(u < truth, p, manifest).discrimination == ALERT
    assert caught >= 90


def test_outcomes_of_the_approved_only_are_judged_against_what_their_probabilities_can_reach(manifest) -> None:
    """Only applicants below the cut-off have outcomes (the declined got no loan): the AUC falls far below the
    development AUC by nature, and a test against it alerts on nearly every sound file. Against the AUC these
    rows' probabilities should give it alerts about 1 time in 100 (300 files of 4,000 applicants), and a model
    whose ranking is lost for half the approved (the AUC 0.07 lower) is still caught (100 files)."""
    from loanscore.runtime.performance import normal_cdf

    dev = manifest["metrics"]["out_of_fold"]["roc_auc"]
    against_development, false_alarms, caught = 0, 0, 0
    for seed in range(300):
        p, u, rng = sample(3000 + seed, 4000)
        approved = p < 0.2
        result = evaluate(u[approved] < p[approved], p[approved], manifest)
        against_development += normal_cdf((result.metrics["roc_auc"] - dev) / result.auc_se) < 0.01
        false_alarms += result.discrimination == ALERT
        if seed < 100:
            truth = p[approved].copy()
            rows = rng.permutation(len(truth))[: len(truth) // 2]
            truth[rows] = rng.permutation(truth[rows])
            caught += evaluate(u[approved] < truth, p[approved], manifest).discrimination == ALERT
    assert against_development >= 270  # the development AUC as the benchmark: an alert on nearly every sound file
    assert false_alarms <= 9 and caught >= 90, (against_development, false_alarms, caught)


def test_the_expected_auc_is_the_auc_outcomes_drawn_from_the_probabilities_give() -> None:
    from loanscore.runtime.performance import expected_auc

    p = np.random.default_rng(7).beta(2, 7, 3000)
    mean, sd = expected_auc(p)
    draws = [roc_auc(np.random.default_rng(100 + k).random(len(p)) < p, p) for k in range(300)]
    assert mean == pytest.approx(np.mean(draws), abs=3 * np.std(draws) / np.sqrt(300) + 1e-3)
    assert sd == pytest.approx(np.std(draws), rel=0.25)
    assert expected_auc(np.full(100, 0.3)) == (0.5, 0.0)  # all tied: every pair counts half
    assert all(math.isnan(v) for v in expected_auc([0.2]))


def test_the_figures_and_their_json(manifest) -> None:
    p, u, _ = sample(5)
    y = u < p
    result = evaluate(y, p, manifest, source="book.csv", outcome="defaulted")
    report = json.loads(json.dumps(result.to_dict()))
    assert report["scored"] == 2000 and report["calibration"]["defaults"] == int(y.sum())
    assert report["calibration"]["expected_defaults"] == pytest.approx(p.sum())
    assert sum(b["rows"] for b in report["calibration"]["bands"]) == 2000
    assert sum(b["defaults"] for b in report["calibration"]["bands"]) == int(y.sum())
    assert report["calibration"]["bands_from"].startswith("this file's score deciles")
    lo, hi = report["discrimination"]["interval_95"]
    assert lo < report["discrimination"]["roc_auc"] < hi
    declined = p >= 0.2
    cost = (5 * np.sum(~declined & y) + np.sum(declined & ~y)) / 2000
    assert report["expected_cost_per_applicant"]["actual"] == pytest.approx(cost)


def test_bands_are_the_development_score_deciles_when_the_manifest_has_them(scorer) -> None:
    manifest = scorer.model.manifest
    edges = manifest["population"]["score"]["edges"]
    p = np.linspace(0.001, 0.999, 999)
    result = evaluate(np.random.default_rng(0).random(999) < p, p, manifest)
    assert result.bands_from == "development score deciles"
    assert len(result.bands) == len(edges) + 1
    assert [b.rows for b in result.bands] == np.bincount(np.searchsorted(edges, p, side="left")).tolist()


def test_one_outcome_only_cannot_test_ranking_but_still_tests_calibration(manifest) -> None:
    p = np.full(500, 0.2)
    result = evaluate(np.zeros(500), p, manifest)
    assert result.discrimination == NOT_TESTED and math.isnan(result.metrics["roc_auc"])
    assert result.calibration == ALERT  # 0 defaults where 100 were expected
    assert evaluate(np.r_[np.ones(100), np.zeros(400)], p, manifest).calibration == PASS


@pytest.mark.parametrize(("value", "expected"), [
    ("1", 1.0), ("0", 0.0), (" 1 ", 1.0), ("1.0", 1.0), ("0.0", 0.0), ("true", 1.0), ("False", 0.0), (1, 1.0),
    (True, 1.0), (0.0, 0.0), (None, math.nan), ("", math.nan), ("2", math.nan), ("0.5", math.nan), ("yes", math.nan),
])
def test_outcomes_are_0_or_1_and_nothing_else(value, expected) -> None:
    got = outcomes([value])[0]
    assert (math.isnan(got) and math.isnan(expected)) or got == expected


def test_a_missing_or_unreadable_outcome_names_its_row_and_field() -> None:
    errors = outcome_errors(["1", "", "2", "0"], "defaulted", first_row=11)
    assert sorted(errors) == [1, 2]
    assert str(errors[1]) == "defaulted is missing; a back-test needs every row's outcome. Got '' in row 12."
    assert str(errors[2]) == "defaulted must be 0 (repaid) or 1 (defaulted). Got '2' in row 13."


def test_the_roc_curve_drawn_has_the_auc_as_its_area(manifest) -> None:
    from loanscore.runtime.backtest_plot import roc_points

    p, u, _ = sample(9, n=3000)
    p = np.round(p, 2)  # ties: the curve must take them in one diagonal step, as the AUC counts them half
    y = u < p
    fpr, tpr = np.array(roc_points(y, p, most=10_000)).T
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    area = np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)  # trapezoids
    assert area == pytest.approx(roc_auc(y, p), abs=1e-12)


def test_wilson_interval_by_hand() -> None:
    from loanscore.runtime.backtest_plot import wilson_interval

    lo, hi = wilson_interval(0, 10)  # no default in 10: the interval still reaches 0.2775
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    lo, hi = wilson_interval(50, 100)
    assert (lo, hi) == (pytest.approx(0.4038, abs=1e-4), pytest.approx(0.5962, abs=1e-4))


def test_a_segment_miscalibrated_both_ways_is_found_where_the_whole_file_looks_fine(manifest) -> None:
    """Half the rows default 1.6 times as often as predicted, half 0.4 times: the whole file and its score
    bands balance out; calibration within the segments does not."""
    p, u, rng = sample(11, n=6000)
    group = np.where(rng.random(len(p)) < 0.5, "north", "south")
    y = u < np.where(group == "north", np.minimum(1.0, 1.6 * p), 0.4 * p)
    result = evaluate(y, p, manifest, by={"region": group})
    assert result.calibration == PASS and result.segment_calibration == ALERT and result.verdict == ALERT
    assert [s.label for s in result.segments["region"]] == ["north", "south"]
    assert evaluate(y, p, manifest).verdict == PASS  # without segments it goes unseen


def test_segments_of_a_sound_model_rarely_alert(manifest) -> None:
    alerts = 0
    for seed in range(100):
        p, u, rng = sample(3000 + seed)
        group = rng.choice(["a", "b", "c", "d"], len(p))
        alerts += evaluate(u < p, p, manifest, by={"group": group}).segment_calibration == ALERT
    assert alerts <= 4  # nominal 1 in 100 (Bonferroni over 4 segments): 4 is nominal + 3 binomial sd


def test_too_many_distinct_values_are_refused_with_advice(manifest) -> None:
    from loanscore.runtime.errors import InputError

    p, u, _ = sample(12, n=500)
    with pytest.raises(InputError, match="has 500 distinct values; segments need at most 20"):
        evaluate(u < p, p, manifest, by={"application_id": np.arange(500).astype(str)})


def test_a_damaged_manifest_is_refused_naming_the_entry(manifest) -> None:
    """A hand-edited manifest (golden.json absent, so loading cannot tell) is named, never a traceback."""
    from loanscore.runtime.errors import ModelError

    p, u, _ = sample(13, n=500)
    costs = json.loads(json.dumps(manifest))
    costs["threshold"]["inputs"]["cost_default"] = "five"
    with pytest.raises(ModelError, match="threshold's costs .* are not positive numbers"):
        evaluate(u < p, p, costs)
    fields = dict(manifest, population={"fields": {"grade": {"kind": "code", "counts": [1, 10**30]}}})
    with pytest.raises(ModelError, match="malformed 'population' entry"):
        evaluate(u < p, p, fields, by={"grade": np.array(["A"] * 500)})
