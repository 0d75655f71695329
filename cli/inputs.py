"""Reading the applicants a command is given, and telling the person which rows it could not use."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import click


SHOWN_REJECTS = 5


def echo_sheet_notes(reader: Any, fate: str = "scored like the others") -> None:
    """On stderr, :func:`~loanscore.runtime.readers.sheet_notes`: the rows a person might not expect read or not."""
    from loanscore.runtime.readers import sheet_notes

    for note in sheet_notes(reader, fate):
        click.echo(note, err=True)


def echo_rejects(rejected: list[tuple[int | None, str]], source: str, fate: str, output: str | None) -> None:
    """On stderr: how many rows of ``source`` met ``fate``, the first ones' reasons, and where the rest are."""
    click.echo(f"{len(rejected):,} rows of {source} {fate}:", err=True)
    for _, message in rejected[:SHOWN_REJECTS]:
        click.echo(f"  {message}", err=True)
    if len(rejected) > SHOWN_REJECTS:
        where = f"all are listed in {output}" if output else "-o FILE lists them all"
        click.echo(f"  ... and {len(rejected) - SHOWN_REJECTS:,} more ({where})", err=True)


def open_labelled(input_path: str, inputs: list[str], outcome: str | None, by: tuple[str, ...], *, fmt: str,
                  numbers: Any, who: str, sheet: str | None = None,
                  also: Sequence[tuple[str, str]] = ()) -> tuple[Any, tuple[str, ...]]:
    """A reader of ``inputs``, the outcome (if any), ``also`` (columns, each with what names it in an error) and the
    ``--by`` columns, and those columns deduplicated; errors name the option that asked for a missing column.
    ``who`` is the command's subject ("A back-test")."""
    from loanscore.runtime.errors import InputError
    from loanscore.runtime.readers import open_reader

    if outcome in inputs:
        raise InputError(f"--outcome {outcome} is one of the model's input fields, not an outcome.")
    if outcome in by:
        raise InputError(f"--by {outcome} is the outcome; segment by another column.")
    by = tuple(dict.fromkeys(by))
    extra = [b for b in by if b not in inputs]
    more = list(dict.fromkeys(c for c, _ in also if c not in extra))
    try:
        return open_reader(input_path, [*inputs, *([outcome] if outcome else []), *more, *extra], fmt=fmt,
                           numbers=numbers, sheet=sheet), by
    except InputError as exc:
        if outcome and outcome in str(exc):
            raise InputError(f"{exc} {who} reads each applicant's outcome (1 defaulted, 0 repaid) from "
                             f"{outcome}; name another column with --outcome.") from None
        named = [f"{c}: {why}" for c, why in also if c in str(exc)]
        if named:
            raise InputError(f"{exc} ({'; '.join(named)}.)") from None
        absent = [b for b in extra if b in str(exc)]
        if absent:
            raise InputError(f"{exc} ({', '.join(absent)}: named by --by.)") from None
        raise


@contextlib.contextmanager
def stdin_as_file(input_path: str) -> Iterator[tuple[str, Any]]:
    """``input_path``, or for ``-`` stdin copied into a file named ``stdin`` in a temporary folder (removed after),
    for a command that reads its input more than once; with how the audit log names the input."""
    if input_path != "-":
        yield input_path, input_path
        return
    import hashlib
    import shutil
    import tempfile

    from loanscore.runtime.tabular import SPOOLED_STDIN

    folder = tempfile.mkdtemp(prefix="loanscore-")
    path = os.path.join(folder, "stdin")
    token = SPOOLED_STDIN.set(path)  # its readers are named "stdin"
    try:
        digest, size = hashlib.sha256(), 0
        with open(path, "wb") as fh:
            while block := sys.stdin.buffer.read(1 << 20):
                fh.write(block)
                digest.update(block)
                size += len(block)
        yield path, {"path": "stdin", "bytes": size, "sha256": digest.hexdigest()}
    finally:
        SPOOLED_STDIN.reset(token)
        shutil.rmtree(folder, ignore_errors=True)


def header_has(input_path: str, fmt: str, sheet: str | None, column: str, inputs: list[str]) -> bool:
    """Whether a CSV file's or workbook's header names ``column``, or JSON Lines' first records hold it (stdin is
    not looked into: it can be read once only)."""
    from loanscore.runtime.errors import InputError
    from loanscore.runtime.readers import open_reader, sniff_format

    if input_path == "-":
        return False
    try:
        jsonl = (sniff_format(input_path) if fmt == "auto" else fmt) == "jsonl"
        reader = open_reader(input_path, [*inputs, column] if jsonl else inputs, fmt=fmt, sheet=sheet)
    except InputError:
        return False  # opened again below, where the error is reported in full
    try:
        if not jsonl:
            return column in (getattr(reader, "header", None) or ())
        first = next(iter(reader), None)
        return first is not None and any(v is not None and str(v).strip() for v in first.columns[column])
    except InputError:
        return False
    finally:
        reader.close()
