"""Population stability: bins, the PSI, its chance level, and the reference the shipped model carries."""

from __future__ import annotations

import math

import numpy as np
import pytest

from loanscore.runtime.errors import ModelError
from loanscore.runtime.grades import MasterScale
from loanscore.runtime.stability import (
    SHIFT,
    STABLE,
    TOO_FEW,
    WATCH,
    Bins,
    Reference,
    chance_level,
    collect,
    compare,
    herfindahl,
    monitor,
)
from loanscore.runtime.readers import open_reader


def test_number_bins_are_right_closed_deciles_with_one_bin_per_frequent_value() -> None:
    values = np.array([0.0] * 50 + [1.0] * 30 + [2.0] * 20 + [np.nan] * 5)
    bins = Bins.fit("x", values)
    assert bins.edges == (0.0, 1.0, 2.0)
    assert bins.counts == (50, 30, 20, 0, 5)  # <= 0, 1, 2, > 2, missing
    assert bins.labels() == ["<= 0", "1", "2", "> 2", "missing"]
    assert bins.count(np.array([-5.0, 0.0, 0.5, 1.0, 3.0, np.nan])).tolist() == [2, 2, 0, 1, 1]
    halves = Bins.fit("x", np.array([0.0] * 50 + [0.5] * 5 + [1.0] * 45))  # whole edges, but 0.5 lies in (0, 1]
    assert halves.edges == (0.0, 1.0) and halves.counts == (50, 50, 0, 0)
    assert halves.labels() == ["<= 0", "(0, 1]", "> 1", "missing"]


def test_amounts_get_ten_equal_bins() -> None:
    values = np.arange(1, 1001, dtype=np.float64)
    bins = Bins.fit("amount", values)
    assert bins.edges == tuple(float(e) for e in range(100, 1000, 100))
    assert bins.counts == (100,) * 10 + (0,)
    assert bins.labels()[1] == "(100, 200]" and bins.labels()[-2] == "> 900"


def test_code_bins_count_known_codes_other_codes_and_missing() -> None:
    numeric = Bins.fit("SEX", np.array([1, 2, 2, 9, np.nan], dtype=np.float32), codes=(1, 2))
    assert numeric.counts == (1, 2, 1, 1)
    assert numeric.labels() == ["1", "2", "other code", "missing"]
    text = Bins.fit("region", np.array(["north", "", "mars", "north"], dtype=object), codes=("north", "south"))
    assert text.counts == (2, 0, 1, 1)


def test_psi_by_hand() -> None:
    bins = Bins("x", "number", (50, 50, 0), edges=(0.0,))
    result = compare(bins, np.array([80, 20, 0]))
    expected = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert result.psi == pytest.approx(expected, abs=1e-12)
    assert compare(bins, np.array([500, 500, 0])).psi == 0.0
    assert result.largest_move == 1  # 50 % -> 20 % contributes more than 50 % -> 80 %


def test_a_bin_filling_from_nothing_counts_as_a_shift() -> None:
    bins = Bins("x", "number", (5000, 5000, 0), edges=(0.0,))  # no missing values in the reference
    result = compare(bins, np.array([400, 400, 200]))
    assert result.verdict == SHIFT and result.largest_move == 2


def test_chance_level_matches_the_chi_square_law_for_large_samples() -> None:
    # Two samples of n and N rows from one population over k bins: PSI ~ chi2(k - 1) * (1/n + 1/N).
    k, n, n_ref = 10, 10_000, 20_000
    chi2_99_df9 = 21.666
    level = chance_level(np.full(k, n_ref // k), np.full(k, n // k))
    assert level == pytest.approx(chi2_99_df9 * (1 / n + 1 / n_ref), rel=0.08)


def test_chance_level_is_exceeded_about_one_time_in_a_hundred() -> None:
    rng = np.random.default_rng(7)
    shares = np.array([0.5, 0.2, 0.1, 0.1, 0.05, 0.05])
    ref = rng.multinomial(5000, shares)
    bins = Bins("x", "number", tuple(int(c) for c in ref), edges=(1.0, 2.0, 3.0, 4.0))
    trials = [compare(bins, rng.multinomial(300, ref / ref.sum())) for _ in range(1000)]
    exceeded = sum(t.psi > t.chance for t in trials)
    assert 2 <= exceeded <= 30  # 10 expected; a wrong level (e.g. half or twice) lands far outside


def test_verdicts_weigh_the_psi_against_chance() -> None:
    bins = Bins("x", "number", (5000, 5000, 0), edges=(0.0,))
    assert compare(bins, np.array([5100, 4900, 0])).verdict == STABLE
    assert compare(bins, np.array([3100, 6900, 0])).verdict == WATCH  # PSI 0.17
    assert compare(bins, np.array([2000, 8000, 0])).verdict == SHIFT  # PSI 0.42
    small = compare(bins, np.array([3, 7, 0]))  # the same 30/70 split as WATCH, from 10 rows
    assert small.psi > 0.1 and small.verdict == TOO_FEW


def test_reference_survives_the_manifest_and_refuses_damage() -> None:
    columns = __import__("loanscore.runtime.schema", fromlist=["Schema"]).Schema.default().columns()
    rng = np.random.default_rng(0)
    feeds = {c.name: rng.integers(0, 3, size=(200, 1)).astype(np.float32) for c in columns}
    reference = Reference.build(columns, feeds, rng.random(200), 0.5, {"file": "x.csv"})
    again = Reference.from_manifest({"population": reference.to_dict()}, "test")
    assert again == reference
    with pytest.raises(ModelError, match="--data"):
        Reference.from_manifest({}, "The model in m")
    for damage in (lambda d: d["fields"]["AGE"].update(counts=[1, 2]), lambda d: d.update(fields=1.5),
                   lambda d: d["fields"]["AGE"]["counts"].__setitem__(0, 10**30),  # no count of rows is this big
                   lambda d: d["fields"]["AGE"]["counts"].__setitem__(0, -1)):
        broken = reference.to_dict()
        damage(broken)
        with pytest.raises(ModelError, match="malformed 'population'"):
            Reference.from_manifest({"population": broken}, "The model in m")


def test_the_shipped_model_carries_its_training_population(scorer) -> None:
    reference = Reference.from_manifest(scorer.model.manifest, "the shipped model")
    assert reference.source["training_data"] is True
    assert reference.rows == reference.source["rows"] == 24_000
    assert set(reference.fields) == {c.name for c in scorer.schema.columns()}
    for bins in [reference.score, *reference.fields.values()]:
        assert sum(bins.counts) == 24_000, bins.name
    assert reference.score.counts[:-1] == (2_400,) * 10  # deciles of the score; no score is missing
    assert reference.threshold == scorer.threshold


def test_two_samples_of_one_population_are_stable_and_a_moved_field_is_found(scorer, write_csv, applicants) -> None:
    base = write_csv(applicants(3000, seed=1), name="base.csv")
    rows = applicants(3000, seed=2)
    same = write_csv(rows, name="same.csv")
    for row in rows:
        row["PAY_0"] = "8"  # everyone eight months late in the latest month
    moved = write_csv(rows, name="moved.csv")

    def reader(path):  # type: ignore[no-untyped-def]
        return open_reader(path, scorer.schema.input_names, id_column="ID", numbers=scorer.schema.number_names)

    reference, rejected = collect(scorer, reader(base))
    assert rejected == [] and reference.rows == 3000
    stable = monitor(scorer, reader(same), reference)
    assert stable.worst == STABLE and stable.scored == 3000
    assert all(s.psi <= s.chance for s in [stable.score, *stable.fields])
    shifted = monitor(scorer, reader(moved), reference)
    verdicts = {s.name: s.verdict for s in shifted.fields}
    assert verdicts.pop("PAY_0") == SHIFT
    assert set(verdicts.values()) == {STABLE}
    assert shifted.score.verdict == SHIFT and shifted.mean_probability > stable.mean_probability


def test_the_reference_counts_grades_and_refuses_another_scale() -> None:
    columns = __import__("loanscore.runtime.schema", fromlist=["Schema"]).Schema.default().columns()
    rng = np.random.default_rng(1)
    feeds = {c.name: rng.integers(0, 3, size=(500, 1)).astype(np.float32) for c in columns}
    p = rng.random(500).astype(np.float32)
    p[:3] = MasterScale.built_in().upper[4]  # on grade 5's upper bound: grade 5, not 6
    reference = Reference.build(columns, feeds, p, 0.5)
    by_hand = [MasterScale.built_in().grade(p).count(name) for name in MasterScale.built_in().names]
    assert list(reference.grades) == by_hand and sum(reference.grades) == 500
    again = Reference.from_manifest({"population": reference.to_dict()}, "test")
    assert again.grades == reference.grades and again.scale == reference.scale
    # the same bounds read from a file are the same scale; other bounds are refused, saying what to do
    assert list(reference.counts_on(MasterScale(again.scale.names, again.scale.upper, "ours.toml"))) == by_hand
    with pytest.raises(ModelError, match="--master-scale"):
        reference.counts_on(MasterScale(("A", "B"), (0.2, 1.0), "ours.toml"))
    older = reference.to_dict()
    del older["grades"]
    with pytest.raises(ModelError, match="records no grades"):
        Reference.from_manifest({"population": older}, "test").counts_on(MasterScale.built_in())
    damaged = reference.to_dict()
    damaged["grades"]["counts"][0] += 1
    with pytest.raises(ModelError, match="malformed 'population'"):
        Reference.from_manifest({"population": damaged}, "test")


def test_herfindahl_by_hand() -> None:
    assert herfindahl([10, 0, 0]) == 1.0
    assert herfindahl([5, 5, 5, 5]) == pytest.approx(0.25)
    assert herfindahl([3, 1]) == pytest.approx(0.75**2 + 0.25**2)


def test_grades_of_a_batch_are_compared_with_the_references(scorer, write_csv, applicants) -> None:
    def reader(path):  # type: ignore[no-untyped-def]
        return open_reader(path, scorer.schema.input_names, id_column="ID", numbers=scorer.schema.number_names)

    scale = MasterScale(("low", "mid", "high"), (0.1, 0.3, 1.0), "three.toml")
    base, rows = applicants(2000, seed=5), applicants(2000, seed=6)
    reference, _ = collect(scorer, reader(write_csv(base, name="base.csv")), scale=scale)
    report = monitor(scorer, reader(write_csv(rows, name="now.csv")), reference, scale=scale)
    p = [r.probability for r in scorer.score_records(rows)]
    counts = [scale.grade(p).count(name) for name in scale.names]
    assert report.grade.counts == counts and report.grade.labels == ["low", "mid", "high"]
    e, a = np.array(reference.grades) / 2000, np.array(counts) / 2000
    assert report.grade.psi == pytest.approx(float(np.sum((a - e) * np.log(a / e))))
    assert report.variables == [report.score, report.grade, *report.fields]
    document = report.to_dict()["grade"]
    assert document["herfindahl"] == {"reference": herfindahl(reference.grades), "actual": herfindahl(counts)}
    assert monitor(scorer, reader(write_csv(rows, name="now.csv")), reference).grade is None  # only when asked
    refused = reader(write_csv(rows, name="now.csv"))
    try:
        with pytest.raises(ModelError, match="graded on the master scale in three.toml"):
            monitor(scorer, refused, reference, scale=MasterScale.built_in())
    finally:
        refused.close()
