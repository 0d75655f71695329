"""ONNX versus Keras + scikit-learn on the same raw rows, stage by stage.

Preprocessing is compared first, so a failure says where the two sides
diverged: in the scikit-learn graph or in the network.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from loanscore.runtime.errors import VerificationError
from loanscore.runtime.model import FEATURES, PROBABILITY, Model
from loanscore.runtime.validate import check_columns
from loanscore.train.run import TrainedRun

PROBABILITY_TOLERANCE = 1e-5
"""Default bound on max |p_onnx - p_keras|: float32 arithmetic in a different order gives ~1e-7;
1e-5 leaves room for that while catching any real difference in weights or preprocessing."""
FEATURE_TOLERANCE = 1e-4
"""Bound on max |feature_onnx - feature_sklearn|: scikit-learn computes in float64, ONNX in float32,
so standardized features of up to ~10 agree to a few float32 ulps (1e-6..1e-5)."""


@dataclass(frozen=True)
class ParityReport:
    n: int
    max_abs_diff: float
    mean_abs_diff: float
    decision_agreement: float
    features_max_abs_diff: float
    worst_row: int
    tolerance: float
    threshold: float

    def to_dict(self) -> dict:
        return asdict(self)


def measure_parity(model: Model, run: TrainedRun, X: pd.DataFrame, threshold: float,
                   tolerance: float = PROBABILITY_TOLERANCE) -> ParityReport:
    """Run both sides on ``X`` (raw columns); raise ``VerificationError`` past either tolerance."""
    columns = model.schema.columns()
    checked = check_columns(columns, {c.name: X[c.name].to_numpy() for c in columns}, len(X))
    if checked.errors:
        first = next(iter(checked.errors.values()))[0]
        raise VerificationError(f"{len(checked.errors)} rows of the parity data break the input contract, e.g. {first}.")
    p_onnx, f_onnx = model.run(checked.feeds, (PROBABILITY, FEATURES))
    f_ref = run.features(X)
    p_ref = run.predict(X, features=f_ref)
    f_diff = np.abs(f_onnx.astype(np.float64) - f_ref.astype(np.float64))
    if f_diff.shape != f_ref.shape or not f_diff.max() <= FEATURE_TOLERANCE:
        row, col = np.unravel_index(int(np.nanargmax(f_diff)), f_diff.shape) if f_diff.size else (0, 0)
        raise VerificationError(
            f"Preprocessing diverged: ONNX features {f_onnx.shape} vs scikit-learn {f_ref.shape}; max |diff| "
            f"{f_diff.max():.3g} > {FEATURE_TOLERANCE:g} at row {row + 1}, feature {col}."
        )
    p_onnx = p_onnx.reshape(-1).astype(np.float64)
    diff = np.abs(p_onnx - p_ref)
    worst = int(np.argmax(diff))
    report = ParityReport(
        n=len(X), max_abs_diff=float(diff.max()), mean_abs_diff=float(diff.mean()),
        decision_agreement=float(np.mean((p_onnx >= threshold) == (p_ref >= threshold))),
        features_max_abs_diff=float(f_diff.max()), worst_row=worst + 1, tolerance=tolerance, threshold=threshold,
    )
    if not report.max_abs_diff <= tolerance:
        raise VerificationError(
            f"Probabilities diverged after matching preprocessing (features within {report.features_max_abs_diff:.3g}): "
            f"max |p_onnx - p_keras| = {report.max_abs_diff:.3g} > {tolerance:g} at row {worst + 1} "
            f"(onnx {p_onnx[worst]:.8f}, keras {p_ref[worst]:.8f})."
        )
    return report
