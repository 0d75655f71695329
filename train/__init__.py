"""Training: scikit-learn preprocessing and the Keras LSTM-CNN. Needs the ``[train]`` extra."""

import logging
import os

# TensorFlow's C++ and retracing chatter hides the progress lines a person is waiting for;
# real failures still surface as Python exceptions.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
logging.getLogger("tensorflow").setLevel(logging.ERROR)
