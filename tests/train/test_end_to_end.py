"""Train -> export -> verify -> score on generated data with a schema that is not Taiwan's.

Other column names, a 12-month history, a string-coded categorical: if anything
were hard-coded to the default schema, this would break.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from loanscore.cli.main import main
from loanscore.runtime import Scorer
from loanscore.runtime.reasons import MIN_EFFECT
from loanscore.runtime.schema import Schema
from loanscore.runtime.validate import check_record
from loanscore.train.synthetic import generate, write_csv

MONTHS = 12
LENDER_SCHEMA = json.loads((Path(__file__).parent / "lender_schema.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def lender(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("lender")
    schema_path = base / "schema.json"
    schema_path.write_text(json.dumps(LENDER_SCHEMA))
    schema = Schema.load(schema_path)
    data = write_csv(base / "train.csv", generate(schema, 1500, seed=1))
    run, model = base / "run", base / "model"
    runner = CliRunner()
    result = runner.invoke(main, ["train", "--data", str(data), "--out", str(run), "--schema", str(schema_path),
                                  "--epochs", "2", "--seed", "3", "--audit-log", str(base / "audit.jsonl")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["export", str(run), "--out", str(model), "--data", str(data)])
    assert result.exit_code == 0, result.output
    return {"base": base, "schema": schema_path, "data": data, "run": run, "model": model}


def test_run_dir_holds_model_preprocessing_metrics_and_threshold(lender) -> None:
    run = lender["run"]
    assert {"model.keras", "preprocessor.skops", "metrics.json", "run.json"} <= {p.name for p in run.iterdir()}
    metrics = json.loads((run / "metrics.json").read_text())
    v = metrics["validation"]
    for key in ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "ks", "brier", "confusion_matrix"):
        assert key in v
    assert sum(v["confusion_matrix"].values()) == v["n"] == 300
    assert metrics["threshold"]["rule"] == "cost" and 0 < metrics["threshold"]["value"] < 1
    assert v["roc_auc"] > 0.6, "the generated data carries a signal a 2-epoch model should pick up"


def test_the_audit_log_says_which_data_and_settings_a_run_came_from(lender) -> None:
    import hashlib

    (record,) = [json.loads(line) for line in (lender["base"] / "audit.jsonl").read_text().splitlines()]
    run = json.loads((lender["run"] / "run.json").read_text())
    assert record["event"] == "train" and record["run"] == str(lender["run"].resolve())
    assert record["data"]["sha256"] == hashlib.sha256(lender["data"].read_bytes()).hexdigest()
    assert record["config"]["seed"] == 3 and record["config"]["network"]["max_epochs"] == 2
    assert record["config"] == run["config"] and record["schema"] == LENDER_SCHEMA["name"]
    listing = CliRunner().invoke(main, ["audit", str(lender["base"] / "audit.jsonl")])
    assert listing.exit_code == 0 and "train.csv" in listing.output and "run run" in listing.output


def test_export_writes_one_graph_with_raw_inputs(lender) -> None:
    import onnx

    model = onnx.load(lender["model"] / "model.onnx")
    schema = Schema.load(lender["schema"])
    assert [i.name for i in model.graph.input] == schema.input_names
    assert {n.op_type for n in model.graph.node} >= {"LSTM", "Conv", "OneHotEncoder"}
    # tidy_conv_layout ran: Conv carries its bias, and poolings read the Conv output without a Transpose.
    producer = {o: n for n in model.graph.node for o in n.output}
    assert all(len(n.input) == 3 for n in model.graph.node if n.op_type == "Conv")
    pools = [n for n in model.graph.node if n.op_type in ("ReduceMax", "ReduceMean")]
    assert pools and not any(producer[n.input[0]].op_type == "Transpose" for n in pools)
    manifest = json.loads((lender["model"] / "manifest.json").read_text())
    assert manifest["schema"] == schema.to_dict()
    assert manifest["training"]["data"]["rows"] == 1500
    assert len(manifest["training"]["data"]["sha256"]) == 64
    parity = json.loads((lender["model"] / "parity.json").read_text())
    assert parity["data"]["n"] == 1500 and parity["data"]["max_abs_diff"] <= 1e-5
    golden = json.loads((lender["model"] / "golden.json").read_text())
    names = [c["name"] for c in golden["cases"]]
    assert len(names) >= 200
    assert {"region-unseen-code", "housing-unseen-code", "arrears-all-zero", "income-highest", "region-missing",
            "housing-missing", "years_at_address-missing"} <= set(names)


def test_verify_and_score_with_the_exported_model(lender, tmp_path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["verify", str(lender["model"]), "--reference", str(lender["run"]),
                                  "--data", str(lender["data"])])
    assert result.exit_code == 0, result.output
    assert "parity on 1500 rows" in result.output

    out = tmp_path / "scored.csv"
    result = runner.invoke(main, ["score", str(lender["data"]), "--model", str(lender["model"]), "--output", str(out)])
    assert result.exit_code == 0, result.output
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1500
    assert rows[0]["application"] == "1" and rows[-1]["application"] == "1500"
    assert all(0 <= float(r["probability_of_default"]) <= 1 and r["error"] == "" for r in rows)


def test_export_records_the_training_population_and_monitor_reads_it(lender, tmp_path) -> None:
    manifest = json.loads((lender["model"] / "manifest.json").read_text())
    population = manifest["population"]
    assert population["source"]["training_data"] is True and population["rows"] == 1500
    assert population["fields"]["region"]["codes"] == ["north", "south", "east", "west"]
    assert len(population["fields"]) == 2 + 2 + 2 * MONTHS
    for bins in [population["score"], *population["fields"].values()]:
        assert sum(bins["counts"]) == 1500

    out = tmp_path / "stability.json"
    result = CliRunner().invoke(main, ["monitor", str(lender["data"]), "--model", str(lender["model"]), "-o", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["score"]["psi"] == 0 and all(f["psi"] == 0 for f in report["fields"].values())

    with open(lender["data"], newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["region"] = "north"
    moved = write_rows(tmp_path / "north.csv", rows)
    result = CliRunner().invoke(main, ["monitor", str(moved), "--model", str(lender["model"])])
    assert result.exit_code == 4, result.output
    assert next(line for line in result.output.splitlines() if line.startswith("region")).endswith("shift")


def test_backtest_reads_the_schemas_own_outcome_column(lender, tmp_path) -> None:
    schema = Schema.load(lender["schema"])
    fresh = write_csv(tmp_path / "fresh.csv", generate(schema, 1000, seed=2))
    out = tmp_path / "backtest.json"
    result = CliRunner().invoke(main, ["backtest", str(fresh), "--model", str(lender["model"]), "-o", str(out)])
    assert result.exit_code in (0, 4), result.output
    report = json.loads(out.read_text())
    assert report["outcome"] == "went_bad" and report["scored"] == 1000 and report["training_data"] is False
    assert report["calibration"]["bands_from"] == "development score deciles"
    assert sum(b["rows"] for b in report["calibration"]["bands"]) == 1000
    result = CliRunner().invoke(main, ["backtest", str(lender["data"]), "--model", str(lender["model"])])
    assert "this is the file the model was trained on" in result.output


def write_rows(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_scorer_api_on_the_lender_schema(lender) -> None:
    scorer = Scorer.load(lender["model"])
    record = json.loads((lender["model"] / "golden.json").read_text())["cases"][0]["record"]
    ok = scorer.score(record)
    assert 0 <= ok.probability <= 1 and ok.decision in ("approve", "decline")
    unseen = scorer.score({**record, "region": "mars"})
    assert unseen.warnings and "region code 'mars' was not seen in training" in unseen.warnings[0]
    from loanscore.runtime import ValidationError

    with pytest.raises(ValidationError) as info:
        scorer.score({**record, "income": None})
    assert info.value.field == "income" and "cannot be missing" in info.value.reason


def test_reasons_on_the_lender_schema_with_string_codes_and_a_12_month_history(lender) -> None:
    scorer = Scorer.load(lender["model"])
    typical = scorer.explainer.typical
    assert isinstance(typical["region"], str) and typical["region"] in LENDER_SCHEMA["categorical"][0]["codes"]
    assert [name for name, _ in scorer.explainer.groups] == ["income", "years_at_address", "region", "housing",
                                                             "arrears", "balance"]
    records = [c["record"] for c in json.loads((lender["model"] / "golden.json").read_text())["cases"]]
    for record in records[:10]:
        result = scorer.score(record, reasons=6)
        got = {r.field: r.effect for r in result.reasons}
        for name, columns in scorer.explainer.groups:
            effect = result.probability - scorer.score({**record, **{c: typical[c] for c in columns}}).probability
            if effect >= MIN_EFFECT:
                assert got.pop(name) == pytest.approx(effect, abs=1e-6), name
        assert got == {}
    other_region = next(code for code in LENDER_SCHEMA["categorical"][0]["codes"] if code != typical["region"])
    record = {**records[0], "region": other_region}
    (region,) = [j for j, (name, _) in enumerate(scorer.explainer.groups) if name == "region"]
    checked = check_record(scorer.schema.columns(), record)
    p = scorer.score(record).probability
    effect = scorer.explainer.effects(checked.feeds, np.array([p]))[0, region]
    assert effect == pytest.approx(p - scorer.score({**record, "region": typical["region"]}).probability, abs=1e-6)
    result = CliRunner().invoke(main, ["score", str(lender["data"]), "--model", str(lender["model"]), "--reasons", "2",
                                       "--format", "jsonl", "-q"])
    assert result.exit_code == 0, result.output
    fields = {r["field"] for line in result.output.splitlines() for r in json.loads(line)["reasons"]}
    assert fields and fields <= {"income", "years_at_address", "region", "housing", "arrears", "balance"}
    # The schema words two reasons (arrears only when above typical); the others are named by their field.
    stated = {(r["field"], r["statement"]) for line in result.output.splitlines() for r in json.loads(line)["reasons"]}
    assert ("arrears", "Arrears in the last year") in stated
    assert {s for f, s in stated if f not in ("region", "arrears")} <= {"income", "years_at_address", "housing", "balance"}
    assert {s for f, s in stated if f == "region"} <= {"Region of residence"}


def test_cv_results_enter_the_manifest_only_for_the_same_configuration(lender, tmp_path) -> None:
    config = json.loads((lender["run"] / "run.json").read_text())["config"]
    summary = {"roc_auc": {"mean": 0.7, "sd": 0.01}}
    bench = {"folds": 5, "seed": 42, "data": {"rows": 1500}, "lstm_cnn_config": config,
             "results": {"lstm_cnn": {"summary": summary}, "lightgbm": {"summary": summary}},
             "paired_roc_auc": {"lightgbm": {"differences": [0.001, 0.0, 0.002], "mean": 0.001, "wins": 2,
                                             "ci95": [-0.0015, 0.0035], "p": 0.3}}}
    good = tmp_path / "cv.json"
    good.write_text(json.dumps(bench))
    runner = CliRunner()
    result = runner.invoke(main, ["export", str(lender["run"]), "--out", str(tmp_path / "m"), "--cv-results", str(good)])
    assert result.exit_code == 0, result.output
    cv = json.loads((tmp_path / "m" / "manifest.json").read_text())["metrics"]["cross_validation"]
    assert cv["lstm_cnn"] == summary and "5-fold" in cv["protocol"]
    card = (tmp_path / "m" / "MODEL_CARD.md").read_text("utf-8")
    assert "No reason codes: they compare each applicant with the training population" in card  # exported without --data
    assert cv["paired_roc_auc"] == bench["paired_roc_auc"]
    assert "| LSTM-CNN, this configuration | 0.7000 ± 0.0100 | – |" in card
    assert ("| LightGBM, tuned on an inner split | 0.7000 ± 0.0100 | +0.0010 (-0.0015 to +0.0035), ahead on 2/3 folds |"
            in card)

    other = tmp_path / "other.json"
    other.write_text(json.dumps({**bench, "lstm_cnn_config": {**config, "ensemble": 99}}))
    result = runner.invoke(main, ["export", str(lender["run"]), "--out", str(tmp_path / "m2"), "--cv-results", str(other)])
    assert result.exit_code == 2 and "measured another configuration" in result.output
    assert not (tmp_path / "m2").exists()

    # A results file written before a network option existed measured that option's default.
    older = {**config, "network": {k: v for k, v in config["network"].items() if k != "input_noise"}}
    (tmp_path / "older.json").write_text(json.dumps({**bench, "lstm_cnn_config": older}))
    result = runner.invoke(main, ["export", str(lender["run"]), "--out", str(tmp_path / "m3"), "--cv-results",
                                  str(tmp_path / "older.json")])
    assert result.exit_code == 0, result.output
    noisy = {**config, "network": {**config["network"], "input_noise": 0.1}}
    (tmp_path / "noisy.json").write_text(json.dumps({**bench, "lstm_cnn_config": noisy}))
    result = runner.invoke(main, ["export", str(lender["run"]), "--out", str(tmp_path / "m4"), "--cv-results",
                                  str(tmp_path / "noisy.json")])
    assert result.exit_code == 2 and "measured another configuration" in result.output


def test_exporting_a_run_again_gives_the_same_bytes(lender, tmp_path) -> None:
    """Converter counters, trace order and string hashing change the raw graph between exports; the saved one must not."""
    import os
    import subprocess
    import sys

    import onnx

    log = tmp_path / "audit.jsonl"  # and says where the model came from
    result = CliRunner().invoke(main, ["export", str(lender["run"]), "--out", str(tmp_path / "again"),
                                       "--audit-log", str(log)])
    assert result.exit_code == 0, result.output
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    manifest = json.loads((tmp_path / "again" / "manifest.json").read_text())
    assert (record["event"], record["run"], record["model"]["sha256"]) == (
        "export", str(lender["run"].resolve()), manifest["sha256"])
    other_process = [sys.executable, "-c", "from loanscore.cli.main import main; main()",
                     "export", str(lender["run"]), "--out", str(tmp_path / "fresh")]
    env = {**os.environ, "PYTHONHASHSEED": "12345", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(other_process, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    first = (lender["model"] / "model.onnx").read_bytes()
    assert (tmp_path / "again" / "model.onnx").read_bytes() == first
    assert (tmp_path / "fresh" / "model.onnx").read_bytes() == first
    model = onnx.load_from_string(first)
    assert [n.name for n in model.graph.node][:2] == [f"{model.graph.node[0].op_type}_0", f"{model.graph.node[1].op_type}_1"]
    assert [o.domain for o in model.opset_import] == sorted({o.domain for o in model.opset_import})


def test_the_node_example_explains_the_lender_schemas_string_codes_and_12_months(lender, node_explain_parity) -> None:
    golden = [case["record"] for case in json.loads((lender["model"] / "golden.json").read_text())["cases"]]
    js = node_explain_parity(lender["model"], golden[:40] + [{**golden[0], "region": "mars"}])
    arrears = next(e for e in js[0]["effects"] if e["field"] == "arrears")
    assert len(arrears["months"]) == 12 and js[-1]["warnings"]


def test_the_node_example_reads_the_lender_schema_from_the_manifest(lender, node_parity) -> None:
    """examples/node on a schema it was not written for: string codes, 12 months, another required field."""
    golden = [case["record"] for case in json.loads((lender["model"] / "golden.json").read_text())["cases"]]
    record = golden[0]
    odd = [{**record, "region": "mars"}, {**record, "region": " south "}, {**record, "region": None},
           {**record, "region": "x" * 70}, {**record, "income": None}, {**record, "income": 0},
           {**record, "housing": 7}, {**record, "arrears_m12": "late"}, {**record, "balance_m01": "NA"},
           {**record, "years_at_address": 81}]
    status, js, _ = node_parity(lender["model"], golden + odd, reasons=2)
    assert status == 1 and sum(bool(r["reasons"]) for r in js) > len(golden) // 2
    assert js[len(golden)]["warnings"] == ["region code 'mars' was not seen in training; scored as an unknown code"]
    assert js[len(golden) + 4]["errors"] == [f"income is required and cannot be missing. Got '' in row {len(golden) + 5}."]


def test_explain_on_the_lender_schema_draws_12_months_of_string_coded_applicants(lender, tmp_path) -> None:
    scorer = Scorer.load(lender["model"])
    record = json.loads((lender["model"] / "golden.json").read_text())["cases"][0]["record"]
    case = scorer.explain(record)
    arrears = next(e for e in case.effects if e.field == "arrears")
    assert len(arrears.columns) == len(arrears.months) == 12
    region = next(e for e in case.effects if e.field == "region")
    assert isinstance(region.values[0], str) and region.months == ()
    typical = scorer.explainer.typical
    for column, month in zip(arrears.columns, arrears.months):
        alone = scorer.score({**record, column: typical[column]}).probability
        assert month == pytest.approx(case.probability - alone, abs=1e-6), column
    plot = tmp_path / "case.svg"
    result = CliRunner().invoke(main, ["explain", str(lender["data"]), "--model", str(lender["model"]), "--row", "5",
                                       "--plot", str(plot), "-q"])
    assert result.exit_code == 0, result.output
    assert "by month" in result.output and result.output.count("arrears_") >= 12
    assert plot.read_text().count("<title>arrears_") == 12


def test_a_lenders_master_scale_recorded_at_export_grades_monitor_and_survives_recalibration(lender, tmp_path) -> None:
    ours = tmp_path / "ours.toml"
    ours.write_text('[[grade]]\nname = "A"\nupper = 0.15\n\n[[grade]]\nname = "B"\nupper = 0.4\n\n'
                    '[[grade]]\nname = "C"\nupper = 1\n')
    runner, model = CliRunner(), tmp_path / "graded"
    result = runner.invoke(main, ["export", str(lender["run"]), "--out", str(model), "--data", str(lender["data"]),
                                  "--master-scale", str(ours)])
    assert result.exit_code == 0, result.output
    recorded = json.loads((model / "manifest.json").read_text())["population"]["grades"]
    scored = tmp_path / "scored.csv"
    assert runner.invoke(main, ["score", str(lender["data"]), "--model", str(model), "--grade", "--master-scale",
                                str(ours), "-o", str(scored)]).exit_code == 0
    grades = [r["grade"] for r in csv.DictReader(scored.read_text().splitlines())]
    assert recorded["counts"] == [grades.count(g) for g in "ABC"] and sum(recorded["counts"]) == 1500
    assert "| A | <= 15 % |" in (model / "MODEL_CARD.md").read_text("utf-8")

    result = runner.invoke(main, ["monitor", str(lender["data"]), "--model", str(model), "--grade", "--master-scale",
                                  str(ours)])
    assert result.exit_code == 0, result.output
    assert next(line for line in result.output.splitlines() if line.startswith("grade ")).split()[1] == "0.000"
    built_in = runner.invoke(main, ["monitor", str(lender["data"]), "--model", str(model), "--grade"])
    assert built_in.exit_code == 2 and f"graded on the master scale in {ours}" in built_in.output

    usage = runner.invoke(main, ["export", str(lender["run"]), "--out", str(tmp_path / "x"), "--master-scale", str(ours)])
    assert usage.exit_code == 2 and "add --data" in usage.output

    result = runner.invoke(main, ["recalibrate", str(lender["data"]), "--model", str(model), "--out",
                                  str(tmp_path / "recal"), "--outcome", Schema.load(lender["schema"]).label])
    assert result.exit_code == 0, result.output
    again = json.loads((tmp_path / "recal" / "manifest.json").read_text())["population"]["grades"]
    assert again["master_scale"] == recorded["master_scale"] and sum(again["counts"]) == 1500


def test_a_shadow_model_on_another_schema_reads_its_own_columns(lender, model_dir, tmp_path) -> None:
    """The shipped model decides; the lender's 12-month model, trained on other fields, scores in its shadow. Each
    reads its own columns of one file, and a file without the shadow's columns is refused, saying whose they are."""
    import pandas as pd

    taiwan = pd.DataFrame(generate(Schema.default(), 300, seed=6, label=False))
    theirs = pd.read_csv(lender["data"]).head(300).drop(columns=["went_bad"])
    both = tmp_path / "both.csv"
    pd.concat([taiwan, theirs], axis=1).to_csv(both, index=False)
    runner = CliRunner()
    result = runner.invoke(main, ["score", str(both), "--model", str(model_dir), "--shadow", str(lender["model"])])
    assert result.exit_code == 0, result.output
    out = list(csv.DictReader(result.stdout.splitlines()))
    alone = {m: list(csv.DictReader(runner.invoke(main, ["score", str(both), "--model", str(d), "-q"]).stdout
                                    .splitlines())) for m, d in (("ours", model_dir), ("theirs", lender["model"]))}
    assert [r["probability_of_default"] for r in out] == [r["probability_of_default"] for r in alone["ours"]]
    assert [r["shadow_probability"] for r in out] == [r["probability_of_default"] for r in alone["theirs"]]
    assert [r["shadow_decision"] for r in out] == [r["decision"] for r in alone["theirs"]]
    assert "of the 300 rows both scored" in result.stderr
    only_ours = tmp_path / "ours.csv"
    taiwan.to_csv(only_ours, index=False)
    refused = runner.invoke(main, ["score", str(only_ours), "--model", str(model_dir), "--shadow", str(lender["model"])])
    assert refused.exit_code == 2 and "read by the shadow model only" in refused.output and "income" in refused.output


def test_export_replaces_a_model_but_never_a_folder_of_other_files(lender, tmp_path, monkeypatch) -> None:
    """`export RUN --out RUN` deleted the training run, and a folder of one's own files (`--out .` the project)
    was emptied, to make room for the model; `--out .` inside a model directory pulled it from under the command
    (a crash after the model was written). Refused before any work; a model directory is still replaced whole."""
    run, runner = lender["run"], CliRunner()
    before = sorted(p.name for p in run.iterdir())
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious\n")
    for out, held in ((run, "metrics.json, model.keras"), (mine, "notes.txt")):
        result = runner.invoke(main, ["export", str(run), "--out", str(out)])
        assert result.exit_code == 2, result.output
        assert f"Cannot write the model to {out.resolve()}: it holds {held}" in result.output
    assert sorted(p.name for p in run.iterdir()) == before and (mine / "notes.txt").read_text() == "precious\n"
    model = tmp_path / "model"
    shutil.copytree(lender["model"], model)
    (model / "stale.txt").write_text("from an older export\n")
    monkeypatch.chdir(model)
    result = runner.invoke(main, ["export", str(run), "--out", "."])
    assert result.exit_code == 2 and "would delete the folder this command runs in" in result.output
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["export", str(run), "--out", "model"])
    assert result.exit_code == 0, result.output
    assert not (model / "stale.txt").exists() and (model / "model.onnx").exists()


def test_a_run_whose_files_do_not_belong_together_is_refused(lender, tmp_path) -> None:
    """run.json is written last with its files' SHA-256: a retraining stopped while it wrote over an older run (a
    new network beside the old preprocessing) would export, parity and all, into a model that scores wrongly."""
    run = tmp_path / "run"
    shutil.copytree(lender["run"], run)
    recorded = json.loads((run / "run.json").read_text())["files"]
    assert set(recorded) == {"model.keras", "preprocessor.skops", "metrics.json"}
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["validation"]["roc_auc"] = 0.99  # an older run's figures, say
    (run / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    result = CliRunner().invoke(main, ["export", str(run), "--out", str(tmp_path / "model")])
    assert result.exit_code == 2, result.output
    assert f"{run / 'metrics.json'} is not the file {run / 'run.json'} records" in result.output
    assert not (tmp_path / "model").exists()
    (run / "metrics.json").unlink()
    result = CliRunner().invoke(main, ["export", str(run), "--out", str(tmp_path / "model")])
    assert result.exit_code == 2 and "(it is missing, or its SHA-256 differs)" in result.output, result.output


def test_train_replaces_an_older_run_whole_and_never_a_folder_of_other_files(lender, tmp_path, monkeypatch) -> None:
    """`train --out` wrote each file into the folder in turn: stopped between two, an older run's files stayed
    beside the new ones, and a folder of one's own files was written into. Now the run appears whole or not at
    all, and a folder that holds anything else is refused before the minutes of training."""
    from loanscore.train.run import TrainedRun

    def digests(folder: Path) -> dict[str, str]:
        import hashlib

        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}

    run, runner = tmp_path / "run", CliRunner()
    shutil.copytree(lender["run"], run)
    before = digests(run)
    again = ["train", "--data", str(lender["data"]), "--out", str(run), "--schema", str(lender["schema"]),
             "--epochs", "1", "--seed", "4", "--ensemble", "1", "--teacher", "0"]  # quick: what is tested is the folder
    (run / "notes.txt").write_text("mine\n")
    result = runner.invoke(main, again)
    assert result.exit_code == 2, result.output
    assert f"Cannot write the training run to {run}: it holds an older training run and also notes.txt" in \
        result.output and "epoch" not in result.output.lower()
    (run / "notes.txt").unlink()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine\n")
    result = runner.invoke(main, [*again[:4], str(mine), *again[5:]])
    assert result.exit_code == 2 and "it holds notes.txt, and no training run (no run.json)" in result.output

    saved = TrainedRun.save

    def stopped_while_saving(self, run_dir: Path, info: dict, metrics: dict) -> None:
        saved(self, run_dir, info, metrics)
        raise KeyboardInterrupt  # Ctrl-C as the last file is written

    monkeypatch.setattr(TrainedRun, "save", stopped_while_saving)
    result = runner.invoke(main, again)
    assert result.exit_code == 130, result.output
    assert digests(run) == before, "the older run is as it was"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "run"], "nothing half-written is left beside it"
    monkeypatch.setattr(TrainedRun, "save", saved)
    result = runner.invoke(main, again)
    assert result.exit_code == 0, result.output
    after = digests(run)
    assert set(after) == set(before) and after != before
    assert json.loads((run / "run.json").read_text())["config"]["seed"] == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "run"]
