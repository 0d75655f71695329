"""Teaching the network that a later repayment is no less risky.

A validator expects one month more of delay to raise P(default). Left to itself the network lowers it
for 5-12 % of applicants when a single older month is made later (``loanscore report model``): the
months stand in for one another. With ``TrainConfig.monotone`` > 0 every training step also scores each
row with one of its repayment-status months one month later (the report's step, ``loanscore.train.delay``;
a month drawn per row and step) and adds ``monotone * mean(relu(logit - later logit))``, a penalty only
where the later history scores lower.
It shapes training only: the exported graph is the plain network.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import pandas as pd
from keras import ops

from loanscore.runtime.schema import Schema

from .delay import one_month_later, status_columns


def later_features(X: pd.DataFrame, schema: Schema, features: Callable[[pd.DataFrame], np.ndarray]) -> np.ndarray:
    """``[rows, status months, width]``: each row's features with one status month one month later."""
    out = []
    for column, top in status_columns(schema):
        later = X.copy()
        later[column] = one_month_later(X[column], top)
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
        later = x["later"]
        month = keras.random.randint(ops.shape(later)[:1], 0, later.shape[1], seed=self.draws)
        moved = ops.take_along_axis(later, ops.reshape(month, (-1, 1, 1)), axis=1)[:, 0, :]
        gap = self.net(x["features"], training=False) - self.net(moved, training=False)
        return loss + self.weight * ops.mean(ops.relu(gap))


def lowered_share(predict: Callable[[np.ndarray], np.ndarray], F: np.ndarray, later: np.ndarray,
                  step: float = 0.001) -> list[float]:
    """For each status month: the share of rows whose P(default) falls by ``step`` or more when that month
    is one month later (rows already at the top, whose features do not change, count as unchanged)."""
    p = predict(F)
    shares = []
    for m in range(later.shape[1]):
        changed = np.any(later[:, m] != F, axis=1)
        drop = np.zeros(len(F), dtype=bool)
        if changed.any():
            drop[changed] = predict(later[changed, m]) <= p[changed] - step
        shares.append(float(drop[changed].mean()) if changed.any() else 0.0)
    return shares
