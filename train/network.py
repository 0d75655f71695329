"""The LSTM-CNN: an LSTM reads the monthly history, Conv1D layers find patterns in its outputs,
and dense layers combine them with the static applicant fields."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import keras
from keras import layers

from .preprocess import Layout


@dataclass(frozen=True)
class NetworkConfig:
    lstm_units: int = 32
    conv_filters: int = 32
    kernel_sizes: tuple[int, ...] = (2, 3)
    static_units: int = 32
    dense_units: int = 32
    dropout: float = 0.2
    l2: float = 1e-4
    learning_rate: float = 2e-3
    batch_size: int = 256
    max_epochs: int = 40
    patience: int = 6

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
    """One input, ``features`` (the preprocessor's output), one output, ``probability``."""
    reg = keras.regularizers.l2(cfg.l2) if cfg.l2 else None
    features = keras.Input((layout.width,), name="features")
    static = features[:, : layout.n_static]
    history = layers.Reshape((layout.channels, layout.months))(features[:, layout.n_static :])
    history = layers.Permute((2, 1), name="months_by_channel")(history)  # [batch, months, channels]

    seq = layers.LSTM(cfg.lstm_units, return_sequences=True, kernel_regularizer=reg, name="lstm")(history)
    pooled = [seq[:, -1, :]]  # the state after the newest month
    for k in cfg.kernel_sizes:
        conv = layers.Conv1D(cfg.conv_filters, min(k, layout.months), padding="same", activation="relu",
                             kernel_regularizer=reg, name=f"conv_k{k}")(seq)
        pooled += [layers.GlobalMaxPooling1D()(conv), layers.GlobalAveragePooling1D()(conv)]
    dense_static = layers.Dense(cfg.static_units, activation="relu", kernel_regularizer=reg, name="static")(static)
    x = layers.Concatenate()([*pooled, dense_static])
    x = layers.Dropout(cfg.dropout)(x)
    x = layers.Dense(cfg.dense_units, activation="relu", kernel_regularizer=reg, name="combine")(x)
    x = layers.Dropout(cfg.dropout)(x)
    out = layers.Dense(1, activation="sigmoid", name="probability")(x)
    return keras.Model(features, out, name=name)
