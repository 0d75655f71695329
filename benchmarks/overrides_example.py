"""Officers' decisions on real applicants, and what ``loanscore overrides`` says of them: docs/monitoring.md's example.

Usage::

    python benchmarks/overrides_example.py [--data CSV] [--model DIR] [--rows 4800] [--seed 0]
                                           [--plot results/overrides_example.svg] [--keep decisions.csv]

The applicants and their outcomes are real (``--rows`` development rows at
random, or every row of ``--data``, such as a CV fold's test rows scored by
that fold's model); the lender's decisions are simulated, as the data has
none: each applicant gets one of six branches at random, and the officers
follow the model (at its threshold) except that they approve 5 % of the
applicants it declines (25 % at branch B06), taken from the less risky half
of the declined, and decline 2 % of those it approves at random, each
override with a reason drawn at random (one in 20 with none). Outcomes are
kept for the approved and left blank for the declined, who got no loan. Runs
``loanscore overrides decisions.csv --by branch --reason override_reason
--limit 0.10`` and prints what it prints. Needs the runtime only, and the
data.
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

from loanscore.runtime.scorer import Scorer  # noqa: E402

LOANSCORE = str(Path(sys.executable).parent / "loanscore")  # the console script, as a user runs it
BRANCHES = [f"B0{k}" for k in range(1, 7)]
LOW_SIDE, LOW_SIDE_B06, HIGH_SIDE = 0.05, 0.25, 0.02
LOW_REASONS = ["strong collateral", "long-standing customer", "branch manager's decision"]
HIGH_REASONS = ["incomplete documents", "policy exception"]


def decide(rows: list[dict[str, str]], scorer: Scorer, label: str, rng: random.Random) -> list[dict[str, str]]:
    """``rows`` with a branch, the lender's final decision and the outcome only where the lender approved."""
    p = scorer.score_columns({c: [r[c] for r in rows] for c in scorer.schema.input_names}).probability
    declined = sorted((k for k in range(len(rows)) if p[k] >= scorer.bands.decline_from), key=lambda k: p[k])
    borderline = set(declined[: len(declined) // 2])
    out = []
    for k, row in enumerate(rows):
        branch = rng.choice(BRANCHES)
        if p[k] >= scorer.bands.decline_from:
            rate = LOW_SIDE_B06 if branch == "B06" else LOW_SIDE
            approved = k in borderline and rng.random() < 2 * rate  # half the declined are borderline
        else:
            approved = rng.random() >= HIGH_SIDE
        overridden = approved == (p[k] >= scorer.bands.decline_from)
        why = rng.choice(LOW_REASONS if approved else HIGH_REASONS) if overridden and rng.random() >= 0.05 else ""
        out.append({**row, "branch": branch, "final_decision": "approved" if approved else "declined",
                    "override_reason": why, label: row[label] if approved else ""})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="CSV of applicants with outcomes (default: --rows development rows)")
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    parser.add_argument("--rows", type=int, default=4800)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", type=Path, help="write the review's picture here (SVG)")
    parser.add_argument("--keep", type=Path, help="also keep the decisions file here")
    args = parser.parse_args()
    path = Path(args.data) if args.data else find_data(None)
    with (gzip.open(path, "rt", newline="") if path.suffix == ".gz" else open(path, newline="")) as stream:
        reader = csv.DictReader(stream)
        header, rows = list(reader.fieldnames or []), list(reader)
    rng = random.Random(args.seed)
    if not args.data:
        rows = rng.sample(rows, args.rows)
    scorer = Scorer.load(args.model)
    decided = decide(rows, scorer, scorer.schema.label, rng)
    with tempfile.TemporaryDirectory() as folder:
        target = args.keep.resolve() if args.keep else Path(folder) / "decisions.csv"
        with open(target, "w", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=[*header, "branch", "final_decision", "override_reason"])
            writer.writeheader()
            writer.writerows(decided)
        command = [LOANSCORE, "overrides", target.name, "--by", "branch", "--reason", "override_reason", "--limit",
                   "0.10", "--quiet"]
        command += ["--model", str(Path(args.model).resolve())] if args.model else []
        command += ["--plot", str(args.plot.resolve())] if args.plot else []
        print("$ loanscore", " ".join(command[1:]), flush=True)
        status = subprocess.run(command, cwd=target.parent, stderr=subprocess.STDOUT).returncode
    print(f"exit status {status}")


if __name__ == "__main__":
    main()
