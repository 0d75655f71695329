"""The fitted scikit-learn preprocessor as an ONNX graph (skl2onnx), one input per raw column."""

from __future__ import annotations

import numpy as np
import onnx
from skl2onnx import convert_sklearn, update_registered_converter
from skl2onnx.algebra.onnx_ops import OnnxAbs, OnnxAdd, OnnxLog, OnnxMul, OnnxSign
from skl2onnx.common.data_types import FloatTensorType, StringTensorType

from loanscore.runtime.schema import Schema
from loanscore.train.preprocess import SignedLog

from .signature import ML_OPSET, OPSET


def _signed_log_shape(operator) -> None:
    x = operator.inputs[0]
    operator.outputs[0].type = FloatTensorType([x.get_first_dimension(), x.get_second_dimension()])


def _signed_log_converter(scope, operator, container) -> None:
    v = container.target_opset
    x = operator.inputs[0]
    one = np.array([1], dtype=np.float32)
    out = OnnxMul(
        OnnxSign(x, op_version=v),
        OnnxLog(OnnxAdd(OnnxAbs(x, op_version=v), one, op_version=v), op_version=v),
        op_version=v,
        output_names=operator.outputs[:1],
    )
    out.add_to(scope, container)


update_registered_converter(SignedLog, "LoanscoreSignedLog", _signed_log_shape, _signed_log_converter)


def input_types(schema: Schema) -> list[tuple[str, object]]:
    """The graph's inputs: each raw column as ``[batch, 1]``, float32 or string."""
    return [
        (c.name, StringTensorType([None, 1]) if c.is_string else FloatTensorType([None, 1]))
        for c in schema.columns()
    ]


def preprocess_graph(preprocessor, schema: Schema) -> onnx.ModelProto:
    return convert_sklearn(
        preprocessor,
        name="loanscore_preprocessing",
        initial_types=input_types(schema),
        target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET},
    )
