"""Case explanations on real applicants: which months drive a score, what one typical field would change, the cost.

    python benchmarks/explain.py [DATA.csv[.gz]] [--model MODEL_DIR] [--plot-sample FILE.svg]

DATA defaults to the development data ($LOANSCORE_DEV_DATA or ../shared/data).
Explains every row (``loanscore explain``'s computation) and prints, for the
declined applicants: each history channel's mean effect month by month (oldest
to newest) and how often each month is the channel's largest; for each field,
how often making it alone typical would turn the decline into an approval;
then the cost of explaining against scoring, for one applicant (``Scorer.explain``
against ``Scorer.score``) and for the whole file (median of 3, same process).
``--plot-sample`` draws the shipped sample file's first declined applicant (generated,
not a real person) for docs/scoring.md. Runtime-only install suffices.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from loanscore.runtime import Scorer
from loanscore.runtime.explain import explain_feeds

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reasons import DEV_DATA, ROOT, read_columns, seconds  # noqa: E402 -- the sibling benchmark's helpers


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="?", type=Path, default=DEV_DATA)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--plot-sample", type=Path, default=None)
    args = ap.parse_args()
    if not args.data.is_file():
        sys.exit(f"{args.data} not found: give a CSV of applicants, or set LOANSCORE_DEV_DATA.")

    scorer = Scorer.load(args.model)
    columns = read_columns(args.data)
    n = len(next(iter(columns.values())))
    checked, _ = scorer.check_and_run(columns, n)
    keep = np.array([i not in checked.errors for i in range(n)])
    feeds = {name: feed[keep] for name, feed in checked.feeds.items()}
    start = time.perf_counter()
    cases = explain_feeds(scorer, feeds)
    took = time.perf_counter() - start
    declined = [c for c in cases if c.decision == "decline"]
    print(f"{len(cases):,} rows explained in {took:.1f} s; {len(declined):,} declined at {scorer.threshold:.4f}")

    for channel in scorer.schema.history:
        rows = [next(e for e in c.effects if e.field == channel.name) for c in declined]
        months = np.array([e.months for e in rows])
        moved = np.array([not e.is_typical for e in rows])
        largest = np.bincount(months[moved].argmax(axis=1), minlength=len(channel.columns))
        print(f"\n{channel.name}: the declined whose channel is not typical: {moved.sum():,}")
        print("  month (oldest -> newest)  " + "  ".join(f"{c:>9}" for c in channel.columns))
        print("  mean effect               " + "  ".join(f"{m:>+9.4f}" for m in months[moved].mean(axis=0)))
        print("  largest month             " + "  ".join(f"{k / max(moved.sum(), 1):>9.1%}" for k in largest))
        print(f"  the channel whole: mean {np.mean([e.effect for e in rows]):+.4f}; sum of its months "
              f"{months[moved].sum(axis=1).mean():+.4f} (among the not typical)")

    print("\nmade typical alone, the field would turn a decline into:")
    approves = {field: sum(next(e for e in c.effects if e.field == field).decision_if_typical == "approve"
                           for c in declined) for field, _ in scorer.explainer.groups}
    for field, approve in sorted(approves.items(), key=lambda t: -t[1]):
        print(f"  {field:<18} approve {approve:>6,} ({approve / len(declined):6.1%})")
    none = sum(all(e.decision_if_typical == "decline" for e in c.effects) for c in declined)
    print(f"  no single field    {none:>14,} ({none / len(declined):6.1%}) stay declined whichever one is made typical")

    records = [{name: columns[name][i] for name in scorer.schema.input_names} for i in range(min(n, 200))]
    one_score = seconds(lambda: [scorer.score(r) for r in records]) / len(records)
    one_explain = seconds(lambda: [scorer.explain(r) for r in records]) / len(records)
    whole = seconds(lambda: explain_feeds(scorer, feeds))
    plain = seconds(lambda: scorer.score_columns(columns))
    print(f"\none applicant: Scorer.explain {one_explain * 1e3:.2f} ms against Scorer.score {one_score * 1e3:.2f} ms "
          f"({one_explain / one_score:.1f}x; {len(records)} rows, median of 3)")
    print(f"whole file: explained {len(cases) / whole:,.0f} rows/s against scored {n / plain:,.0f} rows/s "
          f"({whole / plain:.1f}x the time, median of 3)")

    if args.plot_sample:
        from loanscore.runtime.explain_plot import render_svg

        sample = read_columns(ROOT / "artifacts" / "sample_applicants.csv")
        checked, p = scorer.check_and_run(sample, len(sample["ID"]))
        row = next(i for i, d in enumerate(scorer.bands.decide(p)) if d == "decline" and i not in checked.errors)
        case = explain_feeds(scorer, {k: v[row:row + 1] for k, v in checked.feeds.items()})[0]
        args.plot_sample.write_text(render_svg(case, scorer.schema, f"Sample applicant {sample['ID'][row]}"))
        print(f"plot of sample applicant {sample['ID'][row]} -> {args.plot_sample}")


if __name__ == "__main__":
    main()
