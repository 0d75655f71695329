"""The points scale: the formula, rounding and range, cut-offs in points, and the file a lender edits."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from loanscore.runtime.errors import SchemaError
from loanscore.runtime.points import PointsScale

OURS = "points = 500\nodds = 19\npdo = 40\nlowest = 0\nhighest = 1000\n"


def test_the_anchor_and_every_doubling_of_the_odds_by_the_textbook_scale() -> None:
    scale = PointsScale()
    # good:bad odds 50:1 is P(default) 1/51; 100:1 and 25:1 are one doubling either side.
    assert scale.score([1 / 51, 1 / 101, 1 / 26, 1 / 201]).tolist() == [600, 620, 580, 640]
    p = np.random.default_rng(1).uniform(0.001, 0.999, 10_000)
    by_hand = [min(900, max(300, math.floor(600 + 20 / math.log(2) * math.log((1 - x) / x / 50) + 0.5))) for x in p]
    assert scale.score(p).tolist() == by_hand
    assert np.allclose(scale.probability(scale.exact(p)), p, rtol=1e-12)


def test_rounding_range_and_a_rejected_row() -> None:
    scale = PointsScale()
    half = float(scale.probability(550.5))
    assert scale.score([half * (1 - 1e-9), half * (1 + 1e-9)]).tolist() == [551, 550]  # 550.5 points: the boundary between 550 and 551
    assert scale.score([0.0, 1.0, 1e-12, 1 - 1e-12]).tolist() == [900, 300, 900, 300]
    assert np.isnan(scale.score([np.nan])[0]) and scale.text([np.nan, 0.5]) == ["", "487"]
    assert scale.values([np.nan, 0.5]) == [None, 487]
    grid = np.linspace(0, 1, 100_001)
    assert np.all(np.diff(scale.score(grid)) <= 0)  # never more points for a riskier applicant


@pytest.mark.parametrize("scale", [PointsScale(), PointsScale(500, 19, 40, 0, 1000)])
def test_a_cut_off_in_points_splits_the_probabilities_exactly_where_the_points_do(scale) -> None:
    rng = np.random.default_rng(2)
    for n in [scale.highest, scale.lowest + 1, *rng.uniform(scale.lowest + 1, scale.highest, 20).round()]:
        cut = scale.below(n)
        near = np.array([cut * (1 + k * 1e-15) for k in range(-50, 51)] + [np.nextafter(cut, 0), cut])
        p = np.concatenate([near[(near >= 0) & (near <= 1)], rng.uniform(0, 1, 20_000)])
        assert np.array_equal(scale.score(p) >= n, p < cut), n
    with pytest.raises(ValueError, match=f"above {scale.lowest:g} and at most {scale.highest:g}"):
        scale.below(scale.lowest)


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_the_written_scale_reads_back_exactly(tmp_path, suffix) -> None:
    scale = PointsScale(512.5, 19, 40, 0, 1000)
    path = tmp_path / f"points{suffix}"
    path.write_text(scale.to_toml() if suffix == ".toml" else json.dumps(scale.to_dict()), "utf-8")
    again = PointsScale.load(path)
    assert (again.points, again.odds, again.pdo, again.lowest, again.highest) == (512.5, 19, 40, 0, 1000)
    assert again.source == str(path) and PointsScale.load(None) == PointsScale()


def test_a_lenders_scale(tmp_path) -> None:
    path = tmp_path / "ours.toml"
    path.write_text(OURS, "utf-8")
    scale = PointsScale.load(path)
    assert scale.score([0.05, 0.5]).tolist() == [500, round(500 - 40 * math.log2(19))]
    assert f"the points scale in {path} (500 points at odds 19:1" in scale.described


@pytest.mark.parametrize("text, fragment", [
    (OURS.replace("pdo = 40", "pdo = -20"), "pdo (points to double the odds) must be above 0"),
    (OURS.replace("odds = 19", "odds = 0"), "odds must be above 0"),
    (OURS.replace("lowest = 0", "lowest = 1000"), "lowest (1000) must be below highest (1000)"),
    (OURS.replace("odds = 19", 'odds = "19:1"'), "odds must be a number, got '19:1'"),
    (OURS.replace("pdo = 40", "pdo = true"), "pdo must be a number, got True"),
    (OURS.replace("pdo = 40\n", ""), "pdo missing"),
    (OURS + "base = 3\n", "unknown setting 'base'"),
    ("points = [\n", "is not valid TOML"),
])
def test_a_bad_scale_file_says_which_setting_and_why(tmp_path, text, fragment) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(SchemaError) as err:
        PointsScale.load(path)
    assert fragment in str(err.value) and str(path) in str(err.value)


def test_a_json_scale_that_is_not_an_object_and_a_missing_file(tmp_path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[600, 50, 20]", "utf-8")
    with pytest.raises(SchemaError, match="expected points, odds, pdo, lowest, highest"):
        PointsScale.load(path)
    with pytest.raises(SchemaError, match="Cannot read points scale nowhere.toml"):
        PointsScale.load("nowhere.toml")
