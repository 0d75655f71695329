"""Generated applicants for tests, golden cases and the README's sample file.

Numpy only, so runtime-only tests can use it too. The data follows the
schema's domains and carries a learnable signal (a latent risk drives both the
repayment history and the label), but it is not real data and claims nothing
about real borrowers.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from loanscore.runtime.schema import Schema
from loanscore.runtime.writers import open_output


def generate(schema: Schema, n: int, seed: int = 0, *, label: bool = True) -> dict[str, list]:
    """``n`` applicants as column name -> list of values (ints where the domain is whole numbers)."""
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    cols: dict[str, list] = {}
    if schema.id:
        cols[schema.id] = list(range(1, n + 1))
    for f in schema.numeric:
        cols[f.name] = _numbers(rng, n, f.min, f.max, f.transform == "signed_log", -0.3 * risk)
    for cat in schema.categorical:
        documented = [c for c in cat.codes if cat.labels.get(str(c)) != "undocumented"] or list(cat.codes)
        cols[cat.name] = [documented[i] for i in rng.integers(0, len(documented), n)]
    months = schema.months
    for ch in schema.history:
        if ch.transform == "signed_log":
            level = rng.normal(9.5, 1.3, size=(n, 1)) + 0.05 * np.arange(months) * rng.normal(size=(n, 1))
            values = np.exp(level + rng.normal(0, 0.3, size=(n, months)))
            values *= np.where(rng.random((n, months)) < 0.08, 0, 1)  # months without activity
            if ch.min is not None and ch.min < 0:
                values *= np.where(rng.random((n, months)) < 0.02, -0.05, 1)  # small credit balances
            values = np.clip(np.round(values), ch.min if ch.min is not None else -np.inf, ch.max if ch.max is not None else np.inf)
        else:
            low = ch.min if ch.min is not None else 0
            high = ch.max if ch.max is not None else low + 10
            drift = np.cumsum(rng.normal(0, 0.4, size=(n, months)), axis=1)
            values = np.clip(np.round(risk[:, None] * 1.2 + drift), low, min(high, low + 10))
        for m, column in enumerate(ch.columns):
            cols[column] = [int(v) for v in values[:, m]]
    if label:
        recent = 0.6 * risk + 0.3 * rng.normal(size=n)
        cols[schema.label] = [int(v) for v in rng.random(n) < 1 / (1 + np.exp(-(1.8 * recent - 1.3)))]
    return cols


def _numbers(rng, n, low, high, heavy_tailed, shift) -> list:
    if heavy_tailed:
        values = np.exp(rng.normal(11.5, 0.8, size=n) - shift)
    else:
        lo = low if low is not None else 0.0
        hi = high if high is not None else lo + 100
        values = lo + (min(hi, lo + 60) - lo) * rng.beta(2, 4, size=n)
    lo = low if low is not None else -np.inf
    hi = high if high is not None else np.inf
    values = np.clip(np.round(values), lo, hi)
    if low is not None:
        values = np.maximum(values, np.floor(low) + 1)  # respect exclusive minima
    return [int(v) for v in values]


def write_csv(path: str | Path, columns: dict[str, list]) -> Path:
    """``columns`` as a CSV file, whole or not at all (an interrupted run leaves no half file); ``-``: stdout."""
    path = Path(path)
    names = list(columns)
    with open_output(path) as fh:
        w = csv.writer(fh)
        w.writerow(names)
        w.writerows(zip(*(columns[c] for c in names)))
    return path
