"""Canonical node order and names, so the same trained run always exports to the same bytes.

tf2onnx names what it creates with process-wide counters, and TensorFlow's own
names depend on the order in which the network was traced, so two exports of one
run differ in names and node order although they compute the same thing. An
auditor who rebuilds the shipped model should get the SHA-256 in its manifest.
"""

from __future__ import annotations

import hashlib

import onnx
from onnx import helper


def canonicalize(model: onnx.ModelProto) -> onnx.ModelProto:
    """Nodes in a topological order that depends only on what they compute; internal names from that order.

    Graph inputs and outputs keep their names, and the opset list is sorted by domain
    (merging the two graphs lists it in either order). A node is placed when its inputs
    are available, choosing among the ready ones by (operator, inputs, attributes);
    initializers are keyed by their content until first used. Graphs with
    subgraphs (Loop, If, Scan) are returned as they are.
    """
    graph = model.graph
    if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for n in graph.node for a in n.attribute):
        return model
    for node in graph.node:  # a Constant's tensor may carry a converter's name too
        for a in node.attribute:
            if a.type == onnx.AttributeProto.TENSOR:
                a.t.name = ""
    names = {v.name: v.name for v in (*graph.input, *graph.output)}
    names[""] = ""  # an optional input left out
    initializers = {t.name: t for t in graph.initializer}
    content = {name: "init:" + _digest(t) for name, t in initializers.items()}
    available = set(names) | set(initializers)
    produced = 0
    pending = list(graph.node)
    order: list[onnx.NodeProto] = []
    used_initializers: list[str] = []

    def key(node: onnx.NodeProto) -> tuple:
        inputs = tuple(names[i] if i in names else content[i] for i in node.input)
        attributes = tuple(a.SerializeToString(deterministic=True) for a in node.attribute)
        return node.domain, node.op_type, inputs, attributes, len(node.output)

    while pending:
        ready = [n for n in pending if all(i in available for i in n.input)]
        if not ready:
            raise ValueError("the ONNX graph has a cycle or an input no node produces; cannot order it.")
        node = min(ready, key=key)
        pending.remove(node)
        for i in node.input:
            if i in initializers and i not in names:
                names[i] = f"c{len(used_initializers)}"
                used_initializers.append(i)
        for o in node.output:
            if o and o not in names:
                names[o] = f"t{produced}"
                produced += 1
            available.add(o)
        order.append(node)

    for i, node in enumerate(order):
        node.name = f"{node.op_type}_{i}"
        node.input[:] = [names[n] for n in node.input]
        node.output[:] = [names[n] for n in node.output]
    del graph.node[:]
    graph.node.extend(order)
    for n in used_initializers:
        initializers[n].name = names[n]
    # Unused initializers are dropped; one that is also a graph input keeps its name and place.
    kept = [initializers[n] for n in used_initializers] + sorted(
        (t for n, t in initializers.items() if n in {v.name for v in graph.input}), key=lambda t: t.name)
    del graph.initializer[:]
    graph.initializer.extend(kept)
    infos = [v for v in graph.value_info if v.name in names]
    for v in infos:
        v.name = names[v.name]
    del graph.value_info[:]
    graph.value_info.extend(sorted(infos, key=lambda v: v.name))
    versions = {o.domain: o.version for o in model.opset_import}
    if len(versions) == len({(o.domain, o.version) for o in model.opset_import}):  # duplicates agree
        del model.opset_import[:]
        model.opset_import.extend(helper.make_opsetid(d, v) for d, v in sorted(versions.items()))
    return model


def _digest(tensor: onnx.TensorProto) -> str:
    """What an initializer holds, whatever it is called."""
    nameless = onnx.TensorProto()
    nameless.CopyFrom(tensor)
    nameless.name = ""
    return hashlib.sha256(nameless.SerializeToString(deterministic=True)).hexdigest()
