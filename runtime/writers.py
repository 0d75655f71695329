"""Scored rows out: CSV, JSON Lines (an Excel workbook by :mod:`.xlsx`), written to stdout or atomically to a file."""

from __future__ import annotations

import csv
import errno
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from .errors import InputError
from .run_files import RUN_FILES, note_written
from .tabular import (DECISION, ERROR, FORMATS, GRADE, POINTS, PROBABILITY, REASONS, SEPARATORS, SHADOW_COLUMNS,
                      STATEMENTS, STDIO, WARNING)

if TYPE_CHECKING:
    from .grades import MasterScale
    from .points import PointsScale
    from .xlsx import XlsxWriter

_FORMULA = re.compile(r"(?:^|\n)[=+\-@\t\r]")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


@dataclass
class ScoredChunk:
    """What a writer writes for one chunk: ``probability`` is NaN where a row was rejected.

    ``reasons`` (each row's reason codes, see :mod:`.reasons`) is ``None`` unless they were asked for.
    """

    passthrough: dict[str, Sequence[Any]]
    probability: np.ndarray
    decision: Sequence[str]
    error: Sequence[str]
    warning: Sequence[str]
    reasons: Sequence[Sequence[Any]] | None = None
    shadow: Shadow | None = None


@dataclass(frozen=True)
class Shadow:
    """A second model's results on the same rows, which decide nothing (shadow scoring): ``probability`` NaN and
    ``decision`` empty where it rejected a row, ``error`` why."""

    probability: np.ndarray
    decision: Sequence[str]
    error: Sequence[str]


def _result_columns(reasons: bool, statements: bool = False, grade: bool = False,
                    points: bool = False, shadow: bool = False) -> tuple[str, ...]:
    return (PROBABILITY, *((POINTS,) if points else ()), *((GRADE,) if grade else ()), DECISION,
            *((REASONS,) if reasons else ()), *((STATEMENTS,) if reasons and statements else ()), ERROR, WARNING,
            *(SHADOW_COLUMNS if shadow else ()))


class CsvWriter:
    """Write scored rows as CSV: passthrough columns, then :data:`RESULT_COLUMNS`, then any ``stamp``.

    Probabilities have 6 decimals; a rejected row has an empty probability and
    decision and a non-empty ``error``. ``delimiter`` separates the fields; with
    a semicolon, probabilities have a decimal comma, so that Excel where the
    comma is the decimal mark reads them as numbers. With ``points`` (a points
    scale), each row's score in points follows its probability; with ``grades``
    (a master scale), its grade follows; with ``shadow``, a shadow model's
    probability, decision and error close the row (before any stamp). Reason codes, when written, are one
    cell such as ``repayment_status +0.213; payment_amount +0.052``; with
    ``statements``, the next cell words them, in the same order. ``stamp``
    (column -> value) repeats the same values on every row, e.g. the model that scored it.
    """

    def __init__(self, stream: IO[str], passthrough: Sequence[str], *, reasons: bool = False,
                 statements: bool = False, stamp: dict[str, str] | None = None, grades: MasterScale | None = None,
                 delimiter: str = ",", points: PointsScale | None = None, shadow: bool = False):
        if delimiter not in SEPARATORS:
            raise ValueError(f"delimiter must be one of {sorted(SEPARATORS)}, not {delimiter!r}")
        self._decimal_comma = delimiter == ";"
        self._passthrough = tuple(passthrough)
        self._reasons = reasons
        self._statements = reasons and statements
        self._stamp = tuple((stamp or {}).values())
        self._grades = grades
        self._points = points
        self._shadow = shadow
        self._writer = self._rows_to(stream, delimiter)
        self._writer.writerow([*self._passthrough, *_result_columns(reasons, statements, grades is not None,
                                                                    points is not None, shadow), *(stamp or {})])

    def _rows_to(self, stream: IO[str], delimiter: str) -> Any:
        """Where rows go (``writerow``, ``writerows``): CSV lines on ``stream``."""
        return CsvRows(stream, delimiter)

    def _cells(self, values: Sequence[Any]) -> Sequence[Any]:
        """The input's values as CSV cells: see :func:`formula_safe`."""
        return formula_safe(values)

    def _probabilities(self, probability: np.ndarray) -> list[str]:
        p = ["" if x != x else "%.6f" % x for x in probability.tolist()]
        return [v.replace(".", ",") for v in p] if self._decimal_comma else p

    def write(self, chunk: ScoredChunk) -> None:
        p = self._probabilities(chunk.probability)
        cols = [self._cells(chunk.passthrough[c]) for c in self._passthrough]
        results: list[Sequence[Any]] = [p]
        if self._points is not None:
            results.append(self._points.text(chunk.probability))
        if self._grades is not None:
            results.append(self._grades.grade(chunk.probability))
        results.append(chunk.decision)
        if self._reasons:
            results.append(["; ".join(map(str, row)) for row in _reasons_of(chunk)])
        texts = [*cols, chunk.error, chunk.warning]  # what may quote the input's values
        if self._statements:
            results.append(["; ".join(r.statement for r in row) for row in _reasons_of(chunk)])
            texts.append(results[-1])
        results += [chunk.error, chunk.warning]
        if self._shadow:
            shadow = _shadow_of(chunk)
            results += [self._probabilities(shadow.probability), shadow.decision, shadow.error]
            texts.append(shadow.error)
        stamp = [[v] * len(p) for v in self._stamp]
        self._writer.writerows(zip(*cols, *results, *stamp), texts=texts)


def formula_safe(values: Sequence[Any]) -> Sequence[Any]:
    """The input's values (an id, a kept column) for a CSV file a person opens in Excel: a text that Excel would run
    as a formula (``=HYPERLINK(...)``, ``@SUM(...)``, ``-2+3``, a DDE call: CSV injection) gets a leading
    apostrophe, so that it shows as the text it is; numbers (``-5``, ``+3.5``) and everything else stay as they
    are. The check runs in C over the whole column first: the usual column needs nothing more."""
    try:
        if not _FORMULA.search("\n".join(values)):
            return values
    except TypeError:  # JSON Lines ids may be numbers or null
        if not any(isinstance(v, str) and _FORMULA.match(v) for v in values):
            return values
    return ["'" + v if isinstance(v, str) and _FORMULA.match(v) and not _PLAIN_NUMBER.fullmatch(v) else v
            for v in values]


class CsvRows:
    r"""``csv.writer`` with "\n" line ends, except that a row with a lone "\r" in a field is quoted in full: the csv
    module leaves such a field unquoted, and readers (Excel too) take the "\r" for a line end, splitting the row
    and moving its scores onto the next applicant's id. Wherever a value comes from the input (an id, a kept
    column, a message quoting a bad value), write with this."""

    def __init__(self, stream: IO[str], delimiter: str = ","):
        self._plain = csv.writer(stream, lineterminator="\n", delimiter=delimiter)
        self._quoted = csv.writer(stream, lineterminator="\n", delimiter=delimiter, quoting=csv.QUOTE_ALL)

    def writerow(self, row: Sequence[Any]) -> None:
        (self._quoted if any(isinstance(v, str) and "\r" in v for v in row) else self._plain).writerow(row)

    def writerows(self, rows: Iterable[Sequence[Any]], *, texts: Sequence[Sequence[Any]] | None = None) -> None:
        r"""``texts``: the columns of ``rows`` that may hold a "\r", checked at once (in C) so that rows without one,
        the usual case, are written in bulk; without it each row is checked."""
        if texts is not None and not _carriage_return(texts):
            self._plain.writerows(rows)
        else:
            for row in rows:
                self.writerow(row)


def _carriage_return(columns: Sequence[Sequence[Any]]) -> bool:
    for column in columns:
        try:
            if "\r" in "".join(column):
                return True
        except TypeError:  # JSON Lines ids may be numbers or null
            if any(isinstance(v, str) and "\r" in v for v in column):
                return True
    return False


class JsonLinesWriter:
    """Write scored rows as JSON Lines; where CSV has an empty cell, JSON has ``null``.

    Reason codes, when written, are a list of ``{"field": ..., "effect": ...}``
    (empty for a rejected row), with ``"statement"`` when the model words its reasons.
    """

    def __init__(self, stream: IO[str], passthrough: Sequence[str], *, reasons: bool = False,
                 stamp: dict[str, str] | None = None, grades: MasterScale | None = None,
                 points: PointsScale | None = None, shadow: bool = False):
        self._stream = stream
        self._reasons = reasons
        self._grades = grades
        self._points = points
        self._shadow = shadow
        self._names = (*passthrough, *_result_columns(reasons, grade=grades is not None, points=points is not None,
                                                      shadow=shadow), *(stamp or {}))
        self._passthrough = tuple(passthrough)
        self._stamp = tuple((stamp or {}).values())
        # one encoder for every row: json.dumps(..., ensure_ascii=False) builds one per call, 2.3 times slower
        self._encode = json.JSONEncoder(ensure_ascii=False).encode

    def write(self, chunk: ScoredChunk) -> None:
        p = [None if x != x else round(x, 6) for x in chunk.probability.tolist()]
        cols = [chunk.passthrough[c] for c in self._passthrough]
        results: list[Sequence[Any]] = [p]
        if self._points is not None:
            results.append(self._points.values(chunk.probability))
        if self._grades is not None:
            results.append([g or None for g in self._grades.grade(chunk.probability)])
        results.append([d or None for d in chunk.decision])
        if self._reasons:
            results.append([[r.to_dict() for r in row] for row in _reasons_of(chunk)])
        results += [[e or None for e in chunk.error], [w or None for w in chunk.warning]]
        if self._shadow:
            shadow = _shadow_of(chunk)
            results += [[None if x != x else round(x, 6) for x in shadow.probability.tolist()],
                        [d or None for d in shadow.decision], [e or None for e in shadow.error]]
        results += [[v] * len(p) for v in self._stamp]
        encode, names = self._encode, self._names
        self._stream.write("".join(encode(dict(zip(names, row))) + "\n" for row in zip(*cols, *results)))


def _shadow_of(chunk: ScoredChunk) -> Shadow:
    if chunk.shadow is None:
        raise ValueError("this writer writes a shadow model's results, but the chunk was scored without one")
    return chunk.shadow


def _reasons_of(chunk: ScoredChunk) -> Sequence[Sequence[Any]]:
    if chunk.reasons is None:
        raise ValueError("this writer writes reason codes, but the chunk was scored without them")
    return chunk.reasons


def make_writer(fmt: str, stream: IO[str], passthrough: Sequence[str], *, reasons: bool = False,
                statements: bool = False, stamp: dict[str, str] | None = None,
                grades: MasterScale | None = None, delimiter: str = ",",
                points: PointsScale | None = None, shadow: bool = False) -> CsvWriter | JsonLinesWriter | XlsxWriter:
    """A writer of scored rows as CSV, JSON Lines or an Excel workbook (``fmt``; a workbook is written by its
    ``finish()``). ``statements``: the reasons are worded (a CSV column; in JSON Lines each reason says so
    itself); ``stamp``: columns with one value for every row, last; ``grades``: a grade column from this master
    scale; ``points``: a points column on this scale; ``shadow``: a shadow model's columns
    (:data:`SHADOW_COLUMNS`); ``delimiter``: the CSV separator (see :class:`CsvWriter`)."""
    if fmt == "xlsx":
        from .xlsx import XlsxWriter

        return XlsxWriter(stream, passthrough, reasons=reasons, statements=statements, stamp=stamp, grades=grades,
                          points=points, shadow=shadow)
    if fmt not in FORMATS:
        raise InputError(f"Output format must be csv, jsonl or xlsx; got '{fmt}'.")
    if fmt == "csv":
        return CsvWriter(stream, passthrough, reasons=reasons, statements=statements, stamp=stamp, grades=grades,
                         delimiter=delimiter, points=points, shadow=shadow)
    return JsonLinesWriter(stream, passthrough, reasons=reasons, stamp=stamp, grades=grades, points=points,
                           shadow=shadow)


@contextmanager
def open_output(path: str | Path, *, stdout: IO[str] | None = None) -> Iterator[IO[str]]:
    """A text stream for the output: stdout for ``-``, else an atomic file.

    A file is written as a hidden temporary file in the destination directory,
    flushed and fsynced, then renamed over ``path`` with :func:`os.replace` only
    when the block ends normally. On any exception, Ctrl-C included, the
    temporary file is removed: either the complete output exists or no file
    was created (or the old one is untouched). stdout is streamed as written.
    """
    if str(path) == STDIO:
        stream = stdout if stdout is not None else sys.stdout
        try:
            yield stream
            stream.flush()
        except OSError as exc:
            refuse_failed_write(exc, "the output to stdout", "what went out before it is incomplete")
            raise
        return
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError(f"Cannot write {path}: it is a directory.")
    if path.exists() and not path.is_file():  # a device or a named pipe: written to as it goes, never replaced
        try:
            with open(path, "w", encoding="utf-8", newline="") as stream:
                yield stream
        except OSError as exc:
            refuse_failed_write(exc, str(path), "what went out before it is incomplete")
            raise
        return
    if not directory.is_dir():
        raise InputError(f"Cannot write {path}: the directory {directory} does not exist.")
    refuse_an_input(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InputError(f"Cannot write in {directory}: {exc.strerror or exc}.") from None
    try:
        _set_mode(fd, path)
        with open(fd, "w", encoding="utf-8", newline="") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise InputError(f"Cannot write {path}: {exc.strerror or exc}.") from None
        note_written(path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            refuse_failed_write(exc, str(path), "no file was left half-written")
        raise


def refuse_an_input(path: Path) -> None:
    """Refuse to replace a file this command reads, `score loans.csv -o loans.csv` (the applicants, gone), or one
    it has written, `fairness -o f.svg --plot f.svg` (the figures, gone). :func:`open_output` checks its own
    file; a command writing several checks them all first."""
    files = RUN_FILES.get()
    if files is None or not path.is_file():
        return
    for other, what in [*((r, "reads or records to") for r in dict.fromkeys(files.read)),
                        *((w, "has just written as another of its outputs") for w in files.written)]:
        try:
            same = os.path.samefile(path, other)
        except OSError:  # gone meanwhile: not this file
            continue
        if same:
            raise InputError(f"Cannot write {path}: it is a file this command {what} ({other}), and writing it "
                             "would replace what was there. Name another output file.")


_WRITE_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS})
"""A write that failed for want of room or a working disk: the person's to fix, so a message, not a traceback."""


def refuse_failed_write(exc: OSError, what: str, fate: str) -> None:
    """Raise an ``InputError`` for a write ``exc`` that failed for want of room or a working disk; return for
    any other ``OSError`` (the caller re-raises it)."""
    if exc.errno in _WRITE_FAILURES:
        raise InputError(f"Cannot write {what}: {exc.strerror or exc}; {fate}. Free some space, or write "
                         "elsewhere, and run again.") from None


def _set_mode(fd: int, path: Path) -> None:
    """Give the new file the mode of the file it replaces, or the usual mode for new files."""
    try:
        mode = path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        os.fchmod(fd, mode)
    except (OSError, AttributeError):
        pass
