"""A worksheet's rows from its XML, fast for what spreadsheet programs write, exact for anything else.

ElementTree builds an element for every cell and value (about 49 a row of 24 numbers), which made a workbook read
at a fifth of a CSV file's speed. Most sheets hold only cells of one shape, ``<c r="B2" s="1"><v>50000</v></c>``,
which a regular expression reads without building anything. At the first thing it does not know (a prefixed
namespace, a rich-text cell, an attribute it does not expect, a comment), the rest of the sheet goes to
ElementTree, which reads every row after it, so nothing is read differently: only faster.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain
from typing import IO, Any
from xml.etree.ElementTree import XMLPullParser

Row = tuple[str | None, bool, list[tuple[str, str]]]
"""A row as read: its ``r`` attribute (its Excel row number; ``None`` where absent: the next row), whether Excel
hides it, and each cell's reference (``B2``; "" where it has none: the next column) and value as text ("" for
none)."""

UNCOMPUTED = "(a formula with no computed value)"
"""A formula cell whose result the file does not hold (written by a program, never opened and saved in Excel):
the text a field's error then shows, rather than a missing value."""

_BLOCK = 1 << 18
_FEED = 1 << 14
"""What ElementTree is fed at a time: fed a block at once, it read a sheet 2.5 times slower (its elements for the
whole block waiting to be read, none cleared yet)."""
_HEAD = 1 << 16
"""Bytes to look for the root element's start tag in: not found there, ElementTree reads the sheet."""
_ROOT = re.compile(r'\A\s*(?:<\?xml\s(?P<decl>[^>]*)\?>)?\s*<worksheet(?P<attrs>\s[^>]*)?>')
_ENCODING = re.compile(r'encoding\s*=\s*["\']([^"\']*)["\']')
_SHEET_DATA = re.compile(r'<sheetData\s*(/?)>')
_ROW = re.compile(r'\s*<row((?:\s+[\w:]+="[^"<&]*")*)\s*(/?)>')
_ROW_ATTR = re.compile(r'\s(r|hidden)="([^"]*)"')
_CELL = (r'\s*<c(?: r="([A-Z]{1,3}[0-9]+)")?(?: s="([0-9]+)")?(?: t="([a-zA-Z]+)")?\s*'
         r'(?:/>|>(<f(?:\s[^>]*)?(?:/>|>[^<]*</f>))?(?:<v>([^<\r]*)</v>|<v/>)?'
         r'(?:<is><t(?: xml:space="preserve")?>([^<\r]*)</t></is>)?</c>)')
_CELLS = re.compile(f"{_CELL}|(\\S)")
"""A cell, or else any other character but white space: the last group says the row holds something else."""
_END = re.compile(r'\s*</sheetData>')
_NUMBER = {"", "n"}
"""The ``t`` of a number cell (absent, or written)."""
_ENTITY = re.compile(r'&(lt|gt|amp|quot|apos);')
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


class _Unknown(Exception):
    """What the regular expressions do not read: ElementTree reads the sheet from there on."""


@dataclass(frozen=True)
class Values:
    """What turns a cell's stored text into its value: the shared strings, and the styles that show a date."""

    strings: list[str]
    dates: dict[str, str]
    from_1904: bool

    def of(self, kind: str | None, text: str | None, style: str) -> str:
        """A value cell's text ("" for none) from its type ``t``, its ``<v>`` text and its style ``s``."""
        if kind is None or kind == "n":  # a number, by far the commonest: as written
            value = text or ""
            if self.dates and value and (shown := self.dates.get(style)):
                value = date_text(value, shown, self.from_1904)
            return value
        if text is None:
            return ""
        if kind == "s":
            try:
                return self.strings[int(text)]
            except (ValueError, IndexError):
                return ""
        if kind == "b":
            return "TRUE" if text.strip() == "1" else "FALSE"
        return text


def sheet_rows(stream: IO[bytes], values: Values) -> Iterator[Row]:
    """Every row element of the sheet ``stream`` holds, in order (see :data:`Row`)."""
    head = b""
    while True:  # as far as the root element's start tag
        block = stream.read(_BLOCK)
        head += block
        utf16 = head[:2] in (b"\xff\xfe", b"\xfe\xff")
        root = None if utf16 else _ROOT.match(head.decode("utf-8-sig", errors="replace"))
        if root is not None or utf16 or not block or len(head) > _HEAD:
            break
    encoding = _ENCODING.search(root.group("decl") or "") if root else None
    if root is None or (encoding is not None and encoding.group(1).lower().replace("_", "-") != "utf-8"):
        yield from _element_rows(chain([head], iter(lambda: stream.read(_BLOCK), b"")), values)
        return
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    blocks = _decoded(decoder, head, stream)
    buffer, pos = next(blocks), root.end()
    while (start := _SHEET_DATA.search(buffer, pos)) is None:
        more = next(blocks, None)
        if more is None:  # no rows, or a damaged sheet: ElementTree tells which
            yield from _element_rows([buffer], values)
            return
        buffer += more
    if start.group(1):  # <sheetData/>: no rows
        for _ in blocks:
            pass
        return
    pos = start.end()
    while True:
        row = _ROW.match(buffer, pos)
        if row is not None and row.group(2):  # <row .../>: no cells
            yield _row(row.group(1), [])
            pos = row.end()
            continue
        if row is None and _END.match(buffer, pos):
            for _ in blocks:  # read to the end all the same: the zip checks the part's CRC there
                pass
            return
        end = buffer.find("</row>", row.end()) if row is not None else -1
        if end < 0 and (row is not None or buffer.find(">", pos) < 0):  # cut off by the block's end
            more = next(blocks, None)
            if more is not None:
                buffer, pos = buffer[pos:] + more, 0
                continue
        if row is None or end < 0:
            break  # not a row as the fast reading knows one
        try:
            cells = _cells(buffer, row.end(), end, values)
        except _Unknown:
            break
        yield _row(row.group(1), cells)
        pos = end + len("</row>")
    # ElementTree reads on from here, inside the sheet's root element and sheetData as they were
    rest = [f"<worksheet{root.group('attrs') or ''}><sheetData>", buffer[pos:]]
    yield from _element_rows(chain(rest, blocks), values)


def _decoded(decoder: Any, head: bytes, stream: IO[bytes]) -> Iterator[str]:
    yield decoder.decode(head)
    while block := stream.read(_BLOCK):
        yield decoder.decode(block)
    if tail := decoder.decode(b"", final=True):
        yield tail


def _row(attrs: str, cells: list[tuple[str, str]]) -> Row:
    found = dict(_ROW_ATTR.findall(attrs))
    return found.get("r"), found.get("hidden") in ("1", "true"), cells


def _cells(buffer: str, pos: int, end: int, values: Values) -> list[tuple[str, str]]:
    """The cells of the row between ``pos`` and ``end``; :class:`_Unknown` unless every one is of a known shape."""
    found = _CELLS.findall(buffer, pos, end)  # absent groups are ""
    if not found:
        return []
    refs, styles, kinds, formulas, texts, _, others = zip(*found)
    if any(others):
        raise _Unknown
    escaped = buffer.find("&", pos, end) >= 0
    dates = values.dates
    if not escaped and not any(formulas) and set(kinds) <= _NUMBER and not (dates and dates.keys() & set(styles)):
        return list(zip(refs, texts))  # numbers only, none shown as a date: each cell's value is its <v> text
    cells = []
    for ref, style, kind, formula, text, inline, _ in found:
        if escaped:
            text, inline = _unescape(text), _unescape(inline)
        if not kind or kind == "n":
            value = values.of(None, text, style) if dates and text else text
        elif kind == "inlineStr":  # its text is in <is>, not <v>
            value = inline
        else:
            value = values.of(kind, text or None, style)
        if not value and formula:
            value = UNCOMPUTED
        cells.append((ref, value))
    return cells


def _unescape(text: str) -> str:
    if "&" not in text:
        return text
    if "&" in _ENTITY.sub("", text):  # a character reference, or an entity XML does not define
        raise _Unknown
    return _ENTITY.sub(lambda m: _ENTITIES[m.group(1)], text)


def _element_rows(chunks: Iterable[str | bytes], values: Values) -> Iterator[Row]:
    """The rows of the XML fed in ``chunks``, read with ElementTree: in any namespace, of any shape."""
    parser: XMLPullParser[Any] = XMLPullParser(events=("end",))
    for chunk in chunks:
        for at in range(0, len(chunk), _FEED):  # small feeds: each row is read, and cleared, soon after it ends
            parser.feed(chunk[at:at + _FEED])
            yield from _ended_rows(parser, values)
    parser.close()
    yield from _ended_rows(parser, values)


def _ended_rows(parser: XMLPullParser[Any], values: Values) -> Iterator[Row]:
    """The rows among the elements ``parser`` has read to their end since it was last asked."""
    events: Iterator[Any] = parser.read_events()  # ("end", element) pairs
    dates = values.dates
    for _, el in events:
        tag = el.tag
        if not tag.endswith("row") or local(tag) != "row":  # most elements are cells: one cheap test
            continue
        ns = tag[:-3]
        cell_tag, value_tag, formula_tag = ns + "c", ns + "v", ns + "f"
        cells = []
        for c in el:
            if c.tag != cell_tag:
                continue
            kind = c.get("t")
            if kind is None and not dates:  # a number, by far the commonest: as written
                v = c.find(value_tag)
                value = "" if v is None else v.text or ""
            elif kind == "inlineStr":
                value = "".join(t.text or "" for t in c.iter() if local(t.tag) == "t")
            else:
                v = c.find(value_tag)
                value = values.of(kind, None if v is None else v.text, c.get("s", ""))
            if not value and c.find(formula_tag) is not None:
                value = UNCOMPUTED  # no value stored: read as missing, it would be imputed unseen
            cells.append((c.get("r") or "", value))
        row = el.get("r"), el.get("hidden") in ("1", "true"), cells
        el.clear()
        yield row


def local(tag: str) -> str:
    """An element's name without its namespace."""
    return tag.rsplit("}", 1)[-1]


def date_text(serial: str, shown: str, from_1904: bool) -> str:
    """A serial day number as ISO 8601 text, as the format ``shown`` shows it; the number itself where it is not
    one (negative, or not finite)."""
    try:
        days = float(serial)
        if not 0 <= days < 2_958_466:  # up to 9999-12-31
            return serial
        if not from_1904 and days >= 60:
            days -= 1  # Excel counts a 29 February 1900, which never was
        moment = datetime(1904, 1, 1) if from_1904 else datetime(1899, 12, 31)
        moment += timedelta(seconds=round(days * 86_400))
    except (ValueError, OverflowError):  # not a number, or past the year 9999
        return serial
    if shown == "date":
        return moment.date().isoformat()
    return moment.time().isoformat() if shown == "time" else moment.isoformat(sep=" ")
