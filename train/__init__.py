"""Training: scikit-learn preprocessing and the Keras LSTM-CNN. Needs the ``[train]`` extra."""

import os

# TensorFlow's C++ start-up chatter hides the progress lines a person is waiting for.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
