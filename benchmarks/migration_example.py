"""A book scored twice, and what ``loanscore migration`` says of it: docs/strategy.md's example, reproducible.

Usage::

    python benchmarks/migration_example.py [--data DEV.csv] [--rows 4800] [--seed 0] [--notches 3]
                                           [--plot results/migration_example.svg]

Takes ``--rows`` development rows at random (seeded) as the book at the end of
one quarter, and makes the next quarter's: the first 200 borrowers gone, for
30 % of the others the latest two months' repayment status one step later
(paid in full becomes revolving credit, k months late k + 1), one age typed as
500 and one borrower listed twice. Writes both in a temporary folder and runs
``loanscore migration book_q2.csv book_q3.csv --notches N``, printing what it
prints. Needs the runtime only, and the development data.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import random
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import find_data  # noqa: E402 - finds the development data as every benchmark does

LOANSCORE = str(Path(sys.executable).parent / "loanscore")  # the console script, as a user runs it
GONE = 200


def later(month: str) -> str:
    """A repayment status one step later: paid in full -> revolving credit -> one month late -> ...; "no
    consumption" (-2) stays."""
    status = int(float(month))
    return month if status < -1 else str(min(max(status, -1) + 1, 8))


def next_quarter(rows: list[dict[str, str]], rng: random.Random) -> list[dict[str, str]]:
    out = []
    for row in rows[GONE:]:
        row = dict(row)
        if rng.random() < 0.3:
            row["PAY_0"], row["PAY_2"] = later(row["PAY_0"]), later(row["PAY_2"])
        out.append(row)
    out[5]["AGE"] = "500"
    out.append(dict(out[10]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="development CSV (default: $LOANSCORE_DEV_DATA or ../shared/data/...)")
    parser.add_argument("--rows", type=int, default=4800)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--notches", type=int, default=3)
    parser.add_argument("--plot", type=Path, help="write migration's picture here (SVG)")
    args = parser.parse_args()
    path = find_data(args.data)
    with (gzip.open(path, "rt", newline="") if path.suffix == ".gz" else open(path, newline="")) as stream:
        reader = csv.DictReader(stream)
        header, rows = list(reader.fieldnames or []), list(reader)
    rng = random.Random(args.seed)
    book = rng.sample(rows, args.rows)
    with tempfile.TemporaryDirectory() as folder:
        for name, content in {"book_q2.csv": book, "book_q3.csv": next_quarter(book, rng)}.items():
            with open(Path(folder) / name, "w", newline="") as stream:
                writer = csv.DictWriter(stream, fieldnames=header)
                writer.writeheader()
                writer.writerows(content)
        command = [LOANSCORE, "migration", "book_q2.csv", "book_q3.csv", "--notches", str(args.notches), "--quiet"]
        command += ["--plot", str(args.plot.resolve())] if args.plot else []
        print("$ loanscore", " ".join(command[1:]), flush=True)
        status = subprocess.run(command, cwd=folder, stderr=subprocess.STDOUT).returncode
    print(f"exit status {status}")


if __name__ == "__main__":
    main()
