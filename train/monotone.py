"""Teaching the network that a riskier applicant is no less risky.

A validator expects one month more of delay to raise P(default). Left to itself the network lowers it
for 5-12 % of applicants when a single older month is made later (``loanscore report model``): the
months stand in for one another. With ``TrainConfig.monotone`` > 0 every training step also scores a
quarter of its rows with one of their repayment-status months one month later (the report's step,
``loanscore.train.riskier``; a month drawn per row and step) and adds ``monotone * mean(relu(logit - later
logit))`` over them, a penalty only where the riskier applicant scores lower.
``TrainConfig.monotone_roles`` can add the same for a credit line or a month's payment 20 % lower
(``credit_limit``, ``payment``): without it a fifth lower line, or payment, lowers P(default) for about
one applicant in nine.
It shapes training only: the exported graph is the plain network.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import pandas as pd
from keras import ops

from loanscore.runtime.schema import Schema

from .riskier import riskier_steps

SAMPLE = 4
"""The penalty is measured on the first 1/SAMPLE of each (shuffled) batch: scoring the whole batch twice more
made an epoch 1.7-1.9x as slow as without the penalty, a quarter 1.1-1.3x; a weight of 4 on a quarter
removes the violations as well as 1-2 on the whole batch."""


SCOPES = ("all", "on_time")
"""Whom the credit-line and payment steps are taken for: every applicant, or only those on time in the newest
month (status 0 or less). Among applicants already late the data themselves show no fewer defaults on a larger
line and fewer at the smallest payments (``benchmarks/riskier_groups.py``); ``on_time`` leaves them alone. The
status step is taken for every applicant either way."""


def later_features(X: pd.DataFrame, schema: Schema, features: Callable[[pd.DataFrame], np.ndarray],
                   roles: tuple[str, ...] = ("status",), scope: str = "all") -> np.ndarray:
    """``[rows, steps, width]``: each row's features with one column made riskier (``riskier_steps``); with
    ``scope`` "on_time", a credit-line or payment step leaves a row late in the newest month as it is."""
    if scope not in SCOPES:
        raise ValueError(f"the monotone scope must be one of {', '.join(SCOPES)}; got {scope!r}.")
    newest = next((h.columns[-1] for h in schema.history if h.role == "status"), None)
    late = (X[newest].to_numpy(dtype=np.float64) >= 1) if scope == "on_time" and newest else None
    out = []
    for step in riskier_steps(schema, roles):
        later = X.copy()
        moved = step.apply(X[step.column])
        if late is not None and step.role != "status":
            moved = np.where(late, X[step.column].to_numpy(dtype=np.float64), moved)
        later[step.column] = moved
        out.append(features(later).astype(np.float32))
    return np.stack(out, axis=1)


class MonotoneTraining(keras.Model):
    """Trains ``net`` on ``{"features", "later"}`` inputs with the delay penalty added to its loss.

    Both sides of the penalty are scored without dropout, so that it measures the network and not the
    noise of two dropout masks. Validation (``training=False``) is scored as the plain network.
    """

    def __init__(self, net: keras.Model, weight: float, seed: int):
        super().__init__(name=f"{net.name}_monotone")
        self.net, self.weight = net, float(weight)
        self.draws = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        return self.net(inputs["features"], training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)
        if not training:
            return loss
        rows = (ops.shape(x["features"])[0] + SAMPLE - 1) // SAMPLE  # the batch is shuffled: a random share
        later = x["later"][:rows]
        month = keras.random.randint(ops.shape(later)[:1], 0, later.shape[1], seed=self.draws)
        moved = ops.take_along_axis(later, ops.reshape(month, (-1, 1, 1)), axis=1)[:, 0, :]
        logit = self.net(ops.concatenate([x["features"][:rows], moved], axis=0), training=False)
        return loss + self.weight * ops.mean(ops.relu(logit[:rows] - logit[rows:]))


def lowered_share(predict: Callable[[np.ndarray], np.ndarray], F: np.ndarray, later: np.ndarray,
                  step: float = 0.001) -> list[float]:
    """For each step of ``later``: the share of rows whose P(default) falls by ``step`` or more (rows the step
    does not change, such as a status already at the top, are left out)."""
    p = predict(F)
    shares = []
    for m in range(later.shape[1]):
        changed = np.any(later[:, m] != F, axis=1)
        drop = np.zeros(len(F), dtype=bool)
        if changed.any():
            drop[changed] = predict(later[changed, m]) <= p[changed] - step
        shares.append(float(drop[changed].mean()) if changed.any() else 0.0)
    return shares
