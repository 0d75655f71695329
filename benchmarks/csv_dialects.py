"""How fast ``loanscore score`` reads Excel's CSV dialects, workbooks and JSON Lines, against the comma file, in the
same run.

Usage::

    python benchmarks/csv_dialects.py [--data DEV.csv] [--repeats 3]

Writes the development rows four ways in a temporary folder: with commas (the
reference), with semicolons, with semicolons and a decimal comma in every
amount (``2682,0``, as Excel writes CSV where the comma is the decimal mark),
and with tabs; as JSON Lines (numbers as numbers, as a system's API writes
them); and, where openpyxl is installed (the ``[test]`` extra), as an
Excel workbook (.xlsx, numbers as numbers), and the same with a comment in
its sheet, which leaves the sheet to ElementTree rather than the fast reading
of the cells spreadsheet programs write. Then runs ``loanscore score FILE -o OUT`` on each, the output
in the input's dialect (the default), ``--repeats`` times in turn, and prints
the median of the rows per second the command reports (reading, scoring and
writing; start-up not included) and of the whole command's, each with its
ratio to the comma file's. A
semicolon or tab file takes the bulk number parser as a comma file does; in a
semicolon file, so does a decimal comma where every comma of the chunk is one.

Needs the runtime only, and the development data.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import find_data  # noqa: E402 - finds the development data as every benchmark does

LOANSCORE = str(Path(sys.executable).parent / "loanscore")  # the console script, as a user runs it
AMOUNTS = ("LIMIT_BAL", "BILL_AMT", "PAY_AMT")


def dialects(header: list[str], rows: list[list[str]]) -> dict[str, str]:
    """The file text of each dialect, by name."""
    amounts = [j for j, name in enumerate(header) if name.startswith(AMOUNTS)]

    def decimal_comma(row: list[str]) -> list[str]:
        return [f"{v},0" if j in amounts and v else v for j, v in enumerate(row)]

    def text(sep: str, body: list[list[str]]) -> str:
        return "".join(sep.join(r) + "\n" for r in [header, *body])

    return {"comma": text(",", rows), "semicolon": text(";", rows),
            "semicolon, decimal commas": text(";", [decimal_comma(r) for r in rows]), "tab": text("\t", rows)}


def commented(book: Path, out: Path) -> None:
    """``book`` with an XML comment before its first row: the fast reading of a sheet leaves such a sheet, and any
    it does not know, to ElementTree, whose speed this measures."""
    import zipfile

    with zipfile.ZipFile(book) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.startswith("xl/worksheets/"):
                data = data.replace(b"<sheetData>", b"<sheetData><!-- read by ElementTree -->", 1)
            copy.writestr(info, data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="development CSV (default: $LOANSCORE_DEV_DATA or ../shared/data/...)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    path = find_data(args.data)
    with (gzip.open(path, "rt", newline="") if path.suffix == ".gz" else open(path, newline="")) as stream:
        header, *rows = list(csv.reader(stream))
    rates: dict[str, list[float]] = {}
    walls: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        files = {}
        for k, (name, content) in enumerate(dialects(header, rows).items()):
            files[name] = Path(folder) / f"dialect{k}.csv"
            files[name].write_text(content)
        files["JSON Lines"] = Path(folder) / "applicants.jsonl"
        files["JSON Lines"].write_text("".join(json.dumps(dict(zip(header, map(json.loads, r)))) + "\n" for r in rows))
        try:
            import openpyxl
        except ImportError:
            print("openpyxl is not installed: no workbook measured (pip install '.[test]')")
        else:
            book = openpyxl.Workbook(write_only=True)
            sheet = book.create_sheet("applicants")
            sheet.append(header)
            for r in rows:
                sheet.append([float(v) if "." in v else int(v) for v in r])
            files["Excel workbook (.xlsx)"] = Path(folder) / "applicants.xlsx"
            book.save(files["Excel workbook (.xlsx)"])
            files["workbook, by ElementTree"] = Path(folder) / "commented.xlsx"
            commented(files["Excel workbook (.xlsx)"], files["workbook, by ElementTree"])
        for _ in range(args.repeats):  # in turn, so that a busy moment slows every dialect alike
            for name, file in files.items():
                start = time.perf_counter()
                done = subprocess.run([LOANSCORE, "score", str(file), "-o", str(Path(folder) / "out.csv")],
                                      capture_output=True, text=True)
                walls.setdefault(name, []).append(len(rows) / (time.perf_counter() - start))
                reported = re.search(r"([\d,]+) rows/s\)", done.stderr)
                if done.returncode != 0 or reported is None:
                    sys.exit(f"loanscore score ({name}) exited {done.returncode}: {done.stderr[-500:]}")
                rates.setdefault(name, []).append(float(reported.group(1).replace(",", "")))
    print(f"loanscore score, {len(rows):,} rows, medians of {args.repeats}")
    print(f"  {'':<26} {'rows/s (as reported)':>22}  {'whole command':>22}")
    for name in rates:
        rate, wall = statistics.median(rates[name]), statistics.median(walls[name])
        print(f"  {name:<26} {rate:>9,.0f} {rate / statistics.median(rates['comma']):>5.2f}x comma  "
              f"{wall:>9,.0f} {wall / statistics.median(walls['comma']):>5.2f}x comma")


if __name__ == "__main__":
    main()
