"""``loanscore train``: fit preprocessing and the LSTM-CNN, choose the threshold, write RUN_DIR."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import keras
import numpy as np

from loanscore.runtime.schema import Schema
from loanscore.runtime.staging import refuse_other_files, staged

from .calibration import platt
from .data import Dataset, load_dataset
from .monotone import SCOPES, later_features
from .riskier import named, riskier_steps
from .run import RUN_FOLDER
from .network import NetworkConfig
from .threshold import ThresholdRule

Progress = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class TrainConfig:
    network: NetworkConfig = field(default_factory=NetworkConfig)
    threshold: ThresholdRule = field(default_factory=ThresholdRule)
    seed: int = 42
    validation_fraction: float = 0.2
    ensemble: int = 4
    """Networks trained with seeds seed, seed+1, ... and averaged inside the one exported graph."""
    cross_fit: bool = True
    """True (and ensemble K >= 2): cross-fitted ensemble. The training and validation rows are pooled
    and split into K stratified folds; member k (seed seed+k) trains on the other K-1 folds with
    early stopping on fold k. Calibration and the threshold are fitted on the out-of-fold predictions
    (every row scored by the one member that did not see it), which are also the reported validation
    metrics. False (or ensemble 1): all members on the one train/validation split."""
    class_weight: str = "none"
    """'none' keeps probabilities calibrated (imbalance is handled by the threshold rule); 'balanced' reweights."""
    derived: tuple[str, ...] = ("delinquent", "months_since_delinquency", "payment_ratio", "utilization",
                                "payment_utilization", "status_minus2", "status_minus1", "status_zero", "spending")
    """Monthly channels derived from the history by role (see ``loanscore.train.preprocess.DERIVED``)."""
    calibration: str = "platt"
    """'platt' fits sigmoid(a * logit + b) on the validation split and exports it in the graph; 'none' leaves it out."""
    teacher: float = 0.6
    """Knowledge distillation: each member learns the target (1 - teacher) * label + teacher * the
    out-of-fold probability of gradient-boosted trees fitted on that member's training rows only, a less
    noisy target than the 0/1 label. 0: labels only. The trees are a training aid and are not exported;
    early stopping, calibration and the threshold's figures use the labels."""
    amounts: str = "normal_scores"
    """Encoding of the fields whose schema transform is signed_log: 'normal_scores' (their training
    quantiles mapped to normal scores) or 'signed_log' (standardized)."""
    monotone: float = 4.0
    """Weight of the penalty on a riskier applicant scoring lower (see ``loanscore.train.monotone``); 0: none.
    Needs a column that ``monotone_roles`` covers: ``train`` leaves it out, and says so, for a schema without one."""
    monotone_roles: tuple[str, ...] = ("status",)
    """What the penalty covers (``loanscore.train.riskier.ROLES``): 'status', a repayment month one month
    later; 'credit_limit' and 'payment', the credit line or a month's payment 20 % lower."""
    monotone_scope: str = "all"
    """For whom the credit-line and payment steps are penalized (``loanscore.train.monotone.SCOPES``): 'all', or
    'on_time', only applicants on time in the newest month."""

    def to_dict(self) -> dict:
        return {
            "network": self.network.to_dict(),
            "threshold": self.threshold.to_dict(),
            "seed": self.seed,
            "validation_fraction": self.validation_fraction,
            "ensemble": self.ensemble,
            "cross_fit": self.cross_fit,
            "class_weight": self.class_weight,
            "derived": list(self.derived),
            "calibration": self.calibration,
            "amounts": self.amounts,
            "teacher": self.teacher,
            "monotone": self.monotone,
            "monotone_roles": list(self.monotone_roles),
            **({"monotone_scope": self.monotone_scope} if self.monotone_scope != "all" else {}),
        }


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    metrics: dict
    seconds: float


def train(
    data: str | Path | Dataset,
    run_dir: str | Path,
    *,
    schema: Schema | None = None,
    config: TrainConfig | None = None,
    progress: Progress = _stderr,
) -> TrainResult:
    """Train on ``data`` and write the run to ``run_dir``; the same inputs give the same model. ``run_dir`` must be
    new, empty or an older run, which is replaced whole (:func:`~loanscore.runtime.staging.staged`)."""
    schema = schema or Schema.default()
    config = config or TrainConfig()
    started = time.perf_counter()
    if config.monotone_scope not in SCOPES:
        raise ValueError(f"monotone_scope must be one of {', '.join(SCOPES)}; got {config.monotone_scope!r}.")
    if config.class_weight not in ("none", "balanced"):
        raise ValueError(f"class_weight must be 'none' or 'balanced'; got {config.class_weight!r}.")
    if config.threshold.rule == "cost" and config.calibration == "none":
        raise ValueError("The 'cost' threshold rule needs calibrated probabilities: keep calibration='platt', "
                         "or choose the threshold on the validation labels with rule 'cost_empirical'.")
    run_dir = Path(run_dir)
    refuse_other_files(run_dir, RUN_FOLDER)  # before the minutes of training, not after
    dataset = data if isinstance(data, Dataset) else load_dataset(data, schema)
    if config.monotone and not riskier_steps(schema, config.monotone_roles):
        progress(f"the schema has no column with role {named(config.monotone_roles)}: trained without the delay "
                 "penalty")
        config = replace(config, monotone=0.0)

    from sklearn.model_selection import train_test_split

    idx_train, idx_val = train_test_split(
        np.arange(len(dataset.labels)), test_size=config.validation_fraction,
        stratify=dataset.labels, random_state=config.seed,
    )
    fitted = fit_model(dataset, idx_train, idx_val, schema, config, progress)
    validation = fitted.info["validation"]
    rows, p_val = validation["rows"], validation["p"]
    y_val = dataset.labels[rows]
    threshold = config.threshold.choose(y_val, p_val, "validation split" if validation["kind"] == "holdout"
                                        else f"out-of-fold predictions on all {len(y_val)} rows")

    from loanscore.runtime.performance import classification_metrics

    metrics: dict[str, Any] = {"validation": classification_metrics(y_val, p_val, threshold["value"])}
    if validation["kind"] == "out_of_fold":
        # Same rows as a holdout run's validation split (comparable across runs); every row's
        # prediction comes from the member that did not train on it. All rows: "out_of_fold".
        on_split = np.isin(rows, idx_val)
        metrics = {"validation": classification_metrics(y_val[on_split], p_val[on_split], threshold["value"]),
                   "out_of_fold": metrics["validation"]}
    metrics.update({
        "validation_kind": validation["kind"],
        "validation_note": VALIDATION_NOTE[validation["kind"]],
        "threshold": threshold,
        "epochs": fitted.epochs,
    })
    seconds = time.perf_counter() - started
    info = {
        "schema": schema.to_dict(),
        "config": config.to_dict(),
        "training_data": dataset.fingerprint,
        "split": ({"train_rows": int(len(idx_train)), "validation_rows": int(len(idx_val)),
                   "stratified": True, "random_state": config.seed} if validation["kind"] == "holdout" else
                  {"cross_fit_folds": config.ensemble, "rows": int(len(rows)), "stratified": True,
                   "random_state": config.seed, "validation": "out-of-fold"}),
        "threshold": threshold,
        "training_seconds": round(seconds, 1),
        "versions": versions(),
    }
    with staged(run_dir, RUN_FOLDER) as staging:  # an older run is replaced whole, never mixed with this one
        fitted.save(staging, info, metrics)
    kind = "out-of-fold" if "out_of_fold" in metrics else "validation"
    v = metrics["out_of_fold" if "out_of_fold" in metrics else "validation"]
    progress(
        f"{kind}: ROC AUC {v['roc_auc']:.4f}  PR AUC {v['pr_auc']:.4f}  KS {v['ks']:.4f}  Brier {v['brier']:.4f}  "
        f"threshold {threshold['value']:.3f} ({threshold['rule']})  [{seconds:.0f} s] -> {run_dir}"
    )
    return TrainResult(run_dir, metrics, seconds)


VALIDATION_NOTE = {
    "holdout": "metrics on the validation split held out from training",
    "out_of_fold": "cross-fitted ensemble: 'validation' holds the out-of-fold predictions (each row scored by the "
                   "member that did not train on it, then calibrated) on the rows of the usual validation split, "
                   "'out_of_fold' the same on all rows; calibration is fitted, and the threshold rule applied, on all "
                   "out-of-fold rows",
}


def fit_model(dataset: Dataset, idx_train: np.ndarray, idx_val: np.ndarray, schema: Schema,
              config: TrainConfig, progress: Progress = _stderr):
    """Fit preprocessing on ``idx_train`` rows and the network(s) with early stopping on ``idx_val``.

    Returns a ``TrainedRun``. Also used by the quality benchmark, so the model
    it measures is exactly the one ``loanscore train`` builds.
    """
    if config.calibration not in ("none", "platt"):
        raise ValueError(f"calibration must be 'none' or 'platt'; got {config.calibration!r}.")
    if not 0 <= config.teacher <= 1:
        raise ValueError(f"teacher must be a weight between 0 and 1; got {config.teacher!r}.")
    if config.monotone < 0:
        raise ValueError(f"monotone must be a weight of 0 or more; got {config.monotone!r}.")
    steps = riskier_steps(schema, config.monotone_roles)  # an unknown role fails here, before any training
    if config.monotone and not steps:
        raise ValueError(f"monotone needs a column with role {named(config.monotone_roles)} in the schema; "
                         "it has none.")
    from .network import calibrated
    from .preprocess import build_preprocessor, layout_of
    from .run import TrainedRun

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    cross_fit = config.cross_fit and config.ensemble >= 2
    if cross_fit:
        from sklearn.model_selection import StratifiedKFold

        rows = np.sort(np.concatenate([idx_train, idx_val]))  # the pool every net is cross-fitted on
        preprocessor = build_preprocessor(schema, config.derived, config.amounts).fit(dataset.X.iloc[rows])
    else:
        preprocessor = build_preprocessor(schema, config.derived, config.amounts).fit(dataset.X.iloc[idx_train])
        rows = np.concatenate([idx_train, idx_val])
    F = preprocessor.transform(dataset.X.iloc[rows]).astype(np.float32)
    y = dataset.labels[rows].astype(np.float32)
    if cross_fit:
        splits = list(StratifiedKFold(config.ensemble, shuffle=True, random_state=config.seed).split(F, y))
    else:
        n = len(idx_train)
        splits = [(np.arange(n), np.arange(n, len(y)))] * config.ensemble
    layout = layout_of(preprocessor, schema)
    later = None
    if config.monotone:
        later = later_features(dataset.X.iloc[rows], schema, preprocessor.transform, config.monotone_roles,
                               config.monotone_scope)

    members, epochs = [], []
    held_out_logit = np.zeros(len(y), dtype=np.float64)
    for k, (a, b) in enumerate(splits):
        label = f"net {k + 1}/{len(splits)} " if len(splits) > 1 else ""
        target = None
        if config.teacher:
            started = time.perf_counter()
            target = teacher_targets(F[a], y[a], config.teacher, config.seed + k)
            progress(f"{label}teacher: boosted trees' out-of-fold probabilities on {len(a)} rows, weight "
                     f"{config.teacher:g} ({time.perf_counter() - started:.1f} s)")
        net, record = _fit_member(layout, config, config.seed + k, F[a], y[a], (F[b], y[b]), label, progress, target,
                                  None if later is None else (later[a], later[b]))
        epochs.append(record)
        members.append(net)
        if cross_fit:
            held_out_logit[b] = net.predict(F[b], batch_size=4096, verbose=0).reshape(-1)
    if cross_fit:
        kind, val_logit, y_val = "out_of_fold", held_out_logit, y
    else:
        rows, kind = idx_val, "holdout"
        b = splits[0][1]
        val_logit = np.mean([m.predict(F[b], batch_size=4096, verbose=0).reshape(-1) for m in members], axis=0)
        y_val = y[b]
    scale, shift = 1.0, 0.0
    if config.calibration == "platt":
        scale, shift = platt(1 / (1 + np.exp(-val_logit)), y_val)
        progress(f"calibration: p = sigmoid({scale:.4f} * logit + {shift:+.4f}), fitted on {len(y_val)} "
                 f"{'out-of-fold' if cross_fit else 'validation'} rows")
    model = calibrated(members, layout.width, scale, shift)
    p_val = 1 / (1 + np.exp(-(scale * val_logit + shift)))
    return TrainedRun(model=model, preprocessor=preprocessor, schema=schema, layout=layout, epochs=epochs,
                      info={"validation": {"rows": rows, "p": p_val, "kind": kind}})


def _fit_member(layout, config: TrainConfig, seed: int, F: np.ndarray, y: np.ndarray,
                validation: tuple[np.ndarray, np.ndarray], label: str, progress: Progress,
                target: np.ndarray | None = None, later: tuple[np.ndarray, np.ndarray] | None = None):
    """One network, stopped early (best weights restored) on ``validation``; it learns ``target``
    (soft, distilled) where given, else the labels ``y``, which set the class weights either way.
    ``later``: the training and validation rows with one status month later, for the delay penalty."""
    from .network import build_network

    cfg = config.network
    if cfg.monitor not in ("auc", "loss"):
        raise ValueError(f"monitor must be 'auc' or 'loss'; got {cfg.monitor!r}.")
    keras.utils.set_random_seed(seed)
    net = build_network(layout, cfg, name=f"lstm_cnn_{seed - config.seed}")
    monitor, mode = f"val_{cfg.monitor}", "max" if cfg.monitor == "auc" else "min"
    callbacks: list = [keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=cfg.patience,
                                                     restore_best_weights=True),
                       EpochLog(progress, label, cfg.max_epochs, train_auc=not config.teacher)]
    lr = cfg.learning_rate
    if cfg.schedule == "cosine":
        steps = int(np.ceil(len(y) / cfg.batch_size))
        lr = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, decay_steps=steps * cfg.max_epochs, alpha=0.02)
    elif cfg.schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode=mode, factor=0.5,
                                                           patience=max(1, cfg.patience // 2), min_lr=1e-5))
    else:
        raise ValueError(f"schedule must be 'plateau' or 'cosine'; got {cfg.schedule!r}.")
    optimizer = (keras.optimizers.AdamW(lr, weight_decay=cfg.weight_decay) if cfg.weight_decay
                 else keras.optimizers.Adam(lr))
    fitted = net
    x: np.ndarray | dict[str, np.ndarray] = F
    x_val: np.ndarray | dict[str, np.ndarray] = validation[0]
    if later is not None:
        from .monotone import MonotoneTraining

        fitted = MonotoneTraining(net, config.monotone, seed)
        x, x_val = {"features": F, "later": later[0]}, {"features": validation[0], "later": later[1]}
    fitted.compile(optimizer=optimizer, loss=keras.losses.BinaryCrossentropy(from_logits=True),
                   metrics=[keras.metrics.AUC(name="auc", from_logits=True)])
    weights = None
    if config.class_weight == "balanced":  # by the labels: Keras's class_weight would misread soft targets
        rate = float(y.mean())
        weights = np.where(y > 0.5, 0.5 / rate, 0.5 / (1 - rate)).astype(np.float32)
    history = fitted.fit(x, y if target is None else target, sample_weight=weights, validation_data=(x_val, validation[1]),
                      batch_size=cfg.batch_size, epochs=cfg.max_epochs, verbose=0, shuffle=True, callbacks=callbacks)
    curve = np.asarray(history.history[monitor])
    best = int(np.argmax(curve) if mode == "max" else np.argmin(curve))
    return net, {"seed": seed, "epochs_run": len(curve), "best_epoch": best + 1,
                 "best_val_auc": float(history.history["val_auc"][best])}


def teacher_targets(F: np.ndarray, y: np.ndarray, weight: float, seed: int, folds: int = 4) -> np.ndarray:
    """Soft targets ``(1 - weight) * y + weight * p``, ``p`` a boosted-tree model's out-of-fold probabilities.

    Out-of-fold, so a row's teacher probability never comes from trees that saw its label.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold

    p = np.zeros(len(y))
    for a, b in StratifiedKFold(folds, shuffle=True, random_state=seed).split(F, y):
        trees = HistGradientBoostingClassifier(learning_rate=0.05, max_iter=500, max_leaf_nodes=15,
                                               min_samples_leaf=50, l2_regularization=1.0, early_stopping=True,
                                               validation_fraction=0.15, n_iter_no_change=30, random_state=seed)
        p[b] = trees.fit(F[a], y[a]).predict_proba(F[b])[:, 1]
    return ((1 - weight) * y + weight * p).astype(np.float32)


class EpochLog(keras.callbacks.Callback):
    """One line per epoch on stderr: where training is and whether it still improves.

    ``train_auc=False`` leaves out the training AUC, which Keras cannot compute on soft (distilled) targets.
    """

    def __init__(self, progress: Progress, label: str, max_epochs: int, train_auc: bool = True):
        super().__init__()
        self.progress, self.label, self.max_epochs, self.train_auc = progress, label, max_epochs, train_auc
        self._t = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._t = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        auc = f"auc {logs.get('auc', float('nan')):.4f}  " if self.train_auc else ""
        self.progress(
            f"{self.label}epoch {epoch + 1:>3}/{self.max_epochs}  loss {logs.get('loss', float('nan')):.4f}  {auc}"
            f"val_loss {logs.get('val_loss', float('nan')):.4f}  val_auc {logs.get('val_auc', float('nan')):.4f}  "
            f"({time.perf_counter() - self._t:.1f} s)"
        )


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for pkg in ("loanscore", "tensorflow-cpu", "keras", "scikit-learn", "tf2onnx", "onnx", "skl2onnx", "onnxruntime", "numpy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out

