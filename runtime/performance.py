"""How well probabilities rank and price outcomes, in numpy alone.

Training, the benchmarks and ``loanscore backtest`` all read these figures,
so they are computed once, here, where the runtime can reach them without
scikit-learn (the training tests check them against scikit-learn's).
Ties in the score count half, as in the Mann-Whitney statistic.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

Z_95 = 1.959963984540054
"""The standard normal's 97.5th percentile: a 95 % interval is the estimate +- Z_95 standard errors."""


def _labels_and_scores(y: Any, p: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y).reshape(-1).astype(bool)
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    if len(y) != len(p):
        raise ValueError(f"{len(y)} outcomes but {len(p)} probabilities")
    return y, p


def midranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x``, tied values sharing the mean of their ranks."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]]) if len(xs) else np.empty(0, np.int64)
    ends = np.r_[starts[1:], len(xs)]
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def roc_auc_with_se(y: Any, p: Any) -> tuple[float, float]:
    """ROC AUC and its DeLong standard error (DeLong, DeLong & Clarke-Pearson, 1988).

    Each defaulter's placement is the share of payers it outscores, each
    payer's the share of defaulters that outscore it; the AUC is their mean
    and its variance comes from their spread, with no assumption about the
    score's distribution. NaN when either class is absent.
    """
    y, p = _labels_and_scores(y, p)
    if y.all() or not y.any():
        return math.nan, math.nan
    v10, v01 = _placements(y, p)
    return float(v10.mean()), math.sqrt(_spread(v10) + _spread(v01))


def expected_auc(p: Any, *, draws: int = 200, seed: int = 0) -> tuple[float, float]:
    """The ROC AUC probabilities ``p`` should reach if each outcome were drawn from its own probability, and the
    spread of that AUC from draw to draw (NaN for fewer than two rows, or where draws hold one outcome only).

    The development AUC is not like for like on another population: where
    only the approved have outcomes, or the applicants moved, the same model
    ranks a narrower range of risk and its AUC is lower by nature. This is
    the benchmark for *these* applicants: a parametric bootstrap of
    ``draws`` outcome vectors (seeded, so the same file gives the same
    figures), each AUC from the probabilities' ranks, as Mann-Whitney counts.
    """
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    if len(p) < 2:
        return math.nan, math.nan
    ranks = midranks(p)
    rng = np.random.default_rng(seed)
    aucs = []
    for _ in range(draws):
        y = rng.random(len(p)) < p
        n1 = int(y.sum())
        n0 = len(p) - n1
        if n1 and n0:
            aucs.append((float(ranks @ y) - n1 * (n1 + 1) / 2.0) / (n1 * n0))
    if len(aucs) < 2:
        return math.nan, math.nan
    return float(np.mean(aucs)), float(np.std(aucs, ddof=1))


def paired_auc_difference(y: Any, p_a: Any, p_b: Any) -> tuple[float, float]:
    """AUC(b) - AUC(a) on the same rows and its DeLong standard error (DeLong et al., 1988, for correlated AUCs).

    Two models scored on the same applicants are judged on the same draw of
    the population, so their AUCs move together; the difference's variance
    subtracts that shared part (the covariance of the two models' placements),
    which makes it far smaller than either AUC's own. NaN when either class
    is absent.
    """
    y, a = _labels_and_scores(y, p_a)
    _, b = _labels_and_scores(y, p_b)
    if y.all() or not y.any():
        return math.nan, math.nan
    (a10, a01), (b10, b01) = _placements(y, a), _placements(y, b)
    return float(b10.mean() - a10.mean()), math.sqrt(max(0.0, _spread(b10 - a10) + _spread(b01 - a01)))


def _placements(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each defaulter's share of payers it outscores, and each payer's share of defaulters that outscore it."""
    pos, neg = p[y], p[~y]
    m, n = len(pos), len(neg)
    both = midranks(np.concatenate([pos, neg]))
    return (both[:m] - midranks(pos)) / n, 1.0 - (both[m:] - midranks(neg)) / m


def _spread(v: np.ndarray) -> float:
    """The variance of the mean of ``v``."""
    return float(v.var(ddof=1) / len(v)) if len(v) > 1 else 0.0


def roc_auc(y: Any, p: Any) -> float:
    return roc_auc_with_se(y, p)[0]


def declined_counts(y: Any, p: Any) -> tuple[np.ndarray, np.ndarray]:
    """True and false positives when declining from each distinct score down (ties taken together):
    the points of the ROC and precision-recall curves."""
    y, p = _labels_and_scores(y, p)
    order = np.argsort(-p, kind="mergesort")
    ps, ys = p[order], y[order]
    last = np.r_[np.flatnonzero(ps[1:] != ps[:-1]), len(ps) - 1]
    tps = np.cumsum(ys)[last]
    return tps.astype(np.float64), (last + 1 - tps).astype(np.float64)


def ks_statistic(y: Any, p: Any) -> float:
    """Kolmogorov-Smirnov: the largest gap between the score distributions of defaulters and payers."""
    y, p = _labels_and_scores(y, p)
    m, n = int(y.sum()), int((~y).sum())
    if m == 0 or n == 0:
        return math.nan
    tps, fps = declined_counts(y, p)
    return float(max(0.0, np.max(tps / m - fps / n)))


def average_precision(y: Any, p: Any) -> float:
    """PR AUC as average precision: precision at each distinct score, weighted by the recall it adds."""
    y, p = _labels_and_scores(y, p)
    m = int(y.sum())
    if m == 0:
        return math.nan
    tps, fps = declined_counts(y, p)
    recall_added = np.diff(np.r_[0.0, tps / m])
    return float(np.sum(recall_added * tps / (tps + fps)))


def brier_score(y: Any, p: Any) -> float:
    y, p = _labels_and_scores(y, p)
    return float(np.mean((p - y) ** 2))


def expected_calibration_error(y: Any, p: Any, bins: int = 10) -> float:
    """Mean |observed rate - mean probability| over equal-width bins, weighted by bin size."""
    y, p = _labels_and_scores(y, p)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    gap = np.abs(np.bincount(idx, y, minlength=bins) - np.bincount(idx, p, minlength=bins))
    return float(gap.sum() / len(y))


def confusion(y: Any, p: Any, threshold: float) -> dict[str, int]:
    """Confusion counts where 'positive' means predicted default (p >= threshold)."""
    y, p = _labels_and_scores(y, p)
    pred = p >= threshold
    return {
        "tp": int(np.sum(pred & y)),
        "fp": int(np.sum(pred & ~y)),
        "tn": int(np.sum(~pred & ~y)),
        "fn": int(np.sum(~pred & y)),
    }


def classification_metrics(y: Any, p: Any, threshold: float) -> dict[str, Any]:
    """Every figure that reports, benchmarks and manifests quote, for outcomes ``y`` and probabilities ``p``."""
    y, p = _labels_and_scores(y, p)
    cm = confusion(y, p, threshold)
    precision = cm["tp"] / (cm["tp"] + cm["fp"]) if cm["tp"] + cm["fp"] else 0.0
    recall = cm["tp"] / (cm["tp"] + cm["fn"]) if cm["tp"] + cm["fn"] else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "n": int(len(y)),
        "default_rate": float(y.mean()),
        "roc_auc": roc_auc(y, p),
        "pr_auc": average_precision(y, p),
        "ks": ks_statistic(y, p),
        "brier": brier_score(y, p),
        "ece": expected_calibration_error(y, p),
        "threshold": float(threshold),
        "accuracy": (cm["tp"] + cm["tn"]) / len(y),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "approval_rate": (cm["tn"] + cm["fn"]) / len(y),
        "confusion_matrix": cm,
    }


def normal_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def calibration_p_value(defaults: float, expected: float, variance: float) -> float:
    """Two-sided z test of a count of defaults against the sum of P(default), with the variance sum p (1 - p)
    (no variance: 1 when they agree to within half a default, else 0)."""
    if variance <= 0:
        return 1.0 if abs(defaults - expected) < 0.5 else 0.0
    return math.erfc(abs(defaults - expected) / math.sqrt(2.0 * variance))


def binomial_two_sided(k: int, n: int, rate: float) -> float:
    """Exact two-sided binomial test: the chance of an outcome no likelier than ``k`` defaults in ``n``.

    Summed over every count whose probability is at most that of ``k`` (the
    rule of R's ``binom.test`` and SciPy's ``binomtest``), from log
    probabilities built by a running sum, so large ``n`` neither overflows nor
    needs a gamma function.
    """
    if not 0 <= k <= n:
        raise ValueError(f"k={k} is not between 0 and n={n}")
    if n == 0:
        return 1.0
    if rate <= 0.0 or rate >= 1.0:
        return 1.0 if k == (0 if rate <= 0.0 else n) else 0.0
    j = np.arange(n, dtype=np.float64)
    log_pmf = n * math.log1p(-rate) + np.r_[0.0, np.cumsum(np.log(n - j) - np.log(j + 1))] \
        + np.arange(n + 1) * math.log(rate / (1.0 - rate))
    pmf = np.exp(log_pmf - log_pmf.max())
    total = pmf.sum()
    at_most = pmf <= pmf[k] * (1 + 1e-7)
    return float(min(1.0, pmf[at_most].sum() / total))


def fisher_two_sided(a: int, b: int, c: int, d: int) -> float:
    """Fisher's exact test of the 2x2 table [[a, b], [c, d]]: do the rows' shares of the first column differ by
    more than chance explains?

    The chance, with the margins fixed, of a table no likelier than this one
    (the rule of R's ``fisher.test`` and SciPy's ``fisher_exact``), summed over
    hypergeometric log probabilities built by a running sum, as in
    :func:`binomial_two_sided`. Exact for small groups, where a z test is not.
    """
    if min(a, b, c, d) < 0:
        raise ValueError(f"a 2x2 table's counts cannot be negative: {[[a, b], [c, d]]}")
    row, col, n = a + b, a + c, a + b + c + d
    low, high = max(0, row + col - n), min(row, col)
    if low == high:
        return 1.0
    k = np.arange(low, high, dtype=np.float64)
    steps = np.log(row - k) + np.log(col - k) - np.log(k + 1) - np.log(n - row - col + k + 1)
    log_pmf = np.r_[0.0, np.cumsum(steps)]
    pmf = np.exp(log_pmf - log_pmf.max())
    at_most = pmf <= pmf[a - low] * (1 + 1e-7)
    return float(min(1.0, pmf[at_most].sum() / pmf.sum()))


__all__ = [
    "Z_95",
    "average_precision",
    "binomial_two_sided",
    "brier_score",
    "classification_metrics",
    "confusion",
    "declined_counts",
    "expected_calibration_error",
    "fisher_two_sided",
    "ks_statistic",
    "midranks",
    "normal_cdf",
    "paired_auc_difference",
    "roc_auc",
    "roc_auc_with_se",
]
