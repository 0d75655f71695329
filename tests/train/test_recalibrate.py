"""``loanscore recalibrate``: Platt scaling on a lender's outcomes, written into the graph, ranking unchanged."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from loanscore.cli.main import main
from loanscore.runtime import Scorer
from loanscore.runtime.backtest import evaluate
from loanscore.runtime.performance import roc_auc
from loanscore.train.calibration import mapped
from loanscore.train.synthetic import generate, write_csv

LABEL = "default.payment.next.month"


def lender(schema, scorer, n: int, seed: int, path: Path, factor: float = 0.5) -> tuple[Path, np.ndarray, np.ndarray]:
    """Generated applicants whose outcomes are drawn at ``factor`` times the model's P(default): a portfolio
    that defaults less often than the one the model learned from."""
    cols = generate(schema, n, seed=seed, label=False)
    p = scorer.score_columns(cols).probability
    y = (np.random.default_rng(seed).random(n) < factor * p).astype(int)
    return write_csv(path, {**cols, LABEL: y.tolist()}), p, y


@pytest.fixture(scope="module")
def recalibrated(schema, model_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("recal")
    scorer = Scorer.load(model_dir)
    fit, p, y = lender(schema, scorer, 3000, 1, root / "fit.csv")
    result = CliRunner().invoke(main, ["recalibrate", str(fit), "--model", str(model_dir), "--out", str(root / "m")])
    assert result.exit_code == 0, result.output
    return root, scorer, Scorer.load(root / "m"), p, y, result.output


def test_the_new_graph_is_the_fitted_map_of_the_old_and_passes_verify(recalibrated, schema, model_dir) -> None:
    root, old, new, _, _, output = recalibrated
    manifest = json.loads((root / "m" / "manifest.json").read_text())
    record = manifest["recalibrations"][-1]
    assert record["from_sha256"] == old.model.manifest["sha256"] != manifest["sha256"]
    cols = generate(schema, 500, seed=9, label=False)  # rows the fit never saw
    p_old, p_new = (s.score_columns(cols).probability for s in (old, new))
    np.testing.assert_allclose(p_new, mapped(p_old, record["scale"], record["shift"]), atol=1e-6)
    assert roc_auc(np.arange(500) % 2, p_new) == roc_auc(np.arange(500) % 2, p_old)  # same order, any labels
    assert CliRunner().invoke(main, ["verify", str(root / "m")]).exit_code == 0
    assert sorted(p.name for p in (root / "m").iterdir()) == ["MODEL_CARD.md", "golden.json", "manifest.json",
                                                              "model.onnx", "parity.json"]
    assert "verify passed" in output and f"{record['scale']:.4f}" in output
    # Halved outcomes bend the log-odds (slope 0.81 here): the CLI says the slope is needed.
    se = record["standard_errors"]["scale"]
    assert record["scale"] + 1.96 * se < 1 and "it excludes 1, so the spread changed too" in output


def test_it_moves_the_probabilities_to_the_lenders_default_rate(recalibrated, schema, tmp_path) -> None:
    root, old, new, p, y, _ = recalibrated
    record = json.loads((root / "m" / "manifest.json").read_text())["recalibrations"][-1]
    assert record["before"]["mean_probability"] == pytest.approx(p.mean()) and record["scored"] == 3000
    assert record["after"]["mean_probability"] == pytest.approx(y.mean(), abs=0.005)
    assert record["after"]["brier"] < record["before"]["brier"]
    # Out of sample: fresh applicants of the same lender. The old model's calibration is an alert, the new one's not.
    _, p_test, y_test = lender(schema, old, 3000, 2, tmp_path / "test.csv")
    p_new = mapped(p_test, record["scale"], record["shift"])
    assert evaluate(y_test, p_test, old.model.manifest).calibration == "alert"
    assert evaluate(y_test, p_new, new.model.manifest).calibration == "pass"


def test_a_cost_threshold_is_kept_and_another_rule_is_mapped_to_decline_the_same(recalibrated, model_dir, edit_manifest,
                                                                                tmp_path) -> None:
    root, old, new, _, _, _ = recalibrated
    assert new.threshold == old.threshold and "kept" in new.model.manifest["threshold"]["recalibrated"]
    by_rate = tmp_path / "by_rate"
    shutil.copytree(model_dir, by_rate)
    edit_manifest(by_rate, lambda manifest: manifest["threshold"].update(rule="approval_rate", value=0.3,
                                                                          inputs={"approval_rate": 0.7}))
    result = CliRunner().invoke(main, ["recalibrate", str(root / "fit.csv"), "--model", str(by_rate),
                                       "--out", str(tmp_path / "m2")])
    assert result.exit_code == 0, result.output
    moved = Scorer.load(tmp_path / "m2")
    record = moved.model.manifest["recalibrations"][-1]
    assert moved.threshold == pytest.approx(float(mapped(np.array([0.3]), record["scale"], record["shift"])[0]))
    assert record["before"]["decline_rate"] == pytest.approx(record["after"]["decline_rate"])
    assert "mapped from 0.3" in moved.model.manifest["threshold"]["recalibrated"]


def test_the_card_says_it_was_recalibrated(recalibrated) -> None:
    root = recalibrated[0]
    card = (root / "m" / "MODEL_CARD.md").read_text("utf-8")
    assert "**Recalibrated** (`loanscore recalibrate`) on `fit.csv`: 3,000 applicants, 303 of them defaults, Platt " \
        "scaling fitted" in card
    assert "their calibration figures (Brier, ECE) describe the model before recalibration" in card


def test_too_few_defaults_reversed_outcomes_and_bad_rows(schema, model_dir, tmp_path) -> None:
    scorer = Scorer.load(model_dir)
    few, _, _ = lender(schema, scorer, 300, 3, tmp_path / "few.csv", factor=0.2)
    result = CliRunner().invoke(main, ["recalibrate", str(few), "--model", str(model_dir), "--out",
                                       str(tmp_path / "x")])
    assert result.exit_code == 2 and "recalibrating on outcomes needs at least 50 of each" in result.output
    assert not (tmp_path / "x").exists()

    cols = generate(schema, 2000, seed=4, label=False)
    p = scorer.score_columns(cols).probability
    y = (np.random.default_rng(4).random(2000) < p).astype(int)
    write_csv(tmp_path / "reversed.csv", {**cols, LABEL: (1 - y).tolist()})
    result = CliRunner().invoke(main, ["recalibrate", str(tmp_path / "reversed.csv"), "--model", str(model_dir),
                                       "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "ranks applicants the wrong way round" in result.output

    write_csv(tmp_path / "no_outcome.csv", cols)
    result = CliRunner().invoke(main, ["recalibrate", str(tmp_path / "no_outcome.csv"), "--model", str(model_dir),
                                       "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "name another column with --outcome" in result.output

    labels = [str(v) for v in y]
    labels[5], labels[7] = "", "2"
    cols["LIMIT_BAL"][9] = -1
    write_csv(tmp_path / "bad.csv", {**cols, LABEL: labels})
    result = CliRunner().invoke(main, ["recalibrate", str(tmp_path / "bad.csv"), "--model", str(model_dir),
                                       "--out", str(tmp_path / "x")])
    assert result.exit_code == 0, result.output
    assert "2 rows of bad.csv could not be scored or have an outcome other than 0, 1 or blank" in result.output
    assert "row 8" in result.output and "row 10" in result.output and "row 6" not in result.output
    assert "1,998 of 2,000 rows (1,997 with an outcome)" in result.output
    assert "1 scored rows have no outcome yet (blank)" in result.output


def test_outcomes_of_the_approved_only_fit_on_them_and_keep_every_applicant_in_the_reference(
        schema, model_dir, tmp_path) -> None:
    """The declined have no outcome (blank): the map is the one fitted on the approved alone, while the decline
    rate and the new population reference describe every applicant."""
    scorer = Scorer.load(model_dir)
    path, p, y = lender(schema, scorer, 3000, 12, tmp_path / "all.csv")
    cols = generate(schema, 3000, seed=12, label=False)
    approved = p < np.quantile(p, 0.7)
    write_csv(tmp_path / "book.csv", {**cols, LABEL: [str(v) if a else "" for v, a in zip(y, approved)]})
    write_csv(tmp_path / "approved.csv", {**{c: [v for v, a in zip(vals, approved) if a] for c, vals in cols.items()},
                                           LABEL: y[approved].tolist()})
    records, outputs = {}, {}
    for name in ("book", "approved"):
        result = CliRunner().invoke(main, ["recalibrate", str(tmp_path / f"{name}.csv"), "--model", str(model_dir),
                                           "--out", str(tmp_path / name / "m")])
        assert result.exit_code == 0, result.output
        records[name] = json.loads((tmp_path / name / "m" / "manifest.json").read_text())
        outputs[name] = result.output
    book, alone = (records[k]["recalibrations"][-1] for k in ("book", "approved"))
    # The same fit to the optimiser's tolerance (the rows' float32 probabilities come from other batches).
    assert (book["scale"], book["shift"]) == pytest.approx((alone["scale"], alone["shift"]), abs=1e-5)
    assert book["scored"] == 3000 and book["with_outcome"] == alone["scored"] == int(approved.sum())
    assert book["before"]["decline_rate"] == pytest.approx(np.mean(p >= scorer.threshold), abs=1e-9)
    assert book["after"]["default_rate"] == pytest.approx(y[approved].mean())
    assert records["book"]["population"]["rows"] == 3000
    assert f"3,000 of 3,000 rows ({int(approved.sum()):,} with an outcome)" in outputs["book"]
    assert "900 scored rows have no outcome yet (blank)" in outputs["book"] and "no outcome" not in outputs["approved"]
    card = (tmp_path / "book" / "m" / "MODEL_CARD.md").read_text("utf-8")
    assert (f"3,000 applicants, {int(approved.sum()):,} of them with an outcome (the rest not known yet), "
            f"{int(y[approved].sum()):,} of those defaults") in card


def test_the_intercept_method_fits_the_shift_alone_to_the_observed_rate(recalibrated, model_dir, tmp_path) -> None:
    root, old, _, p, y, _ = recalibrated
    result = CliRunner().invoke(main, ["recalibrate", str(root / "fit.csv"), "--model", str(model_dir),
                                       "--method", "intercept", "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "m" / "manifest.json").read_text())["recalibrations"][-1]
    assert record["method"] == "intercept" and record["scale"] == 1.0 and record["defaults"] == y.sum()
    # The likelihood's score equation at slope 1: the recalibrated mean is the observed rate, to the float.
    assert mapped(p, 1.0, record["shift"]).mean() == pytest.approx(y.mean(), abs=1e-9)
    assert record["after"]["mean_probability"] == pytest.approx(y.mean(), abs=1e-6)
    # Its standard error is that of a one-parameter logistic fit: 1 / sqrt(sum of P'(1 - P')).
    q = mapped(p, 1.0, record["shift"])
    assert record["standard_errors"] == {"shift": pytest.approx(1 / np.sqrt(np.sum(q * (1 - q))))}
    assert "Recalibrated (intercept)" in result.output and "b ± " in result.output and "a ± " not in result.output
    card = (tmp_path / "m" / "MODEL_CARD.md").read_text("utf-8")
    assert f"{int(y.sum()):,} of them defaults, the shift alone fitted" in card
    new = Scorer.load(tmp_path / "m")
    cols = {c: v[:200] for c, v in generate(new.schema, 200, seed=11, label=False).items()}
    np.testing.assert_allclose(new.score_columns(cols).probability,
                               mapped(old.score_columns(cols).probability, 1.0, record["shift"]), atol=1e-6)


def test_platt_standard_errors_shrink_as_the_square_root_of_the_rows(schema, model_dir, tmp_path) -> None:
    """The inverse Fisher information: four times the rows of the same lender, half the standard errors."""
    from loanscore.train.calibration import platt, standard_errors

    scorer = Scorer.load(model_dir)
    _, p, y = lender(schema, scorer, 8000, 5, tmp_path / "l.csv")
    small = standard_errors(p[:2000], *platt(p[:2000], y[:2000]), slope=True)
    large = standard_errors(p, *platt(p, y), slope=True)
    for key in ("scale", "shift"):
        assert large[key] / small[key] == pytest.approx(0.5, rel=0.1)


def test_a_stated_default_rate_needs_no_outcomes(schema, model_dir, tmp_path) -> None:
    scorer = Scorer.load(model_dir)
    cols = generate(schema, 1000, seed=6, label=False)
    write_csv(tmp_path / "applicants.csv", cols)  # fields only: no outcome column
    result = CliRunner().invoke(main, ["recalibrate", str(tmp_path / "applicants.csv"), "--model", str(model_dir),
                                       "--default-rate", "4.5%", "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    new = Scorer.load(tmp_path / "m")
    record = new.model.manifest["recalibrations"][-1]
    assert record["method"] == "default_rate" and record["target_rate"] == 0.045 and "defaults" not in record
    assert new.score_columns(cols).probability.mean() == pytest.approx(0.045, abs=1e-5)
    # Only the intercept moves: every applicant's log-odds by the same shift, so their order stays.
    np.testing.assert_allclose(new.score_columns(cols).probability,
                               mapped(scorer.score_columns(cols).probability, 1.0, record["shift"]), atol=1e-6)
    assert record["after"] == {"mean_probability": pytest.approx(0.045), "target_rate": 0.045,
                               "decline_rate": pytest.approx(float(np.mean(new.score_columns(cols).decision
                                                                            == "decline")))}
    assert re.search(r"stated default rate +4\.50% +4\.50%", result.output) and "Brier" not in result.output
    assert "shifted to a stated default rate of 4.5 %" in (tmp_path / "m" / "MODEL_CARD.md").read_text("utf-8")
    assert CliRunner().invoke(main, ["verify", str(tmp_path / "m")]).exit_code == 0


def test_a_workbook_is_read_from_the_sheet_named(schema, model_dir, tmp_path) -> None:
    """A quarter's applicants on each sheet: refused without --sheet (it names them), then read from the one
    named, to the same map as its CSV."""
    import csv

    from loanscore.runtime.xlsx import write_workbook

    cols = generate(schema, 1000, seed=6, label=False)
    with open(write_csv(tmp_path / "applicants.csv", cols), newline="") as fh:
        rows = list(csv.reader(fh))
    write_workbook(tmp_path / "book.xlsx", {"Q3": rows[:300], "Q4": rows})

    def recalibrate(data: str, out: str, *more: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(main, ["recalibrate", str(tmp_path / data), "--model", str(model_dir),
                                         "--default-rate", "4.5%", "--out", str(tmp_path / out), *more])

    refused = recalibrate("book.xlsx", "m0")
    assert refused.exit_code == 2 and "has applicants on 2 sheets ('Q3', 'Q4')" in refused.output
    assert recalibrate("book.xlsx", "m1", "--sheet", "Q4").exit_code == 0
    assert recalibrate("applicants.csv", "m2").exit_code == 0
    maps = [{k: Scorer.load(tmp_path / m).model.manifest["recalibrations"][-1][k] for k in ("scale", "shift", "rows")}
            for m in ("m1", "m2")]
    assert maps[0] == maps[1] and maps[0]["rows"] == 1000


@pytest.mark.parametrize(("args", "message"), [
    (["--default-rate", "45"], "'45' is not strictly between 0 and 1"),
    (["--default-rate", "a lot"], "'a lot' is not a rate: write 0.045 or 4.5%."),
    (["--default-rate", "0.05", "--method", "platt"], "--default-rate fits the shift to a stated rate"),
    (["--method", "isotonic"], "'isotonic' is not one of 'platt', 'intercept'"),
])
def test_bad_recalibration_options_are_usage_errors(model_dir, tmp_path, args, message) -> None:
    (tmp_path / "a.csv").write_text("LIMIT_BAL\n1\n")
    result = CliRunner().invoke(main, ["recalibrate", str(tmp_path / "a.csv"), "--model", str(model_dir),
                                       "--out", str(tmp_path / "m"), *args])
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "m").exists()


def test_a_stated_rate_on_too_few_applicants_is_refused(schema, model_dir, tmp_path) -> None:
    write_csv(tmp_path / "few.csv", generate(schema, 60, seed=7, label=False))
    result = CliRunner().invoke(main, ["recalibrate", str(tmp_path / "few.csv"), "--model", str(model_dir),
                                       "--default-rate", "0.1", "--out", str(tmp_path / "m")])
    assert result.exit_code == 2 and "has 60 scorable applicants; shifting to a default rate needs at least 100" \
        in result.output


def test_outcomes_drawn_at_the_models_own_rate_keep_the_slope(schema, model_dir, tmp_path) -> None:
    """Outcomes that follow the model's P exactly: Platt's slope interval holds 1 and the CLI suggests the shift."""
    path, _, _ = lender(schema, Scorer.load(model_dir), 3000, 8, tmp_path / "same.csv", factor=1.0)
    result = CliRunner().invoke(main, ["recalibrate", str(path), "--model", str(model_dir), "--out",
                                       str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "m" / "manifest.json").read_text())["recalibrations"][-1]
    assert abs(record["scale"] - 1) < 1.96 * record["standard_errors"]["scale"]
    assert "it contains 1, so the spread held: --method intercept" in result.output


def test_the_audit_log_says_where_a_recalibrated_model_came_from(recalibrated, model_dir, tmp_path) -> None:
    root = recalibrated[0]
    log = tmp_path / "audit.jsonl"
    result = CliRunner().invoke(main, ["recalibrate", str(root / "fit.csv"), "--model", str(model_dir), "--method",
                                       "intercept", "--out", str(tmp_path / "m"), "--audit-log", str(log)])
    assert result.exit_code == 0, result.output
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    new = json.loads((tmp_path / "m" / "manifest.json").read_text())
    old = json.loads((model_dir / "manifest.json").read_text())
    assert record["event"] == "recalibrate" and record["model"]["sha256"] == new["sha256"]
    assert record["from_sha256"] == old["sha256"] and record["method"] == "intercept" and record["scale"] == 1.0
    assert record["input"]["sha256"] == hashlib.sha256((root / "fit.csv").read_bytes()).hexdigest()
    listing = CliRunner().invoke(main, ["audit", str(log)])
    assert listing.exit_code == 0 and f"intercept from {old['sha256'][:12]}" in listing.output


def test_the_plot_shows_calibration_before_and_after_and_the_map(recalibrated, model_dir, tmp_path) -> None:
    import xml.etree.ElementTree as ET

    root, _, _, p, y, _ = recalibrated
    result = CliRunner().invoke(main, ["recalibrate", str(root / "fit.csv"), "--model", str(model_dir), "--out",
                                       str(tmp_path / "m"), "--plot", str(tmp_path / "r.svg")])
    assert result.exit_code == 0, result.output
    svg = ET.parse(tmp_path / "r.svg").getroot()
    ns = "{http://www.w3.org/2000/svg}"
    tips = [c.find(f"{ns}title").text for c in svg.findall(f"{ns}circle")]
    assert len(tips) == 20  # ten deciles, before and after
    record = json.loads((tmp_path / "m" / "manifest.json").read_text())["recalibrations"][-1]
    top = np.argsort(p, kind="mergesort")[-300:]  # the riskiest decile: before, then after the map
    assert f"before: mean P {p[top].mean():.3f}, observed {y[top].mean():.3f}" in tips
    assert f"after: mean P {mapped(p[top], record['scale'], record['shift']).mean():.3f}" in " ".join(tips)
    texts = " ".join(t.text or "" for t in svg.iter(f"{ns}text"))
    assert f"sigmoid({record['scale']:.3f} logit P {record['shift']:+.3f})" in texts
    assert "that is P" in texts

    CliRunner().invoke(main, ["recalibrate", str(root / "fit.csv"), "--model", str(model_dir), "--default-rate",
                              "0.1", "--out", str(tmp_path / "m2"), "--plot", str(tmp_path / "r2.svg")])
    only_map = ET.parse(tmp_path / "r2.svg").getroot()
    assert not only_map.findall(f"{ns}circle") and "Calibration by decile" not in ET.tostring(only_map, "unicode")
