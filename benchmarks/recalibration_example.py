"""A lender whose clients default less often, and what ``loanscore recalibrate`` does: docs/strategy.md's example.

Usage::

    python benchmarks/recalibration_example.py [--data DEV.csv] [--rows 6000] [--factor 0.5] [--seed 1]

Takes ``--rows`` development rows at random (seeded) and replaces their
outcomes with draws at ``--factor`` times the shipped model's P(default): the
applicants' fields are real, their outcomes are those of a portfolio that
defaults ``--factor`` times as often. It writes the first half as
``lender_fit.csv`` and the second as ``lender_test.csv`` in a temporary
folder and runs what a credit-risk team would: ``loanscore recalibrate
lender_fit.csv``, then ``loanscore backtest lender_test.csv`` with the
shipped and the recalibrated model, then ``loanscore compare lender_test.csv
--challenger recalibrated``, printing what they print. Expected: the
shipped model's calibration is an alert on the test half, the recalibrated
model's passes, and the ranking is the same.

Needs the [train] extra (recalibrate) and the development data.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import find_data  # noqa: E402 - finds the development data as every benchmark does

from loanscore.runtime import Scorer  # noqa: E402

LOANSCORE = str(Path(sys.executable).parent / "loanscore")  # the console script, as a user runs it


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="development CSV (default: $LOANSCORE_DEV_DATA or ../shared/data/...)")
    parser.add_argument("--rows", type=int, default=6000)
    parser.add_argument("--factor", type=float, default=0.5, help="the lender's default rate over the model's")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    frame = pd.read_csv(find_data(args.data)).sample(args.rows, random_state=args.seed)
    scorer = Scorer.load(None)
    p = scorer.score_columns({c: frame[c].to_numpy() for c in scorer.schema.input_names}).probability
    frame[scorer.schema.label] = (np.random.default_rng(args.seed + 2).random(len(p)) < args.factor * p).astype(int)
    with tempfile.TemporaryDirectory() as tmp:
        fit, test, model = Path(tmp, "lender_fit.csv"), Path(tmp, "lender_test.csv"), Path(tmp, "recalibrated")
        half = len(frame) // 2
        frame.iloc[:half].to_csv(fit, index=False)
        frame.iloc[half:].to_csv(test, index=False)
        for command in (["recalibrate", fit.name, "--out", model.name],
                        ["backtest", test.name], ["backtest", test.name, "--model", model.name],
                        ["compare", test.name, "--challenger", model.name, "-q"]):
            print(f"\n$ loanscore {' '.join(command)}", flush=True)
            subprocess.run([LOANSCORE, *command], cwd=tmp, check=False)


if __name__ == "__main__":
    main()
