"""NormalScores: amounts to normal scores through training quantiles, and its ONNX converter."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from loanscore.train.preprocess import NormalScores

FEATURE_ATOL = 1e-5
"""float32 (ONNX) against float64 (numpy); scores lie within about +-2.6."""


def _amounts(n: int, seed: int) -> np.ndarray:
    """Heavy tails, many exact zeros (ties), negatives, and a constant column."""
    rng = np.random.default_rng(seed)
    bill = np.round(rng.lognormal(9, 1.5, n) * rng.choice([-1, 1], n, p=[0.05, 0.95]))
    payment = np.round(rng.lognormal(8, 1.2, n)) * (rng.random(n) < 0.6)
    limit = np.round(rng.uniform(1e4, 8e5, n), -4)
    constant = np.full(n, 7.0)
    return np.stack([bill, payment, limit, constant], axis=1)


def test_scores_follow_ranks_and_hold_at_the_ends() -> None:
    X = _amounts(5000, seed=1)
    est = NormalScores(n_quantiles=100).fit(X)
    Z = est.transform(X)
    for c in range(3):
        order = np.argsort(X[:, c], kind="stable")
        assert np.all(np.diff(Z[order, c]) >= -1e-12), "monotone in the amount"
        assert -2.6 < Z[:, c].min() and Z[:, c].max() < 2.6
    for c in (0, 2):  # few ties: the ends reach the outer levels' scores
        assert Z[:, c].min() < -2.0 and Z[:, c].max() > 2.0
    assert abs(np.median(Z[:, 0])) < 0.05  # the median amount scores about 0
    assert np.all(Z[:, 3] == Z[0, 3]), "a constant column scores one value"
    beyond = est.transform(np.array([[-1e9, -1.0, 0.0, -5.0], [1e9, 1e9, 1e9, 1e9]]))
    assert_allclose(beyond[0, :3], Z[:, :3].min(axis=0))
    assert_allclose(beyond[1, :3], Z[:, :3].max(axis=0))


def test_tied_values_score_their_mean_level() -> None:
    X = np.concatenate([np.zeros(50), np.arange(1, 51)]).reshape(-1, 1)  # half the rows are 0
    est = NormalScores(n_quantiles=100).fit(X)
    zero = est.transform(np.array([[0.0]]))[0, 0]
    from statistics import NormalDist

    levels = (np.arange(100) + 0.5) / 100
    tied = [NormalDist().inv_cdf(q) for q, v in zip(levels, np.quantile(X[:, 0], levels)) if v == 0]
    assert_allclose(zero, np.mean(tied))


def test_a_column_count_it_was_not_fitted_on_is_refused() -> None:
    est = NormalScores().fit(np.ones((10, 2)))
    with pytest.raises(ValueError, match="fitted on 2 columns"):
        est.transform(np.ones((3, 5)))


def test_onnx_converter_matches_numpy() -> None:
    ort = pytest.importorskip("onnxruntime")
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    import loanscore.export.preprocess_graph  # noqa: F401 - registers the converter

    X = _amounts(4000, seed=2)
    est = NormalScores().fit(X)
    probe = np.concatenate([_amounts(2000, seed=3), est.knots_.T, X.min(axis=0, keepdims=True) - 1e6,
                            X.max(axis=0, keepdims=True) * 10])
    proto = convert_sklearn(est, initial_types=[("x", FloatTensorType([None, X.shape[1]]))], target_opset=17)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"x": probe.astype(np.float32)})[0]
    want = est.transform(probe.astype(np.float32))
    assert got.shape == want.shape == probe.shape
    assert_allclose(got, want, atol=FEATURE_ATOL, rtol=0)


def test_onnx_converter_with_a_single_knot() -> None:
    """Columns that never vary keep two equal knots: one flat piece, the same score everywhere."""
    ort = pytest.importorskip("onnxruntime")
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    import loanscore.export.preprocess_graph  # noqa: F401 - registers the converter

    est = NormalScores().fit(np.full((50, 2), 3.0))
    assert est.knots_.shape == (2, 2)
    proto = convert_sklearn(est, initial_types=[("x", FloatTensorType([None, 2]))], target_opset=17)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    probe = np.array([[-1e6, 3.0], [3.0, 1e6]], dtype=np.float32)
    assert_allclose(session.run(None, {"x": probe})[0], est.transform(probe), atol=FEATURE_ATOL, rtol=0)
