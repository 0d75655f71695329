"""Excel workbooks (.xlsx) read as applicant files, with the standard library alone.

Branch offices keep applicant lists in Excel; saving each as CSV first is a
step that goes wrong (a locale's separator, dropped leading zeros, a file
saved in the wrong encoding). An .xlsx file is a zip of XML parts (Office
Open XML, ECMA-376): the workbook lists the sheets, a sheet holds rows of
cells, and a text cell points into the shared-strings table. This reader
takes the sheet whose header holds the model's columns (or the sheet named;
a workbook with applicants on more than one sheet is refused, naming them, as
scoring the first alone would leave the others' rows out), the header being its
first row that holds any value, and streams the rows below in chunks as the
CSV reader does:

* a cell's value as Excel stores it: a number as its digits (so ``50000`` or
  ``0.1``), text as typed, a formula's last computed value, ``TRUE``/``FALSE``,
  an error such as ``#N/A`` as written; an empty or absent cell is a missing
  value;
* a number shown as a date or time (its cell's number format) as Excel shows
  it, in ISO 8601: ``2026-12-07``, ``2026-12-07 14:30:00`` or ``14:30:00``,
  not the serial number Excel stores (a day count from 1900, or 1904);
* a formula whose result the file does not hold (a workbook a program wrote
  and Excel never recalculated) is not a missing value, which a field that
  may be missing would fill in unseen, but text saying so, which a number
  field rejects with the row named: open and save the workbook in Excel;
* rows with no value at all are not rows (as blank lines in a CSV file);
* a cell beyond the header's last column belongs to no column and is ignored.

A legacy .xls workbook (Excel 97-2003) is not read: the error says to save
it as .xlsx or CSV.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import re
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, cast
from xml.etree.ElementTree import ParseError, iterparse

from .errors import InputError
from .run_files import note_read
from .readers import XLS_MAGIC
from .sheet_rows import Values, local, sheet_rows
from .tabular import POINTS, PROBABILITY, SHADOW_COLUMNS, STDIO, Chunk, header_passthrough, input_name
from .writers import CsvWriter

BOMB_BYTES, BOMB_RATIO = 64 << 20, 100
"""A part that unpacks to more than 64 MiB and 100 times its packed size is refused (Apache POI's ratio): Excel's
XML packs about 10 to 1 (the 24,000 development rows: 8.2)."""



class _Counted(io.RawIOBase):
    """A sheet's XML stream that counts what was read, for the progress line."""

    def __init__(self, raw: IO[bytes]):
        self.raw, self.count = raw, 0

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.raw.close()  # the zip file's own handle is shared with it: closed with the last of them
        super().close()

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


class XlsxReader:
    """Read one sheet of an .xlsx workbook as applicant rows, in chunks (see the module docstring)."""

    def __init__(self, path: str | Path, inputs: Sequence[str], *, id_column: str | None = None,
                 keep: Sequence[str] = (), chunk_rows: int = 8192, stdin: IO[bytes] | None = None,
                 sheet: str | None = None):
        self.name = input_name(path)
        self.inputs = tuple(inputs)
        self.chunk_rows = chunk_rows
        self._zip, self._size, self.stdin_sha256 = _open(path, self.name, stdin)
        self._stream: Any = None
        self._beyond: dict[int, int] = {}  # Excel row -> the first column right of the header's that holds a value
        try:
            strings = self._shared_strings()
            self._dates, self._from_1904 = self._date_styles()
            refused: InputError | None = None
            sheets = self._sheets(sheet)
            for k, (self.sheet, part) in enumerate(sheets):
                try:
                    self.header, self.passthrough = self._open_sheet(part, strings, id_column, keep)
                    break
                except InputError as exc:  # not the applicants' sheet: try the next
                    if self._stream is not None:
                        self._stream.close()
                    refused = refused or exc
            else:
                assert refused is not None
                if len(sheets) > 1:
                    raise InputError(f"{refused} No other sheet has them either: "
                                     f"{', '.join(repr(n) for n, _ in sheets[1:])}.") from None
                raise refused
            if sheet is None:
                self._refuse_more(sheets[k + 1:], strings)
        except BaseException:
            self.close()
            raise
        index = {h: i for i, h in enumerate(self.header)}
        self._in_idx = [index[c] for c in self.inputs]
        self._pass_idx = [index[c] for c in self.passthrough]
        self._rows_read = 0
        self.hidden_rows = 0
        """Rows read so far that Excel hides (a filter on the sheet): read and scored like the others, but a person
        looking at the sheet does not see them, so the commands say how many there were."""

    def _open_sheet(self, part: str, strings: list[str], id_column: str | None,
                    keep: Sequence[str]) -> tuple[list[str], tuple[str, ...]]:
        """Start reading the sheet at ``part``: its header, checked, and the columns to copy to the output."""
        where = f"{self.name} (sheet '{self.sheet}')"
        try:
            info = self._zip.getinfo(part)
        except KeyError:
            raise InputError(f"{where}: the sheet's part {part} is missing; open and save the workbook again.") from None
        self._sheet_bytes = info.file_size
        self._stream = _Counted(self._open_part(info))
        self._rows_iter = self._rows(self._stream, strings, self.sheet)
        first = next(self._rows_iter, None)
        if first is None:
            raise InputError(f"{where} is empty: it has no header, so no columns to score.")
        header = [h.strip() for h in first[1]]
        self.header_row, self.above_header = first[0], 0
        """The header's Excel row, and the rows with values above it (a title, notes), which are not read."""
        try:
            passthrough = header_passthrough(where, header, self.inputs, id_column, keep)
            found = None if self.inputs else self._find_header(info, strings, self.sheet)
            if found is None or found[0] == first[0]:
                return header, passthrough
        except InputError:
            found = self._find_header(info, strings, self.sheet, first[0])
            if found is None:
                raise
        self.header_row, self.above_header = found  # a title or notes above the header: not applicants
        self._stream.close()
        self._stream = _Counted(self._open_part(info))
        self._rows_iter = self._rows(self._stream, strings, self.sheet, header_at=self.header_row)
        header = [h.strip() for h in next(self._rows_iter)[1]]
        return header, header_passthrough(where, header, self.inputs, id_column, keep)

    def _find_header(self, info: zipfile.ZipInfo, strings: list[str], sheet: str, top: int = 0,
                     look: int = 20) -> tuple[int, int] | None:
        """The Excel row, among the sheet's first ``look`` rows with values and below row ``top``, that holds the
        model's columns (a title or notes may sit above the header), and how many rows with values are above it;
        ``None`` if none does. Where no columns are asked for (training data read whole), the header is the first
        of those rows with at least half the values of the fullest: a title or a note has one or two, and a row
        with a note beside the table is not taken for the header."""
        counts = []
        with self._open_part(info) as stream:
            for k, (number, values, _) in enumerate(self._rows(stream, strings, sheet, whole=True)):
                if k > look:
                    break
                if self.inputs and number > top and set(self.inputs) <= {v.strip() for v in values}:
                    return number, k
                counts.append((number, k, sum(bool(v.strip()) for v in values)))
        fullest = max((n for _, _, n in counts), default=0)
        return None if self.inputs else next(((number, k) for number, k, n in counts if 2 * n >= fullest), None)

    def _refuse_more(self, later: list[tuple[str, str]], strings: list[str]) -> None:
        """Refuse a workbook whose later sheets hold applicants too: scoring only the first would leave their
        rows out without a word, so the person names the sheet to score."""
        more = []
        for name, part in later:  # a header under a title counts too, as it does on the sheet read
            try:
                info = self._zip.getinfo(part)
            except KeyError:
                continue
            if self._find_header(info, strings, name) is not None:
                more.append(name)
        if more:
            names = ", ".join(repr(n) for n in [self.sheet, *more])
            held = "applicants" if self.inputs else "values"  # no columns asked for: any table could be the one
            raise InputError(f"{self.name} has {held} on {len(more) + 1} sheets ({names}), and a run reads one "
                             "sheet: name it with --sheet NAME (a run for each).")

    @property
    def total_bytes(self) -> int:
        """The workbook's size: a file's, or what stdin held."""
        return self._size

    @property
    def bytes_read(self) -> int:
        """The share of the sheet read so far, in bytes of the workbook (all of them once it is read)."""
        if self._stream is None or not self._sheet_bytes:
            return 0
        return round(self._size * min(self._stream.count / self._sheet_bytes, 1.0))

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
        self._zip.close()

    def __enter__(self) -> XlsxReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Chunk]:
        try:
            rows: list[list[str]] = []
            numbers: list[int] = []
            for number, values, hidden in self._rows_iter:
                rows.append(values)
                numbers.append(number)
                if hidden:
                    self.hidden_rows += 1
                if len(rows) == self.chunk_rows:
                    yield self._chunk(rows, numbers)
                    rows, numbers = [], []
            if rows:
                yield self._chunk(rows, numbers)
        finally:
            self.close()

    def _chunk(self, rows: list[list[str]], numbers: list[int]) -> Chunk:
        first = self._rows_read + 1
        self._rows_read += len(rows)
        beyond = {i: self._beyond.pop(n) for i, n in enumerate(numbers) if n in self._beyond}
        return Chunk(n=len(rows), first_row=first, sheet_rows=numbers,
                     columns={c: [r[j] for r in rows] for c, j in zip(self.inputs, self._in_idx)},
                     passthrough={c: [r[j] for r in rows] for c, j in zip(self.passthrough, self._pass_idx)},
                     row_warnings={i: f"a value in column {_letters(j)}, right of the header's last column "
                                      f"({_letters(len(self.header) - 1)}), was not read" for i, j in beyond.items()})

    # -- the workbook's parts ---------------------------------------------------

    def _open_part(self, info: zipfile.ZipInfo) -> IO[bytes]:
        """A part to read, unless it would inflate like a zip bomb: a workbook from a USB stick or a mail could
        otherwise hold a part that unpacks to gigabytes from a few (the shared strings are held in memory)."""
        if info.file_size > BOMB_BYTES and info.file_size > BOMB_RATIO * max(info.compress_size, 1):
            raise InputError(f"{self.name}: the workbook's {info.filename} would unpack to {info.file_size:,} bytes "
                             f"from {info.compress_size:,} ({info.file_size / max(info.compress_size, 1):,.0f} times "
                             "as many; Excel's parts pack about 10 to 1): it is not a workbook Excel saved. Save it "
                             "again from Excel, or as CSV UTF-8.")
        return self._zip.open(info)

    def _xml(self, part: str) -> Iterator[tuple[str, Any]]:
        try:
            with self._open_part(self._zip.getinfo(part)) as fh:
                yield from iterparse(fh, events=("start", "end"))
        except KeyError:
            raise InputError(f"{self.name} is not an Excel workbook: it has no {part}.") from None
        except (ParseError, zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
            raise InputError(f"{self.name}: the workbook's {part} cannot be read ({exc}); the file may be damaged, "
                             "open and save it again in Excel.") from None

    def _sheets(self, wanted: str | None) -> list[tuple[str, str]]:
        """The sheets to try, in the workbook's order, as (name, zip path): all of them, or the one named."""
        sheets = [(el.get("name", ""), next((v for k, v in el.attrib.items() if local(k) == "id"), ""))
                  for event, el in self._xml("xl/workbook.xml")  # r:id, in whichever namespace (Strict OOXML too)
                  if event == "end" and local(el.tag) == "sheet"]
        if not sheets:
            raise InputError(f"{self.name}: the workbook lists no sheets.")
        if wanted is not None:
            sheets = ([s for s in sheets if s[0] == wanted]  # Excel's names are unique regardless of case
                      or [s for s in sheets if s[0].casefold() == wanted.casefold()]
                      or _no_sheet(self.name, wanted, sheets))
        targets = {el.get("Id"): el.get("Target", "") for event, el in self._xml("xl/_rels/workbook.xml.rels")
                   if event == "end" and local(el.tag) == "Relationship"}
        return [(name, target.lstrip("/") if target.startswith("/") else
                 posixpath.normpath(posixpath.join("xl", target))) for name, rid in sheets
                for target in [targets.get(rid, "")]]

    def _date_styles(self) -> tuple[dict[str, str], bool]:
        """The cell styles (``s`` attributes) whose number format shows a date or time, each mapped to what it
        shows ("date", "time" or "datetime"), and whether the workbook counts its days from 1904."""
        formats: dict[int, str] = {}
        styles: list[int] = []
        in_cell_xfs = False
        if "xl/styles.xml" in self._zip.namelist():
            for event, el in self._xml("xl/styles.xml"):
                tag = local(el.tag)
                if tag == "cellXfs":
                    in_cell_xfs = event == "start"
                elif event == "end" and tag == "numFmt":
                    formats[_int(el.get("numFmtId"))] = el.get("formatCode", "")
                elif event == "end" and tag == "xf" and in_cell_xfs:
                    styles.append(_int(el.get("numFmtId")))
        shown = {str(k): kind for k, fmt in enumerate(styles)
                 if (kind := _BUILT_IN_DATES.get(fmt) or _date_kind(formats.get(fmt, "")))}
        from_1904 = bool(shown) and any(event == "end" and local(el.tag) == "workbookPr"
                                        and el.get("date1904", "0") in ("1", "true")
                                        for event, el in self._xml("xl/workbook.xml"))
        return shown, from_1904

    def _shared_strings(self) -> list[str]:
        if "xl/sharedStrings.xml" not in self._zip.namelist():
            return []
        strings: list[str] = []
        texts: list[str] = []
        skip = 0  # inside <rPh> (phonetic guides), whose text is not the cell's
        for event, el in self._xml("xl/sharedStrings.xml"):
            tag = local(el.tag)
            if tag == "rPh":
                skip += 1 if event == "start" else -1
            elif event == "end" and tag == "t" and not skip:
                texts.append(el.text or "")
            elif event == "end" and tag == "si":
                strings.append("".join(texts))
                texts = []
                el.clear()
        return strings

    def _rows(self, stream: IO[bytes], strings: list[str], sheet: str, whole: bool = False,
              header_at: int = 0) -> Iterator[tuple[int, list[str], bool]]:
        """Each row holding a value in the sheet ``stream`` reads, from Excel row ``header_at`` on, as its number in
        Excel, its cells' texts from column A on (the header's as many as it has, the other rows' as many as the
        header's; with ``whole``, each row's as many as it has), and whether Excel hides it (a filter, or hidden
        by hand)."""
        width: int | None = None  # the header's, once read: later cells beyond it are ignored
        columns: dict[str, int] = {}  # a reference's letters -> 0-based column, worked out once each
        column_letters: list[str] = []  # the header's columns' letters, A on
        number = 0
        try:
            for r, hidden, row in sheet_rows(stream, Values(strings, self._dates, self._from_1904)):
                number = int(r) if r and r.isdigit() else number + 1  # r is optional: then rows follow on
                if number < header_at:
                    continue
                if width is not None and r and len(row) <= width and \
                        [ref for ref, _ in row] == [column + r for column in column_letters[:len(row)]]:
                    values = [value for _, value in row]  # the commonest row: a cell in each column from A on
                    if any(values):
                        yield number, values + [""] * (width - len(values)), hidden
                    continue
                cells: dict[int, str] = {}
                position = -1
                for ref, value in row:
                    if ref:
                        letters = ref.rstrip("0123456789")
                        position = columns.get(letters, -1)
                        if position < 0:
                            try:
                                position = columns[letters] = _column(letters)
                            except ValueError:
                                raise InputError(f"{self.name} (sheet '{sheet}'): the cell reference {ref!r} in Excel "
                                                 f"row {number} names no column Excel has (A to XFD); the file may "
                                                 "be damaged, open and save it again in Excel.") from None
                    else:
                        position += 1
                    if width is not None and position >= width:
                        if number not in self._beyond and value.strip():
                            self._beyond[number] = position  # a note beside the table, or a row shifted right
                        continue
                    if value:
                        cells[position] = value
                if not cells:
                    continue
                size = max(cells) + 1 if width is None else width
                values = [""] * size
                for j, v in cells.items():
                    values[j] = v
                if width is None and not whole:
                    width, column_letters = size, [_letters(j) for j in range(size)]
                yield number, values, hidden
        except (ParseError, zipfile.BadZipFile, OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
            raise InputError(f"{self.name} (sheet '{sheet}') cannot be read ({exc}); the file may be damaged, "
                             "open and save it again in Excel.") from None


def _no_sheet(name: str, wanted: str, sheets: list[tuple[str, str]]) -> Any:
    raise InputError(f"{name} has no sheet named '{wanted}'; its sheets: {', '.join(repr(s[0]) for s in sheets)}.")


def _open(path: str | Path, name: str, stdin: IO[bytes] | None) -> tuple[zipfile.ZipFile, int, str | None]:
    """The workbook as a zip, its size, and, read from stdin, the SHA-256 of its bytes (stdin cannot be read
    again)."""
    digest = None
    try:
        if str(path) == STDIO:
            raw = (stdin if stdin is not None else sys.stdin.buffer).read()  # a zip is read from its end: whole
            source: Any = io.BytesIO(raw)
            head, size = raw[:8], len(raw)
            digest = hashlib.sha256(raw).hexdigest()
        else:
            with open(path, "rb") as fh:
                head, size = fh.read(8), os.fstat(fh.fileno()).st_size
            source = path
            note_read(path)
    except IsADirectoryError:
        raise InputError(f"{name} is a directory, not an applicant file.") from None
    except OSError as exc:
        raise InputError(f"Cannot read {name}: {exc.strerror or exc}.") from None
    if head.startswith(XLS_MAGIC):
        raise InputError(f"{name} is an Excel 97-2003 workbook (.xls), which loanscore does not read; save it as "
                         "Excel Workbook (.xlsx) or CSV UTF-8 and try again.")
    try:
        return zipfile.ZipFile(source), size, digest
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{name} is not an Excel workbook (.xlsx) that can be read ({exc}); save it again from "
                         "Excel, or as CSV UTF-8.") from None


def _column(letters: str) -> int:
    """0-based column of a cell reference's letters (``AB`` of ``AB12``); ValueError for letters no Excel column
    has (a damaged file: a negative or huge position would index past a row, or ask for gigabytes)."""
    if not _LETTERS.fullmatch(letters):
        raise ValueError(letters)
    k = 0
    for ch in letters.upper():
        k = 26 * k + ord(ch) - 64
    if k > MAX_COLUMNS:
        raise ValueError(letters)
    return k - 1


_LETTERS = re.compile(r"[A-Za-z]{1,3}")
MAX_COLUMNS = 16_384
"""Excel's last column is XFD."""


_BUILT_IN_DATES = {**dict.fromkeys((14, 15, 16, 17, *range(27, 32), 34, 35, 36, 50, 51, 52, 53, 54, 57, 58), "date"),
                   **dict.fromkeys((18, 19, 20, 21, 32, 33, 45, 47, 55, 56), "time"), 22: "datetime"}
"""Excel's built-in number formats (ids without a numFmt element) that show a date or a time of day; 46
(``[h]:mm:ss``) is a duration and stays a number."""


def _int(text: str | None) -> int:
    return int(text) if text and text.isdigit() else -1


def _date_kind(code: str) -> str:
    """What a custom number format shows: "date", "time", "datetime", or "" for a number (quoted text, escaped
    letters, colours and locales aside; an elapsed ``[h]:mm`` is a duration, so a number)."""
    section = code.split(";")[0].lower()
    if re.search(r"\[(h+|m+|s+)\]", section):
        return ""
    plain = re.sub(r'"[^"]*"|\\.|\[[^]]*\]|_.|\*.', "", section)
    clock = "h" in plain or "s" in plain
    day = "d" in plain or "y" in plain or ("m" in plain and not clock)  # m is minutes beside h or s, else a month
    return "datetime" if day and clock else "date" if day else "time" if clock else ""


# -- writing ---------------------------------------------------------------------

MAX_ROWS = 1_048_576
"""Rows an Excel sheet holds, the header's included."""
NUMBERS = {PROBABILITY, POINTS, SHADOW_COLUMNS[0]}
"""Output columns written as number cells (the rest as text: an id keeps its leading zeros)."""
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # not allowed in XML 1.0

def _parts(sheets: Sequence[str]) -> dict[str, str]:
    """A workbook's fixed parts for ``sheets`` (their names, in order), each sheet at xl/worksheets/sheetK.xml."""
    numbered = list(enumerate(sheets, 1))
    return {
        "[Content_Types].xml":
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>' + "".join(
                f'<Override PartName="/xl/worksheets/sheet{k}.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                for k, _ in numbered) + "</Types>",
        "_rels/.rels":
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship '
            'Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml":
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>' + "".join(
                f'<sheet name="{_escape(name)}" sheetId="{k}" r:id="rId{k}"/>' for k, name in numbered)
            + "</sheets></workbook>",
        "xl/_rels/workbook.xml.rels":
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' + "".join(
                f'<Relationship Id="rId{k}" '
                'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
                f'Target="worksheets/sheet{k}.xml"/>' for k, _ in numbered) + "</Relationships>",
    }


_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


class _SheetRows:
    """Rows as a sheet's XML, kept in a temporary file until the workbook is written: text cells inline (no
    shared-strings table to hold in memory), the :data:`NUMBERS` columns as numbers."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile("w+", encoding="utf-8")
        self.rows = 0
        self._numbers: set[int] = set()
        self._refs: list[str] = []

    def writerow(self, row: Sequence[Any]) -> None:
        if not self.rows:  # the header: which columns hold numbers, and each column's letters
            self._numbers = {j for j, name in enumerate(row) if name in NUMBERS}
            self._refs = [_letters(j) for j in range(len(row))]
        self.rows += 1
        if self.rows > MAX_ROWS:
            raise InputError(f"The scores do not fit in one Excel sheet ({MAX_ROWS - 1:,} rows at most); write them "
                             "as CSV (--format csv), which Excel opens too.")
        r, cells = self.rows, []
        for j, value in enumerate(row):
            text = "" if value is None else str(value)
            if not text:
                continue
            if j in self._numbers and r > 1:
                cells.append(f'<c r="{self._refs[j]}{r}"><v>{text}</v></c>')
            else:
                space = ' xml:space="preserve"' if text != text.strip() else ""
                cells.append(f'<c r="{self._refs[j]}{r}" t="inlineStr"><is><t{space}>{_escape(text)}</t></is></c>')
        self.file.write(f'<row r="{r}">{"".join(cells)}</row>')

    def writerows(self, rows: Iterator[Sequence[Any]], texts: Any = None) -> None:
        for row in rows:
            self.writerow(row)


class XlsxWriter(CsvWriter):
    """Scored rows as an Excel workbook of one sheet, "scores": the columns CSV output has, probabilities and
    points as number cells, written (zipped) to the stream's bytes by :meth:`finish`."""

    def __init__(self, stream: IO[str], passthrough: Sequence[str], **options: Any):
        self._stream = stream
        super().__init__(stream, passthrough, delimiter=",", **options)

    def _cells(self, values: Sequence[Any]) -> Sequence[Any]:
        return values  # a workbook's text cell is text: Excel runs no formula in it

    def _rows_to(self, stream: IO[str], delimiter: str) -> _SheetRows:
        self._sheet = _SheetRows()
        return self._sheet

    def finish(self) -> None:
        """Write the workbook: its fixed parts and the sheet, streamed from the temporary file."""
        sheet = self._sheet
        sheet.file.seek(0)
        self._stream.flush()
        target = cast(IO[bytes], getattr(self._stream, "buffer", self._stream))  # the bytes under the text
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as book:
            for name, xml in _parts(["scores"]).items():
                book.writestr(name, _XML + xml)
            with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
                part.write((_XML + '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                            '<sheetData>').encode())
                while block := sheet.file.read(1 << 20):
                    part.write(block.encode("utf-8"))
                part.write(b"</sheetData></worksheet>")
        self.close()

    def close(self) -> None:
        """Remove the sheet's temporary file (a run that stops early leaves no workbook and no temporary file)."""
        self._sheet.file.close()


def write_workbook(path: str | Path, sheets: Mapping[str, Sequence[Sequence[str]]]) -> None:
    """A small workbook of text cells (``sheets``: each sheet's name and rows, in order), written atomically: a
    template to fill in, not scores (:class:`XlsxWriter` streams those)."""
    from .writers import open_output

    with open_output(str(path)) as stream:
        stream.flush()
        target = cast(IO[bytes], getattr(stream, "buffer", stream))
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as book:
            for name, xml in _parts(list(sheets)).items():
                book.writestr(name, _XML + xml)
            for k, rows in enumerate(sheets.values(), 1):
                cells = "".join(f'<row r="{r}">' + "".join(
                    f'<c r="{_letters(j)}{r}" t="inlineStr"><is><t>{_escape(str(v))}</t></is></c>'
                    for j, v in enumerate(row) if str(v)) + "</row>" for r, row in enumerate(rows, 1))
                book.writestr(f"xl/worksheets/sheet{k}.xml", _XML + '<worksheet xmlns="http://schemas.openxmlformats'
                              f'.org/spreadsheetml/2006/main"><sheetData>{cells}</sheetData></worksheet>')


def _letters(j: int) -> str:
    """Column letters of 0-based column ``j`` (0 is A, 26 is AA)."""
    out = ""
    j += 1
    while j:
        j, rest = divmod(j - 1, 26)
        out = chr(65 + rest) + out
    return out


def _escape(text: str) -> str:
    return _CONTROL.sub("\ufffd", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
