"""The master scale: grade boundaries, the file a lender edits, and the errors it gets for a bad one."""

from __future__ import annotations

import json

import numpy as np
import pytest

from loanscore.runtime.backtest import ALERT, PASS, evaluate
from loanscore.runtime.errors import SchemaError
from loanscore.runtime.grades import MasterScale


def test_the_built_in_scale_doubles_the_odds_of_default_from_grade_to_grade() -> None:
    scale = MasterScale.built_in()
    assert scale.names == tuple(str(k) for k in range(1, 11)) and scale.upper[-1] == 1.0
    odds = [u / (1 - u) for u in scale.upper[:-1]]
    assert odds[0] == pytest.approx(1 / 64) and odds[-1] == pytest.approx(4)
    assert np.allclose(np.divide(odds[1:], odds[:-1]), 2.0)


def test_a_grade_holds_its_upper_bound_and_the_next_one_what_lies_above() -> None:
    scale = MasterScale(("A", "B", "C"), (0.05, 0.2, 1.0))
    p = [0.0, 0.05, np.nextafter(0.05, 1), 0.2, 0.2000001, 0.999, 1.0, np.nan]
    assert scale.grade(p) == ["A", "A", "B", "B", "C", "C", "C", ""]
    assert scale.index([np.nan]).tolist() == [-1]


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_the_written_scale_reads_back_exactly(tmp_path, suffix) -> None:
    scale = MasterScale.built_in()
    path = tmp_path / f"grades{suffix}"
    path.write_text(scale.to_toml() if suffix == ".toml" else json.dumps(scale.to_dict()), "utf-8")
    again = MasterScale.load(path)
    assert (again.names, again.upper, again.source) == (scale.names, scale.upper, str(path))


def test_a_lenders_own_names_and_bounds(tmp_path) -> None:
    path = tmp_path / "ours.toml"
    path.write_text('[[grade]]\nname = "AAA"\nupper = 0.01\n\n[[grade]]\nname = 2\nupper = 0.1\n\n'
                    '[[grade]]\nname = "watch list"\nupper = 1\n', "utf-8")
    scale = MasterScale.load(path)
    assert scale.names == ("AAA", "2", "watch list") and scale.grade([0.005, 0.05, 0.5]) == list(scale.names)


GRADE = '[[grade]]\nname = "{}"\nupper = {}\n'


@pytest.mark.parametrize("text, fragment", [
    (GRADE.format("A", 0.1) + GRADE.format("B", 0.05) + GRADE.format("C", 1),
     "grade 2 (B): upper 0.05 is not above grade 1's 0.1"),
    (GRADE.format("A", 0.1) + GRADE.format("B", 0.9), "the last grade (B) must reach P(default) 1"),
    (GRADE.format("A", 0.1) + GRADE.format("A", 1), "grade 2 is named 'A' like grade 1"),
    (GRADE.format("A", 0.1) + GRADE.format("B", 1.5), "grade 2 (B): upper must be a probability above 0"),
    (GRADE.format("A", 0) + GRADE.format("B", 1), "grade 1 (A): upper must be a probability above 0"),
    (GRADE.format("A", '"5%"') + GRADE.format("B", 1), "got '5%'"),
    (GRADE.format("", 0.1) + GRADE.format("B", 1), "grade 1 needs a name"),
    ('[[grade]]\nname = "A"\n\n' + GRADE.format("B", 1), "grade 1 (A): upper must be"),
    ('[[grade]]\nname = "A"\nupper = 0.1\nlimit = 5\n' + GRADE.format("B", 1), "must be a table of name and upper"),
    (GRADE.format("A", 1), "expected at least two [[grade]] tables"),
    ("grade = 3\n", "expected at least two [[grade]] tables"),
    ("[[grade]\n", "is not valid TOML"),
])
def test_a_bad_scale_file_says_which_grade_and_why(tmp_path, text, fragment) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(SchemaError) as err:
        MasterScale.load(path)
    assert fragment in str(err.value) and str(path) in str(err.value)


def test_a_missing_scale_file_is_named() -> None:
    with pytest.raises(SchemaError, match="Cannot read master scale nowhere.toml"):
        MasterScale.load("nowhere.toml")


def test_calibration_by_grade_passes_drawn_outcomes_and_catches_one_grade_off(scorer) -> None:
    rng = np.random.default_rng(3)
    p = rng.beta(1.2, 4.0, 20_000)
    scale = MasterScale.built_in()
    y = (rng.random(len(p)) < p).astype(float)
    fine = evaluate(y, p, scorer.model.manifest, grades=scale)
    assert fine.grade_calibration == PASS and fine.master_scale == scale.source
    assert [g.label.split()[0] for g in fine.grades] == [n for n in scale.names if np.any(scale.index(p) ==
                                                                                          scale.names.index(n))]
    assert sum(g.rows for g in fine.grades) == len(p) and sum(g.defaults for g in fine.grades) == int(y.sum())
    in_5 = scale.index(p) == scale.names.index("5")  # P 11.1 % to 20 %: 1.5 times as many defaults there
    y_off = np.where(in_5, rng.random(len(p)) < 1.5 * p, y).astype(float)
    off = evaluate(y_off, p, scorer.model.manifest, grades=scale)
    alerts = [g.label for g in off.grades if g.p_value < off.grade_alpha]
    assert off.grade_calibration == ALERT and off.verdict == ALERT and alerts == ["5 (11.1 % - 20 %)"]
    assert off.to_dict()["grades"]["verdict"] == ALERT
    assert "grades" not in evaluate(y, p, scorer.model.manifest).to_dict()


def test_the_migration_matrix_counts_each_applicant_once_where_the_two_models_grade_it() -> None:
    from loanscore.runtime.compare import migration

    scale = MasterScale(("A", "B", "C"), (0.03, 0.1, 1.0))
    a = np.array([0.01, 0.02, 0.05, 0.05, 0.5, 0.6])
    b = np.array([0.01, 0.05, 0.05, 0.02, 0.9, 0.01])
    y = np.array([0, 0, 1, 0, 1, 1])
    m = migration(scale, y, a, b)
    assert m["rows"] == [[1, 1, 0], [1, 1, 0], [1, 0, 1]]
    assert m["defaults"] == [[0, 0, 0], [0, 1, 0], [1, 0, 1]]
    assert (m["same_grade"], m["one_grade_apart"], m["further"]) == (0.5, pytest.approx(2 / 6), pytest.approx(1 / 6))
    assert (m["riskier_by_challenger"], m["safer_by_challenger"]) == (pytest.approx(1 / 6), pytest.approx(2 / 6))
