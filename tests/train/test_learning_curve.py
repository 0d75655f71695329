"""benchmarks/learning_curve.py's subsets: stratified, nested, and the benchmark's own rows at fraction 1."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import learning_curve  # noqa: E402


def _labels(n: int = 5000, rate: float = 0.22, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random(n) < rate).astype(int)


def test_subsets_keep_the_default_rate_and_grow_by_adding_rows():
    y = _labels()
    rows = np.flatnonzero(np.arange(len(y)) % 5 != 2)  # a training fold: every row but each fifth
    previous = np.array([], dtype=int)
    for fraction in (0.1, 0.25, 0.5, 0.75):
        subset = learning_curve.nested_subsample(rows, y, fraction, seed=42)
        assert np.all(np.diff(subset) > 0) and np.isin(subset, rows).all()
        for label in (0, 1):
            assert (y[subset] == label).sum() == round(fraction * (y[rows] == label).sum())
        assert np.isin(previous, subset).all()
        previous = subset


def test_fraction_one_is_the_training_fold_itself_and_the_order_depends_on_the_seed():
    y = _labels()
    rows = np.arange(0, len(y), 2)
    assert np.array_equal(learning_curve.nested_subsample(rows, y, 1.0, seed=42), rows)
    a, b = (learning_curve.nested_subsample(rows, y, 0.5, seed=s) for s in (42, 43))
    assert not np.array_equal(a, b)
    assert np.array_equal(a, learning_curve.nested_subsample(rows, y, 0.5, seed=42))


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.5])
def test_a_fraction_outside_zero_to_one_is_refused(fraction):
    with pytest.raises(ValueError, match="fraction"):
        learning_curve.nested_subsample(np.arange(10), np.zeros(10, dtype=int), fraction, seed=42)
