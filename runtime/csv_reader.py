"""CSV applicant files in chunks: the separator and header found, plain numbers parsed in bulk, the csv
module's rules (quotes, broken rows) where a chunk needs them."""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from .errors import InputError
from .tabular import (CHUNK_ROWS, INPUT_ENCODING, SEPARATORS, Chunk, Source, check_passthrough, filled,
                      header_passthrough)
from .validate import MAX_CHARS, ParsedText

_QUOTED = re.compile(r'"[^"]*"')
_DECIMAL_COMMA = re.compile(r"\s*[+-]?\d*,\d+\s*")
_COMMA_NOT_BEFORE_DIGITS_AND_FIELD_END = re.compile(r",(?:(?!\d)|\d++[ \t]*+(?![;\r\n]|\Z))")
_COMMA_NOT_AFTER_FIELD_START_REVERSED = re.compile(r",\d*+[+-]?+[ \t]*+(?![;\r\n]|\Z)")


class CsvReader:
    """Read a CSV file with a header, in chunks, by the rules every reader follows (:mod:`.tabular`)."""

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
        check_passthrough(keep)
        self._source = Source(path, stdin, encoding or INPUT_ENCODING.get())
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
                d = max(order, key=lambda d: filled(cells(line, d)))
                widest.append((d, cells(line, d)))
            most = max(filled(c) for c in [self.header, *(c for _, c in widest)])
            if 2 * filled(self.header) < most:
                found = next(((k, d, c) for k, (d, c) in enumerate(widest) if 2 * filled(c) >= most), None)
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
