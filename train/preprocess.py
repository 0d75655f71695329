"""Scikit-learn preprocessing, built from the schema and fitted on training rows only.

Output layout (what the network's ``features`` input holds, left to right):
the static block (numeric fields, then one-hot codes), then each history
channel's months oldest -> newest, channel after channel, then the derived
monthly channels of ``HistoryFeatures`` (same order). The network reshapes the
history block to ``[batch, months, channels]``.

Every step has an ONNX converter (see ``loanscore.export.preprocess_graph``),
so the same arithmetic runs inside the exported graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from loanscore.runtime.schema import Schema


def signed_log(x: np.ndarray) -> np.ndarray:
    """``sign(x) * log1p(|x|)``, the one formula ``SignedLog`` and the derived amount channels share."""
    return np.sign(x) * np.log1p(np.abs(x))


class SignedLog(TransformerMixin, BaseEstimator):
    """``sign(x) * log1p(|x|)``: tames heavy-tailed amounts and keeps the sign of credit balances.

    Stateless, but follows the estimator contract so it sits in a Pipeline and
    is saved with it.
    """

    def fit(self, X, y=None):  # noqa: N803 - scikit-learn's argument names
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X):  # noqa: N803
        check_is_fitted(self, "n_features_in_")
        X = np.asarray(X, dtype=np.float64)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"SignedLog was fitted on {self.n_features_in_} columns, got {X.shape[1]}.")
        return signed_log(X)

    def get_feature_names_out(self, input_features=None):
        return np.asarray(input_features if input_features is not None else [], dtype=object)


class NormalScores(TransformerMixin, BaseEstimator):
    """Each column through its training quantiles to normal scores: a monotone, piecewise-linear map.

    Amounts are heavy-tailed and full of ties (no payment, no bill); their
    ranks served the network a little better than log-amounts (benchmarks/README.md,
    round 3). Knot ``k`` of a column is a distinct training quantile, its score the
    standard-normal quantile of its mean level (levels ``(i + 0.5) / n``, so
    scores stay within about +-2.6); values in between are interpolated
    linearly, values beyond the training range take the end scores. Linear
    pieces only, so the ONNX converter reproduces it exactly.
    """

    def __init__(self, n_quantiles: int = 100):
        self.n_quantiles = n_quantiles

    def fit(self, X, y=None):  # noqa: N803
        from statistics import NormalDist

        X = np.asarray(X, dtype=np.float64)
        levels = (np.arange(self.n_quantiles) + 0.5) / self.n_quantiles
        normal = np.array([NormalDist().inv_cdf(q) for q in levels])
        quantiles = np.nanquantile(X, levels, axis=0).reshape(self.n_quantiles, X.shape[1])
        columns = []
        for c in range(X.shape[1]):
            knots, tie = np.unique(quantiles[:, c], return_inverse=True)
            columns.append((knots, np.bincount(tie, normal) / np.bincount(tie)))
        width = max(2, max(len(k) for k, _ in columns))  # padded with flat pieces
        self.knots_ = np.array([np.pad(k, (0, width - len(k)), mode="edge") for k, _ in columns])
        self.scores_ = np.array([np.pad(z, (0, width - len(z)), mode="edge") for _, z in columns])
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):  # noqa: N803
        check_is_fitted(self, "knots_")
        X = np.asarray(X, dtype=np.float64)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"NormalScores was fitted on {self.n_features_in_} columns, got {X.shape[1]}.")
        out = np.empty_like(X)
        for c in range(X.shape[1]):
            knots, scores = self.knots_[c], self.scores_[c]
            keep = np.concatenate([[True], np.diff(knots) > 0])  # np.interp wants strictly rising knots
            out[:, c] = np.interp(X[:, c], knots[keep], scores[keep])
        return out

    def get_feature_names_out(self, input_features=None):
        return np.asarray(input_features if input_features is not None else [], dtype=object)


DERIVED = ("delinquent", "months_since_delinquency", "payment_ratio", "balance_change", "utilization",
           "payment_utilization", "status_minus2", "status_minus1", "status_zero", "spending")
"""Monthly channels ``HistoryFeatures`` can derive, each from the history channels with a given role:

* ``delinquent``: 1 where the status (role ``status``) is > 0, i.e. a payment is late;
* ``months_since_delinquency``: months since the latest late month up to this one
  (0 in a late month; ``t + 1`` at month ``t`` when none was late so far);
* ``payment_ratio``: payment / max(previous balance, payment, 1), in [0, 1]: the share of the
  previous month's balance paid (roles ``payment`` and ``balance``);
* ``balance_change``: signed log of balance minus the previous month's balance (role ``balance``);
* ``utilization``: balance / max(credit line, 1), clipped to [-1, 2] (the balance channel and the
  numeric field with role ``credit_limit``);
* ``payment_utilization``: payment / max(credit line, 1), clipped to [0, 1];
* ``status_minus2`` / ``status_minus1`` / ``status_zero``: 1 where the status is <= -2 / -1 / 0
  (to the nearest integer), the special codes below "late" as categories; derived only where the
  status channel's ``min`` allows the code;
* ``spending``: signed log of the month's new charges, balance - (previous balance - payment):
  what the borrower spent beyond what was owed and paid (roles ``balance`` and ``payment``; 0 in
  the first month, whose previous balance is unknown).

A channel whose roles the schema lacks is skipped (see ``derivable``).
"""
_NEEDS = {"delinquent": ("status",), "months_since_delinquency": ("status",),
          "payment_ratio": ("payment", "balance"), "balance_change": ("balance",),
          "utilization": ("balance", "credit_limit"), "payment_utilization": ("payment", "credit_limit"),
          "status_minus2": ("status",), "status_minus1": ("status",), "status_zero": ("status",),
          "spending": ("balance", "payment")}
_STATUS_CODE = {"status_minus2": -2, "status_minus1": -1, "status_zero": 0}
UTILIZATION_CLIP = {"utilization": (-1.0, 2.0), "payment_utilization": (0.0, 1.0)}


def derivable(schema: Schema, wanted: tuple[str, ...]) -> tuple[str, ...]:
    """The channels in ``wanted`` whose roles ``schema`` has, in ``DERIVED`` order."""
    unknown = sorted(set(wanted) - set(DERIVED))
    if unknown:
        raise ValueError(f"Unknown derived history channels {unknown}; choose from {', '.join(DERIVED)}.")
    roles: set[str] = {c.role for c in schema.history}
    if any(f.role == "credit_limit" for f in schema.numeric):
        roles.add("credit_limit")
    status = next((c for c in schema.history if c.role == "status"), None)

    def allowed(d: str) -> bool:
        if d not in _STATUS_CODE:
            return True
        return status is not None and (status.min is None or status.min <= _STATUS_CODE[d]) and (
            status.max is None or status.max >= _STATUS_CODE[d])

    return tuple(d for d in DERIVED if d in wanted and all(r in roles for r in _NEEDS[d]) and allowed(d))


def credit_limit_field(schema: Schema) -> str | None:
    """The numeric field with role ``credit_limit``, if any (the first one)."""
    return next((f.name for f in schema.numeric if f.role == "credit_limit"), None)


class HistoryFeatures(TransformerMixin, BaseEstimator):
    """Derived monthly channels (see ``DERIVED``) from the raw history columns.

    Input: every history channel's months, oldest -> newest, channel after
    channel (``roles`` gives each channel's role), then, with ``credit_limit``,
    one more column: the credit line. Output: one block of
    ``months`` columns per name in ``derived``. Stateless apart from checks.
    Only elementwise arithmetic, so the ONNX converter reproduces it exactly.
    """

    def __init__(self, roles: tuple[str, ...] = (), months: int = 1, derived: tuple[str, ...] = (),
                 credit_limit: bool = False):
        self.roles = roles
        self.months = months
        self.derived = derived
        self.credit_limit = credit_limit

    def fit(self, X, y=None):  # noqa: N803
        n = np.asarray(X).shape[1]
        want = len(self.roles) * self.months + int(self.credit_limit)
        if n != want:
            raise ValueError(f"HistoryFeatures expects {len(self.roles)} channels x {self.months} months"
                             f"{' + the credit line' if self.credit_limit else ''} = {want} columns; got {n}.")
        have = set(self.roles) | ({"credit_limit"} if self.credit_limit else set())
        for d in self.derived:
            missing = [r for r in _NEEDS[d] if r not in have]
            if missing:
                raise ValueError(f"The derived channel '{d}' needs a history channel with role {missing[0]}.")
        self.n_features_in_ = n
        return self

    def channel(self, role: str) -> int:
        return list(self.roles).index(role)

    def transform(self, X):  # noqa: N803
        check_is_fitted(self, "n_features_in_")
        X = np.asarray(X, dtype=np.float64)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"HistoryFeatures was fitted on {self.n_features_in_} columns, got {X.shape[1]}.")
        T = self.months
        block = {r: X[:, self.channel(r) * T:(self.channel(r) + 1) * T] for r in set(self.roles)}
        if getattr(self, "credit_limit", False):  # absent from runs saved before it existed
            limit = np.maximum(X[:, len(self.roles) * T:len(self.roles) * T + 1], 1.0)
        out = []
        for d in self.derived:
            if d == "delinquent":
                out.append((block["status"] > 0).astype(np.float64))
            elif d == "months_since_delinquency":
                late = (block["status"] > 0).astype(np.float64)
                last = np.zeros(len(X))
                cols = []
                for t in range(T):  # last[t]: 1 + index of the latest late month <= t, 0 if none
                    last = np.maximum(last, late[:, t] * (t + 1))
                    cols.append((t + 1) - last)
                out.append(np.stack(cols, axis=1))
            elif d == "payment_ratio":
                pay, bal = block["payment"], block["balance"]
                prev = np.concatenate([bal[:, :1], bal[:, :-1]], axis=1)
                out.append(pay / np.maximum(np.maximum(prev, pay), 1.0))
            elif d == "balance_change":
                bal = block["balance"]
                diff = bal - np.concatenate([bal[:, :1], bal[:, :-1]], axis=1)
                out.append(signed_log(diff))
            elif d == "spending":
                bal, spend = block["balance"], np.zeros((len(X), T))
                spend[:, 1:] = bal[:, 1:] - bal[:, :-1] + block["payment"][:, 1:]
                out.append(signed_log(spend))
            elif d in UTILIZATION_CLIP:
                low, high = UTILIZATION_CLIP[d]
                amount = block["balance" if d == "utilization" else "payment"]
                out.append(np.clip(amount / limit, low, high))
            elif d in _STATUS_CODE:
                s, code = block["status"], _STATUS_CODE[d]
                hit = (s < code + 0.5) if code == -2 else (s > code - 0.5) & (s < code + 0.5)
                out.append(hit.astype(np.float64))
        return np.concatenate(out, axis=1) if out else np.zeros((len(X), 0))

    def get_feature_names_out(self, input_features=None):
        return np.asarray([f"{d}_{t}" for d in self.derived for t in range(self.months)], dtype=object)


@dataclass(frozen=True)
class Layout:
    """Where each block sits in the feature vector."""

    n_static: int
    months: int
    channels: int

    @property
    def width(self) -> int:
        return self.n_static + self.months * self.channels


AMOUNT_ENCODINGS = ("normal_scores", "signed_log")


def _numeric_pipeline(transform: str, amounts: str = "normal_scores") -> Pipeline:
    steps: list = [("impute", SimpleImputer(strategy="median"))]
    if transform == "signed_log" and amounts == "normal_scores":
        return Pipeline([*steps, ("normal_scores", NormalScores())])
    if transform == "signed_log":
        steps.append(("signed_log", SignedLog()))
    steps.append(("scale", StandardScaler()))
    return Pipeline(steps)


def build_preprocessor(schema: Schema, derived: tuple[str, ...] = (), amounts: str = "normal_scores") -> ColumnTransformer:
    """An unfitted ColumnTransformer for ``schema``; fit it on training rows only.

    ``derived`` names monthly channels (see ``DERIVED``) to add after the
    schema's own; those the schema's roles cannot give are left out.
    ``amounts`` encodes the fields whose schema transform is ``signed_log``:
    ``normal_scores`` (``NormalScores``) or ``signed_log`` (then standardized).
    """
    if amounts not in AMOUNT_ENCODINGS:
        raise ValueError(f"amounts must be one of {', '.join(AMOUNT_ENCODINGS)}; got {amounts!r}.")
    parts: list[tuple[str, object, list[str]]] = []
    for transform in ("none", "signed_log"):
        names = [f.name for f in schema.numeric if f.transform == transform]
        if names:
            parts.append((f"numeric_{transform}", _numeric_pipeline(transform, amounts), names))
    int_coded = [f for f in schema.categorical if not any(isinstance(c, str) for c in f.codes)]
    str_coded = [f for f in schema.categorical if any(isinstance(c, str) for c in f.codes)]
    if int_coded:
        parts.append((
            "codes",
            Pipeline([
                ("impute", SimpleImputer(strategy="most_frequent")),
                # Unknown codes become all zeros: the documented "scored with a warning" policy.
                ("onehot", OneHotEncoder(categories=[list(f.codes) for f in int_coded],
                                         handle_unknown="ignore", sparse_output=False)),
            ]),
            [f.name for f in int_coded],
        ))
    if str_coded:
        # Missing strings arrive as "" and, like unknown codes, encode as all zeros.
        parts.append((
            "string_codes",
            OneHotEncoder(categories=[list(f.codes) for f in str_coded], handle_unknown="ignore", sparse_output=False),
            [f.name for f in str_coded],
        ))
    for channel in schema.history:
        parts.append((f"history_{channel.name}", _numeric_pipeline(channel.transform, amounts),
                      list(channel.columns)))
    derived = derivable(schema, derived)
    limit = credit_limit_field(schema) if any("credit_limit" in _NEEDS[d] for d in derived) else None
    if derived:
        parts.append(("history_derived", Pipeline([
            ("impute", SimpleImputer(strategy="median")),
            ("derive", HistoryFeatures(tuple(c.role for c in schema.history), schema.months, derived,
                                       credit_limit=bool(limit))),
            ("scale", StandardScaler()),
        ]), [col for c in schema.history for col in c.columns] + ([limit] if limit else [])))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0, verbose_feature_names_out=False)


def layout_of(preprocessor: ColumnTransformer, schema: Schema) -> Layout:
    width = sum(len(_out_names(t, cols)) for _, t, cols in preprocessor.transformers_ if t != "drop")
    channels = len(schema.history)
    for name, t, _ in preprocessor.transformers_:
        if name == "history_derived":
            channels += len(t.named_steps["derive"].derived)
    return Layout(n_static=width - schema.months * channels, months=schema.months, channels=channels)


def _out_names(transformer, columns) -> list[str]:
    return list(transformer.get_feature_names_out(columns))
