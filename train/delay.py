"""One month more of delay in the repayment status: the step the model report checks and the
training penalty (``loanscore.train.monotone``) teaches, kept in one place so the two agree."""

from __future__ import annotations

import numpy as np
import pandas as pd

from loanscore.runtime.schema import Schema


def status_columns(schema: Schema) -> list[tuple[str, float]]:
    """Every month of every ``status`` channel, with the highest status the schema allows."""
    return [(c, np.inf if h.max is None else float(h.max)) for h in schema.history if h.role == "status"
            for c in h.columns]


def one_month_later(values: pd.Series | np.ndarray, top: float) -> np.ndarray:
    """``max(status, 0) + 1`` up to ``top``: paid in full, unused and revolving credit become one month late;
    a missing month stays missing."""
    return np.minimum(np.maximum(np.asarray(values, dtype=np.float64), 0) + 1, top)
