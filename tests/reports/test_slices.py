"""Slice arithmetic against a table worked out by hand."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from numpy.testing import assert_allclose

from loanscore.runtime.performance import fisher_two_sided
from loanscore.train.reports.slices import auc, band_labels, slice_groups, slice_table

# group a: y 0 0 1 1, p .1 .2 .3 .8 -> approved (p < .5) 3 of 4; both defaulters score above both payers: AUC 1
# group b: y 0 1 0 0 1, p .6 .7 .2 .9 .4 -> approved .2 and .4: 2 of 5; AUC: defaulter-above-payer pairs 3 of 6 = .5
# group c: y 0 0, p .5 .1 -> p = .5 is declined (p >= threshold): 1 of 2 approved; one class only: AUC undefined
Y = [0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 0]
P = [0.1, 0.2, 0.3, 0.8, 0.6, 0.7, 0.2, 0.9, 0.4, 0.5, 0.1]
G = ["a"] * 4 + ["b"] * 5 + ["c"] * 2


def test_slice_table_matches_the_hand_computed_example():
    t = slice_table(Y, P, G, 0.5, field="F", min_group=1).set_index("group")
    assert list(t.index) == ["a", "b", "c"]
    assert t["count"].tolist() == [4, 5, 2]
    assert t["defaults"].tolist() == [2, 2, 0]
    assert_allclose(t["default_rate"], [0.5, 0.4, 0.0], atol=1e-12)
    assert t["approved"].tolist() == [3, 2, 1]
    assert_allclose(t["approval_rate"], [0.75, 0.4, 0.5], atol=1e-12)
    assert_allclose(t.loc[["a", "b"], "auc"], [1.0, 0.5], atol=1e-12)
    assert math.isnan(t.loc["c", "auc"])
    assert t["reference"].tolist() == [True, False, False]
    assert_allclose(t["approval_ratio"], [1.0, 0.4 / 0.75, 0.5 / 0.75], atol=1e-12)
    assert t["four_fifths_flag"].tolist() == [False, True, True]
    assert set(t["field"]) == {"F"}
    # Fisher's exact test against a (3 of 4 approved): b 2 of 5, c 1 of 2; none significant in so few rows
    assert math.isnan(t.loc["a", "p_value"])
    assert_allclose(t.loc[["b", "c"], "p_value"], [fisher_two_sided(2, 3, 3, 1), fisher_two_sided(1, 1, 3, 1)])
    assert not t["adverse_impact"].any()


def test_a_large_gap_in_large_groups_is_adverse_impact():
    p = [0.1] * 80 + [0.9] * 20 + [0.1] * 40 + [0.9] * 60  # a approves 80 of 100, b 40 of 100
    t = slice_table([0] * 200, p, ["a"] * 100 + ["b"] * 100, 0.5).set_index("group")
    assert t.loc["b", "p_value"] == pytest.approx(fisher_two_sided(40, 60, 80, 20)) and t.loc["b", "p_value"] < 1e-6
    assert t["adverse_impact"].tolist() == [False, True]


def test_small_groups_cannot_be_the_reference():
    # with min_group=5 only b (5 rows) is eligible: a and c are compared with b and nothing is flagged
    t = slice_table(Y, P, G, 0.5, min_group=5).set_index("group")
    assert t["reference"].tolist() == [False, True, False]
    assert t["small_sample"].tolist() == [True, False, True]
    assert_allclose(t["approval_ratio"], [0.75 / 0.4, 1.0, 0.5 / 0.4], atol=1e-12)
    assert not t["four_fifths_flag"].any()


def test_exactly_four_fifths_is_not_flagged():
    # a approves 5 of 5, b 4 of 5: ratio exactly 0.8 is on the allowed side of "< 0.8"
    p = [0.1] * 5 + [0.1] * 4 + [0.9]
    t = slice_table([0, 1] * 5, p, ["a"] * 5 + ["b"] * 5, 0.5, min_group=1).set_index("group")
    assert t.loc["b", "approval_ratio"] == pytest.approx(0.8)
    assert not t.loc["b", "four_fifths_flag"]


def test_missing_group_values_form_their_own_group():
    t = slice_table([0, 1, 0], [0.1, 0.9, 0.2], ["a", None, float("nan")], 0.5, min_group=1)
    assert t["group"].tolist() == ["a", "missing"]
    assert t["count"].tolist() == [1, 2]


def test_lengths_must_agree():
    with pytest.raises(ValueError, match="same length"):
        slice_table([0, 1], [0.1], ["a", "b"], 0.5)


def test_auc_agrees_with_scikit_learn_including_ties():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 500)
    p = np.round(rng.random(500), 1)  # many ties
    assert auc(y, p) == pytest.approx(sklearn_metrics.roc_auc_score(y, p), abs=1e-12)
    assert auc([0, 1], [0.5, 0.5]) == 0.5
    assert math.isnan(auc([1, 1], [0.2, 0.3]))


def test_age_bands():
    assert band_labels([17, 24.9, 25, 34, 35, 65, 80, float("nan")]) == \
        ["<25", "<25", "25-34", "25-34", "35-44", "65+", "65+", None]
    with pytest.raises(ValueError, match="strictly increasing"):
        band_labels([1], [30, 20])


def test_slice_groups_follow_the_schema(taiwan, other_schema):
    import pandas as pd

    X = pd.DataFrame({"AGE": [30.0, 70.0], "SEX": [1.0, 2.0], "EDUCATION": [5.0, 1.0], "MARRIAGE": [0.0, 9.0]})
    groups = slice_groups(taiwan, X)
    assert list(groups) == ["AGE band", "SEX", "EDUCATION", "MARRIAGE"]
    assert groups["AGE band"] == ["25-34", "65+"]
    assert groups["SEX"] == ["1 male", "2 female"]
    assert groups["EDUCATION"] == ["5 undocumented", "1 graduate school"]
    assert groups["MARRIAGE"] == ["0 undocumented", "9"]
    # no AGE field in the other schema: only its categorical field is sliced
    assert list(slice_groups(other_schema, pd.DataFrame({"region": ["N", None]}))) == ["region"]
    # ... unless the schema gives a number field bands, as it does for a fairness review
    banded = replace(other_schema, numeric=(replace(other_schema.numeric[1], bands=(2.0, 10.0)),))
    groups = slice_groups(banded, pd.DataFrame({"tenure": [0, 5, 12], "region": ["N", "S", "X"]}))
    assert groups == {"tenure band": ["<2", "2-9", "10+"], "region": ["N north", "S south", "X undocumented"]}
