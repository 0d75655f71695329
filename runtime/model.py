"""A model directory: ``model.onnx`` plus the ``manifest.json`` that says what it expects.

Loading checks the file against its manifest, and the manifest against the hash ``golden.json`` recorded at
export, before onnxruntime sees either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelError, VerificationError
from .integrity import check_hash, check_model_bytes, manifest_sha256
from .schema import Schema

MANIFEST = "manifest.json"
GOLDEN = "golden.json"
PARITY = "parity.json"
FORMAT_VERSION = 1
PROBABILITY = "probability"
FEATURES = "features"
"""Second graph output: the preprocessed feature matrix, for stage-by-stage parity."""


def default_model_dir() -> Path:
    """The model shipped inside the package (``loanscore/artifacts/model``)."""
    try:  # not importlib.resources: it costs a one-applicant CLI run about 20 ms of imports
        import loanscore.artifacts as artifacts
    except ModuleNotFoundError:
        raise ModelError("The shipped model is not installed; pass --model MODEL_DIR.") from None
    return Path(artifacts.__file__).parent / "model"


@dataclass(frozen=True)
class Model:
    """An integrity-checked onnxruntime session and its manifest."""

    directory: Path
    manifest: dict[str, Any]
    schema: Schema
    session: Any  # onnxruntime.InferenceSession (thread-safe for run())

    @classmethod
    def load(cls, directory: str | Path | None = None, *, threads: int | None = None) -> Model:
        directory = Path(directory) if directory is not None else default_model_dir()
        manifest = read_manifest(directory)
        onnx_path = directory / manifest.get("model_file", "model.onnx")
        try:
            data = onnx_path.read_bytes()
        except OSError as exc:
            raise ModelError(f"Cannot read {onnx_path}: {exc.strerror or exc}.") from None
        check_hash(onnx_path, manifest["sha256"])
        check_manifest_unchanged(directory, manifest)
        check_model_bytes(data, onnx_path.name)
        schema = Schema.from_dict(manifest["schema"], source=f"{directory / MANIFEST} schema")
        import onnxruntime as ort  # deferred: keeps `loanscore --help` fast

        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelError(f"onnxruntime refused {onnx_path}: {exc}") from None
        expected = set(schema.input_names)
        actual = {i.name for i in session.get_inputs()}
        if actual != expected:
            raise ModelError(
                f"{onnx_path} does not take the inputs its manifest's schema lists: "
                f"missing {sorted(expected - actual)}, unexpected {sorted(actual - expected)}."
            )
        return cls(directory, manifest, schema, session)

    @property
    def threshold(self) -> float:
        return float(self.manifest["threshold"]["value"])

    def run(self, feeds: dict[str, np.ndarray], outputs: tuple[str, ...] = (PROBABILITY,)) -> list[np.ndarray]:
        return self.session.run(list(outputs), feeds)


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not directory.is_dir():
        raise ModelError(f"Model directory {directory} does not exist.")
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise ModelError(f"Cannot read {path}: {exc.strerror or exc}. Is {directory} a loanscore model directory?") from None
    except (ValueError, RecursionError) as exc:  # json raises RecursionError for nesting too deep
        raise ModelError(f"{path} is not valid JSON: {exc}.") from None
    if not isinstance(manifest, dict):
        raise ModelError(f"{path} is not a manifest written by `loanscore export`: it holds no JSON object.")
    missing = [k for k in ("format_version", "sha256", "schema", "threshold") if k not in manifest]
    if missing:
        raise ModelError(f"{path} lacks {', '.join(missing)}; it was not written by `loanscore export`.")
    if manifest["format_version"] != FORMAT_VERSION:
        raise ModelError(
            f"{path} has format version {manifest['format_version']}; this loanscore reads version {FORMAT_VERSION}."
        )
    _check_types(manifest, path)
    return manifest


def check_manifest_unchanged(directory: Path, manifest: dict[str, Any]) -> None:
    """Refuse a manifest edited since export: its threshold and schema decide every applicant with the graph
    untouched, so a hand-edited cut-off would otherwise score unnoticed. ``golden.json`` records its SHA-256; a
    model exported before that, or whose golden cases are missing or damaged, is left to ``loanscore verify``."""
    try:
        recorded = json.loads((directory / GOLDEN).read_text("utf-8")).get("manifest_sha256")
    except (OSError, ValueError, RecursionError, AttributeError):
        return
    if not isinstance(recorded, str):
        return
    now = manifest_sha256(manifest)
    if now != recorded:
        raise VerificationError(
            f"{directory / MANIFEST} has changed since the model was exported (SHA-256 {now[:12]}…; golden.json "
            f"recorded {recorded[:12]}…). Its threshold and schema decide every applicant: restore it, or export "
            "(or recalibrate) the model again."
        )


def _check_types(manifest: dict[str, Any], path: Path) -> None:
    """Refuse a manifest whose entries the runtime reads have the wrong shape (a hand edit gone wrong, a damaged
    copy), naming the entry, rather than fail later somewhere that cannot say why."""
    threshold = manifest["threshold"]
    value = threshold.get("value") if isinstance(threshold, dict) else None
    model_file = manifest.get("model_file", "model.onnx")
    wrong = next((what for ok, what in (
        (isinstance(manifest["sha256"], str), "sha256 must be the model file's SHA-256 as text"),
        (isinstance(manifest["schema"], dict), "schema must be an object"),
        (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1,
         "threshold must be an object whose value is a probability between 0 and 1"),
        (isinstance(model_file, str) and model_file == Path(model_file).name and model_file not in ("", ".", ".."),
         "model_file must be a file name in the model directory"),
        *((isinstance(manifest.get(key) or {}, dict), f"{key} must be an object")
          for key in ("outputs", "metrics", "training", "opset", "versions", "population")),
        (isinstance(threshold.get("inputs") or {} if isinstance(threshold, dict) else {}, dict),
         "threshold.inputs must be an object"),
    ) if not ok), None)
    if wrong:
        raise ModelError(f"{path} is damaged: {wrong}. Restore the model directory from its source, or export it "
                         "again.")
