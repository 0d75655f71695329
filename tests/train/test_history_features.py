"""Derived history channels: what they compute, and that the ONNX converter computes the same."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from loanscore.train.preprocess import DERIVED, HistoryFeatures

FEATURE_ATOL = 1e-5
"""float32 (ONNX) against float64 (numpy): the ratios are in [0, 1] and the counts exact."""


def _history(n: int, months: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    status = rng.integers(-2, 9, size=(n, months)).astype(float)
    balance = np.round(rng.normal(20_000, 60_000, size=(n, months)))
    payment = np.round(np.abs(rng.normal(0, 20_000, size=(n, months)))) * (rng.random((n, months)) < 0.7)
    limit = np.round(rng.uniform(1e4, 5e5, size=(n, 1)), -4)
    return np.concatenate([status, balance, payment, limit], axis=1)


def test_months_since_delinquency_counts_from_the_latest_late_month() -> None:
    status = np.array([[0, 2, -1, 0, 1, 0], [-2, -2, -1, 0, 0, 0]], dtype=float)
    est = HistoryFeatures(("status",), 6, ("delinquent", "months_since_delinquency")).fit(status)
    out = est.transform(status)
    assert_allclose(out[:, :6], [[0, 1, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0]])
    assert_allclose(out[:, 6:], [[1, 0, 1, 2, 0, 1], [1, 2, 3, 4, 5, 6]])


def test_payment_ratio_is_the_share_of_the_previous_balance_paid() -> None:
    X = np.array([[100, 1000, -50, 0, 500, 100]], dtype=float)  # balance x3, payment x3
    est = HistoryFeatures(("balance", "payment"), 3, ("payment_ratio",)).fit(X)
    assert_allclose(est.transform(X), [[0 / 100, 500 / 500, 100 / 1000]])  # never above 1


def test_spending_is_the_new_charges_on_a_signed_log_scale() -> None:
    X = np.array([[100, 150, 80, 0, 20, 100]], dtype=float)  # balance x3, payment x3
    est = HistoryFeatures(("balance", "payment"), 3, ("spending",)).fit(X)
    # month 0 has no previous balance; then 150 - 100 + 20 = 70 and 80 - 150 + 100 = 30
    assert_allclose(est.transform(X), [[0.0, np.log1p(70), np.log1p(30)]])
    refund = np.array([[100, 40, 0, 0]], dtype=float)  # 40 - 100 + 0 = -60: a refund or a credit
    assert_allclose(HistoryFeatures(("balance", "payment"), 2, ("spending",)).fit(refund).transform(refund),
                    [[0.0, -np.log1p(60)]])


def test_a_derived_channel_without_its_role_is_refused() -> None:
    with pytest.raises(ValueError, match="role payment"):
        HistoryFeatures(("status", "balance"), 3, ("payment_ratio",)).fit(np.zeros((2, 6)))


@pytest.mark.parametrize("months", [6, 12])
def test_onnx_converter_matches_numpy(months: int) -> None:
    ort = pytest.importorskip("onnxruntime")
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    import loanscore.export.preprocess_graph  # noqa: F401 - registers the converter

    X = _history(500, months, seed=months)
    est = HistoryFeatures(("status", "balance", "payment"), months, DERIVED, credit_limit=True).fit(X)
    proto = convert_sklearn(est, initial_types=[("x", FloatTensorType([None, X.shape[1]]))], target_opset=17)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"x": X.astype(np.float32)})[0]
    want = est.transform(X.astype(np.float32))
    assert got.shape == want.shape == (500, len(DERIVED) * months)
    assert_allclose(got, want, atol=FEATURE_ATOL, rtol=0)


def test_utilization_and_status_codes() -> None:
    X = np.array([[-2, -1, 0, 3, 5000, 250000, -100, 1000, 50000]], dtype=float)
    est = HistoryFeatures(("status", "balance", "payment", "other"), 2,
                          ("utilization", "payment_utilization", "status_minus2", "status_minus1", "status_zero"),
                          credit_limit=True).fit(X)
    out = est.transform(X)
    # status [-2, -1], balance [0, 3], payment [5000, 250000], other [-100, 1000], limit 50000
    assert_allclose(out[0], [0, 3 / 50000, 0.1, 1.0, 1, 0, 0, 1, 0, 0])


def test_utilization_needs_the_credit_line() -> None:
    with pytest.raises(ValueError, match="role credit_limit"):
        HistoryFeatures(("status", "balance"), 3, ("utilization",)).fit(np.zeros((2, 6)))
