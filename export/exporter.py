"""``loanscore export``: RUN_DIR -> MODEL_DIR with model.onnx, manifest, golden cases and parity."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


import onnx

from loanscore.runtime.errors import InputError
from loanscore.runtime.grades import MasterScale
from loanscore.runtime.integrity import manifest_sha256, sha256_file
from loanscore.runtime.model import FEATURES, FORMAT_VERSION, GOLDEN, MANIFEST, PARITY, PROBABILITY, Model
from loanscore.runtime.scorer import Scorer
from loanscore.runtime.stability import Reference
from loanscore.runtime.staging import staged
from loanscore.train.data import Dataset, load_dataset, records_frame
from loanscore.train.run import METRICS_FILE, TrainedRun
from loanscore.train.trainer import versions

from .golden import golden_records
from .merge import merge_graphs
from .model_card import write_model_documents
from .network_graph import network_graph
from .parity import PROBABILITY_TOLERANCE, measure_parity
from .preprocess_graph import preprocess_graph
from .signature import ML_OPSET, OPSET

MODEL_FILE = "model.onnx"


@dataclass(frozen=True)
class ExportResult:
    model_dir: Path
    parity: dict
    size_bytes: int


def export_run(run_dir: str | Path, out: str | Path, *, data: str | Path | None = None,
               tolerance: float = PROBABILITY_TOLERANCE, cv_results: str | Path | None = None,
               scale: MasterScale | None = None,
               progress: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True)) -> ExportResult:
    """Convert, merge, prove parity, and only then put the directory in place.

    With ``data``, its population is recorded for ``loanscore monitor``, graded on ``scale`` (default: built-in).
    """
    started = time.perf_counter()
    run = TrainedRun.load(run_dir)
    schema = run.schema
    out = Path(out)
    with staged(out) as staging:
        progress("converting preprocessing (skl2onnx) and network (tf2onnx)")
        merged = merge_graphs(
            preprocess_graph(run.preprocessor, schema), network_graph(run.model, run.layout),
            {"loanscore.schema": schema.name, "loanscore.threshold": str(run.info["threshold"]["value"])},
        )
        onnx.save(merged, staging / MODEL_FILE)
        manifest = _manifest(run, staging / MODEL_FILE, run_dir)
        if cv_results is not None:
            manifest["metrics"]["cross_validation"] = cross_validation(cv_results, run)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        model = Model.load(staging)
        threshold = float(manifest["threshold"]["value"])

        cases = golden_records(schema)
        golden_X = records_frame([r for _, r in cases], schema)
        parity = {"golden": measure_parity(model, run, golden_X, threshold, tolerance).to_dict()}
        expected = run.predict(golden_X)
        golden = {
            "tolerance": tolerance,
            "note": "Generated applicants and edge cases (none is a training row); probability is the Keras + scikit-learn output.",
            "cases": [{"name": n, "record": r, "probability": float(p)} for (n, r), p in zip(cases, expected)],
        }
        if data is not None:
            progress(f"measuring parity on {data}")
            dataset = load_dataset(data, schema)
            parity["data"] = {"file": Path(data).name, **measure_parity(model, run, dataset.X, threshold, tolerance).to_dict()}
            manifest["population"] = population_reference(model, dataset, run.info.get("training_data"), scale).to_dict()
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        golden["manifest_sha256"] = manifest_sha256(manifest)  # the manifest as written last: verify checks it
        (staging / GOLDEN).write_text(json.dumps(golden, indent=1) + "\n")
        (staging / PARITY).write_text(json.dumps(parity, indent=2) + "\n")
        write_model_documents(staging, data=data, name=out.name, progress=progress)  # MODEL_CARD.md; report.html for --data
    size = (out / MODEL_FILE).stat().st_size
    worst = parity.get("data", parity["golden"])
    progress(
        f"exported {out / MODEL_FILE} ({size / 1024:.0f} KiB): parity on {worst['n']} rows max |diff| "
        f"{worst['max_abs_diff']:.2e} (tolerance {tolerance:g}), decisions agree {worst['decision_agreement']:.2%} "
        f"[{time.perf_counter() - started:.0f} s]"
    )
    return ExportResult(out, parity, size)


def population_reference(model: Model, dataset: Dataset, training: dict | None,
                         scale: MasterScale | None = None) -> Reference:
    """Counts per bin of ``dataset``'s fields and scores, and per grade of ``scale``, which ``loanscore monitor``
    compares new applicants with."""
    columns = model.schema.columns()
    checked, p = Scorer(model).check_and_run({c.name: dataset.X[c.name].to_numpy() for c in columns}, len(dataset.X))
    assert not checked.errors, "load_dataset refuses rows that break the contract"
    source = {k: dataset.fingerprint[k] for k in ("file", "sha256", "rows")}
    source["training_data"] = training is not None and training.get("sha256") == source["sha256"]
    return Reference.build(columns, checked.feeds, p, model.threshold, source, scale)


def cross_validation(path: str | Path, run: TrainedRun) -> dict:
    """The quality benchmark's CV summary, accepted only if it measured this run's configuration."""
    path = Path(path)
    try:
        bench = json.loads(path.read_text("utf-8"))
        measured, results = bench["lstm_cnn_config"], bench["results"]
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{path} is not a results file of benchmarks/quality.py ({exc}).") from None
    if _comparable(measured) != _comparable(run.info.get("config", {})):
        raise InputError(
            f"{path} measured another configuration than {run.info.get('config')}; "
            "rerun benchmarks/quality.py with the committed defaults, or export without --cv-results."
        )
    return {
        "source": path.name,
        "protocol": f"{bench['folds']}-fold stratified CV (shuffle, seed {bench['seed']}) on {bench['data']['rows']} rows; "
                    "inner validation split for early stopping, calibration and threshold",
        **{name: r["summary"] for name, r in results.items()},
        **({"paired_roc_auc": bench["paired_roc_auc"]} if bench.get("paired_roc_auc") else {}),
    }


def _comparable(config: dict) -> dict:
    """A training config without its seed, network options an older file lacks filled with their defaults."""
    from loanscore.train.network import NetworkConfig

    out = {k: v for k, v in config.items() if k != "seed"}
    if "network" in out:
        out["network"] = NetworkConfig.from_dict(out["network"]).to_dict()
    return out


def _manifest(run: TrainedRun, onnx_path: Path, run_dir: str | Path) -> dict:
    info = run.info
    metrics_path = Path(run_dir) / METRICS_FILE
    metrics = json.loads(metrics_path.read_text("utf-8")) if metrics_path.exists() else {}
    return {
        "format_version": FORMAT_VERSION,
        "model_file": MODEL_FILE,
        "sha256": sha256_file(onnx_path),
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "schema": run.schema.to_dict(),
        "inputs": [{"name": c.name, "type": "string" if c.is_string else "float32", "shape": [None, 1]}
                   for c in run.schema.columns()],
        "outputs": {PROBABILITY: "P(default), shape [N, 1]", FEATURES: "preprocessed features, for parity checks"},
        "threshold": info["threshold"],
        "metrics": {k: v for k, v in metrics.items() if k != "threshold"},
        "training": {
            "data": info.get("training_data"),
            "split": info.get("split"),
            "config": info.get("config"),
            "seconds": info.get("training_seconds"),
        },
        "opset": {"ai.onnx": OPSET, "ai.onnx.ml": ML_OPSET},
        "versions": {**info.get("versions", {}), "export": versions()},
    }


