"""Applicant files in and scores out, a chunk at a time: CSV, JSON Lines, one JSON record (and Excel
workbooks, read by :mod:`.xlsx` under the same rules).

Readers turn a file into :class:`Chunk` objects (column name -> list of raw
values, plus the rows whose *structure* is broken). Writers turn scored chunks
into CSV or JSON Lines. Nothing here knows about the model; ``stream.py``
joins the two. numpy and the standard library only.

Rules every reader follows:

* One output row per input row, in input order. A broken row (wrong number of
  fields, a JSON line that is no object) is kept, with an error naming its
  1-based data row; the header is not counted.
* Blank lines are not rows: they are skipped and not counted.
* Every column the model reads must be in the input, or nothing is written:
  a CSV header is checked before the first row is read; a JSON Lines file is
  checked on its first chunk (a key absent from one later record only means
  that record's value is missing). Extra columns are ignored unless kept.
* An empty input is an :class:`InputError`. A CSV file with a header but no
  rows is valid and gives an output with a header and no rows: a daily export
  with no new applicants is not a failure.
* A CSV file's separator is read from its header: a comma, or a semicolon
  or tab where the header has more of those (as Excel writes CSV where the
  comma is the decimal mark). In a semicolon file a number may have a
  decimal comma (``12,5``).
* Input must be UTF-8 (a byte-order mark is allowed). Bytes that are not
  UTF-8 stop the run with an :class:`InputError` naming the line; a file
  output is then not created (see :func:`open_output`).
"""

from __future__ import annotations

import codecs
import csv
import errno
import gzip
import io
import itertools
import json
import math
import os
import re
import sys
import tempfile
import zlib
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

import numpy as np

from .errors import InputError
from .run_files import RUN_FILES, note_read, note_written
from .validate import MAX_CHARS, ParsedText

if TYPE_CHECKING:
    from .grades import MasterScale
    from .points import PointsScale
    from .xlsx import XlsxReader, XlsxWriter

STDIO = "-"
"""The path that means stdin (for input) or stdout (for output)."""

CHUNK_ROWS = 8192
"""Rows per chunk: large enough that onnxruntime and numpy amortize their call
overhead, small enough that a chunk of a wide file stays a few megabytes."""

BLOCK_BYTES = 1 << 20
"""Raw bytes decoded at a time; errors are located inside the block."""
MAX_LINE_BYTES = 16 << 20
"""A line longer than this is refused: an applicant's is a few hundred bytes."""

PROBABILITY, DECISION, REASONS, ERROR, WARNING = "probability_of_default", "decision", "reasons", "error", "warning"
STATEMENTS, GRADE, POINTS = "reason_statements", "grade", "points"
SHADOW_COLUMNS = ("shadow_probability", "shadow_decision", "shadow_error")
"""A shadow model's results, after the error and warning of the model in force (``score --shadow``)."""
RESULT_COLUMNS = (PROBABILITY, DECISION, ERROR, WARNING)
"""What every output row holds after its passthrough columns; with reason codes, REASONS follows DECISION."""
FORMATS = ("csv", "jsonl")

_BOM = codecs.BOM_UTF8
_QUOTED = re.compile(r'"[^"]*"')
_FORMULA = re.compile(r"(?:^|\n)[=+\-@\t\r]")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_DECIMAL_COMMA = re.compile(r"\s*[+-]?\d*,\d+\s*")
_COMMA_NOT_BEFORE_DIGITS_AND_FIELD_END = re.compile(r",(?:(?!\d)|\d++[ \t]*+(?![;\r\n]|\Z))")
_COMMA_NOT_AFTER_FIELD_START_REVERSED = re.compile(r",\d*+[+-]?+[ \t]*+(?![;\r\n]|\Z)")
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}


@dataclass
class Chunk:
    """Up to :data:`CHUNK_ROWS` consecutive input rows.

    ``columns`` maps each model input column to ``n`` raw values (strings for
    CSV); ``passthrough`` maps the id and kept columns to the values to copy to
    the output. ``row_errors`` maps 0-based positions within the chunk to why
    that row cannot be read; such rows are rejected whatever their fields say.
    ``first_row`` is the 1-based data row of position 0, or ``None`` for a
    single record (whose messages should not talk about rows). ``sheet_rows``:
    for a workbook, each position's row number as Excel shows it.
    """

    n: int
    first_row: int | None
    columns: dict[str, Sequence[Any]]
    passthrough: dict[str, Sequence[Any]]
    row_errors: dict[int, str] = field(default_factory=dict)
    sheet_rows: Sequence[int] | None = None
    row_warnings: dict[int, str] = field(default_factory=dict)
    """What a position's row holds that is not read, though the row is (a workbook's value right of the header)."""


class Reader(Protocol):
    """What :func:`loanscore.runtime.stream.score_stream` needs from an input."""

    name: str
    passthrough: tuple[str, ...]

    @property
    def total_bytes(self) -> int | None:
        """The input's size, for progress; ``None`` where it is not known (a pipe)."""

    @property
    def bytes_read(self) -> int:
        """How much of it has been read so far."""

    @property
    def stdin_sha256(self) -> str | None:
        """The SHA-256 of what was read from stdin (for the audit record); ``None`` for a file."""

    def __iter__(self) -> Iterator[Chunk]: ...

    def close(self) -> None: ...


# -- raw input -------------------------------------------------------------------


INPUT_ENCODING: ContextVar[str] = ContextVar("loanscore_input_encoding", default="utf-8")
"""The encoding a CSV file is read in where :func:`open_reader` is given none: UTF-8, unless a command's
``--encoding`` (or ``$LOANSCORE_ENCODING``) names another for its run."""
DATA_SHEET: ContextVar[str | None] = ContextVar("loanscore_data_sheet", default=None)
"""The sheet a workbook of training or recalibration data is read from, where such a command's ``--sheet`` names one."""


SPOOLED_STDIN: ContextVar[str | None] = ContextVar("loanscore_spooled_stdin", default=None)
"""The file stdin was copied into for a command that reads its input more than once: readers of it are named
"stdin", as the person gave it, not by the temporary file's path."""


def input_name(path: str | Path) -> str:
    """How messages and reports name the input at ``path``."""
    return "stdin" if str(path) == STDIO or str(path) == SPOOLED_STDIN.get() else str(path)


def check_encoding(name: str) -> str:
    """The codec's own name for ``name``, if a CSV file can be read in it line by line: every character a
    header, a number or a separator uses must be the byte it is in ASCII (cp1252, latin-1, cp950/Big5, GBK,
    Shift-JIS do; UTF-16 and UTF-32 do not)."""
    try:
        codec = codecs.lookup(name)
    except LookupError:
        raise InputError(f"Unknown encoding {name!r}: name one Python knows, such as utf-8, cp1252 (Western "
                         "Windows), latin-1, cp950 (Big5) or gbk.") from None
    sample = "ID,AGE;12.5\t-3\r\n\"x\""
    try:
        same = codec.encode(sample)[0] == sample.encode("ascii")
    except UnicodeError:
        same = False
    if not same:
        raise InputError(f"A CSV file in {codec.name} cannot be read as text line by line; save it as UTF-8 "
                         "(CSV UTF-8 in a spreadsheet).")
    return codec.name


class _Source:
    """A binary input (file, ``.gz`` file or stdin) read in blocks of whole lines, decoded as UTF-8 (or as
    ``encoding``: one :func:`check_encoding` accepts).

    ``lines()`` yields text lines with their line endings, as :mod:`csv` wants
    them; a byte sequence that is not valid in the encoding raises
    :class:`InputError` naming the physical line.
    """

    def __init__(self, path: str | Path, stdin: IO[bytes] | None = None, encoding: str = "utf-8"):
        self.encoding = check_encoding(encoding)
        self.bom = False
        """Whether the input began with UTF-8's byte-order mark, as Excel's CSV UTF-8 does."""
        self.name = input_name(path)
        self.total_bytes: int | None = None
        self.bytes_read = 0
        self._lines_before = 0
        self._digest: Any = None
        if str(path) == STDIO:
            self._raw: IO[bytes] = stdin if stdin is not None else sys.stdin.buffer
            self._owned = False
            import hashlib

            self._digest = hashlib.sha256()  # stdin cannot be read again: hash it on the way, for an audit record
        else:
            try:
                self._raw = open(path, "rb")
            except IsADirectoryError:
                raise InputError(f"{self.name} is a directory, not an applicant file.") from None
            except OSError as exc:
                raise InputError(f"Cannot read {self.name}: {exc.strerror or exc}.") from None
            self._owned = True
            note_read(path)
            try:
                st = os.fstat(self._raw.fileno())
                import stat

                if stat.S_ISREG(st.st_mode):
                    self.total_bytes = st.st_size
            except (OSError, ValueError):
                pass
        self._data: IO[bytes] = self._raw
        self._gz = str(path).lower().endswith(".gz")
        if self._gz:
            self._data = gzip.GzipFile(fileobj=self._raw, mode="rb")  # type: ignore[assignment]

    def close(self) -> None:
        if self._gz:
            self._data.close()
        if self._owned:
            self._raw.close()

    @property
    def sha256(self) -> str | None:
        """SHA-256 of the bytes read so far from stdin (of all of them once read to the end); ``None`` for a file."""
        return self._digest.hexdigest() if self._digest is not None else None

    def _read(self, n: int) -> bytes:
        try:
            # stdin: what has arrived, up to n bytes, so that a line written by a program that waits for its answer
            # (`score --line-buffered`) is read without waiting for more; a file: n bytes.
            data = self._data.read1(n) if not self._owned and hasattr(self._data, "read1") else self._data.read(n)
        except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
            raise InputError(f"Cannot read {self.name}: {exc}.") from None
        except zlib.error as exc:
            raise InputError(f"Cannot read {self.name}: its compressed data is damaged ({exc}); compress the file "
                             "again, or give it uncompressed.") from None
        if self._digest is not None:
            self._digest.update(data)
        if self._gz:
            try:
                self.bytes_read = self._raw.tell()
            except (OSError, ValueError):
                self.bytes_read += len(data)
        else:
            self.bytes_read += len(data)
        return data

    def blocks(self, universal: bool = True) -> Iterator[str]:
        """Decoded text in blocks that end at a line end (or at the end of the input): "\n", or, ``universal``, a
        lone "\r" where a block holds no "\n" (a file with old Mac line ends)."""
        pending = b""
        first = True
        while True:
            data = self._read(BLOCK_BYTES)
            if first and data:
                first = False
                if data.startswith(_BOM) and self.encoding == "utf-8":
                    data = data[len(_BOM) :]
                    self.bom = True
            if not data:
                if pending:
                    yield self._decode(pending)
                return
            pending += data
            cut = pending.rfind(b"\n") + 1
            if cut == 0:  # a file with bare CR line ends, or one very long line
                cut = pending.rfind(b"\r", 0, len(pending) - 1) + 1 if universal else 0
                if cut == 0:
                    if len(pending) > MAX_LINE_BYTES:  # held in memory whole: a compressed file could hold gigabytes
                        raise InputError(f"{self.name}: line {self._lines_before + 1} runs on for more than "
                                         f"{MAX_LINE_BYTES >> 20} MiB without a line end; it holds no applicant "
                                         "records (is it a file of another kind?).")
                    continue
            block, pending = pending[:cut], pending[cut:]
            yield self._decode(block)

    def _decode(self, block: bytes) -> str:
        try:
            text = block.decode(self.encoding)
        except UnicodeDecodeError as exc:
            line = self._lines_before + block.count(b"\n", 0, exc.start) + 1
            bad = block[exc.start : exc.start + 1].hex()
            if self.encoding == "utf-8":
                raise InputError(
                    f"{self.name}: line {line} is not valid UTF-8 (byte 0x{bad}). Save the file as UTF-8 (or CSV "
                    "UTF-8 in a spreadsheet), or name the encoding it was saved in with --encoding (Excel's plain "
                    "CSV: cp1252 in Western Europe and the Americas, cp950 in Taiwan, gbk in mainland China)."
                ) from None
            raise InputError(f"{self.name}: line {line} is not valid {self.encoding} (byte 0x{bad}); check the "
                             "file's encoding (--encoding).") from None
        self._lines_before += block.count(b"\n")
        return text

    def lines(self, universal: bool = True) -> Iterator[str]:
        """The input's lines, ending at "\n", "\r\n" or, ``universal``, a lone "\r" too (a CSV file from an old
        Mac). Not for JSON Lines, whose lines end at "\n" only (a "\r" inside a record is JSON's whitespace), nor
        for rows answered one by one, where a program's one line must get one answer."""
        # chain.from_iterable keeps the per-line iteration in C: a generator here costs ~5 % of a run.
        return itertools.chain.from_iterable(io.StringIO(block, newline="" if universal else "\n")
                                             for block in self.blocks(universal))


def _filled(cells: Sequence[str]) -> int:
    return sum(1 for c in cells if c)


def _missing_message(
    name: str, missing: Sequence[str], present: Sequence[str], what: str, used: Sequence[str] = ()
) -> str:
    """Name the missing columns, with a guess from the columns nothing else claims ('age' for AGE)."""
    import difflib

    hints = []
    spare = [p for p in present if p not in set(used)]
    lowered = {p.lower(): p for p in spare}
    for m in missing:
        close = lowered.get(m.lower()) or next(iter(difflib.get_close_matches(m, spare, n=1, cutoff=0.8)), None)
        if close:
            hints.append(f"{m} (is '{close}' meant?)")
        else:
            hints.append(m)
    return f"{name} lacks the {what} {', '.join(hints)}. Column names must match the model's schema exactly."


def _check_passthrough(keep: Sequence[str]) -> None:
    clash = [k for k in keep if k in (*RESULT_COLUMNS, REASONS, STATEMENTS, GRADE, POINTS, *SHADOW_COLUMNS)]
    if clash:
        raise InputError(f"Cannot keep the column {clash[0]}: the output writes its own {clash[0]} column.")


def header_passthrough(name: str, header: Sequence[str], inputs: Sequence[str], id_column: str | None,
                       keep: Sequence[str]) -> tuple[str, ...]:
    """The columns to copy to the output (the id, if present, then ``keep``), once ``header`` is checked: every
    input and kept column present, none of them named twice."""
    _check_passthrough(keep)
    present = set(header)
    missing = [c for c in inputs if c not in present]
    if missing:
        raise InputError(_missing_message(name, missing, header, "required columns", inputs))
    absent = [k for k in keep if k not in present]
    if absent:
        raise InputError(_missing_message(name, absent, header, "columns to keep"))
    passthrough = list(dict.fromkeys(([id_column] if id_column and id_column in present else [])
                                     + [k for k in keep if k != id_column]))
    used = set(inputs) | set(passthrough)
    dupes = sorted({h for h in header if h in used and list(header).count(h) > 1})
    if dupes:
        raise InputError(f"{name}: the header names the column {dupes[0]} more than once.")
    return tuple(passthrough)


# -- CSV -------------------------------------------------------------------------


class CsvReader:
    """Read a CSV file with a header, in chunks. See the module docstring for the rules."""

    def __init__(
        self,
        path: str | Path,
        inputs: Sequence[str],
        *,
        id_column: str | None = None,
        keep: Sequence[str] = (),
        chunk_rows: int = CHUNK_ROWS,
        stdin: IO[bytes] | None = None,
        numbers: Collection[str] = (),
        encoding: str | None = None,
        one_by_one: bool = False,
    ):
        """``one_by_one``: rows answered as they arrive (``score --line-buffered``), where a program writes the next
        line only once this one is answered: a row is its line, ending at "\n" (a quote it leaves open, a lone
        "\r" and a blank line are its error, not a field running on into lines not written yet or two answers),
        and a header that is not the first line is not looked for below."""
        _check_passthrough(keep)
        self._source = _Source(path, stdin, encoding or INPUT_ENCODING.get())
        self.name = self._source.name
        self.chunk_rows = chunk_rows
        self._one_by_one = one_by_one
        try:
            self._lines = self._source.lines(universal=not one_by_one)
            self.delimiter = self._separator()
            reader = csv.reader(self._lines, strict=False, delimiter=self.delimiter)
            header = self._header(reader)
            self._line_num = reader.line_num
            if header is None:
                raise InputError(f"{self.name} is empty: it has no header, so no columns to score.")
            self.header = [h.strip() for h in header]
            self.header_row, self.above_header = reader.line_num, 0
            """The header's line, and the lines with values above it (a title, notes), which are not read."""
            try:
                self.passthrough = header_passthrough(self.name, self.header, inputs, id_column, keep)
                if not inputs and not one_by_one:  # training data read whole: a title is passed over too
                    self._header_below(inputs, reader.line_num)
            except InputError:
                if one_by_one or not self._header_below(inputs, reader.line_num):
                    raise
                self.passthrough = header_passthrough(self.name, self.header, inputs, id_column, keep)
            self.width = len(self.header)
        except BaseException:
            self._source.close()
            raise
        self.inputs = tuple(inputs)
        index = {h: i for i, h in enumerate(self.header)}
        self._in_idx = [index[c] for c in self.inputs]
        self._pass_idx = [index[c] for c in self.passthrough]
        self._number_idx = [index[c] for c in self.inputs if c in numbers]
        self._rows = 0

    @property
    def total_bytes(self) -> int | None:
        return self._source.total_bytes

    @property
    def bytes_read(self) -> int:
        return self._source.bytes_read

    @property
    def stdin_sha256(self) -> str | None:
        return self._source.sha256

    @property
    def from_excel(self) -> bool:
        """Whether the file looks saved by Excel for Excel: a byte-order mark (CSV UTF-8), or a legacy encoding
        (plain CSV). Excel then takes a UTF-8 file for UTF-8 only with the mark, so the output gets one."""
        return self._source.bom or self._source.encoding != "utf-8"

    def close(self) -> None:
        self._source.close()

    def _separator(self) -> str:
        """The header's separator: the comma, unless it has more semicolons or tabs (outside quotes)."""
        blank = []
        for line in self._lines:
            if line.strip():
                break
            blank.append(line)
        else:
            line = ""
        self._lines = itertools.chain(blank, [line] if line else [], self._lines)
        bare = _QUOTED.sub("", line)
        return max(SEPARATORS, key=lambda c: (bare.count(c), c == ","))

    def _header_below(self, inputs: Sequence[str], top: int, look: int = 20) -> bool:
        """Take as the header the line, among the next ``look``, that holds ``inputs`` (a title or notes above the
        table, as Excel saves a report-style sheet), in whichever separator it uses; whether one does. With no
        ``inputs`` (training data read whole), the first line, the header's included, with at least half the
        fields of the fullest, as a workbook's header is found: a title or a note has one or two."""
        ahead = list(itertools.islice(self._lines, look))
        order = sorted(SEPARATORS, key=lambda d: d != self.delimiter)

        def cells(line: str, delimiter: str) -> list[str]:
            return [c.strip() for c in next(csv.reader([line], delimiter=delimiter), [])]

        if inputs:
            found = next(((k, d, c) for k, line in enumerate(ahead) for d in order
                          if set(inputs) <= set(c := cells(line, d))), None)
        else:
            found = None
            widest = []  # each line's fields, in the separator that gives it the most filled (ties: the header's)
            for line in ahead:
                d = max(order, key=lambda d: _filled(cells(line, d)))
                widest.append((d, cells(line, d)))
            most = max(_filled(c) for c in [self.header, *(c for _, c in widest)])
            if 2 * _filled(self.header) < most:
                found = next(((k, d, c) for k, (d, c) in enumerate(widest) if 2 * _filled(c) >= most), None)
        if found is None:
            self._lines = itertools.chain(ahead, self._lines)
            return False
        k, self.delimiter, self.header = found
        self.header_row, self.above_header = top + k + 1, 1 + sum(bool(a.strip()) for a in ahead[:k])
        self._line_num = top + k + 1
        self._lines = itertools.chain(ahead[k + 1:], self._lines)
        return True

    def _header(self, reader: Any) -> list[str] | None:
        """The first record that is not blank; ``reader`` is a ``csv.reader``."""
        try:
            for row in reader:
                if row:
                    return row
        except csv.Error as exc:
            raise InputError(f"{self.name}: line {reader.line_num} cannot be read as CSV: {exc}.") from None
        return None

    def __enter__(self) -> CsvReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Chunk]:
        try:
            yield from self._chunks()
        finally:
            self.close()

    def _chunks(self) -> Iterator[Chunk]:
        width = self.width
        while True:
            lines = list(itertools.islice(self._lines, self.chunk_rows))
            if not lines:
                return
            first = self._rows + 1
            bulk = self._parse_bulk(lines)
            if bulk is not None:
                self._rows += len(lines)
                self._line_num += len(lines)
                yield Chunk(n=len(lines), first_row=first, columns=bulk[0], passthrough=bulk[1])
                continue
            # The csv module's rules (quotes, blank lines, broken rows). A quoted field may run on past
            # this chunk's lines, so the reader goes on into the rest of the input where it must; not one by one,
            # where the lines after are not written until this row is answered.
            reader = csv.reader(lines if self._one_by_one else itertools.chain(lines, self._lines), strict=False,
                                delimiter=self.delimiter)
            try:
                records = list(itertools.islice(reader, self.chunk_rows))
            except csv.Error as exc:
                if self._one_by_one:  # the program's one line gets its answer: an error
                    self._line_num += 1
                    yield self._unread(first, "cannot be read as CSV: " + (
                        "it holds a carriage return outside quotes (one line, one row)."
                        if "new-line character" in str(exc) else f"{exc}."))
                    continue
                raise InputError(
                    f"{self.name}: line {self._line_num + reader.line_num} cannot be read as CSV: {exc}. "
                    "A quote that is opened and never closed swallows the lines after it."
                ) from None
            start = self._line_num
            self._line_num += reader.line_num
            rows = [r for r in records if r]  # blank lines are not rows
            if not rows:
                if self._one_by_one:  # but a program's blank line is answered, or it would wait for ever
                    yield self._unread(first, "is a blank line, not an applicant.")
                continue
            self._rows += len(rows)
            errors: dict[int, str] = {}
            for i in [i for i, r in enumerate(rows) if len(r) != width]:
                got = len(rows[i])
                errors[i] = f"row {first + i} has {got} field{'' if got == 1 else 's'}; the header has {width}."
                if self._one_by_one and rows[i][-1].endswith("\n"):
                    errors[i] = f"row {first + i} opens a quote that its line does not close (one line, one row)."
                rows[i] = (rows[i] + [""] * width)[:width]
            if reader.line_num > len(records):  # a row ran over lines: a line break in a field, or a quote left open
                self._swallowing(records, first, start, errors)
            cols = list(zip(*rows))
            if self.delimiter == ";":  # Excel's CSV where the comma is the decimal mark: 12,5 is 12.5
                for j in self._number_idx:
                    cols[j] = tuple(v.replace(",", ".") if _DECIMAL_COMMA.fullmatch(v) else v for v in cols[j])
            yield Chunk(
                n=len(rows),
                first_row=first,
                columns={c: cols[j] for c, j in zip(self.inputs, self._in_idx)},
                passthrough={c: cols[j] for c, j in zip(self.passthrough, self._pass_idx)},
                row_errors=errors,
            )

    def _unread(self, first: int, why: str) -> Chunk:
        """A program's one line that holds no readable row, answered with ``why`` (``score --line-buffered``)."""
        self._rows += 1
        return Chunk(n=1, first_row=first, columns={c: [""] for c in self.inputs},
                     passthrough={c: [""] for c in self.passthrough}, row_errors={0: f"row {first} {why}"})

    def _swallowing(self, records: list[list[str]], first: int, start: int, errors: dict[int, str]) -> None:
        """Reject each row of ``records`` (read from the line after ``start``; row ``first`` is the first that is not
        blank) that a quote left open made run on over lines that look like rows."""
        line, i = start, 0
        for record in records:
            line += 1 + sum(value.count("\n") for value in record)
            if record:
                if i not in errors and (swallowed := self._swallowed(record, first + i, line)):
                    errors[i] = swallowed
                i += 1

    def _swallowed(self, row: list[str], number: int, end: int) -> str:
        """Why ``row`` is rejected if a field of it runs on over lines that look like rows (a quote opened and not
        closed where it should be: the csv module reads the lines after as that one value, and the applicants on
        them would be lost without a word); '' if none does. A field that runs over lines of text (an address in a
        kept column) is read as it is."""
        for j, value in enumerate(row):
            if "\n" in value and any(line.count(self.delimiter) >= self.width // 2 for line in value.split("\n")):
                column = self.header[j] if j < len(self.header) else f"field {j + 1}"
                return (f"row {number}: a quote in its {column} field is not closed on its line, so the lines after "
                        f"it, to line {end}, were read as that one value, not as rows; close the quote and read the "
                        "file again.")
        return ""

    def _parse_bulk(self, lines: list[str]) -> tuple[dict[str, Sequence[Any]], dict[str, Sequence[Any]]] | None:
        """The chunk's columns, read without the csv module where nothing in it needs its rules.

        That is: every line has exactly the header's number of separators, and there is no quote, no NUL
        and no field longer than ``MAX_CHARS`` (in a semicolon file, no comma but in a field that is a
        number with a decimal comma, which the number columns then read as a point). The number columns
        are then parsed in one C call
        (``np.loadtxt``, which accepts no text that the validator's own parsing would read otherwise;
        empty fields, which it refuses, are given to it as ``nan``: missing, as the validator reads
        them). Anything else, such as a word in a number column, sends the chunk to the csv module
        and the validator's per-value path. About 5x less time per row than the csv module plus a
        conversion per column.
        """
        sep = self.delimiter
        if self.width < 2 or {line.count(sep) for line in lines} != {self.width - 1}:
            return None
        text = "".join(lines)
        if '"' in text or "\x00" in text:
            return None
        numeric = lines  # what the number columns are read from
        if sep == ";" and "," in text:  # decimal commas, read in bulk only where each is one, as the csv path reads it
            if not _decimal_commas_only(text):
                return None
            numeric = [line.replace(",", ".") for line in lines]
        raw = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)  # UTF-8 bytes >= characters: safe
        ends = np.flatnonzero((raw == ord(sep)) | (raw == 10) | (raw == 13))  # separator, \n, \r
        if np.diff(ends, prepend=-1, append=len(raw)).max(initial=0) > MAX_CHARS + 1:
            return None
        parsed: dict[int, np.ndarray] = {}
        if self._number_idx:
            empty = (any(s in text for s in (sep + sep, "\n" + sep, "\r" + sep, sep + "\n", sep + "\r"))
                     or text[0] == sep or text[-1] == sep)
            try:
                numbers = np.loadtxt([_empty_as_nan(line, sep) for line in numeric] if empty else numeric,
                                     dtype=np.float64, delimiter=sep, comments=None, quotechar=None,
                                     usecols=self._number_idx, ndmin=2)
            except ValueError:
                return None
            parsed = dict(zip(self._number_idx, numbers.T.copy()))

        def fields(j: int) -> list[str]:
            if j == self.width - 1:
                return [line.rstrip("\r\n").rsplit(sep, 1)[-1] for line in lines]
            return [line.split(sep, j + 1)[j] for line in lines]

        columns: dict[str, Sequence[Any]] = {c: ParsedText(parsed[j], numeric, j, sep) if j in parsed else fields(j)
                   for c, j in zip(self.inputs, self._in_idx)}
        return columns, {c: fields(j) for c, j in zip(self.passthrough, self._pass_idx)}


def _decimal_commas_only(text: str) -> bool:
    r"""Whether every comma in ``text``, lines of a semicolon file, sits in a field that is a number with a decimal
    comma, ``[ \t]*[+-]?\d*,\d+[ \t]*`` (a stricter :data:`_DECIMAL_COMMA`): no comma is followed by anything but
    digits, spaces and its field's end, nor, read backwards, preceded by anything but digits, a sign, spaces and
    its field's start. Two searches for a comma, about 3x faster than matching every field."""
    return (_COMMA_NOT_BEFORE_DIGITS_AND_FIELD_END.search(text) is None
            and _COMMA_NOT_AFTER_FIELD_START_REVERSED.search(text[::-1]) is None)


def _empty_as_nan(line: str, sep: str = ",") -> str:
    """``line`` with every empty field written ``nan``: np.loadtxt refuses empty fields."""
    body = line.rstrip("\r\n")
    return sep.join(f or "nan" for f in body.split(sep)) + line[len(body):]


# -- JSON ------------------------------------------------------------------------


class JsonNumbers(ParsedText):
    """A JSON Lines column of numbers (and nulls): read as numbers at once, each one's text made only when asked
    for (an error message, a column kept as text), as :func:`_as_text` words it."""

    def __init__(self, numbers: np.ndarray, values: list[Any]):
        self.numbers, self._values = numbers, values

    def __getitem__(self, i):  # type: ignore[no-untyped-def]
        if isinstance(i, slice):
            return [_as_text(v) for v in self._values[i]]
        return _as_text(self._values[i])


def _json_column(values: list[Any]) -> Sequence[Any]:
    """A column of JSON values as text (None for null), the validator's input; one of numbers and nulls only
    (the common case) as :class:`JsonNumbers`, which spares a text per value that validation would parse again."""
    kinds = set(map(type, values))
    if kinds <= {float, int, type(None)} and kinds - {type(None)}:
        try:
            numbers = np.array(values if type(None) not in kinds else [math.nan if v is None else v for v in values],
                               dtype=np.float64)
        except OverflowError:  # an integer past float's range: worded value by value
            pass
        else:
            return JsonNumbers(numbers, values)
    return [_as_text(v) for v in values]


def _as_text(value: Any) -> Any:
    """A JSON value as the validator's fast path wants it: text, or None for null."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value)


class JsonLinesReader:
    """Read JSON Lines (one applicant object per line), in chunks.

    A line that is not valid JSON, or is not an object, is kept as a rejected
    row. Values may be numbers, strings or null (a missing value).
    """

    def __init__(
        self,
        path: str | Path,
        inputs: Sequence[str],
        *,
        id_column: str | None = None,
        keep: Sequence[str] = (),
        chunk_rows: int = CHUNK_ROWS,
        stdin: IO[bytes] | None = None,
        one_by_one: bool = False,
        later: Collection[str] = (),
        _lines: Iterator[str] | None = None,
        _name: str | None = None,
        _single: bool = False,
    ):
        """``one_by_one``: records answered as they arrive (``score --line-buffered``), a line each: the first
        record's keys say nothing of the next's (a key it lacks is its own missing value, not a column the input
        lacks), and a blank line is answered, as an error, since the program waits for an answer to each line.
        ``later``: inputs the caller knows only later records hold (:attr:`keys` of a first reading), so the first
        chunk need not."""
        _check_passthrough(keep)
        self._source = None if _lines is not None else _Source(path, stdin)
        self.name = _name or (self._source.name if self._source else str(path))
        self.inputs = tuple(inputs)
        self.chunk_rows = chunk_rows
        self._single = _single
        self._one_by_one = one_by_one
        self._lines = _lines if _lines is not None else self._source.lines(universal=False)  # type: ignore[union-attr]
        self._rows = 0
        self.keys: dict[str, None] = {}
        """Every key of the records read so far, in the order they first appear (:attr:`header` is the first
        chunk's): a reader of the whole file, such as training, learns the columns only the later records hold."""
        try:
            self._first = self._read_chunk()
            if self._first is None:
                raise InputError(f"{self.name} is empty: it holds no applicant records.")
            records = self._first_records
            seen = set().union(*(r.keys() for r in records)) if records else set()
            self.header = list(dict.fromkeys(k for r in records for k in r))
            """The first chunk's keys, in the order they first appear (a header's part, for a reader of every key)."""
            if records and not one_by_one:
                missing = [c for c in self.inputs if c not in seen and c not in later]
                if missing:
                    raise InputError(
                        _missing_message(self.name, missing, sorted(seen), "required columns", self.inputs)
                        + " Write null for a value that is missing."
                    )
                absent = [k for k in keep if k not in seen]
                if absent:
                    raise InputError(_missing_message(self.name, absent, sorted(seen), "columns to keep"))
            passthrough = ([id_column] if id_column and (id_column in seen or one_by_one) else []) + [
                k for k in keep if k != id_column]
            self.passthrough = tuple(dict.fromkeys(passthrough))
        except BaseException:
            self.close()
            raise

    @property
    def total_bytes(self) -> int | None:
        return self._source.total_bytes if self._source else None

    @property
    def bytes_read(self) -> int:
        return self._source.bytes_read if self._source else 0

    @property
    def stdin_sha256(self) -> str | None:
        return self._source.sha256 if self._source else None

    def close(self) -> None:
        if self._source:
            self._source.close()

    def _read_chunk(self) -> tuple[int, list[dict[str, Any]], dict[int, str]] | None:
        records: list[dict[str, Any]] = []
        errors: dict[int, str] = {}
        first = self._rows + 1
        for line in self._lines:
            row = first + len(records)
            where = "the record" if self._single else f"row {row}"
            if not line.strip():
                if not self._one_by_one:  # a blank line is no row; but a program's is answered, or it would wait
                    continue
                errors[len(records)] = f"{where} is a blank line, not an applicant."
                records.append({})
                if len(records) >= self.chunk_rows:
                    break
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                errors[len(records)] = f"{where} is not valid JSON: {exc.msg} (column {exc.colno})."
                obj = {}
            except (ValueError, RecursionError) as exc:
                errors[len(records)] = f"{where} is not an applicant record: {_unreadable(exc)}."
                obj = {}
            else:
                if not isinstance(obj, dict):
                    errors[len(records)] = f"{where} is not a JSON object (got {_json_kind(obj)}); write one object per line."
                    obj = {}
            records.append(obj)
            if len(records) >= self.chunk_rows:
                break
        if not records:
            return None
        self._rows += len(records)
        self._first_records = [r for i, r in enumerate(records) if i not in errors]
        for r in self._first_records if not self._one_by_one else ():  # a co-process's stream has no columns
            if r.keys() - self.keys:
                self.keys.update(dict.fromkeys(r))
        return first, records, errors

    def _chunk(self, read: tuple[int, list[dict[str, Any]], dict[int, str]]) -> Chunk:
        first, records, errors = read
        return Chunk(
            n=len(records),
            first_row=None if self._single else first,
            columns={c: _json_column([r.get(c) for r in records]) for c in self.inputs},
            passthrough={c: [r.get(c) for r in records] for c in self.passthrough},
            row_errors=errors,
        )

    def __enter__(self) -> JsonLinesReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Chunk]:
        try:
            if self._first is not None:
                first, self._first = self._first, None
                yield self._chunk(first)
            while (read := self._read_chunk()) is not None:
                yield self._chunk(read)
        finally:
            self.close()


def _json_kind(obj: Any) -> str:
    return {list: "an array", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(obj), "a number"
    )


def _unreadable(exc: ValueError | RecursionError) -> str:
    """What valid JSON the json module still cannot read holds: nesting deeper than its recursion limit, or an
    integer of more than 4,300 digits (Python's limit on converting one)."""
    if isinstance(exc, RecursionError):
        return "its JSON nests too deeply to read"
    return "it holds a number of more digits than Python reads (4,300), more than any field takes"


def json_record_reader(
    text: str, inputs: Sequence[str], *, id_column: str | None = None, keep: Sequence[str] = (), name: str = "--json"
) -> JsonLinesReader:
    """A reader over one applicant given as a JSON object (it may span several lines)."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{name} is not an applicant record: {_unreadable(exc)}.") from None
    if not isinstance(obj, dict):
        raise InputError(f"{name} must be one JSON object of column: value pairs, got {_json_kind(obj)}.")
    return JsonLinesReader(
        name, inputs, id_column=id_column, keep=keep, _lines=iter([json.dumps(obj)]), _name=name, _single=True
    )


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
    return "jsonl" if head.removeprefix(_BOM).lstrip().startswith(b"{") else "csv"


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


# -- output ----------------------------------------------------------------------


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
        dumps, names = json.dumps, self._names
        self._stream.write(
            "".join(dumps(dict(zip(names, row)), ensure_ascii=False) + "\n" for row in zip(*cols, *results))
        )


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
