"""The ONNX versions both halves of the graph must agree on."""

OPSET = 17
"""Default-domain opset: native LSTM and Conv, and supported by onnxruntime >= 1.17 (the runtime's floor)."""
ML_OPSET = 3
"""ai.onnx.ml opset for the scikit-learn operators (Scaler, Imputer, OneHotEncoder)."""
