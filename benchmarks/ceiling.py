"""How far these features go: the LSTM-CNN and the tuned LightGBM blended, on the benchmark's folds.

Usage::

    python benchmarks/ceiling.py [--data PATH] [--folds 5] [--workers N] [--seeds 42,43,44] [--out results.json]

Issue 3 asks for a mean ROC AUC of 0.790. When screening stops finding gains,
the question is whether that figure is within reach of any model on these 23
fields. A blend of two strong, differently built models is a practical upper
estimate: if averaging the LSTM-CNN's and LightGBM's probabilities does not
reach it either, no tweak of one of them is likely to.

Both models are fitted exactly as ``quality.py`` fits them (same outer folds,
same inner split; the LSTM-CNN pinned to one core and one thread, as in
``search.py``, so its folds equal that script's). Each test fold is then scored
by ``w * p_lstm_cnn + (1 - w) * p_lightgbm`` for several ``w``. The row with
w = 0.5 involves no choice; the best row is chosen on the test folds and is
therefore optimistic: a ceiling, not a model one could ship.

``--seeds`` trains the LSTM-CNN once per training seed (``TrainConfig.seed``:
other members' initial weights, batches, cross-fit and teacher folds) and
averages their probabilities: what more of the same compute would give, with
each seed's own figures beside it. The blends then use that average.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
WEIGHTS = (0.0, 0.25, 0.4, 0.5, 0.6, 0.75, 1.0)
"""The LSTM-CNN's share of the blend; 1 is the LSTM-CNN alone, 0 LightGBM alone."""


def _pin(slots) -> None:
    """One core and one thread per worker, as ``search.py``'s CPU workers (same figures, no contention)."""
    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cores[slots.get() % len(cores)]})
    for var in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ[var] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pinned_pool(workers: int) -> ProcessPoolExecutor:
    """``workers`` spawned processes, each pinned by ``_pin`` to a core of its own."""
    ctx = mp.get_context("spawn")
    slots = ctx.Queue()
    for i in range(workers):
        slots.put(i)
    return ProcessPoolExecutor(workers, mp_context=ctx, initializer=_pin, initargs=(slots,))


def _fit_and_score(data: str, folds: int, model: str, seed: int | None, k: int):
    """Fit ``model`` (the LSTM-CNN with training seed ``seed``; LightGBM has none) on outer fold ``k``'s
    training rows; its probabilities on the test rows."""
    sys.path.insert(0, str(HERE))
    import quality
    from sklearn.model_selection import train_test_split

    from loanscore.runtime.schema import Schema
    from loanscore.train.data import load_dataset
    from loanscore.train.trainer import TrainConfig

    schema = Schema.default()
    ds = load_dataset(data, schema)
    tr, te = quality.outer_folds(ds.labels, folds)[k]
    itr, iva = train_test_split(tr, test_size=quality.INNER_VALIDATION, stratify=ds.labels[tr], random_state=quality.SEED)
    started = time.perf_counter()
    options = {}
    if model == "lstm_cnn":
        assert seed is not None, "the LSTM-CNN is fitted with a training seed"
        options["config"] = TrainConfig(seed=seed)
    predict, _, _ = quality.FITTERS[model](ds, schema, itr, iva, **options)
    return model, seed, k, np.asarray(predict(te), dtype=np.float64), time.perf_counter() - started


def fold_aucs(y: np.ndarray, tests: list[np.ndarray], probs: list[np.ndarray]) -> dict:
    """Each test fold's ROC AUC of ``probs`` (one array per fold), and their mean."""
    from sklearn.metrics import roc_auc_score

    aucs = [float(roc_auc_score(y[te], p)) for te, p in zip(tests, probs)]
    return {"folds": aucs, "mean": float(np.mean(aucs))}


def blends(y: np.ndarray, tests: list[np.ndarray], p_lstm_cnn: list[np.ndarray], p_lightgbm: list[np.ndarray],
           weights: tuple[float, ...] = WEIGHTS) -> list[dict]:
    """Per weight: each test fold's ROC AUC of ``w * p_lstm_cnn + (1 - w) * p_lightgbm``, and their mean."""
    return [{"w_lstm_cnn": w, **fold_aucs(y, tests, [w * a + (1 - w) * b for a, b in zip(p_lstm_cnn, p_lightgbm)])}
            for w in weights]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="development CSV (default: $LOANSCORE_DEV_DATA or ../shared/data/...)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--seeds", help="comma-separated LSTM-CNN training seeds, averaged (default: the default's)")
    parser.add_argument("--out", type=Path, help="write the per-fold figures as JSON here")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    import quality
    from sklearn.metrics import roc_auc_score

    from loanscore.runtime.schema import Schema
    from loanscore.train.data import load_dataset
    from loanscore.train.trainer import TrainConfig

    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else [TrainConfig().seed]
    path = quality.find_data(args.data)
    y = load_dataset(path, Schema.default()).labels
    tests = [te for _, te in quality.outer_folds(y, args.folds)]
    started = time.perf_counter()
    p: dict[tuple[str, int | None, int], np.ndarray] = {}
    seconds: dict[str, list[float]] = {"lstm_cnn": [], "lightgbm": []}
    models = [("lstm_cnn", seed) for seed in seeds] + [("lightgbm", None)]
    tasks = [(m, s, k) for k in range(args.folds) for m, s in models]
    with pinned_pool(args.workers) as pool:
        futures = [pool.submit(_fit_and_score, str(path), args.folds, m, s, k) for m, s, k in tasks]
        for done, future in enumerate(futures, 1):
            model, seed, k, probs, s = future.result()
            p[model, seed, k] = probs
            seconds[model].append(s)
            label = model if seed is None else f"{model} (seed {seed})"
            print(f"[{done}/{len(tasks)}] {label} fold {k + 1}: ROC AUC {roc_auc_score(y[tests[k]], probs):.4f} "
                  f"[{s:.0f} s]", file=sys.stderr, flush=True)

    per_seed = {seed: fold_aucs(y, tests, [p["lstm_cnn", seed, k] for k in range(args.folds)]) for seed in seeds}
    p_lstm_cnn = [np.mean([p["lstm_cnn", seed, k] for seed in seeds], axis=0) for k in range(args.folds)]
    averaged = fold_aucs(y, tests, p_lstm_cnn)
    rows = blends(y, tests, p_lstm_cnn, [p["lightgbm", None, k] for k in range(args.folds)])
    best = max(rows, key=lambda r: r["mean"])
    print(f"{args.folds}-fold CV (seed {quality.SEED}) on {path.name}, {len(y)} rows; "
          f"total {time.perf_counter() - started:.0f} s\n")
    if len(seeds) > 1:
        print("| LSTM-CNN training seed | per fold | mean ROC AUC |\n| --- | --- | --- |")
        for seed, r in per_seed.items():
            print(f"| {seed} | {' / '.join(f'{a:.4f}' for a in r['folds'])} | {r['mean']:.4f} |")
        print(f"| average of the {len(seeds)} | {' / '.join(f'{a:.4f}' for a in averaged['folds'])} "
              f"| {averaged['mean']:.4f} |\n")
    print("| LSTM-CNN share w | per fold | mean ROC AUC |\n| --- | --- | --- |")
    for r in rows:
        label = {1.0: "1 (LSTM-CNN alone)", 0.0: "0 (LightGBM alone)"}.get(r["w_lstm_cnn"], f"{r['w_lstm_cnn']:g}")
        print(f"| {label} | {' / '.join(f'{a:.4f}' for a in r['folds'])} | {r['mean']:.4f} |")
    print(f"\nbest blend (w = {best['w_lstm_cnn']:g}, chosen on the test folds: optimistic) {best['mean']:.4f}; "
          f"goal {quality.GOAL_AUC}: {'reached' if best['mean'] >= quality.GOAL_AUC else 'not reached'}")
    if args.out:
        args.out.write_text(json.dumps({"data": {"file": path.name, "rows": int(len(y))}, "folds": args.folds,
                                        "seed": quality.SEED, "training_seeds": seeds,
                                        "per_training_seed": {str(s): r for s, r in per_seed.items()},
                                        "seed_average": averaged,
                                        "blends": rows, "best": best, "seconds": seconds},
                                       indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
