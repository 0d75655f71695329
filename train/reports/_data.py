"""Reading a labelled applicant file for a report, and counting what is wrong with it.

Unlike ``train.data.load_dataset``, which refuses a file with any bad row, a
report reads everything it can: the counts of missing, invalid and
undocumented values are part of what it shows. Values that break the schema
are left out of the statistics (as NaN), never silently clipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from loanscore.runtime.errors import InputError
from loanscore.runtime.schema import Column, Schema
from loanscore.runtime.validate import MISSING_TOKENS, check_columns
from loanscore.train.data import read_text_frame

UNDOCUMENTED = "undocumented"


@dataclass
class FieldQuality:
    name: str
    missing: int = 0
    invalid: int = 0
    invalid_examples: list[str] = field(default_factory=list)
    unknown_codes: dict[str, int] = field(default_factory=dict)
    """Codes the schema does not list (scored with a warning by the runtime)."""
    undocumented_codes: dict[str, int] = field(default_factory=dict)
    """Codes the schema lists but whose label is missing or says 'undocumented'."""

    @property
    def clean(self) -> bool:
        return not (self.missing or self.invalid or self.unknown_codes or self.undocumented_codes)


@dataclass
class LabelledData:
    """Raw text values, cleaned values (NaN where missing or invalid) and 0/1 labels."""

    path: Path
    raw: pd.DataFrame
    values: pd.DataFrame
    y: np.ndarray
    rows_read: int
    bad_label_rows: int
    quality: list[FieldQuality]
    rejected_rows: int
    """Rows the runtime would refuse to score (at least one invalid or missing-and-required value)."""


def read_labelled(path: str | Path, schema: Schema) -> LabelledData:
    """Read ``path`` (CSV, gzip allowed, or a workbook); rows whose label is not 0/1 are dropped and counted."""
    path = Path(path)
    needed = schema.input_names + [schema.label]
    frame = read_text_frame(path, columns=needed)
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputError(
            f"{path} lacks the columns {', '.join(missing)} that the schema '{schema.name}' needs "
            f"(a report needs the label column '{schema.label}' too)."
        )
    rows_read = len(frame)
    labels = frame[schema.label].str.strip()
    good = labels.isin(["0", "1"]).to_numpy()
    frame = frame[good].reset_index(drop=True)
    if frame.empty:
        raise InputError(f"{path} has no rows with a 0/1 label in '{schema.label}'.")
    y = labels[good].astype(int).to_numpy()
    columns = schema.columns()
    checked = check_columns(columns, {c.name: frame[c.name].to_numpy() for c in columns}, len(frame))
    bad: dict[str, list[int]] = {}
    for i, errs in checked.errors.items():
        for e in errs:
            bad.setdefault(e.field, []).append(i)
    values = pd.DataFrame({c.name: _values(c, frame[c.name], bad.get(c.name, [])) for c in columns})
    quality = [_quality(c, frame[c.name], bad.get(c.name, [])) for c in columns]
    return LabelledData(path, frame, values, y, rows_read, int((~good).sum()), quality, len(checked.errors))


def with_left_out(d: LabelledData, schema: Schema) -> tuple[Schema, pd.DataFrame]:
    """The fields to slice by and their values: the model's, and those it was trained without (``Schema.left_out``)
    where the file has them, invalid values as NaN (a missing group)."""
    if not schema.left_out_fields:
        return schema, d.values
    wider = schema.with_left_out().without(f.name for f in schema.left_out_fields if f.name not in d.raw.columns)
    extra = [c for c in wider.columns() if c.name not in d.values.columns]
    checked = check_columns(extra, {c.name: d.raw[c.name].to_numpy() for c in extra}, len(d.raw))
    bad: dict[str, list[int]] = {}
    for i, errs in checked.errors.items():
        for e in errs:
            bad.setdefault(e.field, []).append(i)
    return wider, d.values.assign(**{c.name: _values(c, d.raw[c.name], bad.get(c.name, [])) for c in extra})


def _is_missing(text: pd.Series) -> np.ndarray:
    return text.str.strip().str.lower().isin(MISSING_TOKENS).to_numpy()


def _values(col: Column, text: pd.Series, bad_rows: list[int]) -> pd.Series:
    stripped = text.str.strip()
    miss = _is_missing(text)
    if col.is_string:
        out = stripped.where(~miss, None).astype(object)
    else:
        out = pd.to_numeric(stripped.where(~miss, None), errors="coerce").astype(np.float64)
    if bad_rows:
        out.iloc[bad_rows] = None if col.is_string else np.nan
    return out


def _quality(col: Column, text: pd.Series, bad_rows: list[int]) -> FieldQuality:
    miss = _is_missing(text)
    q = FieldQuality(col.name, missing=int(miss.sum()))
    invalid = [i for i in bad_rows if not miss[i]]
    q.invalid = len(invalid)
    q.invalid_examples = sorted({str(text.iloc[i]).strip() for i in invalid[:200]})[:5]
    if col.kind == "code":
        present = text.str.strip()[~miss]
        if not col.is_string:  # "1", "1.0" and " 1" are the same code
            as_num = pd.to_numeric(present, errors="coerce")
            ok = as_num.notna() & (as_num == as_num.round())
            present = as_num[ok].astype("int64").astype(str)
        counts = present.value_counts()
        listed = {str(c) for c in col.codes}
        for code, n in sorted(counts.items(), key=lambda kv: str(kv[0])):
            code = str(code)
            if code not in listed:
                q.unknown_codes[code] = int(n)
            elif UNDOCUMENTED in col.labels.get(code, UNDOCUMENTED).lower():
                q.undocumented_codes[code] = int(n)
    return q
