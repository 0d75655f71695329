"""Reading labelled applicant data for training, checked against the same contract the runtime enforces."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from loanscore.runtime.errors import FieldError, InputError
from loanscore.runtime.schema import Schema
from loanscore.runtime.stream import Progress
from loanscore.runtime.jsonl_reader import JsonLinesReader
from loanscore.runtime.readers import open_reader, sheet_notes, sniff_format
from loanscore.runtime.tabular import DATA_SHEET
from loanscore.runtime.validate import MISSING_TOKENS, check_columns, parse_numbers

MAX_LISTED = 10
SHEET_ROWS = "sheet_rows"
"""A workbook's frame's ``attrs`` entry: each row's number in Excel, for errors to name it as Excel shows it."""


@dataclass(frozen=True)
class Dataset:
    """Raw applicant columns ``X`` (schema order), 0/1 labels ``y``, and where they came from."""

    X: pd.DataFrame
    y: np.ndarray | None
    fingerprint: dict

    @property
    def labels(self) -> np.ndarray:
        """``y``, for the work that cannot do without it (training, validation)."""
        if self.y is None:
            raise InputError("This data was read without its outcome column; training needs each row's 0 or 1.")
        return self.y


def read_text_frame(path: Path, what: str = "Data file", columns: Sequence[str] = (),
                    numbers: Collection[str] | None = None, *, _later: Sequence[str] = ()) -> pd.DataFrame:
    """Every cell as text, read by the runtime's own readers as ``loanscore score`` reads an applicant file: a CSV
    in any of Excel's dialects (comma, semicolon with decimal commas in ``numbers``, tab; gzip allowed; UTF-8 or
    ``--encoding``'s), a workbook's sheet (the one holding ``columns``, or ``--sheet``'s), a title above the
    header passed over, or JSON Lines (every key of its records; null is an empty cell). So training sees
    the values scoring will, and validation, not pandas, decides what is missing or bad. ``numbers`` (default:
    every column) are the columns a decimal comma may be read in.

    What a person might not expect read, or not, is noted on stderr, as scoring notes it; a row that cannot be read
    (a field too many) is refused, named, rather than trained on askew."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} {path} does not exist.")
    fmt = sniff_format(path)
    sheet = DATA_SHEET.get() if fmt == "xlsx" else None

    def header(wanted: Sequence[str]) -> list[str]:
        with open_reader(path, wanted, fmt=fmt, sheet=sheet) as reader:
            return reader.header

    try:  # the header holding ``columns``: its line, separator and sheet
        found = header(columns)
    except InputError as exc:
        try:
            found = header(())  # a column missing: the caller says which, in its own words
        except InputError:
            raise exc from None
    names = [h for h in dict.fromkeys(found) if h and (h in columns or found.count(h) == 1)]
    names += [k for k in _later if k not in names]
    reader = (JsonLinesReader(path, names, later=_later) if _later else
              open_reader(path, names, numbers=names if numbers is None else numbers, fmt=fmt, sheet=sheet))
    parts: list[pd.DataFrame] = []
    sheet_rows: list[int] = []
    problems: list[str] = []
    notes: list[str] = []
    progress = Progress.for_terminal(reader.total_bytes)  # a workbook of a million rows takes a minute
    for chunk in reader:
        first = chunk.first_row or 1
        if progress:
            progress.update(first + chunk.n - 1, reader.bytes_read)
        parts.append(pd.DataFrame({c: ["" if x is None else x for x in v] for c, v in chunk.columns.items()},
                                  dtype=str))  # JSON's null: missing, as an empty cell is
        sheet_rows += chunk.sheet_rows or []
        problems += [chunk.row_errors[i] for i in sorted(chunk.row_errors)]
        notes += [f"{reader.name}, row {first + i}"
                  + (f" (Excel row {chunk.sheet_rows[i]})" if chunk.sheet_rows else "") + f": {chunk.row_warnings[i]}"
                  for i in sorted(chunk.row_warnings)]
    if progress:
        progress.close()
    if isinstance(reader, JsonLinesReader) and (later := [k for k in reader.keys if k not in names]):
        return read_text_frame(path, what, columns, numbers, _later=later)  # keys only later records hold: again
    if problems:
        one = len(problems) == 1
        raise InputError(f"{reader.name}: {len(problems):,} {'row' if one else 'rows'} cannot be read; fix "
                         f"{'it' if one else 'them'} and try again. First problems:\n  "
                         + "\n  ".join(problems[:MAX_LISTED]))
    for note in sheet_notes(reader, "used like the others") + [f"Note: {n}." for n in notes[:MAX_LISTED]]:
        print(note, file=sys.stderr)
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=names, dtype=str)
    if sheet_rows:
        frame.attrs[SHEET_ROWS] = sheet_rows
    return frame


def load_dataset(path: str | Path, schema: Schema, *, labelled: bool = True) -> Dataset:
    """Read a data file (see :func:`read_text_frame`); refuse it, listing the rows, if any value breaks the contract.

    With ``labelled=False`` the label column may be absent (``y`` is then ``None``).

    Training data is never silently cleaned: a bad row is a question for the
    person who exported the data.
    """
    path = Path(path)
    frame = read_text_frame(path, "Training data", schema.input_names, schema.number_names)
    labelled = labelled or schema.label in frame.columns
    needed = schema.input_names + ([schema.label] if labelled else [])
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputError(f"{path} lacks the columns {', '.join(missing)} that the schema '{schema.name}' needs. "
                         "For a file with columns of its own, `loanscore schema draft FILE` drafts a schema from it.")
    if frame.empty:
        raise InputError(f"{path} has a header but no rows.")
    labels = frame[schema.label].str.strip() if labelled else pd.Series(["0"] * len(frame))
    bad_labels = np.flatnonzero(~labels.isin(["0", "1"]).to_numpy())
    sheet_rows = frame.attrs.get(SHEET_ROWS)

    def sheet_row(i: int) -> int | None:
        return sheet_rows[i] if sheet_rows else None

    problems = [str(FieldError(schema.label, labels.iloc[i], "must be 0 or 1", i + 1, sheet_row(i)))
                for i in bad_labels[:MAX_LISTED]]
    columns = schema.columns()
    checked = check_columns(columns, {c.name: frame[c.name].to_numpy() for c in columns}, len(frame))
    for i in sorted(checked.errors)[: MAX_LISTED - len(problems)]:
        problems += [str(replace(e, sheet_row=sheet_row(i))) for e in checked.errors[i]]
    if problems:
        n_bad = len(set(bad_labels) | set(checked.errors))
        raise InputError(
            f"{path}: {n_bad} {'row breaks' if n_bad == 1 else 'rows break'} the input contract; fix or remove "
            f"{'it' if n_bad == 1 else 'them'} and train again. "
            "First problems:\n  " + "\n  ".join(problems)
        )
    X = pd.DataFrame({c.name: _string(frame[c.name]) if c.is_string else _number(frame[c.name]) for c in columns})
    y = labels.astype(int).to_numpy() if labelled else None
    return Dataset(X=X, y=y, fingerprint=fingerprint(path, frame, y))


def fingerprint(path: Path, frame: pd.DataFrame, y: np.ndarray | None) -> dict:
    """Enough to recognise the training data later without storing any of it."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return {
        "file": path.name,
        "sha256": digest.hexdigest(),
        "rows": int(len(frame)),
        "default_rate": None if y is None else round(float(y.mean()), 6),
        "columns": list(frame.columns),
    }


def _number(values: pd.Series) -> pd.Series:
    """Read by the validator's own parser: pandas reads some spellings it accepts otherwise, or not at all."""
    return pd.Series(parse_numbers(values.to_numpy())[0], index=values.index, dtype=np.float64)


def _string(values: pd.Series) -> pd.Series:
    text = values.str.strip()
    return text.where(~text.str.lower().isin(MISSING_TOKENS), "").astype(object)


def records_frame(records: list[dict], schema: Schema) -> pd.DataFrame:
    """Raw records (JSON-like values, ``None`` for missing) as the frame the preprocessor takes."""
    out = {}
    for c in schema.columns():
        values = [r.get(c.name) for r in records]
        if c.is_string:
            out[c.name] = pd.Series(["" if v is None else str(v) for v in values], dtype=object)
        else:
            out[c.name] = pd.Series([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    return pd.DataFrame(out)
