"""Where a lower credit line or a smaller payment lowers P(default), and what the data say there.

    python benchmarks/riskier_groups.py [DATA.csv[.gz]] [--model MODEL_DIR]

DATA defaults to the development data ($LOANSCORE_DEV_DATA or ../shared/data).
The model report marks two steps that lower P(default) (by MIN_CHANGE or more)
for over 5 % of the applicants they change: the credit line 20 % lower, and
every month's payment 20 % lower. This takes both on every row, and the
payment step once more with the unpaid fifth carried into that month's and
every later balance, as an account would carry it (the report leaves the
balances as filed). It prints the share of changed rows whose P(default)
falls and rises, overall, by the newest month (on time or late, by balance
band) and by the number of months without a balance; then, with no model at
all, the observed default rate by quartile of the credit line and of the
newest payment within the same groups: whether the data themselves say that
less is riskier there. Needs a schema with a credit_limit field, status,
balance and payment channels, and labels.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from loanscore.runtime import Scorer
from loanscore.runtime.validate import check_columns
from loanscore.train.reports.evaluation import MIN_CHANGE
from loanscore.train.riskier import LOWER

ROOT = Path(__file__).resolve().parents[1]
DEV_DATA = Path(os.environ.get("LOANSCORE_DEV_DATA", ROOT.parent / "shared" / "data" / "uci_credit_card_dev.csv.gz"))
BALANCE_BANDS = (-np.inf, 20_000, 80_000, np.inf)
QUARTILES = ["Q1 least", "Q2", "Q3", "Q4 most"]
BLOCK = 4096


def groups(status: np.ndarray, balance: np.ndarray) -> pd.Series:
    """The newest month's status (on time, or one month late or more) by the newest balance band."""
    late = np.where(status >= 1, "late", "on time")
    band = pd.cut(balance, BALANCE_BANDS, labels=["balance < 20k", "20k-80k", ">= 80k"]).astype(str)
    return pd.Series(late, dtype=object) + ", " + band


def lowered(feeds: dict[str, np.ndarray], payments: tuple[str, ...], balances: tuple[str, ...],
            carry: bool) -> dict[str, np.ndarray]:
    """``feeds`` with every payment LOWER times as large and, with ``carry``, the unpaid part added to that month's
    balance and every later one (payment i pays the balance before month i, as the derived channels read it)."""
    out = dict(feeds)
    for i, c in enumerate(payments):
        unpaid = np.nan_to_num(feeds[c] * (1 - LOWER))
        out[c] = (feeds[c] * LOWER).astype(np.float32)
        for b in balances[i:] if carry else ():
            out[b] = (out[b] + unpaid).astype(np.float32)
    return out


def by_quartile(values: np.ndarray, y: np.ndarray, group: pd.Series) -> pd.DataFrame:
    """The observed default rate by quartile of ``values`` (positive ones only) within each group."""
    taken = values > 0
    quartile = pd.Series(np.full(len(values), "", dtype=object))
    for g in group.unique():
        rows = np.flatnonzero(taken & (group == g).to_numpy())
        ranks = pd.Series(values[rows]).rank(method="first")  # equal quarters: tied values split in row order
        quartile.iloc[rows] = pd.qcut(ranks, 4, labels=QUARTILES).astype(str).to_numpy()
    observed = pd.DataFrame({"group": group, "quartile": quartile, "y": y})[taken]
    rates = observed.pivot_table(index="group", columns="quartile", values="y", aggfunc="mean")
    rates.insert(0, "rows", observed.groupby("group").size())
    return rates


def response(scorer: Scorer, frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per step: the shares overall ("overall"), by group of the newest month ("groups") and by months without a
    balance ("idle"); the observed default rate by quartile of the credit line ("observed credit line") and of the
    newest payment ("observed payment") within the same groups."""
    schema = scorer.schema
    channel = {h.role: h.columns for h in schema.history}
    payments, balances = channel["payment"], channel["balance"]
    limit = next(f.name for f in schema.numeric if f.role == "credit_limit")
    feeds = check_columns(schema.columns(), {c: frame[c].to_numpy() for c in schema.input_names}, len(frame)).feeds

    def p_of(f: dict[str, np.ndarray]) -> np.ndarray:
        return np.concatenate([scorer.model.run({k: v[i:i + BLOCK] for k, v in f.items()})[0].reshape(-1)
                               for i in range(0, len(frame), BLOCK)])

    p = p_of(feeds)
    group = groups(frame[channel["status"][-1]].to_numpy(), frame[balances[-1]].to_numpy())
    idle = pd.Series((frame[list(balances)].to_numpy() <= 0).sum(axis=1))
    paid = np.logical_or.reduce([feeds[c][:, 0] > 0 for c in payments])
    steps = {"credit line": ({**feeds, limit: (feeds[limit] * LOWER).astype(np.float32)}, feeds[limit][:, 0] > 0),
             "payments, as filed": (lowered(feeds, payments, balances, carry=False), paid),
             "payments, carried": (lowered(feeds, payments, balances, carry=True), paid)}
    tables: dict[str, dict] = {"overall": {}, "groups": {}, "idle": {}}
    for name, (changed, moved) in steps.items():
        change = pd.Series(p_of(changed) - p)[moved]
        tables["overall"][name] = pd.Series({"rows": len(change), "falls": np.mean(change <= -MIN_CHANGE),
                                             "rises": np.mean(change >= MIN_CHANGE), "mean change": change.mean()})
        for key, by in (("groups", group), ("idle", idle)):
            tables[key].setdefault(f"rows ({name.split(',')[0]})", by[moved].value_counts())
            tables[key][f"falls ({name})"] = (change <= -MIN_CHANGE).groupby(by[moved]).mean()
    out = {k: pd.DataFrame(v) for k, v in tables.items()}
    out["overall"] = out["overall"].T
    out["idle"].index.name = "months"
    y = frame[schema.label].to_numpy()
    out["observed credit line"] = by_quartile(frame[limit].to_numpy(), y, group)
    out["observed payment"] = by_quartile(frame[payments[-1]].to_numpy(), y, group)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="?", type=Path, default=DEV_DATA)
    ap.add_argument("--model", type=Path, default=None)
    args = ap.parse_args(argv)
    if not args.data.is_file():
        sys.exit(f"{args.data} not found: give a labelled CSV of applicants, or set LOANSCORE_DEV_DATA.")
    scorer = Scorer.load(args.model)
    schema = scorer.schema
    roles = {h.role: h.columns for h in schema.history}
    limit = [f.name for f in schema.numeric if f.role == "credit_limit"]
    if not {"status", "balance", "payment"} <= set(roles) or not limit:
        sys.exit("the model's schema needs a credit_limit field and history channels with the roles status, "
                 "balance and payment.")
    frame = pd.read_csv(args.data)
    checked = check_columns(schema.columns(), {c: frame[c].to_numpy() for c in schema.input_names}, len(frame))
    if checked.errors or schema.label not in frame:
        sys.exit(f"{args.data} needs the label {schema.label} and valid rows ({len(checked.errors)} do not "
                 "validate; `loanscore validate` names them).")
    r = response(scorer, frame)
    percent = lambda v: f"{v:.1%}"  # noqa: E731
    print(f"{args.data.name}: {len(frame):,} rows; {limit[0]} or every payment {1 - LOWER:.0%} lower:")
    print(r["overall"].to_string(formatters={"rows": "{:,.0f}".format, "falls": percent, "rises": percent,
                                             "mean change": "{:+.4f}".format}))
    print("\nShare of the changed rows whose P(default) falls, by the newest month:")
    print(r["groups"].to_string(float_format=percent))
    print(f"\nThe same by the number of months whose balance ({roles['balance'][0]}, ...) is zero or below:")
    print(r["idle"].to_string(float_format=percent))
    for what, column in (("credit line", limit[0]), ("payment", roles["payment"][-1])):
        print(f"\nObserved default rate by quartile of the {what} ({column} > 0) within each group, no model:")
        print(r[f"observed {what}"].to_string(float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
