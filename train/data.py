"""Reading labelled applicant data for training, checked against the same contract the runtime enforces."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from loanscore.runtime.errors import FieldError, InputError
from loanscore.runtime.schema import Schema
from loanscore.runtime.tabular import DATA_SHEET, INPUT_ENCODING, is_workbook, sheet_notes
from loanscore.runtime.validate import MISSING_TOKENS, check_columns

MAX_LISTED = 10
SHEET_ROWS = "sheet_rows"
"""A workbook's frame's ``attrs`` entry: each row's number in Excel, for errors to name it as Excel shows it."""


@dataclass(frozen=True)
class Dataset:
    """Raw applicant columns ``X`` (schema order), 0/1 labels ``y``, and where they came from."""

    X: pd.DataFrame
    y: np.ndarray | None
    fingerprint: dict


def read_text_frame(path: Path, what: str = "Data file", columns: Sequence[str] = ()) -> pd.DataFrame:
    """Every cell as text, exactly as written: validation, not pandas, decides what is missing or bad. A CSV is read
    as UTF-8, or in the encoding a command's ``--encoding`` names (:data:`~loanscore.runtime.tabular.INPUT_ENCODING`);
    a workbook as ``loanscore score`` reads one, so that training sees the values scoring will (see
    :func:`_workbook_frame`)."""
    encoding = INPUT_ENCODING.get()
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        head = b""  # read_csv says why
    if is_workbook(path, head):
        return _workbook_frame(path, what, columns)
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False,
                           encoding="utf-8-sig" if encoding == "utf-8" else encoding)
    except FileNotFoundError:
        raise InputError(f"{what} {path} does not exist.") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"Cannot read {what.lower()} {path}: it is not valid {encoding} ({exc.reason} at byte "
                         f"{exc.start}); save it as UTF-8, or name its encoding with --encoding.") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"Cannot read {what.lower()} {path}: {exc}") from None


def _workbook_frame(path: Path, what: str, columns: Sequence[str]) -> pd.DataFrame:
    """The sheet that holds ``columns`` (or the one ``--sheet`` names, :data:`DATA_SHEET`), every column, read by
    the runtime's workbook reader: a title above the header passed over, dates and numbers as Excel shows them. What
    a person might not expect read, or not, is noted on stderr, as scoring notes it."""
    from loanscore.runtime.xlsx import XlsxReader  # deferred: a CSV does not pay for it

    if not path.exists():
        raise InputError(f"{what} {path} does not exist.")
    reader = XlsxReader(path, columns, sheet=DATA_SHEET.get())
    table = list(reader.table())
    notes = sheet_notes(reader, "used like the others") + [
        f"Note: {reader.name} (sheet '{reader.sheet}'), Excel row {row}: a value in column {letters}, right of the "
        "header's last column, was not read." for row, letters in sorted(reader.right_of_header.items())[:MAX_LISTED]]
    for note in notes:
        print(note, file=sys.stderr)
    frame = pd.DataFrame([values for _, values in table], columns=_names(reader.header), dtype=str)
    frame.attrs[SHEET_ROWS] = [number for number, _ in table]
    return frame


def _names(header: Sequence[str]) -> list[str]:
    """A header's names as pandas gives a CSV's: an empty one ``Unnamed: K``, a repeated one ``NAME.1``, ..."""
    seen: dict[str, int] = {}
    names = []
    for k, name in enumerate(header):
        name = name or f"Unnamed: {k}"
        seen[name] = n = seen.get(name, -1) + 1
        names.append(f"{name}.{n}" if n else name)
    return names


def load_dataset(path: str | Path, schema: Schema, *, labelled: bool = True) -> Dataset:
    """Read a CSV (gzip allowed) or a workbook; refuse it, listing the rows, if any value breaks the contract.

    With ``labelled=False`` the label column may be absent (``y`` is then ``None``).

    Training data is never silently cleaned: a bad row is a question for the
    person who exported the data.
    """
    path = Path(path)
    frame = read_text_frame(path, "Training data", schema.input_names)
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


def fingerprint(path: Path, frame: pd.DataFrame, y: np.ndarray) -> dict:
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
    text = values.str.strip()
    return pd.to_numeric(text.where(~text.str.lower().isin(MISSING_TOKENS), None)).astype(np.float64)


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
