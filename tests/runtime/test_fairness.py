"""Fairness review arithmetic: Fisher's exact test, groups, ratios, the alert rules, and the shipped model's counts."""

from __future__ import annotations

import io
import math
from dataclasses import replace

import numpy as np
import pytest

from loanscore.runtime.errors import InputError
from loanscore.runtime.fairness import MIN_GROUP, Grouping, evaluate, groupings, review
from loanscore.runtime.performance import fisher_two_sided

MANIFEST: dict = {}


def test_bands_codes_and_missing_make_the_groups() -> None:
    index, labels = Grouping("AGE", (25.0, 35.0, 65.0)).index([18, 24.9, 25, 34, 35, 64, 65, 99, None, "x", ""], {})
    assert labels == ["<25", "25-34", "35-64", "65+", "missing"]
    assert [labels[i] for i in index] == ["<25", "<25", "25-34", "25-34", "35-64", "35-64", "65+", "65+",
                                          "missing", "missing", "missing"]
    _, labels = Grouping("X", (0.5, 1.5)).index([1], {})
    assert labels == ["<0.5", "[0.5, 1.5)", "1.5+", "missing"]

    sex = Grouping("SEX", codes=("1", "2"), labels={"1": "male", "2": "female"})
    index, labels = sex.index([1.0, "2", " 2 ", np.float32(1), None, float("nan"), "9"], {})
    assert labels == ["1 male", "2 female", "9", "missing"]
    assert index.tolist() == [0, 1, 1, 0, 3, 3, 2]
    with pytest.raises(InputError, match="at most 20"):
        sex.index([str(i) for i in range(40)], {})
    index, labels = Grouping("branch").index(["north", "south", "north", ""], {})
    assert [labels[i] for i in index] == ["north", "south", "north", "missing"]


def test_groupings_default_to_the_schemas_protected_fields(schema) -> None:
    found = groupings(schema, ())
    assert [(g.name, g.protected) for g in found] == [("AGE", True), ("SEX", True), ("MARRIAGE", True)]
    assert found[0].edges == (25, 35, 45, 55, 65) and found[1].labels == {"1": "male", "2": "female"}
    age, branch, limit = groupings(schema, ("AGE:30,50", "branch", "LIMIT_BAL"))
    assert age.edges == (30, 50) and age.protected and branch == Grouping("branch")
    assert limit.how({"population": {"fields": {"LIMIT_BAL": {}}}}) == "development deciles"
    assert (branch.how({}), age.how({}), groupings(schema, ("SEX",))[0].how({})) == ("values", "bands 30, 50", "codes")
    lean = schema.without(["SEX", "MARRIAGE"])
    assert [g.name for g in groupings(lean, ())] == ["AGE", "SEX", "MARRIAGE"]  # trained without: still reviewed
    assert groupings(lean, ("SEX",))[0].codes == ("1", "2")
    for bad in ("SEX:1,2", "AGE:40,30", "AGE:x"):
        with pytest.raises(InputError, match="categorical" if bad.startswith("SEX") else "increasing"):
            groupings(schema, (bad,))
    with pytest.raises(InputError, match="twice"):
        groupings(schema, ("AGE", "AGE:30"))
    assert groupings(replace(schema, numeric=(), categorical=()), ()) == []  # nothing marked protected


def _review(approve_a: int, rows_a: int, approve_b: int, rows_b: int, *, small: int = 0):
    """Groups a and b (and c, ``small`` rows, none approved): probabilities 0.1 approved, 0.9 declined at 0.5."""
    p, g = [], []
    for name, approved, rows in (("a", approve_a, rows_a), ("b", approve_b, rows_b), ("c", 0, small)):
        p += [0.1] * approved + [0.9] * (rows - approved)
        g += [name] * rows
    return evaluate(p, [(Grouping("g"), g)], 0.5, MANIFEST).fields[0]


def test_a_large_gap_below_four_fifths_is_adverse_impact_and_a_small_group_is_not_tested() -> None:
    f = _review(160, 200, 80, 200, small=10)
    a, b, c = f.groups
    assert f.reference is a and (a.approval_rate, b.approval_rate) == (0.8, 0.4)
    assert f.ratio(b) == pytest.approx(0.5)
    assert f.p_value(b) == pytest.approx(fisher_two_sided(80, 120, 160, 40), rel=1e-12) and f.p_value(b) < 1e-10
    assert f.alpha == 0.01  # one comparison: c is too small to test
    assert f.adverse(b) and not f.adverse(a) and f.verdict == "alert"
    assert c.rows < MIN_GROUP and not f.tested(c) and not f.adverse(c) and math.isnan(f.p_value(c))
    assert f.ratio(c) == 0.0  # shown, not tested


def test_below_four_fifths_within_chance_or_significant_above_it_is_no_alert() -> None:
    f = _review(24, 40, 18, 40)  # 60 % and 45 %: ratio 0.75, p about 0.26
    assert f.ratio(f.groups[1]) == pytest.approx(0.75) and f.p_value(f.groups[1]) > 0.1
    assert f.verdict == "pass"
    f = _review(9000, 10000, 8600, 10000)  # 90 % and 86 %: highly significant, ratio 0.956
    assert f.p_value(f.groups[1]) < 1e-10 and f.verdict == "pass"


def test_reference_needs_min_group_rows_and_a_value() -> None:
    f = _review(20, 20, 50, 100, small=0)  # a approves all but has only 20 rows
    assert f.reference is f.groups[1] and not f.tested(f.groups[0])
    f = evaluate([0.1] * 40 + [0.1] * 20 + [0.9] * 20, [(Grouping("g"), [""] * 40 + ["a"] * 40)], 0.5,
                 MANIFEST).fields[0]
    missing = next(g for g in f.groups if g.label == "missing")
    assert f.reference.label == "a" and f.ratio(missing) == 2.0 and f.tested(missing)  # not the missing values


def test_outcomes_test_each_groups_calibration() -> None:
    rng = np.random.default_rng(3)
    p = rng.uniform(0.05, 0.6, 4000)
    g = np.where(np.arange(4000) % 2 == 0, "even", "odd")
    y = (rng.random(4000) < p).astype(float)
    y[g == "odd"] = (rng.random(2000) < p[g == "odd"] * 0.6).astype(float)  # the model overstates odd's risk
    f = evaluate(p, [(Grouping("g"), g)], 0.3, MANIFEST, y=y, outcome="y").fields[0]
    even, odd = f.groups
    assert even.defaults == int(y[g == "even"].sum()) and even.probability_sum == pytest.approx(p[g == "even"].sum())
    assert even.variance == pytest.approx(np.sum(p[g == "even"] * (1 - p[g == "even"])))
    assert not f.miscalibrated(even) and f.miscalibrated(odd) and f.verdict == "alert"
    z = (odd.defaults - odd.probability_sum) / math.sqrt(odd.variance)
    assert odd.calibration_p_value == pytest.approx(math.erfc(abs(z) / math.sqrt(2)))
    good = (g == "even") & (y == 0)
    assert even.good == good.sum() and even.good_approved == int((good & (p < 0.3)).sum())


def test_the_shipped_models_review_counts_its_own_decisions(scorer, schema, applicants) -> None:
    from loanscore.runtime.readers import open_reader

    rows = applicants(600, seed=21)
    rows[5]["AGE"] = "7"  # rejected: named, not counted
    header = list(rows[0])
    text = ",".join(header) + "\n" + "\n".join(",".join(r[h] for h in header) for r in rows) + "\n"
    reader = open_reader("-", schema.input_names, stdin=io.BytesIO(text.encode()))
    result = review(scorer, reader, groupings(schema, ()), scorer.model.threshold)
    assert (result.rows, result.scored) == (600, 599)
    assert result.rejected[0][0] == 6 and "AGE" in result.rejected[0][1]
    kept = [r for i, r in enumerate(rows) if i != 5]
    batch = scorer.score_columns({c: [r[c] for r in kept] for c in schema.input_names})
    approved = batch.probability < scorer.model.threshold
    sex = result.fields[1]
    for code, group in zip(("1", "2"), sex.groups):
        mine = np.array([r["SEX"] == code for r in kept])
        assert (group.rows, group.approved) == (int(mine.sum()), int((approved & mine).sum()))
    assert result.approved == int(approved.sum()) and result.outcome is None
    assert sum(g.rows for g in result.fields[0].groups) == 599


def _population(seed: int, risky: tuple[float, float] = (2, 7)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2,000 applicants in groups a (50 %), b (40 %) and c (10 %); b's P(default) drawn from beta(*risky)."""
    rng = np.random.default_rng(seed)
    g = rng.choice(np.array(["a", "b", "c"]), 2000, p=[0.5, 0.4, 0.1])
    p = rng.beta(2, 7, 2000)  # mean 0.22, like the development data's default rate
    p[g == "b"] = rng.beta(*risky, int((g == "b").sum()))
    return p, g, rng.random(2000)


def test_groups_alike_in_risk_and_priced_right_rarely_raise_an_alert() -> None:
    """Groups drawn at random, outcomes drawn from the probabilities: each test should alert at most about 1 time in
    100 (Bonferroni within a field). 300 files of 2,000 rows."""
    alerts = {"adverse": 0, "calibration": 0}
    for seed in range(300):
        p, g, u = _population(500 + seed)
        f = evaluate(p, [(Grouping("g"), g)], 0.2, MANIFEST, y=u < p).fields[0]
        alerts["adverse"] += any(f.adverse(x) for x in f.groups)
        alerts["calibration"] += any(f.miscalibrated(x) for x in f.groups)
    assert alerts["adverse"] <= 9 and alerts["calibration"] <= 9, alerts  # 3 %: nominal + 2 binomial sd


def test_a_riskier_group_is_adverse_impact_and_a_mispriced_one_a_calibration_alert() -> None:
    """b riskier (beta(2, 4), mean 0.33): approved about half as often at 0.2. Then b's defaults at 1.5 times
    its probabilities while its approval rate is like a's. 100 files each."""
    adverse = mispriced = 0
    for seed in range(100):
        p, g, u = _population(900 + seed, risky=(2, 4))
        f = evaluate(p, [(Grouping("g"), g)], 0.2, MANIFEST, y=u < p).fields[0]
        adverse += f.adverse(f.groups[1]) and not f.miscalibrated(f.groups[1])
        p, g, u = _population(1900 + seed)
        truth = np.where(g == "b", np.minimum(1.0, 1.5 * p), p)
        f = evaluate(p, [(Grouping("g"), g)], 0.2, MANIFEST, y=u < truth).fields[0]
        mispriced += f.miscalibrated(f.groups[1]) and not f.adverse(f.groups[1])
    assert adverse >= 90 and mispriced >= 90, (adverse, mispriced)


def test_as_reference_counts_the_decisions_the_field_itself_changes() -> None:
    sex = Grouping("SEX", codes=("1", "2"), labels={"1": "male", "2": "female"})
    codes = ["1"] * 50 + ["2"] * 50
    p = np.r_[np.full(25, 0.1), np.full(25, 0.9), np.full(40, 0.1), np.full(10, 0.9)]  # men 50 %, women 80 %
    as_women = np.r_[np.full(35, 0.1), np.full(15, 0.9), p[50:]]  # ten men approved as women
    f = evaluate(p, [(sex, codes)], 0.5, MANIFEST,
                 as_groups={"SEX": {"1 male": ("1", p), "2 female": ("2", as_women)}}).fields[0]
    assert f.reference.label == "2 female" and f.as_value == "2"
    assert f.as_reference == {"1 male": (35, 10), "2 female": (40, 0)}
    men = f.to_dict(100)["groups"][0]
    assert (men["approval_rate_as_reference"], men["decisions_changed_as_reference"]) == (0.7, 10)



def test_crossed_groups_are_every_combination_seen(schema) -> None:
    cross = groupings(schema, ("SEX*AGE:40",))[0]
    assert (cross.name, cross.columns, cross.protected, cross.how({})) == ("SEX*AGE", ("SEX", "AGE"), True,
                                                                           "codes × bands 40")
    index, labels = cross.index([["1", "2", "2", "1"], [30, 30, 50, None]], {})
    assert [labels[i] for i in index] == ["1 male, <40", "2 female, <40", "2 female, 40+", "1 male, missing"]
    f = evaluate([0.1, 0.1, 0.9, 0.9], [(cross, [["1", "2", "2", "1"], [30, 30, 50, None]])], 0.5,
                 MANIFEST).fields[0]
    assert [(g.label, g.rows, g.approved) for g in f.groups] == [
        ("1 male, <40", 1, 1), ("1 male, missing", 1, 0), ("2 female, <40", 1, 1), ("2 female, 40+", 1, 0)]
    with pytest.raises(InputError, match="with itself"):
        groupings(schema, ("SEX*SEX",))


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_as_reference_scores_only_the_rows_the_value_changes_and_counts_as_every_row_scored_as_it(
        scorer, schema, applicants, write_csv, monkeypatch, source) -> None:
    """A row that holds the reference group's value already keeps its probability (its inputs are the same);
    the others are scored as the reference. The figures are those of every row scored with the field set.
    From a file the second pass sets AGE to the median too; from stdin (one pass) each row is scored as every
    code of SEX and MARRIAGE."""
    from loanscore.runtime.readers import open_reader

    rows = applicants(500, seed=31)
    rows[7]["SEX"] = "x"  # rejected: in neither pass
    path = write_csv(rows)
    kept = [r for i, r in enumerate(rows) if i != 7]
    graph_rows: list[int] = []
    run = type(scorer.model).run
    monkeypatch.setattr(type(scorer.model), "run", lambda m, feeds: graph_rows.append(len(feeds["AGE"])) or run(m, feeds))

    def opened():  # type: ignore[no-untyped-def]
        return open_reader(str(path) if source == "file" else "-", schema.input_names,
                           stdin=None if source == "file" else io.BytesIO(path.read_bytes()))

    reader = opened()
    result = review(scorer, reader, groupings(schema, ()), scorer.model.threshold,
                    reopen=opened if source == "file" else None)
    reader.close()
    counterfactual = sum(graph_rows) - 500
    expected = 0
    for f in result.fields:
        if not f.as_value:
            assert f.name == "AGE" and source == "stdin"  # a number in bands needs the second pass
            continue
        as_value = scorer.score_columns({c: [f.as_value if c == f.name else r[c] for r in kept]
                                         for c in schema.input_names}).probability < scorer.model.threshold
        now = scorer.score_columns({c: [r[c] for r in kept] for c in schema.input_names}).probability \
            < scorer.model.threshold
        index, labels = f.grouping.index([r[f.name] for r in kept], {})
        for k, label in enumerate(labels):
            if label in f.as_reference:
                m = index == k
                assert f.as_reference[label] == (int(as_value[m].sum()), int((as_value[m] != now[m]).sum())), label
        holding = np.array([_number(r[f.name]) == float(f.as_value) for r in kept])
        expected += int((~holding).sum()) if source == "file" else 0
    if source == "file":
        assert counterfactual == expected  # only the rows whose value changes reach the graph again
    else:  # every code of SEX and MARRIAGE, each row scored as the codes it does not hold
        codes = [g for g in groupings(schema, ()) if g.codes]
        assert counterfactual == sum(sum(_number(r[g.name]) != float(c) for r in kept) for g in codes for c in g.codes)


def _number(text: str) -> float:
    return float(text) if text.strip() else math.nan
