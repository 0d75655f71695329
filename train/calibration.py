"""Platt scaling: a sigmoid of an affine map of the log-odds, fitted to outcomes.

Training fits it on validation (or out-of-fold) predictions; ``loanscore recalibrate`` fits it again on a
lender's own recent outcomes. Both keep the ranking (the map is increasing) and move the probabilities
to the default rate the outcomes show.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-7
"""Probabilities are clipped to [EPS, 1 - EPS] before their log-odds are taken."""


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64).reshape(-1), EPS, 1 - EPS)
    return np.log(p / (1 - p))


def platt(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling on the probabilities ``p``: ``(a, b)`` with P = sigmoid(a * logit(p) + b)."""
    from sklearn.linear_model import LogisticRegression

    fit = LogisticRegression(C=1e6, max_iter=1000).fit(logit(p).reshape(-1, 1), np.asarray(y).astype(int))
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


def mapped(p: np.ndarray, scale: float, shift: float) -> np.ndarray:
    """``sigmoid(scale * logit(p) + shift)``: probabilities after Platt scaling."""
    return 1 / (1 + np.exp(-(scale * logit(p) + shift)))
