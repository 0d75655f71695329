"""Golden cases: generated applicants plus edge cases, with the probability the Keras side gave.

They ship inside the model directory so that ``loanscore verify`` can prove,
with onnxruntime alone, that the model still scores as it did at export. None
of them is a row of the training data.
"""

from __future__ import annotations

from typing import Any

from loanscore.runtime.schema import Schema
from loanscore.train.synthetic import generate

N_GENERATED = 200


def golden_records(schema: Schema, seed: int = 7) -> list[tuple[str, dict[str, Any]]]:
    """(name, raw record) pairs: ``N_GENERATED`` generated applicants and the edge cases."""
    cols = generate(schema, N_GENERATED, seed=seed, label=False)
    names = schema.input_names
    base = [{c: cols[c][i] for c in names} for i in range(N_GENERATED)]
    cases = [(f"generated-{i + 1:03d}", r) for i, r in enumerate(base)]
    template = base[0]

    def edge(name: str, **changes: Any) -> None:
        whole = {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in changes.items()}
        cases.append((name, {**template, **whole}))

    for f in schema.numeric:
        for label, value in (("lowest", _lowest(f.min, f.min_exclusive)), ("highest", f.max)):
            if value is not None:
                edge(f"{f.name}-{label}", **{f.name: value})
        if f.missing == "impute":
            edge(f"{f.name}-missing", **{f.name: None})
    for cat in schema.categorical:
        unseen = "__unseen__" if any(isinstance(c, str) for c in cat.codes) else max(int(c) for c in cat.codes) + 3
        edge(f"{cat.name}-unseen-code", **{cat.name: unseen})
        for code in cat.codes:
            edge(f"{cat.name}-code-{code}", **{cat.name: code})
        if cat.missing == "impute":
            edge(f"{cat.name}-missing", **{cat.name: None})
    for ch in schema.history:
        if (ch.min is None or ch.min <= 0) and (ch.max is None or ch.max >= 0):
            edge(f"{ch.name}-all-zero", **{c: 0 for c in ch.columns})
        for label, value in (("all-lowest", ch.min), ("all-highest", ch.max)):
            if value is not None:
                edge(f"{ch.name}-{label}", **{c: value for c in ch.columns})
        if ch.missing == "impute":
            edge(f"{ch.name}-newest-missing", **{ch.columns[-1]: None})
    edge("all-histories-zero", **{c: 0 for ch in schema.history for c in ch.columns
                                  if (ch.min is None or ch.min <= 0) and (ch.max is None or ch.max >= 0)})
    return cases


def _lowest(low: float | None, exclusive: bool) -> float | None:
    if low is None:
        return None
    return low + 1 if exclusive else low
