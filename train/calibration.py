"""Calibration maps on the log-odds, fitted to outcomes or to a known default rate.

Training fits Platt scaling on validation (or out-of-fold) predictions; ``loanscore recalibrate`` fits a map
again on a lender's own data. Every map here is increasing, so the ranking is kept; they differ in what
they need: Platt (slope and shift) needs outcomes, the shift alone needs outcomes or only the default rate.
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


def shift_to_rate(p: np.ndarray, rate: float) -> float:
    """The shift ``b`` with mean(sigmoid(logit(p) + b)) = ``rate``: calibration in the large.

    With ``rate`` the observed default rate this is the maximum-likelihood shift at slope 1 (its score
    equation is exactly that mean); with a lender's long-run rate it is calibration to central tendency.
    """
    if not 0 < rate < 1:
        raise ValueError(f"a default rate must lie strictly between 0 and 1, not {rate}")
    z = logit(p)
    lo, hi = -40.0, 40.0  # the mean is increasing in b: bisect to float64 resolution
    for _ in range(100):
        mid = (lo + hi) / 2
        if np.mean(mapped_logit(z, 1.0, mid)) < rate:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return (lo + hi) / 2


def standard_errors(p: np.ndarray, scale: float, shift: float, *, slope: bool) -> dict[str, float]:
    """Large-sample standard errors of a fitted map (inverse Fisher information of the logistic likelihood).

    ``slope=False`` for a shift fitted alone. They say how far another sample of the same size could move the map.
    """
    z = logit(p)
    q = mapped_logit(z, scale, shift)
    w = q * (1 - q)
    if not slope:
        return {"shift": float(1 / np.sqrt(w.sum()))}
    info = np.array([[np.sum(w * z * z), np.sum(w * z)], [np.sum(w * z), w.sum()]])
    cov = np.linalg.inv(info)
    return {"scale": float(np.sqrt(cov[0, 0])), "shift": float(np.sqrt(cov[1, 1]))}


def mapped_logit(z: np.ndarray, scale: float, shift: float) -> np.ndarray:
    return 1 / (1 + np.exp(-(scale * z + shift)))


def mapped(p: np.ndarray, scale: float, shift: float) -> np.ndarray:
    """``sigmoid(scale * logit(p) + shift)``: probabilities after the map."""
    return mapped_logit(logit(p), scale, shift)
