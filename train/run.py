"""A trained run: the fitted preprocessor and the Keras network, as saved in RUN_DIR.

This is the reference side of every parity check: Keras + scikit-learn on raw rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loanscore.runtime.errors import ModelError
from loanscore.runtime.integrity import sha256_file
from loanscore.runtime.schema import Schema
from loanscore.runtime.staging import Folder

from .preprocess import Layout

KERAS_FILE = "model.keras"
PREPROCESSOR_FILE = "preprocessor.skops"
RUN_FILE = "run.json"
METRICS_FILE = "metrics.json"
RUN_FOLDER = Folder("the training run", "training run", RUN_FILE,
                    frozenset({KERAS_FILE, PREPROCESSOR_FILE, RUN_FILE, METRICS_FILE}))
# Types beyond skops' defaults that a saved preprocessor may contain; skops refuses anything else.
TRUSTED_TYPES = ["loanscore.train.preprocess.SignedLog", "loanscore.train.preprocess.HistoryFeatures",
                 "loanscore.train.preprocess.NormalScores", "numpy.dtype"]


@dataclass
class TrainedRun:
    model: Any  # keras.Model
    preprocessor: Any  # fitted ColumnTransformer
    schema: Schema
    layout: Layout
    epochs: list = field(default_factory=list)
    info: dict = field(default_factory=dict)

    def features(self, X: pd.DataFrame) -> np.ndarray:
        """Preprocessed features exactly as the network sees them (float32)."""
        return self.preprocessor.transform(X[self.schema.input_names]).astype(np.float32)

    def predict(self, X: pd.DataFrame, features: np.ndarray | None = None) -> np.ndarray:
        F = self.features(X) if features is None else features
        return np.asarray(self.model.predict(F, batch_size=4096, verbose=0), dtype=np.float64).reshape(-1)

    def save(self, run_dir: Path, info: dict, metrics: dict) -> None:
        """The network, the preprocessing and ``metrics``, then ``run.json`` with their SHA-256, into ``run_dir``
        (the trainer's staging folder, renamed whole into place): files mixed from two runs are refused by
        :meth:`load`."""
        import skops.io

        run_dir.mkdir(parents=True, exist_ok=True)
        self.model.save(run_dir / KERAS_FILE)
        skops.io.dump(self.preprocessor, run_dir / PREPROCESSOR_FILE)
        (run_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n")
        info = {**info, "layout": self.layout.__dict__, "epochs": self.epochs,
                "files": {name: sha256_file(run_dir / name) for name in (KERAS_FILE, PREPROCESSOR_FILE, METRICS_FILE)}}
        (run_dir / RUN_FILE).write_text(json.dumps(info, indent=2) + "\n")
        self.info = info

    @classmethod
    def load(cls, run_dir: str | Path) -> TrainedRun:
        import keras
        import skops.io

        run_dir = Path(run_dir)
        for name in (KERAS_FILE, PREPROCESSOR_FILE, RUN_FILE):
            if not (run_dir / name).is_file():
                raise ModelError(f"{run_dir} is not a training run: {name} is missing. Run `loanscore train` first.")
        info = json.loads((run_dir / RUN_FILE).read_text("utf-8"))
        for name, digest in info.get("files", {}).items():  # runs written before loanscore recorded them: none
            if not (run_dir / name).is_file() or sha256_file(run_dir / name) != digest:
                raise ModelError(f"{run_dir / name} is not the file {run_dir / RUN_FILE} records (it is missing, "
                                 "or its SHA-256 differs): the run was stopped while it was being written over an "
                                 "older one, or its files were mixed with another run's. Train it again.")
        untrusted = set(skops.io.get_untrusted_types(file=run_dir / PREPROCESSOR_FILE)) - set(TRUSTED_TYPES)
        if untrusted:
            raise ModelError(f"{run_dir / PREPROCESSOR_FILE} contains types loanscore does not trust: {sorted(untrusted)}.")
        preprocessor = skops.io.load(run_dir / PREPROCESSOR_FILE, trusted=TRUSTED_TYPES)
        model = keras.saving.load_model(run_dir / KERAS_FILE, compile=False)
        return cls(model=model, preprocessor=preprocessor, schema=Schema.from_dict(info["schema"]),
                   layout=Layout(**info["layout"]), epochs=info.get("epochs", []), info=info)
