"""The fast reading of a sheet's rows gives what ElementTree gives, on every shape of cell and row, whatever the
block boundaries: it is only faster."""

from __future__ import annotations

import io
import random

import pytest

import loanscore.runtime.sheet_rows as sheet_rows_module
from loanscore.runtime.sheet_rows import UNCOMPUTED, Values, _element_rows, _row, sheet_rows

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
VALUES = Values(strings=["ID", "a & b", " padded ", ""], dates={"3": "date", "4": "datetime"}, from_1904=False)


def _cell(rng: random.Random, ref: str, odd: float) -> str:
    """One cell, of a shape picked at random among those Excel, LibreOffice and other programs write; with
    probability ``odd``, of one the fast reading leaves to ElementTree."""
    r = f' r="{ref}"' if rng.random() > 0.1 else ""
    if rng.random() < odd:
        return rng.choice([
            f'<c{r} t="inlineStr"><is><r><rPr><b/></rPr><t>rich</t></r><r><t> text</t></r></is></c>',
            f'<c{r} t="inlineStr"><is><t>line&#10;break</t></is></c>',
            f"<c r='{ref}'><v>7</v></c>",  # single quotes
            f'<c t="n" r="{ref}" s="1"><v>8</v></c>',  # another attribute order
            f'<c{r} s="1" cm="1"><v>9</v></c>',  # an attribute the fast reading does not know
            f'<c{r}>\n  <v>10</v>\n</c>',
            f'<c{r} s="1"><v>1</v></c><!-- a note -->',
        ])
    return rng.choice([
        f'<c{r}><v>{rng.randint(-9, 10**6)}</v></c>',
        f'<c{r} s="1"><v>{rng.random() * 1000:.6g}</v></c>',
        f'<c{r} s="3"><v>{rng.randint(1, 60000)}</v></c>',  # shown as a date
        f'<c{r} s="4"><v>{rng.random() * 50000:.5f}</v></c>',  # a date and time
        f'<c{r} t="s"><v>{rng.randint(0, 5)}</v></c>',  # an index past the table too
        f'<c{r} s="2" t="s"><v>1</v></c>',
        f'<c{r} t="b"><v>{rng.choice("01")}</v></c>',
        f'<c{r} t="e"><v>#N/A</v></c>',
        f'<c{r} t="str"><f>A1&amp;B1</f><v>x &lt; y</v></c>',
        f'<c{r}><f>SUM(A1:A3)</f><v>6</v></c>',
        f'<c{r}><f>SUM(A1:A3)</f></c>',  # never computed
        f'<c{r} t="str"><f t="shared" si="0"/><v></v></c>',
        f'<c{r} t="inlineStr"><is><t>Smith &amp; Sons</t></is></c>',
        f'<c{r} t="inlineStr"><is><t xml:space="preserve"> spaced </t></is></c>',
        f'<c{r} s="1"/>',  # formatted, empty
        f'<c{r} s="1"></c>',
        f'<c{r} s="1" t="n"><v/></c>',
        f'<c{r} t="inlineStr"></c>',
        f'<c{r} t="s"><v>3</v></c>',  # an empty shared string
    ])


def _sheet(rng: random.Random, rows: int, prefix: str = "", odd: float = 0.0) -> bytes:
    """A worksheet's XML of ``rows`` rows, each of a shape picked at random (see :func:`_cell` for ``odd``)."""
    p = f"{prefix}:" if prefix else ""
    out = []
    for n in range(1, rows + 1):
        attrs = rng.choice([f' r="{n}"', f' r="{n}" spans="1:5"', f' r="{n}" hidden="1"', "",
                            f' r="{n}" x14ac:dyDescent="0.25"', f' r="{n}" hidden="true" customHeight="1" ht="0"'])
        columns = rng.sample("ABCDEFGH", rng.randint(0, 5))
        cells = [_cell(rng, f"{c}{n}", odd) for c in sorted(columns)]
        if prefix:
            cells = [c.replace("<c", f"<{p}c").replace("</c>", f"</{p}c>").replace("<v", f"<{p}v")
                     .replace("</v>", f"</{p}v>").replace("<f", f"<{p}f").replace("</f>", f"</{p}f>") for c in cells]
        gap = rng.choice(["", "", "\n  ", "\r\n"])
        out.append(f"{gap}<{p}row{attrs}/>" if not cells and rng.random() < 0.5 else
                   f"{gap}<{p}row{attrs}>{rng.choice(['', ' ']).join(cells)}</{p}row>")
    xmlns = f'xmlns{":" + prefix if prefix else ""}="{NS}"'
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
            f'<{p}worksheet {xmlns} xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac">'
            f'<{p}dimension ref="A1:H{rows}"/><{p}sheetData>{"".join(out)}</{p}sheetData>'
            f'<{p}pageMargins left="0.7"/></{p}worksheet>').encode("utf-8")


def _by_elementtree(data: bytes) -> list:
    return list(_element_rows([data], VALUES))


@pytest.mark.parametrize("block", [1 << 18, 97, 7])
@pytest.mark.parametrize("seed", range(40))
def test_the_fast_reading_gives_what_elementtree_gives(seed, block, monkeypatch) -> None:
    """Sheets of the shapes it reads, then with now and then a cell it leaves to ElementTree (from there on), and
    in a prefixed namespace (ElementTree throughout); the blocks cut rows, cells and characters anywhere."""
    rng = random.Random(seed)
    kind = seed % 4
    data = _sheet(rng, rng.randint(0, 60), prefix="x" if kind == 3 else "", odd=0.01 if kind == 2 else 0.0)
    monkeypatch.setattr(sheet_rows_module, "_BLOCK", block)
    fast = []
    monkeypatch.setattr(sheet_rows_module, "_row", lambda *args: fast.append(1) or _row(*args))
    assert list(sheet_rows(io.BytesIO(data), VALUES)) == _by_elementtree(data)
    if kind < 2:
        assert len(fast) == data.count(b"<row"), "every row was read by the fast reading"


def test_the_values_are_excels() -> None:
    """Spot checks of what both readings give: a date as ISO text, a shared string, a boolean, an entity, a formula
    with no stored result, a rich-text cell's runs joined, and a hidden row."""
    data = (f'<worksheet xmlns="{NS}"><sheetData><row r="2" hidden="1"><c r="A2" s="3"><v>46363</v></c>'
            '<c r="B2" t="s"><v>1</v></c><c r="C2" t="b"><v>1</v></c><c r="D2" t="inlineStr"><is><t>x &amp; y</t>'
            '</is></c><c r="E2"><f>A1</f></c><c r="F2" t="inlineStr"><is><r><t>ri</t></r><r><t>ch</t></r></is></c>'
            '</row><row><c><v>1</v></c></row></sheetData></worksheet>').encode()
    expected = [("2", True, [("A2", "2026-12-07"), ("B2", "a & b"), ("C2", "TRUE"), ("D2", "x & y"),
                             ("E2", UNCOMPUTED), ("F2", "rich")]),
                (None, False, [("", "1")])]
    assert list(sheet_rows(io.BytesIO(data), VALUES)) == expected == _by_elementtree(data)


def test_a_sheet_in_another_encoding_or_with_a_byte_order_mark_is_read_by_elementtree() -> None:
    body = f'<worksheet xmlns="{NS}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Zoë</t></is></c></row>' \
           '</sheetData></worksheet>'
    for data in (b"\xef\xbb\xbf" + body.encode(), ('<?xml version="1.0" encoding="UTF-16"?>' + body).encode("utf-16"),
                 ('<?xml version="1.0" encoding="ISO-8859-1"?>' + body).encode("latin-1")):
        assert list(sheet_rows(io.BytesIO(data), VALUES)) == [("1", False, [("A1", "Zoë")])] == _by_elementtree(data)


def test_a_sheet_cut_short_is_an_error_as_elementtree_finds_it() -> None:
    from xml.etree.ElementTree import ParseError

    data = _sheet(random.Random(1), 20)
    for cut in (data[: data.index(b"<sheetData")], data[: data.index(b"</sheetData>") - 30]):
        with pytest.raises(ParseError):
            list(sheet_rows(io.BytesIO(cut), VALUES))
