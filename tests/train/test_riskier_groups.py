"""benchmarks/riskier_groups.py: the payment step with and without carrying the unpaid part, and its tables."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from riskier_groups import lowered, response  # noqa: E402

from loanscore.runtime import Scorer  # noqa: E402
from loanscore.train.reports.evaluation import MIN_CHANGE  # noqa: E402
from loanscore.train.synthetic import generate  # noqa: E402


def test_the_unpaid_part_is_carried_into_that_months_and_later_balances() -> None:
    col = lambda *v: np.array(v, dtype=np.float32).reshape(-1, 1)  # noqa: E731
    feeds = {"p1": col(100, 0), "p2": col(np.nan, 50), "b1": col(500, 0), "b2": col(400, 10)}
    as_filed = lowered(feeds, ("p1", "p2"), ("b1", "b2"), carry=False)
    carried = lowered(feeds, ("p1", "p2"), ("b1", "b2"), carry=True)
    for f in (as_filed, carried):
        np.testing.assert_allclose(f["p1"][:, 0], [80, 0])
        np.testing.assert_allclose(f["p2"][:, 0], [np.nan, 40])
    assert as_filed["b1"] is feeds["b1"] and as_filed["b2"] is feeds["b2"]
    np.testing.assert_allclose(carried["b1"][:, 0], [520, 0])  # 20 unpaid in month 1 ...
    np.testing.assert_allclose(carried["b2"][:, 0], [420, 20])  # ... stays in month 2, where 10 more go unpaid


def test_the_tables_agree_with_scoring_the_changed_applicants_directly(schema, model_dir) -> None:
    frame = pd.DataFrame(generate(schema, 800, seed=5))
    scorer = Scorer.load(model_dir)
    r = response(scorer, frame)
    channel = {h.role: h.columns for h in schema.history}
    payments = channel["payment"]
    base = scorer.score_columns(frame.to_dict("list")).probability
    for step, changed, moved in (
        ("credit line", frame.assign(LIMIT_BAL=frame["LIMIT_BAL"] * 0.8), frame["LIMIT_BAL"] > 0),
        ("payments, as filed", frame.assign(**{c: frame[c] * 0.8 for c in payments}),
         (frame[list(payments)] > 0).any(axis=1)),
    ):
        change = (scorer.score_columns(changed.to_dict("list")).probability - base)[moved]
        overall = r["overall"].loc[step]
        assert overall["rows"] == moved.sum() == r["groups"][f"rows ({step.split(',')[0]})"].sum()
        np.testing.assert_allclose(overall["falls"], np.mean(change <= -MIN_CHANGE), atol=1 / 800)
        np.testing.assert_allclose(overall["mean change"], change.mean(), atol=1e-5)
    assert r["overall"].loc["payments, carried", "mean change"] != r["overall"].loc["payments, as filed", "mean change"]
    shares = r["groups"].filter(like="falls")
    assert ((shares >= 0) & (shares <= 1)).all().all()

    newest = frame[payments[-1]]
    assert r["observed payment"]["rows"].sum() == (newest > 0).sum()
    group = ((frame[channel["status"][-1]] <= 0) & (frame[channel["balance"][-1]] < 20_000)).to_numpy()
    values = newest.to_numpy()[group & (newest > 0).to_numpy()]
    y = frame[schema.label].to_numpy()[group & (newest > 0).to_numpy()]
    smallest = np.argsort(values, kind="stable")[: int(1 + 0.25 * (len(values) - 1))]  # the first quarter by rank
    assert r["observed payment"].loc["on time, balance < 20k", "Q1 least"] == y[smallest].mean()
