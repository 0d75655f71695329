"""Choosing the decision threshold by a stated rule, on validation data.

A probability is not a decision. The lender states what mistakes cost, or
what share of applicants it wants to approve, and the threshold follows:

* ``cost``: minimise expected cost per applicant, where approving an applicant
  who defaults costs ``cost_default`` and declining one who would have repaid
  costs ``cost_decline_good``. With calibrated probabilities the optimum is
  near ``cost_decline_good / (cost_default + cost_decline_good)``.
* ``approval_rate``: approve the ``approval_rate`` share with the lowest scores.

An applicant is declined when ``p >= threshold``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

RULES = ("cost", "approval_rate")
_GRID = np.round(np.arange(0.01, 0.991, 0.005), 3)


@dataclass(frozen=True)
class ThresholdRule:
    rule: str = "cost"
    cost_default: float = 5.0
    cost_decline_good: float = 1.0
    approval_rate: float = 0.75

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"The threshold rule must be one of {', '.join(RULES)}; got {self.rule!r}.")
        if self.cost_default <= 0 or self.cost_decline_good <= 0:
            raise ValueError("Both costs must be positive.")
        if not 0 < self.approval_rate < 1:
            raise ValueError(f"The approval rate must be between 0 and 1; got {self.approval_rate}.")

    def choose(self, y: np.ndarray, p: np.ndarray, chosen_on: str = "validation split") -> dict:
        """The threshold, with the rule, its inputs and what it gives on (y, p); ``chosen_on`` says what (y, p) are."""
        y = np.asarray(y).astype(int)
        p = np.asarray(p, dtype=np.float64).reshape(-1)
        if self.rule == "cost":
            costs = np.array([self.expected_cost(y, p, t) for t in _GRID])
            value = float(_GRID[int(np.argmin(costs))])
            inputs = {"cost_default": self.cost_default, "cost_decline_good": self.cost_decline_good}
        else:
            value = float(np.quantile(p, self.approval_rate))
            inputs = {"approval_rate": self.approval_rate}
        return {
            "value": value,
            "rule": self.rule,
            "inputs": inputs,
            "chosen_on": chosen_on,
            "declined_when": "probability >= value",
            "expected_cost_per_applicant": self.expected_cost(y, p, value),
            "approval_rate": float(np.mean(p < value)),
            "description": self.describe(),
        }

    def describe(self) -> str:
        if self.rule == "cost":
            return (f"minimise expected cost: approving a defaulter costs {self.cost_default:g}, "
                    f"declining a good payer costs {self.cost_decline_good:g}")
        return f"approve the {self.approval_rate:.0%} of applicants with the lowest probability of default"

    def expected_cost(self, y: np.ndarray, p: np.ndarray, t: float) -> float:
        declined = p >= t
        return float((self.cost_default * np.sum(~declined & (y == 1)) + self.cost_decline_good * np.sum(declined & (y == 0))) / len(y))

    def to_dict(self) -> dict:
        return asdict(self)
