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

import dataclasses
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
    columns: list[Column], data: Mapping[str, Any], n: int, first_row: int | None = 1
) -> Checked:
    """Validate ``data`` (column name -> ``n`` raw values) against ``columns``.

    ``first_row`` is the 1-based number of the first row, so messages name the
    row of the file, not of the chunk; ``None`` for a lone record, whose
    messages name no row.
    """
    if first_row is None:
        out = check_columns(columns, data, n, 1)
        out.errors = {i: [dataclasses.replace(e, row=None) for e in errs] for i, errs in out.errors.items()}
        return out
    out = Checked(n=n, feeds={})
    for col in columns:
        values = data.get(col.name)
        if values is None:
            values = [None] * n
        elif hasattr(values, "iloc"):  # a pandas Series: by position, not by its index's labels; NA is missing
            values = values.to_numpy(dtype=object, na_value=None) if values.hasnans else values.to_numpy()
        if len(values) != n:
            raise ValueError(f"column {col.name} has {len(values)} values, expected {n}")
        if col.is_string:
            out.feeds[col.name] = _check_strings(col, values, out, first_row)
        else:
            out.feeds[col.name] = _check_numbers(col, values, out, first_row)
    return out


def check_record(columns: list[Column], record: Mapping[str, Any]) -> Checked:
    """One applicant, checked field by field in plain Python.

    The same rules as ``check_columns`` (a test holds the two to agreement),
    without numpy's per-call overhead: a desk app scoring one form at a time
    should wait on the model, not on the validator.
    """
    out = Checked(n=1, feeds={})
    for col in columns:
        raw = record.get(col.name)
        if col.is_string:
            out.feeds[col.name] = _check_strings(col, [raw], out, 1)
            continue
        x, reason = _parse_one(raw)
        if reason is None and x == x:  # present (NaN is missing)
            reason = _scalar_problem(col, x)
        elif reason is None and col.missing == "reject":
            reason = "is required and cannot be missing"
        if reason is not None:
            out.reject(0, FieldError(col.name, raw, reason, None))
            x = math.nan
        elif col.kind == "code" and x == x and x not in col.codes:
            out.warnings.setdefault(0, []).append(
                f"{col.name} code {_code(x)} was not seen in training; scored as an unknown code"
            )
        out.feeds[col.name] = np.array([[x]], dtype=np.float32)
    return out


def _scalar_problem(col: Column, x: float) -> str | None:
    if not math.isfinite(x):
        return "must be a finite number"
    if abs(x) > _FLOAT32_MAX:
        return "is too large to be a number the model can read"
    if col.kind == "code":
        return None if x == round(x) else f"must be a whole-number code, {col.domain()}"
    if col.min is not None and (x <= col.min if col.min_exclusive else x < col.min):
        return f"must be {col.domain()}"
    if col.max is not None and x > col.max:
        return f"must be {col.domain()}"
    return None


class ParsedText(Sequence[str]):
    """A CSV column whose fields were parsed to numbers in bulk (see ``CsvReader``), or a JSON Lines column of
    numbers (``JsonNumbers``).

    ``numbers`` are the values; ``self[i]`` is field ``i``'s text, split out of its line again,
    which only an error message needs.
    """

    def __init__(self, numbers: np.ndarray, lines: Sequence[str], index: int, separator: str = ","):
        self.numbers, self._lines, self._index, self._separator = numbers, lines, index, separator

    def __len__(self) -> int:
        return len(self.numbers)

    def __getitem__(self, i):  # type: ignore[no-untyped-def]
        return self._lines[i].rstrip("\r\n").split(self._separator)[self._index]


def _check_numbers(col: Column, values: Any, out: Checked, first_row: int) -> np.ndarray:
    x, bad = parse_numbers(values)
    for i, reason in bad.items():
        out.reject(i, FieldError(col.name, values[i], reason, first_row + i))
    missing = np.isnan(x) & ~_mask(bad, len(x))
    finite = np.isfinite(x)
    with np.errstate(invalid="ignore"):
        # The first rule a value breaks is the one reported, in the order of _scalar_problem.
        problems: list[tuple[np.ndarray, str]] = [
            (~missing & ~finite, "must be a finite number"),
            (finite & (np.abs(x) > _FLOAT32_MAX), "is too large to be a number the model can read"),
        ]
        if col.missing == "reject":
            problems.append((missing, "is required and cannot be missing"))
        if col.kind == "code":
            problems.append((finite & (x != np.round(x)), f"must be a whole-number code, {col.domain()}"))
        else:
            outside = np.zeros(len(x), bool)
            if col.min is not None:
                outside = (x <= col.min) if col.min_exclusive else (x < col.min)
            if col.max is not None:
                outside |= x > col.max
            problems.append((finite & outside, f"must be {col.domain()}"))
    flagged = _mask(bad, len(x))
    for mask, reason in problems:
        for i in np.flatnonzero(mask & ~flagged).tolist():
            out.reject(i, FieldError(col.name, values[i], reason, first_row + i))
        flagged |= mask
    if flagged.any():  # not in place: x may be the reader's own column, which a shadow model reads next
        x = np.where(flagged, np.nan, x)
    if col.kind == "code":
        unknown = ~np.isin(x, np.asarray(col.codes, dtype=np.float64)) & ~np.isnan(x)
        for i in np.flatnonzero(unknown).tolist():
            out.warnings.setdefault(i, []).append(
                f"{col.name} code {_code(x[i])} was not seen in training; scored as an unknown code"
            )
    return x.astype(np.float32).reshape(-1, 1)


def parse_numbers(values: Any) -> tuple[np.ndarray, dict[int, str]]:
    """Floats with NaN for missing values, and a reason for each value that is no number (training reads its
    numbers with this too, so that it and scoring agree on every spelling).

    Fast paths convert a whole column in C (``float()`` per value, for text);
    only a column holding a value that fails them is looked at value by value.
    """
    if isinstance(values, ParsedText):
        return values.numbers, {}
    if isinstance(values, np.ndarray):
        if values.dtype.kind in "fiu":
            return values.astype(np.float64).reshape(-1), {}
        values = values.reshape(-1).tolist()
    types = set(map(type, values))
    if types == {str}:
        if max(map(len, values), default=0) <= MAX_CHARS:
            try:
                return np.array(values, dtype=np.float64), {}
            except ValueError:
                try:  # empty cells are the common reason: read them as missing and try once more
                    return np.array([v if v.strip() else "nan" for v in values], dtype=np.float64), {}
                except ValueError:
                    pass  # some value is no number: word each one below
    elif types <= {float, int}:
        try:
            return np.array(values, dtype=np.float64), {}
        except OverflowError:
            pass
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
    if isinstance(v, (float, int, np.integer, np.floating)):
        try:
            return float(v), None
        except OverflowError:
            return math.nan, "is too large to be a number the model can read"
    if isinstance(v, str):
        if len(v) > MAX_CHARS:
            return math.nan, f"is too long ({len(v)} characters; at most {MAX_CHARS})"
        s = v.strip().strip("\x00").strip()  # numpy's string arrays drop NULs too: both paths agree
        if s.lower() in MISSING_TOKENS:
            return math.nan, None
        try:
            return float(s), None
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
