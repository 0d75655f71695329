"""The Python API a desktop app embeds, on the shipped model."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from loanscore.cli.main import main
from loanscore.runtime import Bands, Scorer, ValidationError, verify_model


@pytest.fixture(scope="module")
def golden(model_dir) -> list[dict]:
    return json.loads((model_dir / "golden.json").read_text())["cases"]


def test_score_one_record_matches_its_golden_probability(scorer: Scorer, golden) -> None:
    # Golden probabilities are the Keras side's; 1e-5 is the export parity bound.
    for case in golden[:20]:
        result = scorer.score(case["record"])
        assert result.ok and result.probability == pytest.approx(case["probability"], abs=1e-5)
        assert result.decision == ("decline" if result.probability >= scorer.threshold else "approve")


def test_validation_error_carries_field_value_and_reason(scorer: Scorer, golden) -> None:
    record = {**golden[0]["record"], "AGE": 500, "LIMIT_BAL": "lots"}
    with pytest.raises(ValidationError) as info:
        scorer.score(record)
    err = info.value
    assert (err.field, err.value) == ("LIMIT_BAL", "lots") and err.reason == "must be a number"
    assert [e.field for e in err.errors] == ["LIMIT_BAL", "AGE"]
    assert "AGE must be between 18 and 120. Got '500'." in str(err)


def test_score_records_keeps_bad_records_in_place(scorer: Scorer, golden) -> None:
    records = [golden[0]["record"], {**golden[1]["record"], "AGE": None}, golden[2]["record"]]
    results = scorer.score_records(records)
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].probability is None and results[1].errors[0].row == 2


def test_columnar_batch_equals_records(scorer: Scorer, golden) -> None:
    records = [c["record"] for c in golden]
    columns = {name: np.array([r[name] if r[name] is not None else np.nan for r in records], dtype=np.float64)
               for name in scorer.schema.input_names}
    batch = scorer.score_columns(columns)
    one_by_one = [r.probability for r in scorer.score_records(records)]
    np.testing.assert_allclose(batch.probability, one_by_one, rtol=0, atol=1e-6)
    assert batch.n_rejected == 0 and len(batch) == len(records)


def test_one_scorer_shared_by_threads_gives_the_sequential_answers(scorer: Scorer, golden) -> None:
    records = [c["record"] for c in golden]
    expected = [scorer.score(r).probability for r in records]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda r: scorer.score(r).probability, records * 4))
    assert got == expected * 4


def test_review_band(model_dir, golden) -> None:
    scorer = Scorer.load(model_dir, bands=Bands(0.1, 0.3))
    decisions = {scorer.score(c["record"]).decision for c in golden}
    assert decisions == {"approve", "review", "decline"}
    with pytest.raises(ValueError, match="approve-below <= decline-from"):
        Bands(0.5, 0.2)


def test_shipped_model_verifies(model_dir) -> None:
    report = verify_model(model_dir)
    assert report.n_cases >= 200 and report.max_abs_diff <= report.tolerance
    result = CliRunner().invoke(main, ["verify"])
    assert result.exit_code == 0 and "SHA-256 matches" in result.output


def test_a_pandas_data_frame_scores_as_its_columns_by_position_with_na_missing(scorer: Scorer) -> None:
    """A desktop app's DataFrame, filtered (its index no longer 0..n-1) and with nullable columns: rows are taken
    by position, pandas' NA is a missing value, and the answers are those of plain lists."""
    pd = pytest.importorskip("pandas")
    frame = pd.read_csv(Path(__file__).resolve().parents[2] / "artifacts" / "sample_applicants.csv")
    plain = scorer.score_columns({c: frame[c].tolist() for c in frame})
    assert np.array_equal(scorer.score_columns(frame).probability, plain.probability)
    odd = frame[frame.index % 2 == 1]  # index 1, 3, 5, ...
    assert np.array_equal(scorer.score_columns(odd).probability, plain.probability[1::2])
    nullable = frame.astype({"BILL_AMT1": "Int64", "LIMIT_BAL": "Int64", "SEX": "category"})
    nullable.loc[0, "BILL_AMT1"] = pd.NA  # may be missing: imputed, as a blank cell is
    nullable.loc[1, "LIMIT_BAL"] = pd.NA  # may not be: rejected as missing
    got = scorer.score_columns(nullable)
    first = {c: frame[c].iloc[0].item() for c in frame}
    assert got.probability[0] == pytest.approx(scorer.score({**first, "BILL_AMT1": None}).probability, abs=1e-7)
    assert [e.reason for e in got.errors[1]] == ["is required and cannot be missing"]
    assert np.array_equal(got.probability[2:], plain.probability[2:])



def test_scores_once_runs_the_graph_once_per_distinct_batch_and_gives_the_scorers_figures(
        scorer: Scorer, applicants, monkeypatch) -> None:
    """A monitoring report's four checks read one file: three of them find its probabilities remembered."""
    from loanscore.runtime.scorer import ScoresOnce, _digest

    rows = applicants(300, seed=8)
    columns = {c: [r[c] for r in rows] for c in scorer.schema.input_names}
    moved, other = ({**columns, "AGE": [age] * 300} for age in ("30", "31"))
    want = {id(c): scorer.check_and_run(c, 300)[1] for c in (columns, moved)}
    calls: list[int] = []
    run = type(scorer.model).run
    monkeypatch.setattr(type(scorer.model), "run", lambda m, feeds: calls.append(len(feeds["AGE"])) or run(m, feeds))
    once = ScoresOnce(scorer.model)
    once.check_and_run(columns, 300)[1][:] = -1.0  # a caller overwriting its copy leaves what is remembered alone
    assert np.array_equal(once.check_and_run(columns, 300)[1], want[id(columns)]) and calls == [300]
    assert np.array_equal(once.check_and_run(moved, 300)[1], want[id(moved)])  # other inputs: scored, remembered
    assert calls == [300, 300] and len(once.remembered) == 2
    once.full = True
    once.check_and_run(other, 300)
    once.check_and_run(other, 300)
    assert calls == [300] * 4 and len(once.remembered) == 2
    text = {"a": np.array([["1"], ["2"]], dtype=object)}  # text inputs: typed and length-prefixed
    assert _digest(text) == _digest({"a": np.array([["1"], ["2"]], dtype=object)})
    assert _digest(text) != _digest({"a": np.array([["12"], [""]], dtype=object)})
    assert _digest(text) != _digest({"a": np.array([[1], ["2"]], dtype=object)})
