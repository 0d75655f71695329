"""A model that was changed, or that could read or run more than a model should, is refused."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import helper, numpy_helper

from loanscore.cli.main import main
from loanscore.runtime import ModelError, Scorer, VerificationError, verify_model
from loanscore.runtime.integrity import sha256_file


def _copy(model_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(model_dir, target)
    return target


@pytest.fixture()
def rehash(edit_manifest):  # type: ignore[no-untyped-def]
    """Record model.onnx's SHA-256 in the manifest and the manifest's in golden.json: a swap done with care, which
    only the golden cases or the refusal under test can catch."""
    return lambda directory: edit_manifest(directory, lambda m: m.update(sha256=sha256_file(directory / "model.onnx")))


def test_altered_weights_fail_verify_even_with_a_matching_hash(model_dir: Path, rehash, tmp_path: Path) -> None:
    target = _copy(model_dir, tmp_path)
    model = onnx.load(target / "model.onnx")
    lstm = next(n for n in model.graph.node if n.op_type == "LSTM")
    weights = next(i for i in model.graph.initializer if i.name == lstm.input[1])
    array = numpy_helper.to_array(weights).copy()
    array.flat[0] += 0.5  # one weight of the LSTM's input kernel
    weights.CopyFrom(numpy_helper.from_array(array, weights.name))
    onnx.save(model, target / "model.onnx")
    rehash(target)

    with pytest.raises(VerificationError, match="golden cases diverged"):
        verify_model(target)
    result = CliRunner().invoke(main, ["verify", str(target)])
    assert result.exit_code == 3
    assert "golden cases diverged" in result.output and "expected" in result.output


def test_a_changed_file_fails_the_hash_check(model_dir: Path, tmp_path: Path) -> None:
    target = _copy(model_dir, tmp_path)
    data = bytearray((target / "model.onnx").read_bytes())
    data[-10] ^= 0xFF
    (target / "model.onnx").write_bytes(bytes(data))
    result = CliRunner().invoke(main, ["verify", str(target)])
    assert result.exit_code == 3
    assert "does not match its manifest" in result.output


def _tiny_model(tmp_path: Path, model_dir: Path, rehash: Callable[[Path], Path], *, domain: str = "", external: bool = False) -> Path:
    """A one-node model with the shipped manifest re-hashed: only the refusal under test can stop it."""
    target = _copy(model_dir, tmp_path)
    x = helper.make_tensor_value_info("LIMIT_BAL", onnx.TensorProto.FLOAT, [None, 1])
    y = helper.make_tensor_value_info("probability", onnx.TensorProto.FLOAT, [None, 1])
    w = numpy_helper.from_array(np.ones((1,), np.float32), "w")
    node = helper.make_node("Mul", ["LIMIT_BAL", "w"], ["probability"], domain=domain)
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    model = helper.make_model(helper.make_graph([node], "g", [x], [y], [w]), opset_imports=opsets)
    if external:
        onnx.save(model, target / "model.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
                  location="weights.bin", size_threshold=0)
    else:
        onnx.save(model, target / "model.onnx")
    rehash(target)
    return target


def test_external_data_is_refused(model_dir: Path, rehash, tmp_path: Path) -> None:
    target = _tiny_model(tmp_path, model_dir, rehash, external=True)
    with pytest.raises(ModelError, match="external data files"):
        Scorer.load(target)


def test_unexpected_operator_domain_is_refused(model_dir: Path, rehash, tmp_path: Path) -> None:
    target = _tiny_model(tmp_path, model_dir, rehash, domain="com.example.custom")
    with pytest.raises(ModelError, match="'com.example.custom'"):
        Scorer.load(target)
    record = json.loads((model_dir / "golden.json").read_text())["cases"][0]["record"]
    applicants = tmp_path / "applicants.csv"
    applicants.write_text(",".join(record) + "\n" + ",".join(str(v) for v in record.values()) + "\n")
    result = CliRunner().invoke(main, ["score", str(applicants), "--model", str(target)])
    assert result.exit_code == 2
    assert "com.example.custom" in result.output


def test_a_file_that_is_not_onnx_is_refused(model_dir: Path, rehash, tmp_path: Path) -> None:
    target = _copy(model_dir, tmp_path)
    (target / "model.onnx").write_bytes(b"\xff\xff\xff\xff not a model")
    rehash(target)
    with pytest.raises(ModelError, match="not a valid ONNX file"):
        Scorer.load(target)


@pytest.mark.parametrize("data", [bytes([0x38, 0x01]),  # the graph (field 7) written as a number
                                  bytes([0x3A, 0x02, 0x08, 0x01]),  # a node of the graph as a number
                                  bytes([0x3A, 0x04, 0x0A, 0x02, 0x20, 0x01])],  # a node's operator name as a number
                         ids=["graph", "node", "operator"])
def test_a_corrupt_model_is_refused_not_a_crash(model_dir: Path, rehash, tmp_path: Path, data: bytes) -> None:
    target = _copy(model_dir, tmp_path)
    (target / "model.onnx").write_bytes(data)
    rehash(target)
    with pytest.raises(ModelError, match="not a valid ONNX file"):
        Scorer.load(target)
