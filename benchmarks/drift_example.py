"""A population that has moved, and what ``loanscore monitor`` says of it: docs/monitoring.md's example, reproducible.

Usage::

    python benchmarks/drift_example.py [--data DEV.csv] [--rows 5000] [--seed 0] [--months 1] [--grade]
                                       [--plot results/monitor_drift.svg] [--out drift.json]

Takes ``--rows`` development rows at random (seeded) and moves them the way a
changed market or a changed form would: every credit line halved, every
latest repayment status one step behind (paid in full becomes revolving
credit, revolving credit one month late, k months late k + 1; "no
consumption" stays), and three ages typed as 500. It writes that file as
``applicants_drifted.csv`` in a temporary folder and runs the command a
credit-risk team would, ``loanscore monitor applicants_drifted.csv --plot …``,
against the shipped model's training population, printing what it prints.
Expected: exit status 4 (a shift) naming LIMIT_BAL, PAY_0 and the score; the
three ages rejected with row, field and reason; every other field stable.

``--months N`` (N > 1) makes N files of ``--rows`` different rows each,
``applicants_month1.csv`` … , in which a growing share of the rows has
moved (none in the first, all in the last, evenly between), as when a new
channel takes over, and runs ``loanscore monitor`` on all of them in order:
the trend a monthly review would show.

Needs the runtime only, and the development data.
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

MOVED_AGES = (10, 20, 30)
LOANSCORE = str(Path(sys.executable).parent / "loanscore")  # the console script, as a user runs it


def drift(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The rows with halved credit lines, the latest month one step behind, and three impossible ages."""
    out = []
    for i, row in enumerate(rows):
        late = int(float(row["PAY_0"]))
        moved = dict(row, LIMIT_BAL=f"{float(row['LIMIT_BAL']) / 2:g}", PAY_0=str(late if late < -1 else min(late + 1, 9)))
        if i in MOVED_AGES:
            moved["AGE"] = "500"
        out.append(moved)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="development CSV (default: $LOANSCORE_DEV_DATA or ../shared/data/...)")
    parser.add_argument("--rows", type=int, default=5000, help="rows per file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--months", type=int, default=1, help="several files, the drift growing file by file")
    parser.add_argument("--plot", type=Path, help="write monitor's picture here (SVG)")
    parser.add_argument("--out", type=Path, help="write monitor's JSON report here")
    parser.add_argument("--grade", action="store_true", help="compare the rating grades too (monitor --grade)")
    args = parser.parse_args()

    path = find_data(args.data)
    with (gzip.open(path, "rt", newline="") if path.suffix == ".gz" else open(path, newline="")) as stream:
        reader = csv.DictReader(stream)
        header, rows = list(reader.fieldnames or []), list(reader)
    drawn = random.Random(args.seed).sample(rows, args.rows * args.months)
    if args.months == 1:
        files = {"applicants_drifted.csv": drift(drawn)}
    else:
        files = {}
        for k in range(args.months):
            month = drawn[k * args.rows:(k + 1) * args.rows]
            moved = round(args.rows * k / (args.months - 1))
            files[f"applicants_month{k + 1}.csv"] = drift(month[:moved]) + month[moved:]
    with tempfile.TemporaryDirectory() as folder:
        for name, content in files.items():
            with open(Path(folder) / name, "w", newline="") as stream:
                writer = csv.DictWriter(stream, fieldnames=header)
                writer.writeheader()
                writer.writerows(content)
        command = [LOANSCORE, "monitor", *files, "--quiet", *(["--grade"] if args.grade else [])]
        command += ["--plot", str(args.plot.resolve())] if args.plot else []
        command += ["-o", str(args.out.resolve())] if args.out else []
        print("$ loanscore", " ".join(command[1:]), flush=True)
        status = subprocess.run(command, cwd=folder, stderr=subprocess.STDOUT).returncode
    print(f"exit status {status}")


if __name__ == "__main__":
    main()
