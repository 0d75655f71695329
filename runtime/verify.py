"""Prove that a model directory scores as it did when it was exported.

The SHA-256 catches a changed file; the golden cases catch a changed model
whose manifest was edited to match, because the probabilities move.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ModelError, VerificationError
from .model import GOLDEN, Model
from .scorer import Scorer


@dataclass(frozen=True)
class VerifyReport:
    directory: Path
    n_cases: int
    max_abs_diff: float
    tolerance: float
    manifest_checked: bool = False
    """Whether golden.json recorded the manifest's SHA-256 (models exported from this version on) and it held."""


def verify_model(directory: str | Path | None = None) -> VerifyReport:
    """Check hash, manifest and golden cases; raise ``VerificationError`` naming what differs."""
    model = Model.load(directory)  # checks both SHA-256s and the file's structure
    path = model.directory / GOLDEN
    try:
        golden = json.loads(path.read_text("utf-8"))
        tolerance = float(golden["tolerance"])
        cases = golden["cases"]
        if not isinstance(cases, list) or not all(
                isinstance(c, dict) and isinstance(c.get("record"), dict) and isinstance(c.get("name"), str)
                and isinstance(c.get("probability"), (int, float)) and not isinstance(c["probability"], bool)
                for c in cases):
            raise TypeError("each case must have a name, a record and a probability")
    except OSError as exc:
        raise ModelError(f"Cannot read the golden cases {path}: {exc.strerror or exc}.") from None
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:
        raise ModelError(f"{path} is not a golden-case file written by `loanscore export` ({exc}).") from None
    if not cases:
        raise ModelError(f"{path} holds no golden cases.")
    scorer = Scorer(model)
    results = scorer.score_records([c["record"] for c in cases])
    expected = np.array([c["probability"] for c in cases], dtype=np.float64)
    for case, result in zip(cases, results):
        if result.errors:
            raise VerificationError(
                f"Golden case {case['name']!r} is now rejected by the input contract: {result.errors[0]}"
            )
    got = np.array([r.probability for r in results], dtype=np.float64)
    diff = np.abs(got - expected)
    worst = int(np.argmax(diff))
    if not diff[worst] <= tolerance:
        n_bad = int((diff > tolerance).sum())
        raise VerificationError(
            f"{n_bad} of {len(cases)} golden cases diverged beyond the tolerance {tolerance:g}; the worst is "
            f"{cases[worst]['name']!r}: expected {expected[worst]:.8f}, got {got[worst]:.8f} "
            f"(|diff| = {diff[worst]:.3g}). This model does not score as the one that was exported."
        )
    recorded = golden.get("manifest_sha256")  # Model.load refused a manifest that differs from it
    return VerifyReport(model.directory, len(cases), float(diff.max()), tolerance, isinstance(recorded, str))
