"""The Keras network as an ONNX graph (tf2onnx), input ``features`` and output ``probability``."""

from __future__ import annotations

import onnx

from loanscore.train.preprocess import Layout

from .signature import OPSET


def network_graph(model, layout: Layout) -> onnx.ModelProto:
    import tensorflow as tf
    import tf2onnx

    # An explicit signature makes tf2onnx emit a native ONNX LSTM op rather than an unrolled loop.
    signature = [tf.TensorSpec([None, layout.width], tf.float32, name="features")]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=OPSET)
    return proto
