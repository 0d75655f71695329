"""The input contract: raw applicant values in, graph-ready arrays and per-row errors out.

Validation happens once, here, column by column with numpy, so a million-row
file costs a few vectorized passes rather than Python work per field. Only
values that fail the fast path are looked at one by one, to word their error.

Policy for codes never seen in training (e.g. ``SEX = 9``): the row is
**scored** with a warning; the graph encodes an unknown code as "no known
code". Missing values are imputed inside the graph where the schema says
``missing = "impute"`` and rejected where it says ``"reject"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import FieldError
from .schema import Column

MAX_CHARS = 64
"""Longer values are rejected outright: no real field is that long, and a runaway
quote in a CSV file shows up this way."""

MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none"})
_FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass
class Checked:
    """Validated inputs for ``n`` rows.

    ``feeds`` holds one ``(n, 1)`` array per graph input; a rejected value is
    replaced by a harmless placeholder so the batch can still run in one call.
    ``errors`` and ``warnings`` map 0-based row positions to what was found.
    """

    n: int
    feeds: dict[str, np.ndarray]
    errors: dict[int, list[FieldError]] = field(default_factory=dict)
    warnings: dict[int, list[str]] = field(default_factory=dict)

    def reject(self, i: int, error: FieldError) -> None:
        self.errors.setdefault(i, []).append(error)


def check_columns(
    columns: list[Column], data: Mapping[str, Any], n: int, first_row: int = 1
) -> Checked:
    """Validate ``data`` (column name -> ``n`` raw values) against ``columns``.

    ``first_row`` is the 1-based number of the first row, so messages name the
    row of the file, not of the chunk.
    """
    out = Checked(n=n, feeds={})
    for col in columns:
        values = data.get(col.name)
        if values is None:
            values = [None] * n
        if len(values) != n:
            raise ValueError(f"column {col.name} has {len(values)} values, expected {n}")
        if col.is_string:
            out.feeds[col.name] = _check_strings(col, values, out, first_row)
        else:
            out.feeds[col.name] = _check_numbers(col, values, out, first_row)
    return out


def _check_numbers(col: Column, values: Any, out: Checked, first_row: int) -> np.ndarray:
    x, bad = _parse_numbers(values)
    missing = np.isnan(x)
    for i, reason in bad.items():
        missing[i] = False
        out.reject(i, FieldError(col.name, values[i], reason, first_row + i))
    present = ~missing & ~_mask(bad, len(x))
    with np.errstate(invalid="ignore"):
        problems: list[tuple[np.ndarray, str]] = [
            (present & ~np.isfinite(x), "must be a finite number"),
            (present & np.isfinite(x) & (np.abs(x) > _FLOAT32_MAX), "is too large to be a number the model can read"),
        ]
        if col.missing == "reject":
            problems.append((missing, "is required and cannot be missing"))
        finite = present & np.isfinite(x)
        if col.kind == "code":
            problems.append((finite & (x != np.round(x)), f"must be a whole-number code, {col.domain()}"))
        else:
            low = np.zeros(len(x), bool)
            if col.min is not None:
                low = (x <= col.min) if col.min_exclusive else (x < col.min)
            if col.max is not None:
                low |= x > col.max
            problems.append((finite & low, f"must be {col.domain()}"))
    for mask, reason in problems:
        for i in np.flatnonzero(mask):
            out.reject(int(i), FieldError(col.name, values[i], reason, first_row + int(i)))
            x[i] = np.nan
    if col.kind == "code":
        known = np.isin(x, np.asarray(col.codes, dtype=np.float64)) | np.isnan(x)
        for i in np.flatnonzero(~known):
            if int(i) not in out.errors or all(e.field != col.name for e in out.errors[int(i)]):
                out.warnings.setdefault(int(i), []).append(
                    f"{col.name} code {_code(x[i])} was not seen in training; scored as an unknown code"
                )
    return x.astype(np.float32).reshape(-1, 1)


def _parse_numbers(values: Any) -> tuple[np.ndarray, dict[int, str]]:
    """Floats with NaN for missing values, and a reason for each value that is no number."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        return values.astype(np.float64).reshape(-1), {}
    arr = np.asarray(values) if not isinstance(values, np.ndarray) else values
    if arr.ndim == 1 and arr.dtype.kind in "fiu":
        return arr.astype(np.float64), {}
    if arr.ndim == 1 and arr.dtype.kind == "U":
        too_long = np.char.str_len(arr) > MAX_CHARS
        if not too_long.any():
            try:
                return np.where(arr == "", "nan", arr).astype(np.float64), {}
            except ValueError:
                pass  # some value is no number: word each one below
    x = np.empty(len(values), dtype=np.float64)
    bad: dict[int, str] = {}
    for i, v in enumerate(values):
        x[i], reason = _parse_one(v)
        if reason:
            bad[i] = reason
    return x, bad


def _parse_one(v: Any) -> tuple[float, str | None]:
    if v is None:
        return math.nan, None
    if isinstance(v, bool):
        return math.nan, "must be a number, not true/false"
    if isinstance(v, (int, float, np.integer, np.floating)):
        try:
            return float(v), None
        except OverflowError:
            return math.nan, "is too large to be a number the model can read"
    if isinstance(v, str):
        if len(v) > MAX_CHARS:
            return math.nan, f"is too long ({len(v)} characters; at most {MAX_CHARS})"
        s = v.strip()
        if s.lower() in MISSING_TOKENS:
            return math.nan, None
        try:
            return float(s.replace("_", "#")), None  # float() would accept '1_000'
        except ValueError:
            return math.nan, "must be a number"
    return math.nan, f"must be a number, not a {type(v).__name__}"


def _check_strings(col: Column, values: Sequence[Any], out: Checked, first_row: int) -> np.ndarray:
    feed = np.empty((len(values), 1), dtype=object)
    known = set(col.codes)
    for i, v in enumerate(values):
        text = "" if v is None else str(v).strip()
        if len(text) > MAX_CHARS:
            out.reject(i, FieldError(col.name, v, f"is too long ({len(text)} characters; at most {MAX_CHARS})", first_row + i))
            text = ""
        elif text.lower() in MISSING_TOKENS:
            if col.missing == "reject":
                out.reject(i, FieldError(col.name, v, "is required and cannot be missing", first_row + i))
            text = ""
        elif text not in known:
            out.warnings.setdefault(i, []).append(
                f"{col.name} code '{text}' was not seen in training; scored as an unknown code"
            )
        feed[i, 0] = text
    return feed


def _mask(bad: dict[int, str], n: int) -> np.ndarray:
    m = np.zeros(n, dtype=bool)
    if bad:
        m[list(bad)] = True
    return m


def _code(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))
