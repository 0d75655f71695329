"""Override monitoring arithmetic: low-side and high-side counts, the referral band, groups and their test, the
limit, how the approved did, and the alert rates on simulated officers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from loanscore.runtime.fairness import Grouping
from loanscore.runtime.grades import MasterScale
from loanscore.runtime.overrides import ALERT, NO_REASON, PASS, evaluate, final_approved, final_errors
from loanscore.runtime.performance import fisher_two_sided

SCALE = MasterScale(("A", "B", "C"), (0.1, 0.3, 1.0))


def review(p, approved, **kwargs):  # type: ignore[no-untyped-def]
    kwargs.setdefault("approve_below", 0.2)
    kwargs.setdefault("decline_from", 0.2)
    return evaluate(p, approved, grades=SCALE, manifest={}, **kwargs)


def test_low_side_and_high_side_overrides_are_counted_where_the_lender_departed_from_the_model() -> None:
    p = [0.05, 0.15, 0.15, 0.25, 0.25, 0.25, 0.5, 0.9]
    approved = [True, False, True, True, False, False, True, False]
    r = review(p, approved)
    o = r.overall
    assert (o.model_approve, o.model_review, o.model_decline) == (3, 0, 5)
    assert (o.high_side, o.low_side, o.approved) == (1, 2, 4)  # 0.15 declined; 0.25 and 0.5 approved
    assert (o.high_side_rate, o.low_side_rate, o.override_rate) == (1 / 3, 2 / 5, 3 / 8)
    assert [(g.label.split()[0], g.applicants, g.high_side, g.low_side) for g in r.grades] == [
        ("A", 1, 0, 0), ("B", 5, 1, 1), ("C", 2, 0, 1)]
    assert r.verdict == PASS and r.to_dict()["overall"]["low_side"] == 2


def test_between_the_cut_offs_the_model_refers_and_deciding_is_no_override() -> None:
    r = review([0.1, 0.3, 0.3, 0.5], [False, True, False, True], approve_below=0.2, decline_from=0.4)
    o = r.overall
    assert (o.model_approve, o.model_review, o.model_decline) == (1, 2, 1)
    assert (o.high_side, o.low_side, o.review_approved, o.overrides, o.decided) == (1, 1, 1, 2, 2)


def test_a_rate_above_the_limit_alerts_and_a_rate_among_none_is_undefined() -> None:
    p, approved = [0.1] * 20 + [0.5] * 10, [True] * 20 + [True] + [False] * 9
    assert review(p, approved, limit=0.1).verdict == PASS  # low-side 1 of 10: at the limit, not above
    assert review(p, approved, limit=0.09).verdict == ALERT
    only_approved = review([0.1, 0.1], [True, False])
    assert math.isnan(only_approved.overall.low_side_rate) and only_approved.to_dict()["overall"]["low_side_rate"] \
        is None


def test_each_group_is_tested_against_the_rest_and_only_more_overrides_alert() -> None:
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 0.4, 3000)
    branch = rng.choice(np.array(["north", "south", "east"]), 3000)
    declined = p >= 0.2
    rate = np.where(branch == "east", 0.3, 0.05)  # east approves 30 % of the model's declines, the others 5 %
    approved = np.where(declined, rng.random(3000) < rate, True)
    r = review(p, approved, by=[(Grouping("branch"), branch)])
    groups = {g.tally.label: g for g in r.by["branch"]}
    east, rest = groups["east"].tally, r.overall
    want = fisher_two_sided(east.overrides, east.decided - east.overrides, rest.overrides - east.overrides,
                            rest.decided - east.decided - rest.overrides + east.overrides)
    assert groups["east"].p_value == pytest.approx(want, rel=1e-12) and groups["east"].above
    assert r.flagged("branch", groups["east"]) and r.verdict == ALERT
    assert not any(r.flagged("branch", groups[b]) for b in ("north", "south"))  # fewer than the rest: no alert
    assert groups["north"].p_value < r.alpha("branch") and not groups["north"].above
    assert r.alpha("branch") == pytest.approx(0.01 / 3)


def test_how_the_approved_did_splits_them_by_the_models_decision() -> None:
    p = np.array([0.1, 0.1, 0.1, 0.3, 0.3, 0.3, 0.3, 0.5])
    approved = np.array([True, True, True, True, True, True, False, False])
    y = np.array([0, 1, np.nan, 1, 0, np.nan, 1, np.nan])  # not known yet, or a declined applicant's
    r = review(p, approved, y=y, approve_below=0.2, decline_from=0.4)
    by_label = {x.label: x for x in r.performance}
    assert (by_label["approved by the model"].rows, by_label["approved by the model"].defaults) == (2, 1)
    assert (by_label["referred, then approved"].rows, by_label["referred, then approved"].defaults) == (2, 1)
    assert by_label["referred, then approved"].expected == pytest.approx(0.6)
    assert by_label["low-side overrides"].rows == 0 and math.isnan(by_label["low-side overrides"].p_value)
    assert (r.unknown_outcomes, r.declined_outcomes) == (2, 1)


def test_overrides_are_counted_by_their_stated_reason_and_a_missing_one_is_named() -> None:
    p = np.array([0.1, 0.1, 0.3, 0.3, 0.3, 0.3, 0.5])
    approved = np.array([True, False, True, True, True, False, True])
    reasons = ["ignored: no override", "documents", "collateral", " collateral ", None, "collateral", ""]
    y = np.array([0, np.nan, 1, 0, 0, np.nan, 1])
    r = review(p, approved, y=y, reasons=reasons, reason="why")
    got = {t.label: (t.low_side, t.high_side, t.performance.rows, t.performance.defaults) for t in r.reasons}
    assert got == {"collateral": (2, 0, 2, 1), "documents": (0, 1, 0, 0), NO_REASON: (2, 0, 2, 1)}
    assert [t.label for t in r.reasons] == ["collateral", "documents", NO_REASON]  # most frequent first, none last
    assert r.to_dict()["reasons"][0]["low_side_outcomes"]["expected_defaults"] == pytest.approx(0.6)
    assert review(p, approved, reasons=reasons).reasons[0].performance is None  # no outcomes, no performance


def test_final_decisions_are_words_for_approve_or_decline_and_anything_else_is_named() -> None:
    values = ["Approved", " declined ", "ACCEPT", "rejected", "denied", "granted", "", None, "maybe", "1"]
    errors = final_errors(values, "final_decision", 1)
    assert sorted(errors) == [6, 7, 8, 9]
    assert "row 7" in str(errors[6]) and "is missing" in str(errors[6])
    assert "must be the lender's final decision, approve or decline" in str(errors[8]) and "maybe" in str(errors[8])
    assert final_approved(values[:6]).tolist() == [True, False, True, False, False, True]


def _officers(seed: int, east: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """3,000 applicants at four branches; everywhere the officers approve 6 % of the model's declines and decline
    2 % of its approvals, at the east branch ``east`` of its declines; outcomes drawn from the probabilities."""
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 7, 3000)
    branch = rng.choice(np.array(["north", "south", "east", "west"]), 3000, p=[0.4, 0.3, 0.2, 0.1])
    low = np.where(branch == "east", east, 0.06)
    approved = np.where(p >= 0.2, rng.random(3000) < low, rng.random(3000) >= 0.02)
    return p, branch, approved, (rng.random(3000) < p).astype(float)


def test_branches_alike_rarely_alert_and_one_overriding_three_times_as_often_is_caught() -> None:
    """300 files with every branch alike: the group test alerts about 1 time in 100 or less (Bonferroni); 100 files
    where the east branch approves 18 % of the declines instead of 6 % (power about 98 % on 300 such files)."""
    false_alarms = caught = 0
    for s in range(300):
        p, branch, approved, _ = _officers(100 + s, 0.06)
        false_alarms += review(p, approved, by=[(Grouping("branch"), branch)]).verdict == ALERT
    for s in range(100):
        p, branch, approved, _ = _officers(700 + s, 0.18)
        r = review(p, approved, by=[(Grouping("branch"), branch)])
        caught += any(g.tally.label == "east" and r.flagged("branch", g) for g in r.by["branch"])
    assert false_alarms <= 9 and caught >= 90, (false_alarms, caught)


def test_low_side_overrides_that_default_less_than_expected_are_told_apart() -> None:
    """Officers who see what the model does not: their low-side overrides default at half their P(default); and
    officers who do not, whose overrides default as the probabilities say. 100 files each."""
    told = false_alarms = 0
    for s in range(100):
        p, _, approved, y = _officers(1300 + s, 0.3)
        low = review(p, approved, y=np.where(approved, y, np.nan)).performance[-1]
        false_alarms += low.p_value < 0.01
        truth = np.where((p >= 0.2) & approved, p / 2, p)
        y = (np.random.default_rng(s).random(len(p)) < truth).astype(float)
        low = review(p, approved, y=np.where(approved, y, np.nan)).performance[-1]
        told += low.p_value < 0.01 and low.defaults < low.expected
    assert told >= 90 and false_alarms <= 4, (told, false_alarms)
