"""Scikit-learn preprocessing, built from the schema and fitted on training rows only.

Output layout (what the network's ``features`` input holds, left to right):
the static block (numeric fields, then one-hot codes), then each history
channel's months oldest -> newest, channel after channel. The network reshapes
the history block to ``[batch, months, channels]``.

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
        return np.sign(X) * np.log1p(np.abs(X))

    def get_feature_names_out(self, input_features=None):
        return np.asarray(input_features if input_features is not None else [], dtype=object)


@dataclass(frozen=True)
class Layout:
    """Where each block sits in the feature vector."""

    n_static: int
    months: int
    channels: int

    @property
    def width(self) -> int:
        return self.n_static + self.months * self.channels


def _numeric_pipeline(transform: str) -> Pipeline:
    steps: list = [("impute", SimpleImputer(strategy="median"))]
    if transform == "signed_log":
        steps.append(("signed_log", SignedLog()))
    steps.append(("scale", StandardScaler()))
    return Pipeline(steps)


def build_preprocessor(schema: Schema) -> ColumnTransformer:
    """An unfitted ColumnTransformer for ``schema``; fit it on training rows only."""
    parts: list[tuple[str, object, list[str]]] = []
    for transform in ("none", "signed_log"):
        names = [f.name for f in schema.numeric if f.transform == transform]
        if names:
            parts.append((f"numeric_{transform}", _numeric_pipeline(transform), names))
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
        parts.append((f"history_{channel.name}", _numeric_pipeline(channel.transform), list(channel.columns)))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0, verbose_feature_names_out=False)


def layout_of(preprocessor: ColumnTransformer, schema: Schema) -> Layout:
    width = sum(len(_out_names(t, cols)) for _, t, cols in preprocessor.transformers_ if t != "drop")
    history = schema.months * len(schema.history)
    return Layout(n_static=width - history, months=schema.months, channels=len(schema.history))


def _out_names(transformer, columns) -> list[str]:
    return list(transformer.get_feature_names_out(columns))
