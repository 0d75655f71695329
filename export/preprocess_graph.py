"""The fitted scikit-learn preprocessor as an ONNX graph (skl2onnx), one input per raw column."""

from __future__ import annotations

import numpy as np
import onnx
from skl2onnx import convert_sklearn, update_registered_converter
from onnx import TensorProto
from skl2onnx.algebra.onnx_ops import (
    OnnxAbs,
    OnnxAdd,
    OnnxCast,
    OnnxConcat,
    OnnxDiv,
    OnnxGather,
    OnnxGreater,
    OnnxLess,
    OnnxMin,
    OnnxIdentity,
    OnnxLog,
    OnnxMax,
    OnnxMul,
    OnnxReduceSum,
    OnnxSign,
    OnnxSub,
    OnnxUnsqueeze,
)
from skl2onnx.common.data_types import FloatTensorType, StringTensorType

from loanscore.runtime.schema import Schema
from loanscore.train.preprocess import _STATUS_CODE, UTILIZATION_CLIP, HistoryFeatures, NormalScores, SignedLog

from .signature import ML_OPSET, OPSET


def _same_shape(operator) -> None:
    x = operator.inputs[0]
    operator.outputs[0].type = FloatTensorType([x.get_first_dimension(), x.get_second_dimension()])


def _signed_log(x, v: int):
    one = np.array([1], dtype=np.float32)
    return OnnxMul(OnnxSign(x, op_version=v),
                   OnnxLog(OnnxAdd(OnnxAbs(x, op_version=v), one, op_version=v), op_version=v), op_version=v)


def _signed_log_converter(scope, operator, container) -> None:
    v = container.target_opset
    out = OnnxIdentity(_signed_log(operator.inputs[0], v), op_version=v, output_names=operator.outputs[:1])
    out.add_to(scope, container)


update_registered_converter(SignedLog, "LoanscoreSignedLog", _same_shape, _signed_log_converter)


def _normal_scores_converter(scope, operator, container) -> None:
    """``NormalScores.transform`` as a sum of clipped ramps, one per knot interval and column.

    score = score_0 + sum_k slope_k * clip(x - knot_k, 0, knot_{k+1} - knot_k): np.interp's
    value, with the end scores held beyond the first and last knot.
    """
    v = container.target_opset
    est = operator.raw_operator
    knots, scores = est.knots_, est.scores_
    width = np.diff(knots, axis=1)
    rise = np.diff(scores, axis=1)
    slope = np.divide(rise, width, out=np.zeros_like(rise), where=width > 0)
    x = OnnxUnsqueeze(operator.inputs[0], np.array([2], dtype=np.int64), op_version=v)  # [N, C, 1]
    offset = OnnxSub(x, knots[:, :-1].astype(np.float32), op_version=v)  # [N, C, K]
    ramp = OnnxMin(OnnxMax(offset, np.array([0], dtype=np.float32), op_version=v), width.astype(np.float32),
                   op_version=v)
    total = OnnxReduceSum(OnnxMul(ramp, slope.astype(np.float32), op_version=v), np.array([2], dtype=np.int64),
                          keepdims=0, op_version=v)
    out = OnnxAdd(total, scores[:, 0].astype(np.float32), op_version=v, output_names=operator.outputs[:1])
    out.add_to(scope, container)


update_registered_converter(NormalScores, "LoanscoreNormalScores", _same_shape, _normal_scores_converter)


def _history_features_shape(operator) -> None:
    est = operator.raw_operator
    x = operator.inputs[0]
    operator.outputs[0].type = FloatTensorType([x.get_first_dimension(), len(est.derived) * est.months])


def _history_features_converter(scope, operator, container) -> None:
    """``HistoryFeatures.transform`` op for op: the same elementwise arithmetic, month by month."""
    v = container.target_opset
    est = operator.raw_operator
    x = operator.inputs[0]
    T = est.months

    def col(role: str, t: int):
        index = np.array([est.channel(role) * T + t], dtype=np.int64)
        return OnnxGather(x, index, axis=1, op_version=v)  # [N, 1]

    def const(value: float):
        return np.array([value], dtype=np.float32)

    def limit():
        index = np.array([len(est.roles) * T], dtype=np.int64)
        return OnnxMax(OnnxGather(x, index, axis=1, op_version=v), const(1.0), op_version=v)

    def flag(node):
        return OnnxCast(node, to=TensorProto.FLOAT, op_version=v)

    def late(t: int):
        return OnnxCast(OnnxGreater(col("status", t), const(0.0), op_version=v), to=TensorProto.FLOAT, op_version=v)

    blocks = []
    for d in est.derived:
        if d == "delinquent":
            blocks += [late(t) for t in range(T)]
        elif d == "months_since_delinquency":
            last = None
            for t in range(T):
                mark = OnnxMul(late(t), const(t + 1.0), op_version=v)
                last = mark if last is None else OnnxMax(last, mark, op_version=v)
                blocks.append(OnnxSub(const(t + 1.0), last, op_version=v))
        elif d == "payment_ratio":
            for t in range(T):
                pay, prev = col("payment", t), col("balance", max(t - 1, 0))
                denom = OnnxMax(OnnxMax(prev, pay, op_version=v), const(1.0), op_version=v)
                blocks.append(OnnxDiv(pay, denom, op_version=v))
        elif d == "balance_change":
            for t in range(T):
                diff = OnnxSub(col("balance", t), col("balance", max(t - 1, 0)), op_version=v)
                blocks.append(_signed_log(diff, v))
        elif d == "spending":
            blocks.append(OnnxSub(col("balance", 0), col("balance", 0), op_version=v))  # 0: no previous month
            for t in range(1, T):
                diff = OnnxSub(col("balance", t), col("balance", t - 1), op_version=v)
                blocks.append(_signed_log(OnnxAdd(diff, col("payment", t), op_version=v), v))
        elif d in UTILIZATION_CLIP:
            low, high = UTILIZATION_CLIP[d]
            for t in range(T):
                ratio = OnnxDiv(col("balance" if d == "utilization" else "payment", t), limit(), op_version=v)
                blocks.append(OnnxMin(OnnxMax(ratio, const(low), op_version=v), const(high), op_version=v))
        elif d in _STATUS_CODE:
            code = _STATUS_CODE[d]
            for t in range(T):
                below = flag(OnnxLess(col("status", t), const(code + 0.5), op_version=v))
                if code == -2:
                    blocks.append(below)
                else:
                    above = flag(OnnxGreater(col("status", t), const(code - 0.5), op_version=v))
                    blocks.append(OnnxMul(below, above, op_version=v))
    out = OnnxConcat(*blocks, axis=1, op_version=v, output_names=operator.outputs[:1])
    out.add_to(scope, container)


update_registered_converter(HistoryFeatures, "LoanscoreHistoryFeatures", _history_features_shape,
                            _history_features_converter)


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
