"""The canonical form of a graph depends on what it computes, not on how a converter named or ordered it."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from loanscore.export.canonical import canonicalize


def _graph(order: list[int], prefix: str) -> onnx.ModelProto:
    """y = (x @ w + b) + relu(x @ w), with every internal name prefixed and the nodes in ``order``."""
    w = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3) - 2, f"{prefix}w")
    b = numpy_helper.from_array(np.full(3, 0.5, dtype=np.float32), f"{prefix}b")
    unused = numpy_helper.from_array(np.zeros(1, dtype=np.float32), f"{prefix}unused")
    nodes = [helper.make_node("MatMul", ["x", f"{prefix}w"], [f"{prefix}m"], name=f"{prefix}matmul"),
             helper.make_node("Add", [f"{prefix}m", f"{prefix}b"], [f"{prefix}a"], name=f"{prefix}add"),
             helper.make_node("Relu", [f"{prefix}m"], [f"{prefix}r"], name=f"{prefix}relu"),
             helper.make_node("Sum", [f"{prefix}a", f"{prefix}r"], ["y"], name=f"{prefix}sum")]
    graph = helper.make_graph([nodes[i] for i in order], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])],
                              [b, unused, w] if prefix == "a/" else [w, b, unused])
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)]
    return helper.make_model(graph, opset_imports=opsets if prefix == "a/" else opsets[::-1], ir_version=8)


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


def test_names_and_order_do_not_change_the_bytes_or_the_result() -> None:
    x = np.array([[1.0, -2.0], [0.5, 3.0]], dtype=np.float32)
    original = _graph([0, 1, 2, 3], "a/")
    expected = _run(original, x)
    first = canonicalize(_graph([0, 1, 2, 3], "a/"))
    second = canonicalize(_graph([0, 2, 1, 3], "converter_42/"))
    assert first.SerializeToString() == second.SerializeToString()
    onnx.checker.check_model(first, full_check=True)
    np.testing.assert_array_equal(_run(first, x), expected)
    assert [i.name for i in first.graph.input] == ["x"] and [o.name for o in first.graph.output] == ["y"]
    assert len(first.graph.initializer) == 2  # the unused one is dropped
    assert [o.domain for o in first.opset_import] == ["", "ai.onnx.ml"]
