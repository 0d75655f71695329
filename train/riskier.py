"""What makes an applicant riskier, column by column: the steps the model report checks and the training
penalty (``loanscore.train.monotone``) teaches, kept in one place so the two agree.

A validator expects one month more of delay, a lower credit line or a smaller payment to raise P(default)
(all else equal). Each role's step is defined on the raw values, as an applicant would fill them in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from loanscore.runtime.schema import Schema

ROLES = ("status", "credit_limit", "payment")
"""The roles a step exists for: a ``status`` history channel's month one month later; the ``credit_limit``
field, or a month of a ``payment`` channel, LOWER times as large."""
LOWER = 0.8
WORDS = {"status": "one month's repayment status one month later", "credit_limit": "a credit line 20 % lower",
         "payment": "one month's payment 20 % lower"}
"""How reports and the model card word each role's step."""


@dataclass(frozen=True)
class Step:
    """One column made riskier."""

    role: str
    source: str
    """The field or history channel the column belongs to."""
    column: str
    apply: Callable[[pd.Series | np.ndarray], np.ndarray]


def one_month_later(values: pd.Series | np.ndarray, top: float) -> np.ndarray:
    """``max(status, 0) + 1`` up to ``top``: paid in full, unused and revolving credit become one month late;
    a missing month stays missing."""
    return np.minimum(np.maximum(np.asarray(values, dtype=np.float64), 0) + 1, top)


def lower(values: pd.Series | np.ndarray) -> np.ndarray:
    """LOWER times the amount; a zero or missing amount stays as it is."""
    return np.asarray(values, dtype=np.float64) * LOWER


def riskier_steps(schema: Schema, roles: tuple[str, ...] = ("status",)) -> list[Step]:
    """Every column ``roles`` cover, role by role in ROLES's order, each role's columns in the schema's order."""
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValueError(f"monotone roles must be among {', '.join(ROLES)}; got {', '.join(unknown)}.")
    steps = []
    if "status" in roles:
        steps += [Step("status", h.name, c, partial(one_month_later, top=np.inf if h.max is None else float(h.max)))
                  for h in schema.history if h.role == "status" for c in h.columns]
    if "credit_limit" in roles:
        steps += [Step("credit_limit", f.name, f.name, lower) for f in schema.numeric if f.role == "credit_limit"]
    if "payment" in roles:
        steps += [Step("payment", h.name, c, lower) for h in schema.history if h.role == "payment" for c in h.columns]
    return steps


def named(roles: tuple[str, ...]) -> str:
    """``'status' or 'payment'``: the roles as messages name them."""
    return " or ".join(map(repr, roles))
