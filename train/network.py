"""The LSTM-CNN: an LSTM reads the monthly history, Conv1D layers find patterns in its outputs,
and dense layers combine them with the static applicant fields."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import keras
import numpy as np
from keras import layers

from .preprocess import Layout


@dataclass(frozen=True)
class NetworkConfig:
    lstm_units: int = 32
    lstm_layers: int = 1
    bidirectional: bool = False
    attention: bool = False
    """Add attention pooling over the LSTM's months to the last-state and conv pooling."""
    conv_filters: int = 32
    kernel_sizes: tuple[int, ...] = (2, 3)
    static_units: int = 32
    static_layers: int = 1
    wide: bool = False
    """Wide & deep: a linear term on the whole feature vector is added to the logit."""
    dense_units: int = 32
    dropout: float = 0.2
    input_noise: float = 0.0
    """Standard deviation of Gaussian noise added to the (standardized) features while training only."""
    l2: float = 1e-4
    weight_decay: float = 0.0
    """AdamW's decoupled weight decay (0: plain Adam)."""
    learning_rate: float = 2e-3
    batch_size: int = 512
    max_epochs: int = 80
    patience: int = 15
    schedule: str = "cosine"
    """'plateau' halves the learning rate when validation AUC stalls; 'cosine' decays it over max_epochs."""
    monitor: str = "auc"
    """Early stopping on validation 'auc' (maximized) or 'loss' (minimized)."""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["kernel_sizes"] = list(self.kernel_sizes)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> NetworkConfig:
        d = dict(d)
        d["kernel_sizes"] = tuple(d.get("kernel_sizes", cls.kernel_sizes))
        return cls(**d)


def build_network(layout: Layout, cfg: NetworkConfig, name: str = "lstm_cnn") -> keras.Model:
    """One input, ``features`` (the preprocessor's output), one output, ``logit`` (log-odds of default).

    The trainer averages members' logits and applies the calibration (a sigmoid
    of a fitted affine map) on top, see ``calibrated``.
    """
    reg = keras.regularizers.l2(cfg.l2) if cfg.l2 else None
    features = keras.Input((layout.width,), name="features")
    x = layers.GaussianNoise(cfg.input_noise, name="input_noise")(features) if cfg.input_noise else features
    static = x[:, : layout.n_static]
    history = layers.Reshape((layout.channels, layout.months))(x[:, layout.n_static :])
    history = layers.Permute((2, 1), name="months_by_channel")(history)  # [batch, months, channels]

    seq = history
    for i in range(cfg.lstm_layers):
        lstm = layers.LSTM(cfg.lstm_units, return_sequences=True, kernel_regularizer=reg,
                           name="lstm" if i == 0 else f"lstm_{i + 1}")
        seq = layers.Bidirectional(lstm, name=f"bi{lstm.name}")(seq) if cfg.bidirectional else lstm(seq)
    pooled = [seq[:, -1, :]]  # the state after the newest month
    if cfg.attention:
        scores = layers.Softmax(axis=1, name="attention")(layers.Dense(1, name="attention_score")(seq))
        pooled.append(layers.Flatten()(layers.Dot(axes=1)([scores, seq])))
    for k in cfg.kernel_sizes:
        conv = layers.Conv1D(cfg.conv_filters, min(k, layout.months), padding="same", activation="relu",
                             kernel_regularizer=reg, name=f"conv_k{k}")(seq)
        pooled += [layers.GlobalMaxPooling1D()(conv), layers.GlobalAveragePooling1D()(conv)]
    dense_static = static
    for i in range(cfg.static_layers):
        dense_static = layers.Dense(cfg.static_units, activation="relu", kernel_regularizer=reg,
                                    name="static" if i == 0 else f"static_{i + 1}")(dense_static)
    x = layers.Concatenate()([*pooled, dense_static])
    x = layers.Dropout(cfg.dropout)(x)
    x = layers.Dense(cfg.dense_units, activation="relu", kernel_regularizer=reg, name="combine")(x)
    x = layers.Dropout(cfg.dropout)(x)
    out = layers.Dense(1, name="logit" if not cfg.wide else "deep_logit")(x)
    if cfg.wide:
        linear = layers.Dense(1, kernel_regularizer=reg, use_bias=False, name="wide_logit")(features)
        out = layers.Add(name="logit")([out, linear])
    return keras.Model(features, out, name=name)


def calibrated(members: list[keras.Model], width: int, scale: float = 1.0, shift: float = 0.0) -> keras.Model:
    """``sigmoid(scale * mean(member logits) + shift)``: the one model that is exported.

    ``scale``/``shift`` are the Platt calibration fitted on validation data
    (1 and 0 leave the averaged logit as it is).
    """
    features = keras.Input((width,), name="features")
    logits = [m(features) for m in members]
    logit = logits[0] if len(logits) == 1 else layers.Average(name="mean_logit")(logits)
    platt = layers.Dense(1, activation="sigmoid", name="probability")
    out = platt(logit)
    platt.set_weights([np.array([[scale]], dtype=np.float32), np.array([shift], dtype=np.float32)])
    return keras.Model(features, out, name="lstm_cnn_calibrated")
