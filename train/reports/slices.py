"""Fairness slices: approval and default rates per group, and the four-fifths rule.

Pure numpy/pandas arithmetic, no plotting, so it can be checked by hand.
An applicant is *approved* when ``p < threshold`` (declined when
``p >= threshold``), as in the runtime.

The four-fifths rule (US EEOC adverse-impact guideline, also used in credit
fair-lending reviews) flags a group whose approval rate is below 80 % of the
most-approved group's. It is a screening signal, not a legal finding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from loanscore.runtime.performance import fisher_two_sided
from loanscore.runtime.schema import Schema

FOUR_FIFTHS = 0.8
MIN_GROUP = 30
"""Groups smaller than this are shown but are not eligible as the reference group,
and their ratios are marked as small-sample: one or two decisions swing them."""
AGE_FIELD = "AGE"
AGE_EDGES: tuple[float, ...] = (25, 35, 45, 55, 65)
"""Inner band edges: <25, 25-34, 35-44, 45-54, 55-64, 65+."""

COLUMNS = ["field", "group", "count", "defaults", "default_rate", "approved", "approval_rate",
           "auc", "approval_ratio", "four_fifths_flag", "small_sample", "reference", "p_value", "adverse_impact"]
ALPHA = 0.01
"""``adverse_impact``: below four-fifths and Fisher's exact test p < ALPHA / groups compared, as
``loanscore fairness`` tests it."""


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties counted half; NaN with one class only."""
    y = np.asarray(y).astype(int)
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return math.nan
    ranks = pd.Series(np.asarray(p, dtype=np.float64)).rank(method="average").to_numpy()
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def slice_table(y: ArrayLike, p: ArrayLike, groups: Sequence, threshold: float, *,
                field: str = "", min_group: int = MIN_GROUP) -> pd.DataFrame:
    """One row per group: count, default rate, approval rate, AUC, and the ratio to the most-approved group.

    Parameters
    ----------
    y : array of shape (n,), 0/1 outcomes.
    p : array of shape (n,), predicted probability of default.
    groups : array of shape (n,), the group of each applicant (any hashable; NaN/None is its own group "missing").
    threshold : applicants with ``p >= threshold`` are declined.
    min_group : groups with fewer rows cannot be the reference and are marked ``small_sample``.

    The reference is the group with the highest approval rate among groups of at
    least ``min_group`` rows (among all groups when none is that large);
    ``four_fifths_flag`` is ``approval_ratio < 0.8``.

    Examples
    --------
    >>> t = slice_table([0, 1, 0, 0], [0.1, 0.9, 0.6, 0.2], ["a", "a", "b", "b"], 0.5, min_group=1)
    >>> t[["group", "approval_rate", "approval_ratio", "four_fifths_flag"]].to_dict("records")
    [{'group': 'a', 'approval_rate': 0.5, 'approval_ratio': 1.0, 'four_fifths_flag': False}, {'group': 'b', 'approval_rate': 0.5, 'approval_ratio': 1.0, 'four_fifths_flag': False}]
    """
    y = np.asarray(y).astype(int).reshape(-1)
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    g = pd.Series(list(groups), dtype=object).where(pd.notna(pd.Series(list(groups), dtype=object)), "missing")
    if not len(y) == len(p) == len(g):
        raise ValueError(f"y, p and groups must have the same length; got {len(y)}, {len(p)} and {len(g)}.")
    approved = p < threshold
    rows = []
    for name in _ordered(g.unique()):
        m = (g == name).to_numpy()
        n = int(m.sum())
        rows.append({
            "field": field, "group": name, "count": n,
            "defaults": int(y[m].sum()), "default_rate": float(y[m].mean()),
            "approved": int(approved[m].sum()), "approval_rate": float(approved[m].mean()),
            "auc": auc(y[m], p[m]), "small_sample": n < min_group,
        })
    table = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("approval_ratio", "four_fifths_flag",
                                                                         "reference", "p_value", "adverse_impact")])
    if table.empty:
        return pd.DataFrame(columns=COLUMNS)
    named = table[table["group"] != "missing"] if (table["group"] != "missing").any() else table
    eligible = named[~named["small_sample"]] if (~named["small_sample"]).any() else named
    ref = eligible["approval_rate"].idxmax()
    best = table.loc[ref, "approval_rate"]
    table["approval_ratio"] = table["approval_rate"] / best if best > 0 else math.nan
    table["four_fifths_flag"] = table["approval_ratio"] < FOUR_FIFTHS
    table["reference"] = table.index == ref
    a, n = int(table.loc[ref, "approved"]), int(table.loc[ref, "count"])
    tested = ~table["small_sample"] & ~table["reference"] & (best > 0)
    table["p_value"] = [fisher_two_sided(int(r.approved), int(r.count - r.approved), a, n - a) if t else math.nan
                        for r, t in zip(table.itertuples(), tested)]
    table["adverse_impact"] = tested & table["four_fifths_flag"] & (table["p_value"] < ALPHA / max(1, tested.sum()))
    return table[COLUMNS]


def band_labels(values: Sequence[float], edges: Sequence[float] = AGE_EDGES) -> list[str | None]:
    """Band each value by ``edges`` (ascending inner edges): ``<25``, ``25-34``, ..., ``65+``; missing stays ``None``."""
    edges = list(edges)
    if sorted(edges) != edges or len(set(edges)) != len(edges):
        raise ValueError(f"Band edges must be strictly increasing; got {edges}.")
    names = [f"<{_n(edges[0])}"] + [f"{_n(a)}-{_n(b - 1)}" for a, b in zip(edges, edges[1:])] + [f"{_n(edges[-1])}+"]
    x = np.asarray(values, dtype=np.float64)
    idx = np.searchsorted(np.asarray(edges, dtype=np.float64), x, side="right")
    return [None if np.isnan(v) else names[i] for v, i in zip(x, idx)]


def slice_groups(schema: Schema, X: pd.DataFrame, *, band_field: str | None = AGE_FIELD,
                 band_edges: Sequence[float] = AGE_EDGES) -> dict[str, list]:
    """Field name -> group of each row: bands of every numeric field the schema gives ``bands`` and of
    ``band_field`` (at ``band_edges``), then every categorical field (``code label``).

    ``band_field`` is used only when it is one of the schema's numeric fields; pass ``None`` to skip it.
    """
    out: dict[str, list] = {}
    for f in schema.numeric:
        edges = band_edges if f.name == band_field else f.bands
        if edges:
            out[f"{f.name} band"] = band_labels(pd.to_numeric(X[f.name], errors="coerce"), edges)
    for cat in schema.categorical:
        out[cat.name] = [code_label(cat.labels, v) for v in X[cat.name]]
    return out


def all_slices(schema: Schema, X: pd.DataFrame, y: np.ndarray, p: np.ndarray, threshold: float, *,
               band_field: str | None = AGE_FIELD, band_edges: Sequence[float] = AGE_EDGES,
               min_group: int = MIN_GROUP) -> pd.DataFrame:
    """``slice_table`` for every field of ``slice_groups``, stacked."""
    tables = [slice_table(y, p, groups, threshold, field=name, min_group=min_group)
              for name, groups in slice_groups(schema, X, band_field=band_field, band_edges=band_edges).items()]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=COLUMNS)


def code_label(labels: dict[str, str], value: object) -> str | None:
    """``2`` -> ``"2 female"``; a code without a label stays as the code; missing -> ``None``."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    code = _n(value) if isinstance(value, (int, float, np.integer, np.floating)) else str(value)
    label = labels.get(code)
    return f"{code} {label}" if label else code


def _n(x: object) -> str:
    f = float(x)  # type: ignore[arg-type]
    return str(int(f)) if f.is_integer() else repr(f)


def _ordered(values) -> list:
    """Groups in a stable, readable order: numerically by leading code/bound where possible."""
    def key(v):
        text = str(v)
        head = text.split(" ", 1)[0]
        below = head.startswith("<")
        head = head.lstrip("<").rstrip("+")
        head = head[0] + head[1:].split("-")[0] if head else head  # keep a leading minus sign
        try:
            return (0, float(head) - (0.5 if below else 0.0), text)
        except ValueError:
            return (1 if text != "missing" else 2, 0.0, text)
    return sorted(values, key=key)
