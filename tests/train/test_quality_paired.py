"""benchmarks/quality.py's paired comparison: fold-by-fold differences and a corrected interval."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from quality import evaluate, main, out_of_fold, paired, riskier_report  # noqa: E402


def _results(**aucs: list[float]) -> dict:
    return {name: {"folds": [{"roc_auc": x} for x in values]} for name, values in aucs.items()}


def test_interval_uses_the_corrected_variance_of_overlapping_folds() -> None:
    base = [0.78, 0.78, 0.78, 0.79, 0.80]
    other = [b - d for b, d in zip(base, (0.001, 0.002, 0.003, 0.004, 0.005))]
    c = paired(_results(lstm_cnn=base, lightgbm=other))["lightgbm"]
    assert c["differences"] == pytest.approx([0.001, 0.002, 0.003, 0.004, 0.005])
    assert c["mean"] == pytest.approx(0.003) and c["wins"] == 5
    # sd 0.0015811; corrected se = sd * sqrt(1/5 + 1/4); t(0.975, 4) = 2.7764.
    half = 2.7764 * 0.0015811 * (0.2 + 0.25) ** 0.5
    assert c["ci95"] == pytest.approx([0.003 - half, 0.003 + half], abs=1e-6)
    # The plain paired t-test would give a narrower interval (sd / sqrt(5)): the correction widens it.
    assert half > 2.7764 * 0.0015811 / 5 ** 0.5
    assert 0.01 < c["p"] < 0.05


def test_repeated_cross_validation_pools_its_folds_but_keeps_the_overlap_correction() -> None:
    d = [0.001, 0.002, 0.003, 0.004, 0.005, 0.002, 0.003, 0.004, 0.005, 0.006]
    base = [0.78] * 10
    c = paired(_results(lstm_cnn=base, lightgbm=[b - x for b, x in zip(base, d)]), folds=5)["lightgbm"]
    assert c["mean"] == pytest.approx(0.0035) and c["wins"] == 10
    # 10 differences from 2 x 5 folds: se = sd * sqrt(1/10 + 1/4), t(0.975, 9) = 2.2622. Treating them
    # as 10 folds (n_test/n_train = 1/9) would understate the overlap of 5-fold training sets.
    sd = 0.0015811
    half = 2.2622 * sd * (0.1 + 0.25) ** 0.5
    assert c["ci95"] == pytest.approx([0.0035 - half, 0.0035 + half], abs=1e-6)
    assert half > paired(_results(lstm_cnn=base, lightgbm=[b - x for b, x in zip(base, d)]))["lightgbm"]["ci95"][1] - 0.0035


def test_a_model_against_itself_differs_by_nothing() -> None:
    aucs = [0.78, 0.79, 0.80]
    c = paired(_results(lstm_cnn=aucs, lightgbm=aucs))["lightgbm"]
    assert c["mean"] == 0 and c["wins"] == 0 and c["ci95"] == [0, 0] and c["p"] == 1.0


def test_without_the_lstm_cnn_there_is_nothing_to_pair() -> None:
    assert paired(_results(lightgbm=[0.78, 0.79], logreg=[0.72, 0.73])) == {}


def test_the_riskier_report_gives_each_roles_worst_column_per_fold() -> None:
    folds = [{"riskier_lowers": {"status": [0.0, 0.001], "credit_limit": [0.12]}},
             {"riskier_lowers": {"status": [0.003, 0.0], "credit_limit": [0.14]}}]
    lines = riskier_report(folds).splitlines()
    assert lines[1:] == ["  status: 0.10% / 0.30% (mean 0.20%)", "  credit_limit: 12.00% / 14.00% (mean 13.00%)"]


def test_folds_run_in_worker_processes_give_the_same_results_in_fold_order(schema, tmp_path) -> None:
    from sklearn.model_selection import StratifiedKFold

    from loanscore.train.data import load_dataset
    from loanscore.train.synthetic import generate, write_csv

    ds = load_dataset(write_csv(tmp_path / "d.csv", generate(schema, 600, seed=3)), schema)
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(ds.X, ds.y))
    lines: list[str] = []
    one = evaluate("logreg", ds, schema, folds, lambda s: None)
    two = evaluate("logreg", ds, schema, folds, lines.append, jobs=2)
    assert [m["fold"] for m in two["folds"]] == [1, 2, 3] and len(lines) == 3
    for a, b in zip(one["folds"], two["folds"]):
        np.testing.assert_array_equal(a.pop("test_predictions"), b.pop("test_predictions"))
    for m in one["folds"] + two["folds"]:
        del m["seconds"]  # the only figure that may differ
    assert two["folds"] == one["folds"]


def test_out_of_fold_puts_each_probability_on_the_row_its_fold_tested(schema, tmp_path) -> None:
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from loanscore.train.data import load_dataset
    from loanscore.train.synthetic import generate, write_csv

    ds = load_dataset(write_csv(tmp_path / "d.csv", generate(schema, 600, seed=3)), schema)
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(ds.X, ds.y))
    rows = evaluate("logreg", ds, schema, folds, lambda s: None)["folds"]
    p = out_of_fold([m.pop("test_predictions") for m in rows], folds, len(ds.y))
    assert not np.isnan(p).any()
    for m, (_, te) in zip(rows, folds):
        assert roc_auc_score(ds.y[te], p[te]) == pytest.approx(m["roc_auc"], abs=1e-12)
    # A row no fold tested stays unscored rather than borrowing another's probability.
    assert np.isnan(out_of_fold([np.zeros(len(folds[0][1]))], folds[:1], len(ds.y))[folds[1][1]]).all()


def test_repeats_keep_the_first_cross_validation_as_the_benchmark(schema, tmp_path, capsys) -> None:
    import json

    from loanscore.train.synthetic import generate, write_csv

    data = write_csv(tmp_path / "d.csv", generate(schema, 600, seed=3))
    main(["--data", str(data), "--folds", "3", "--models", "logreg", "--out", str(tmp_path / "one.json"),
          "--plot", str(tmp_path / "one.png")])
    main(["--data", str(data), "--folds", "3", "--repeats", "2", "--models", "logreg", "--out", str(tmp_path / "two.json")])
    one, two = (json.loads((tmp_path / f).read_text()) for f in ("one.json", "two.json"))
    assert "repeated" not in one
    assert (tmp_path / "one.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The diagram's deciles hold every row once, each tested by one fold: their defaults add up to the data's.
    deciles = one["out_of_fold_deciles"]["logreg"]
    assert len(deciles) == 10 and sum(d["count"] for d in deciles) == 600
    y = np.loadtxt(data, delimiter=",", skiprows=1, usecols=-1)
    assert sum(d["count"] * d["observed"] for d in deciles) == pytest.approx(y.sum())
    assert all(a["high"] <= b["low"] for a, b in zip(deciles, deciles[1:]))
    assert "test_predictions" not in json.dumps(two)  # the JSON keeps figures, not each row's probability
    pooled = two["repeated"]["folds"]["logreg"]
    assert [(m["repeat"], m["fold"]) for m in pooled] == [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3)]
    strip = [{k: v for k, v in m.items() if k not in ("seconds", "repeat")} for m in two["results"]["logreg"]["folds"]]
    assert strip == [{k: v for k, v in m.items() if k != "seconds"} for m in one["results"]["logreg"]["folds"]]
    # The second shuffle gives other test folds, so other figures.
    assert [m["roc_auc"] for m in pooled[3:]] != [m["roc_auc"] for m in pooled[:3]]
    assert "2 x 3-fold CV (seeds 42, 43), all 6 folds: logreg ROC AUC" in capsys.readouterr().out
