"""Refuse model files that could make onnxruntime read or run more than the model.

A branch office receives model directories by mail or USB stick. Before a file
reaches onnxruntime we check, without the ``onnx`` package (the runtime does
not ship it), that it references no external data files and uses only the
standard operator domains. The ONNX protobuf is walked directly: the wire
format is a handful of rules, and only the fields below are read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .errors import ModelError, VerificationError

ALLOWED_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml"})

# Field numbers from onnx.proto3.
_MODEL_OPSET, _MODEL_GRAPH, _MODEL_FUNCTIONS = 8, 7, 25
_OPSET_DOMAIN = 1
_GRAPH_NODE, _GRAPH_INIT, _GRAPH_SPARSE_INIT = 1, 5, 15
_NODE_ATTR, _NODE_DOMAIN, _NODE_OP = 5, 7, 4
_ATTR_T, _ATTR_G, _ATTR_TENSORS, _ATTR_GRAPHS, _ATTR_SPARSE, _ATTR_SPARSES = 5, 6, 10, 11, 22, 23
_TENSOR_EXTERNAL_DATA, _TENSOR_LOCATION = 13, 14
_SPARSE_VALUES, _SPARSE_INDICES = 1, 2


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_sha256(manifest: Mapping[str, Any]) -> str:
    """The SHA-256 of a manifest's canonical JSON (sorted keys, no spaces): the same for a copy whose line ends
    or indentation changed (a checkout on Windows), different for any changed value."""
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_hash(path: Path, expected: str) -> None:
    actual = sha256_file(path)
    if actual != expected:
        raise VerificationError(
            f"{path} does not match its manifest: SHA-256 is {actual}, the manifest says {expected}. "
            "The file was changed or replaced after export; ask for a fresh copy of the model directory."
        )


def check_model_bytes(data: bytes, name: str = "model.onnx") -> None:
    """Raise ``ModelError`` if the model needs external files or non-standard operators."""
    try:
        fields = list(_fields(memoryview(data)))
        for num, value in fields:
            if num == _MODEL_OPSET:
                domain = _string(_bytes(value), _OPSET_DOMAIN)
                _domain_ok(domain, name, "imports the operator set")
            elif num == _MODEL_GRAPH:
                _check_graph(_bytes(value), name)
            elif num == _MODEL_FUNCTIONS:
                raise ModelError(f"{name} defines its own functions; loanscore only runs standard ONNX operators.")
        if not any(num == _MODEL_GRAPH for num, _ in fields):
            raise ModelError(f"{name} holds no graph; it is not an ONNX model.")
    except _Malformed:
        raise ModelError(f"{name} is not a valid ONNX file (its contents cannot be parsed).") from None


def _check_graph(graph: memoryview, name: str) -> None:
    for num, value in _fields(graph):
        if num == _GRAPH_NODE:
            _check_node(_bytes(value), name)
        elif num == _GRAPH_INIT:
            _check_tensor(_bytes(value), name)
        elif num == _GRAPH_SPARSE_INIT:
            _check_sparse(_bytes(value), name)


def _check_node(node: memoryview, name: str) -> None:
    op = ""
    for num, value in _fields(node):
        if num == _NODE_OP:
            op = bytes(_bytes(value)).decode("utf-8", "replace")
        elif num == _NODE_DOMAIN:
            _domain_ok(bytes(_bytes(value)).decode("utf-8", "replace"), name, f"uses operator {op or '?'} from the domain")
        elif num == _NODE_ATTR:
            for anum, avalue in _fields(_bytes(value)):
                if anum in (_ATTR_T, _ATTR_TENSORS):
                    _check_tensor(_bytes(avalue), name)
                elif anum in (_ATTR_G, _ATTR_GRAPHS):
                    _check_graph(_bytes(avalue), name)
                elif anum in (_ATTR_SPARSE, _ATTR_SPARSES):
                    _check_sparse(_bytes(avalue), name)


def _check_tensor(tensor: memoryview, name: str) -> None:
    for num, value in _fields(tensor):
        if num == _TENSOR_EXTERNAL_DATA or (num == _TENSOR_LOCATION and value == 1):
            raise ModelError(
                f"{name} stores weights in external data files; loanscore only loads self-contained models."
            )


def _check_sparse(sparse: memoryview, name: str) -> None:
    for num, value in _fields(sparse):
        if num in (_SPARSE_VALUES, _SPARSE_INDICES):
            _check_tensor(_bytes(value), name)


def _domain_ok(domain: str, name: str, what: str) -> None:
    if domain not in ALLOWED_DOMAINS:
        allowed = ", ".join(repr(d) for d in sorted(ALLOWED_DOMAINS))
        raise ModelError(f"{name} {what} '{domain}'; only {allowed} are allowed.")


class _Malformed(Exception):
    pass


def _string(message: memoryview, field: int) -> str:
    for num, value in _fields(message):
        if num == field:
            return bytes(_bytes(value)).decode("utf-8", "replace")
    return ""


def _bytes(value: memoryview | int) -> memoryview:
    """A length-delimited field's bytes: a number where a message or text belongs means the file is corrupt."""
    if isinstance(value, int):
        raise _Malformed
    return value


def _fields(buf: memoryview) -> Iterator[tuple[int, memoryview | int]]:
    """Yield (field number, value): ints for varints, memoryviews for length-delimited fields."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield num, value
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > end:
                raise _Malformed
            yield num, buf[pos : pos + length]
            pos += length
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise _Malformed
        if pos > end:
            raise _Malformed


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise _Malformed
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
