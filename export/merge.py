"""Join preprocessing and network into the one graph the runtime loads."""

from __future__ import annotations

import onnx
from onnx import compose, helper

from loanscore.runtime.model import FEATURES, PROBABILITY

from .canonical import canonicalize
from .signature import ML_OPSET, OPSET


def merge_graphs(pre: onnx.ModelProto, net: onnx.ModelProto, metadata: dict[str, str]) -> onnx.ModelProto:
    """Raw columns -> ``features`` -> ``probability``; ``features`` stays an output for stage-by-stage parity."""
    for model in (pre, net):
        _set_opsets(model)
    ir = min(pre.ir_version, net.ir_version)
    pre.ir_version = net.ir_version = ir
    pre_out = pre.graph.output[0].name
    net_in, net_out = net.graph.input[0].name, net.graph.output[0].name
    merged = compose.merge_models(pre, net, io_map=[(pre_out, net_in)], prefix2="net/")
    graph = merged.graph
    # Name the two outputs plainly, whatever the converters called them.
    graph.node.extend([
        helper.make_node("Identity", [pre_out], [FEATURES], name="features_out"),
        helper.make_node("Identity", ["net/" + net_out], [PROBABILITY], name="probability_out"),
    ])
    del graph.output[:]
    graph.output.extend([
        helper.make_tensor_value_info(PROBABILITY, onnx.TensorProto.FLOAT, ["N", 1]),
        helper.make_tensor_value_info(FEATURES, onnx.TensorProto.FLOAT, ["N", None]),
    ])
    graph.name = "loanscore"
    merged.producer_name = "loanscore"
    del merged.metadata_props[:]
    for key, value in metadata.items():
        merged.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    canonicalize(merged)  # the same run always gives the same bytes
    onnx.checker.check_model(merged, full_check=True)
    return merged


def _set_opsets(model: onnx.ModelProto) -> None:
    """Both halves must declare the same version per domain for merge_models."""
    wanted = {"": OPSET, "ai.onnx.ml": ML_OPSET}
    seen = set()
    for entry in model.opset_import:
        if entry.domain in wanted:
            entry.version = wanted[entry.domain]
            seen.add(entry.domain)
    for domain in wanted.keys() - seen:
        model.opset_import.append(helper.make_opsetid(domain, wanted[domain]))
