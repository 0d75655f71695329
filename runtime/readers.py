"""Which reader a file gets (CSV, JSON Lines or an Excel workbook, by its name or first bytes), and the notes on
its rows a person might not expect read or not."""

from __future__ import annotations

import gzip
import sys
import zlib
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .csv_reader import CsvReader
from .errors import InputError
from .jsonl_reader import JsonLinesReader
from .tabular import BOM, CHUNK_ROWS, FORMATS, STDIO

if TYPE_CHECKING:
    from .xlsx import XlsxReader

ZIP_MAGIC, XLS_MAGIC = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"
"""A workbook's first bytes: .xlsx (a zip), or a legacy .xls, refused with a message by :mod:`.xlsx`."""


def sheet_notes(reader: Any, fate: str = "scored like the others") -> list[str]:
    """Notes on a file's rows a person might not expect read or not: the rows Excel hides (a filter: whoever
    filtered the sheet to the day's applicants would not expect the others read), and the rows with values above
    the header (a title, notes), which are not applicants and are not read."""
    notes = []
    if hidden := getattr(reader, "hidden_rows", 0):
        notes.append(f"Note: {hidden:,} row{'s' if hidden > 1 else ''} of {reader.name} (sheet '{reader.sheet}') "
                     f"{'are' if hidden > 1 else 'is'} hidden in Excel (a filter, or hidden rows): read and {fate}.")
    if above := getattr(reader, "above_header", 0):
        book = hasattr(reader, "sheet")
        where, row = (f"{reader.name} (sheet '{reader.sheet}')", "row") if book else (reader.name, "line")
        notes.append(f"Note: the header of {where} is {'Excel ' if book else ''}{row} {reader.header_row}; the "
                     f"{above:,} {row}{'s' if above > 1 else ''} with values above it (a title, notes) "
                     f"{'were not read as applicants' if above > 1 else 'was not read as an applicant'}.")
    return notes


def is_workbook(path: str | Path, head: bytes = b"") -> bool:
    """An Excel file, by its name or by its first bytes; checked here so that reading a CSV file does not pay
    for importing the workbook reader."""
    return str(path).lower().endswith((".xlsx", ".xlsm", ".xls")) or head.startswith((ZIP_MAGIC, XLS_MAGIC))


def sniff_format(path: str | Path, stdin: IO[bytes] | None = None) -> str:
    """``"jsonl"``, ``"csv"`` or ``"xlsx"``: from the file extension, else from the first bytes (``{``, or a
    workbook's)."""
    name = str(path).lower().removesuffix(".gz")
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".csv", ".txt", ".tsv")):
        return "csv"
    if is_workbook(name):
        return "xlsx"
    if str(path) == STDIO:
        stream = stdin if stdin is not None else sys.stdin.buffer
        head = stream.peek(64)[:64] if hasattr(stream, "peek") else b""
    else:
        try:
            with open(path, "rb") as fh:
                head = fh.read(64)
        except OSError:
            return "csv"  # the reader will report why it cannot be opened
        if str(path).lower().endswith(".gz"):
            try:
                head = _gz_head(path)
            except (OSError, EOFError, zlib.error):
                return "csv"
    if is_workbook("", head):
        return "xlsx"
    return "jsonl" if head.removeprefix(BOM).lstrip().startswith(b"{") else "csv"


def _gz_head(path: str | Path) -> bytes:
    with gzip.open(path, "rb") as fh:
        return fh.read(64)


def open_reader(
    path: str | Path,
    inputs: Sequence[str],
    *,
    fmt: str = "auto",
    id_column: str | None = None,
    keep: Sequence[str] = (),
    chunk_rows: int = CHUNK_ROWS,
    stdin: IO[bytes] | None = None,
    numbers: Collection[str] = (),
    sheet: str | None = None,
    encoding: str | None = None,
    one_by_one: bool = False,
) -> CsvReader | JsonLinesReader | XlsxReader:
    """Open ``path`` (``-`` for stdin) as CSV, JSON Lines or an Excel workbook (the sheet named ``sheet``, else
    the one holding ``inputs``); ``fmt="auto"`` decides by :func:`sniff_format`.

    ``numbers`` names the input columns that hold numbers, which a CSV reader may parse in bulk. ``encoding``:
    a CSV file's (default :data:`INPUT_ENCODING`); JSON Lines is UTF-8, as JSON is, and a workbook says its own.
    ``one_by_one``: records answered as they arrive (see :class:`CsvReader` and :class:`JsonLinesReader`).
    """
    if fmt == "auto":
        fmt = sniff_format(path, stdin)
    if fmt == "xlsx":
        from .xlsx import XlsxReader

        return XlsxReader(path, inputs, id_column=id_column, keep=keep, chunk_rows=chunk_rows, stdin=stdin,
                          sheet=sheet)
    if fmt not in FORMATS:
        raise InputError(f"Input format must be one of csv, jsonl, xlsx or auto; got '{fmt}'.")
    if sheet is not None:
        name = "stdin" if str(path) == STDIO else str(path)
        raise InputError(f"--sheet {sheet} names a sheet of an Excel workbook, but {name} is read as "
                         f"{'CSV' if fmt == 'csv' else 'JSON Lines'}.")
    if fmt == "csv":
        return CsvReader(path, inputs, id_column=id_column, keep=keep, chunk_rows=chunk_rows, stdin=stdin,
                         numbers=numbers, encoding=encoding, one_by_one=one_by_one)
    return JsonLinesReader(path, inputs, id_column=id_column, keep=keep, chunk_rows=chunk_rows, stdin=stdin,
                           one_by_one=one_by_one)
