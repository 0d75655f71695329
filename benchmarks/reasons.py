"""Reason codes on real applicants: which reasons the model gives, how often, and at what cost.

    python benchmarks/reasons.py [DATA.csv[.gz]] [--model MODEL_DIR]

DATA defaults to the development data ($LOANSCORE_DEV_DATA or ../shared/data).
Prints the typical applicant the effects are measured from, then per field or
history channel: how often it is a declined applicant's first reason, how
often among their first three, and its mean effect; where the model words its
reasons, how often each statement is a declined applicant's first; then how
close the effects come to adding up, and the rows/s of scoring with reasons
next to scoring without (median of 3, same process). Runtime-only install
suffices.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from loanscore.runtime import Scorer
from loanscore.runtime.reasons import MIN_EFFECT

ROOT = Path(__file__).resolve().parents[1]
DEV_DATA = Path(os.environ.get("LOANSCORE_DEV_DATA", ROOT.parent / "shared" / "data" / "uci_credit_card_dev.csv.gz"))


def read_columns(path: Path) -> dict[str, list[str]]:
    with (gzip.open(path, "rt", newline="") if path.suffix == ".gz" else open(path, newline="")) as fh:
        rows = list(csv.reader(fh))
    return {name: [r[j] for r in rows[1:]] for j, name in enumerate(rows[0])}


def seconds(fn) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="?", type=Path, default=DEV_DATA)
    ap.add_argument("--model", type=Path, default=None)
    args = ap.parse_args()
    if not args.data.is_file():
        sys.exit(f"{args.data} not found: give a CSV of applicants, or set LOANSCORE_DEV_DATA.")

    scorer = Scorer.load(args.model)
    explainer = scorer.explainer
    columns = read_columns(args.data)
    typical = explainer.typical
    p_typical = explainer.typical_probability
    print(f"typical applicant (P(default) {p_typical:.4f}): "
          + ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in typical.items()))

    names = [name for name, _ in explainer.groups]
    checked, p = scorer.check_and_run(columns, len(next(iter(columns.values()))))
    all_effects = explainer.effects(checked.feeds, p)
    scored = np.array([i not in checked.errors for i in range(len(p))])
    effects = all_effects[scored]
    declined = (scorer.bands.decide(p) == "decline")[scored]
    reasons = [r for r, keep in zip(explainer.pick(all_effects, 3, feeds=checked.feeds), scored) if keep]
    told = [reasons[i] for i in np.flatnonzero(declined)]
    first = effects[declined].argmax(axis=1)
    print(f"\n{scored.sum():,} rows scored, {declined.sum():,} declined at the threshold {scorer.threshold:.4f}")
    print(f"{'field or channel':<20} {'first reason of declined':>25} {'among the first 3':>18} {'mean effect, declined':>22}")
    for j, name in sorted(enumerate(names), key=lambda t: -np.sum(first == t[0])):
        top = np.sum((first == j) & (effects[declined, j] >= MIN_EFFECT))
        among = sum(any(r.field == name for r in why) for why in told) / max(len(told), 1)
        print(f"{name:<20} {top:>10,} ({top / max(declined.sum(), 1):6.1%})       {among:>14.1%}"
              f"    {effects[declined, j].mean():>+18.4f}")
    print(f"declined applicants with at least one reason: {np.mean([bool(why) for why in told]):.1%}")
    if explainer.statements:
        stated = [why[0].statement for why in told if why]
        print(f"\n{'first reason as stated to a declined applicant':<48} {'applicants':>16}")
        for text in sorted(set(stated), key=lambda t: -stated.count(t)):
            print(f"{text:<48} {stated.count(text):>7,} ({stated.count(text) / len(told):6.1%})")
        wording = seconds(lambda: explainer.wordings(checked.feeds))
        print(f"wording the reasons of {len(p):,} rows: {wording * 1000:.0f} ms (median of 3)")
    gap = p[scored] - p_typical
    print(f"additivity: median sum of effects {np.median(effects.sum(axis=1)):.4f} against median "
          f"P(default) - P(typical) {np.median(gap):.4f}; among declined {np.median(effects[declined].sum(axis=1)):.4f} "
          f"against {np.median(gap[declined]):.4f}")

    plain = seconds(lambda: scorer.score_columns(columns))
    why = seconds(lambda: scorer.score_columns(columns, reasons=3))
    n = len(p)
    print(f"\nscore_columns {n / plain:,.0f} rows/s; with reasons=3 {n / why:,.0f} rows/s, {why / plain:.2f}x the time "
          f"(median of 3; {len(names)} groups, each a rescoring where not already typical)")


if __name__ == "__main__":
    main()
