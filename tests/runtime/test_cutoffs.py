"""The strategy table's arithmetic: every cut-off's figures against counting row by row."""

from __future__ import annotations

import numpy as np
import pytest

from loanscore.runtime.cutoffs import Strategy, candidates, curve, tabulate
from loanscore.runtime.grades import MasterScale

COSTS = {"cost_default": 5.0, "cost_decline_good": 1.0}


def brute(p: np.ndarray, y: np.ndarray, below: float) -> tuple[int, float, float, int, int]:
    approved = p < below
    return (int(approved.sum()), float(p[approved].sum()), float((1 - p[~approved]).sum()),
            int(y[approved].sum()), int((1 - y[~approved]).sum()))


def test_each_cut_off_counts_what_a_row_by_row_count_gives_ties_included() -> None:
    rng = np.random.default_rng(3)
    p = np.round(rng.beta(1.2, 4, 5000), 2)  # many ties, some exactly at a cut
    y = (rng.random(5000) < p).astype(int)
    cuts = candidates(0.17, MasterScale.built_in(), [0.05, 0.1, 0.3])
    rows = tabulate(p, y, cuts)
    assert [c.approve_below for c in rows] == sorted(c.approve_below for c in rows)
    for c in rows:
        k, exp_bad, exp_good, bad, good = brute(p, y, c.approve_below)
        assert (c.approved, c.observed_defaults, c.observed_good_declined) == (k, bad, good), c.label
        assert c.expected_defaults == pytest.approx(exp_bad, abs=1e-9)
        assert c.expected_good_declined == pytest.approx(exp_good, abs=1e-9)
    assert rows[-1].label == "through grade 10" and rows[-1].approved == len(p)
    assert tabulate(p, None, cuts)[3].observed_defaults is None


def test_through_a_grade_approves_exactly_the_rows_graded_at_or_below_it() -> None:
    scale = MasterScale.built_in()
    bounds = np.array([hi for _, _, hi in scale.ranges()], dtype=np.float32)
    p = np.concatenate([bounds, np.nextafter(bounds, np.float32(0)), np.nextafter(bounds, np.float32(2)),
                        np.random.default_rng(1).random(2000, dtype=np.float32)]).clip(0, 1)
    index = np.asarray(scale.index(p))
    for c in tabulate(p, None, candidates(0.5, scale)):
        if c.label.startswith("through grade "):
            k = scale.names.index(c.label.removeprefix("through grade "))
            assert c.approved == int((index <= k).sum()), c.label


def test_costs_the_least_and_the_curve() -> None:
    rng = np.random.default_rng(5)
    p = rng.beta(1, 3, 3000)
    cuts = candidates(1 / 6, MasterScale.built_in(), [0.1])
    s = Strategy("x", 3000, 3000, 1 / 6, COSTS, tabulate(p, None, cuts), "built-in")
    for c in s.cutoffs:
        _, bad, good, _, _ = brute(p, np.zeros(3000, int), c.approve_below)
        assert s.cost(c) == pytest.approx((5 * bad + good) / 3000)
    assert s.least_cost is min(s.cutoffs, key=s.cost)
    assert s.least_cost.label == "the model's threshold"  # at 5:1, P < 1/6 is the least-cost rule on calibrated P
    assert Strategy("x", 3000, 3000, 1 / 6, None, s.cutoffs, None).least_cost is None
    line = curve(p, None, COSTS, points=101)
    assert len(line.approved) == 101 and line.approved[-1] == 1.0 and line.observed_rate is None
    assert line.expected_rate[-1] == pytest.approx(p.mean()) and line.expected_cost[-1] == pytest.approx(5 * p.mean())
    assert line.expected_cost[0] == pytest.approx((1 - p).sum() / 3000, rel=1e-3)
    assert min(line.expected_cost) == pytest.approx(s.cost(s.least_cost), abs=2e-3)
