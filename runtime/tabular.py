"""What every applicant file's reader and writer share: the :class:`Chunk` of rows, the :class:`Reader`
protocol, the output's column names, raw input read in blocks of whole lines, and the checks of a header.

The readers (:mod:`.csv_reader`, :mod:`.jsonl_reader`, :mod:`.xlsx`; :func:`.readers.open_reader` picks one) turn
a file into chunks (column name -> list of raw values, plus the rows whose *structure* is broken); the writers
(:mod:`.writers`) turn scored chunks into CSV or JSON Lines. Nothing here knows about the model; ``stream.py``
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
  output is then not created (see :func:`.writers.open_output`).
"""

from __future__ import annotations

import codecs
import gzip
import io
import itertools
import os
import sys
import zlib
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from .errors import InputError
from .run_files import note_read

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

BOM = codecs.BOM_UTF8
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


class Source:
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
                if data.startswith(BOM) and self.encoding == "utf-8":
                    data = data[len(BOM) :]
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


def filled(cells: Sequence[str]) -> int:
    return sum(1 for c in cells if c)


def missing_message(
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


def check_passthrough(keep: Sequence[str]) -> None:
    clash = [k for k in keep if k in (*RESULT_COLUMNS, REASONS, STATEMENTS, GRADE, POINTS, *SHADOW_COLUMNS)]
    if clash:
        raise InputError(f"Cannot keep the column {clash[0]}: the output writes its own {clash[0]} column.")


def header_passthrough(name: str, header: Sequence[str], inputs: Sequence[str], id_column: str | None,
                       keep: Sequence[str]) -> tuple[str, ...]:
    """The columns to copy to the output (the id, if present, then ``keep``), once ``header`` is checked: every
    input and kept column present, none of them named twice."""
    check_passthrough(keep)
    present = set(header)
    missing = [c for c in inputs if c not in present]
    if missing:
        raise InputError(missing_message(name, missing, header, "required columns", inputs))
    absent = [k for k in keep if k not in present]
    if absent:
        raise InputError(missing_message(name, absent, header, "columns to keep"))
    passthrough = list(dict.fromkeys(([id_column] if id_column and id_column in present else [])
                                     + [k for k in keep if k != id_column]))
    used = set(inputs) | set(passthrough)
    dupes = sorted({h for h in header if h in used and list(header).count(h) > 1})
    if dupes:
        raise InputError(f"{name}: the header names the column {dupes[0]} more than once.")
    return tuple(passthrough)
