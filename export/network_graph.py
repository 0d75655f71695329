"""The Keras network as an ONNX graph (tf2onnx), input ``features`` and output ``probability``."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import onnx
from onnx import helper, numpy_helper

from loanscore.train.preprocess import Layout

from .signature import OPSET


def network_graph(model, layout: Layout) -> onnx.ModelProto:
    import tensorflow as tf
    import tf2onnx

    # An explicit signature makes tf2onnx emit a native ONNX LSTM op rather than an unrolled loop.
    signature = [tf.TensorSpec([None, layout.width], tf.float32, name="features")]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=OPSET)
    tidy_conv_layout(proto)
    return proto


def tidy_conv_layout(model: onnx.ModelProto) -> int:
    """Drop the layout shuffles tf2onnx leaves around each Conv1D; returns how many nodes were rewritten.

    tf2onnx turns Keras' channels-last Conv1D into ``Unsqueeze -> Transpose ->
    Conv -> Squeeze -> Add(bias)`` and its global poolings into ``Transpose ->
    ReduceMax/ReduceMean``. Those Transposes and bias Adds took a third of
    the scoring time. The rewrite gives the same arithmetic: one 3-D Transpose
    into Conv, the bias inside Conv, poolings over the time axis where it
    already is. A node that does not match the expected pattern is left
    alone, and export's parity check covers whatever the graph ends up as.
    """
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    consumers: dict[str, list] = defaultdict(list)
    for n in g.node:
        for i in n.input:
            consumers[i].append(n)

    def const(name: str) -> np.ndarray | None:
        return numpy_helper.to_array(inits[name]) if name in inits else None

    def attr(node, name):
        return next((helper.get_attribute_value(a) for a in node.attribute if a.name == name), None)

    outputs = {o.name for o in g.output}

    def only_consumer(name: str, node) -> bool:
        return len(consumers[name]) == 1 and consumers[name][0] is node and name not in outputs

    rewritten, dropped = 0, set()
    for t in list(g.node):
        # [B, T, H] -Unsqueeze(-3)-> [B, 1, T, H] -Transpose(0,3,1,2)-> [B, H, 1, T]
        #   becomes  -Transpose(0,2,1)-> [B, H, T] -Unsqueeze(2)-> [B, H, 1, T]
        if t.op_type == "Transpose" and list(attr(t, "perm") or []) == [0, 3, 1, 2]:
            u = producer.get(t.input[0])
            axes = const(u.input[1]) if u is not None and u.op_type == "Unsqueeze" and len(u.input) == 2 else None
            if u is not None and axes is not None and axes.tolist() in ([-3], [1]) and only_consumer(u.output[0], t):
                mid = t.output[0] + "/channels_first"
                axis2 = t.output[0] + "/axis2"
                g.initializer.append(numpy_helper.from_array(np.array([2], dtype=np.int64), axis2))
                u.CopyFrom(helper.make_node("Transpose", [u.input[0]], [mid], name=u.name, perm=[0, 2, 1]))
                t.CopyFrom(helper.make_node("Unsqueeze", [mid, axis2], [t.output[0]], name=t.name))
                rewritten += 2
        # Conv -> Squeeze -> Add(bias [1, C, 1]): the bias goes into Conv's own bias input.
        elif t.op_type == "Conv" and len(t.input) == 2:
            s = consumers[t.output[0]][0] if len(consumers[t.output[0]]) == 1 else None
            a = consumers[s.output[0]][0] if s is not None and s.op_type == "Squeeze" and len(consumers[s.output[0]]) == 1 else None
            bias = const(a.input[1]) if a is not None and a.op_type == "Add" else None
            weights = const(t.input[1])
            channels = weights.shape[0] if weights is not None else None
            if (s is not None and a is not None and bias is not None and bias.size == channels
                    and bias.shape in ((1, channels, 1), (channels, 1))):
                name = t.output[0] + "/bias"
                g.initializer.append(numpy_helper.from_array(bias.reshape(channels).astype(np.float32), name))
                t.input.append(name)
                s.output[0] = a.output[0]
                dropped.add(a.name)
                rewritten += 1
        # Transpose(0,2,1) feeding only global poolings over axis 1: pool over axis 2 instead.
        elif t.op_type == "Transpose" and list(attr(t, "perm") or []) == [0, 2, 1]:
            users = consumers[t.output[0]]
            if users and t.output[0] not in outputs and all(
                    r.op_type in ("ReduceMax", "ReduceMean") and list(attr(r, "axes") or []) == [1]
                    and attr(r, "keepdims") == 0 for r in users):
                for r in users:
                    r.input[0] = t.input[0]
                    for a in r.attribute:
                        if a.name == "axes":
                            a.CopyFrom(helper.make_attribute("axes", [2]))
                dropped.add(t.name)
                rewritten += 1
    kept = [n for n in g.node if n.name not in dropped]
    del g.node[:]
    g.node.extend(kept)
    produced = {o for n in g.node for o in n.output}
    for v in [v for v in g.value_info if v.name not in produced]:
        g.value_info.remove(v)
    used = {i for n in g.node for i in n.input} | outputs
    for i in [i for i in g.initializer if i.name not in used]:  # the bias Adds' constants
        g.initializer.remove(i)
    return rewritten
