"""Reason codes on the shipped model: each effect is a real rescoring, checked against the Scorer itself."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest

from loanscore.runtime import ModelError, Scorer
from loanscore.runtime.reasons import MIN_EFFECT, Explainer, _typical, groups
from loanscore.runtime.stability import Bins
from loanscore.runtime.validate import check_record

TOLERANCE = 1e-6
"""The same float32 graph run on the same inputs in batches of other sizes."""


@pytest.fixture(scope="module")
def golden(model_dir) -> list[dict]:
    return [c["record"] for c in json.loads((model_dir / "golden.json").read_text())["cases"]]


@pytest.fixture(scope="module")
def typical(scorer: Scorer) -> dict[str, float]:
    return dict(scorer.explainer.typical)


def test_the_typical_value_is_the_median_number_and_the_commonest_code() -> None:
    rng = np.random.default_rng(3)
    for values in (rng.integers(0, 500_000, 2001).astype(float), rng.lognormal(8, 2, 999), rng.integers(-2, 3, 400).astype(float)):
        bins = Bins.fit("x", values)
        assert _typical(bins, False) == np.quantile(values, 0.5, method="inverted_cdf")
    with_missing = np.array([5.0, 1.0, np.nan, np.nan, np.nan, 3.0, 2.0, 4.0])
    assert _typical(Bins.fit("x", with_missing), False) == 3.0  # the median of the values present
    assert np.isnan(_typical(Bins.fit("x", np.full(4, np.nan)), False))
    codes = Bins.fit("c", np.array(["S", "N", "S", "", "X", "S"], dtype=object), codes=("N", "S", "X"))
    assert _typical(codes, True) == "S"
    assert _typical(Bins.fit("c", np.array([2.0, 1.0, 2.0, 9.0, 9.0, 9.0]), codes=(1, 2)), False) == 2.0  # 9 is unknown


def test_the_shipped_models_typical_applicant(scorer: Scorer, typical) -> None:
    static = {name: typical[name] for name in ("LIMIT_BAL", "AGE", "SEX", "EDUCATION", "MARRIAGE")}
    assert static == {"LIMIT_BAL": 140000.0, "AGE": 34.0, "SEX": 2.0, "EDUCATION": 2.0, "MARRIAGE": 2.0}
    assert [typical[c] for c in scorer.schema.history[0].columns] == [0.0] * 6  # revolving credit every month
    assert [name for name, _ in groups(scorer.schema)] == [
        "LIMIT_BAL", "AGE", "SEX", "EDUCATION", "MARRIAGE", "repayment_status", "bill_amount", "payment_amount"]


def test_each_effect_is_the_fall_in_probability_when_that_group_is_made_typical(scorer: Scorer, golden, typical) -> None:
    explainer = scorer.explainer
    for record in golden[:12]:
        p = scorer.score(record).probability
        result = scorer.score(record, reasons=len(explainer.groups))
        got = {r.field: r.effect for r in result.reasons}
        for name, columns in explainer.groups:
            made_typical = scorer.score({**record, **{c: typical[c] for c in columns}}).probability
            effect = p - made_typical
            if effect >= MIN_EFFECT:
                assert got.pop(name) == pytest.approx(effect, abs=TOLERANCE), name
        assert got == {}, "a reason that rescoring does not confirm"
        assert [r.effect for r in result.reasons] == sorted((r.effect for r in result.reasons), reverse=True)


def test_the_typical_applicant_has_no_reasons_and_a_late_payer_is_told_why(scorer: Scorer, typical) -> None:
    assert scorer.score(typical, reasons=5).reasons == ()
    late = {**typical, **{c: 2 for c in scorer.schema.history[0].columns}}
    result = scorer.score(late, reasons=5)
    assert [r.field for r in result.reasons] == ["repayment_status"]
    checked = check_record(scorer.schema.columns(), late)
    effects = scorer.explainer.effects(checked.feeds, np.array([result.probability]))[0]
    assert np.count_nonzero(effects) == 1  # the groups at their typical values are not rescored: exactly 0
    p_typical = scorer.score(typical).probability
    assert result.reasons[0].effect == pytest.approx(result.probability - p_typical, abs=TOLERANCE)
    assert result.reasons[0].effect > 0.2


def test_batches_give_each_row_its_own_reasons_and_none_to_a_rejected_row(scorer: Scorer, golden) -> None:
    records = [golden[0], {**golden[1], "AGE": None}, *golden[2:30]]
    batch = scorer.score_records(records, reasons=2)
    assert batch[1].errors and batch[1].reasons == ()
    for record, result in zip(records, batch):
        if result.ok:
            alone = scorer.score(record, reasons=2).reasons
            assert [r.field for r in result.reasons] == [r.field for r in alone]
            np.testing.assert_allclose([r.effect for r in result.reasons], [r.effect for r in alone], atol=TOLERANCE)
            assert len(result.reasons) <= 2
    assert scorer.score_records(records)[0].reasons == ()  # only when asked for


def test_every_declined_real_applicant_gets_a_reason(scorer: Scorer, dev_sample) -> None:
    with open(dev_sample(2000, seed=11), newline="") as fh:
        rows = list(csv.DictReader(fh))
    batch = scorer.score_columns({k: [r[k] for r in rows] for k in rows[0]}, reasons=3)
    declined = np.flatnonzero(batch.decision == "decline")
    assert len(declined) > 300
    assert all(batch.reasons[i] for i in declined)
    top = {batch.reasons[i][0].field for i in declined}
    assert "repayment_status" in top


def test_a_model_without_a_population_says_how_to_get_one(model_dir, edit_manifest, tmp_path) -> None:
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    edit_manifest(model, lambda manifest: manifest.pop("population"))
    scorer = Scorer.load(model)
    assert scorer.score(json.loads((model / "golden.json").read_text())["cases"][0]["record"]).ok
    with pytest.raises(ModelError, match="records no reference population.*--data"):
        Explainer(scorer.model)


def test_one_scorer_shared_by_threads_gives_the_sequential_reasons(model_dir, golden) -> None:
    from concurrent.futures import ThreadPoolExecutor

    scorer = Scorer.load(model_dir)  # a fresh one: its explainer is built by whichever thread comes first
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda r: scorer.score(r, reasons=3).reasons, golden[:40] * 3))
    expected = [scorer.score(r, reasons=3).reasons for r in golden[:40]]
    assert got == expected * 3
