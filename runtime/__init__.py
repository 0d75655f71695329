"""loanscore's runtime: score applicants with onnxruntime and numpy alone.

Nothing here imports TensorFlow, Keras, scikit-learn or pandas.
"""

from typing import TYPE_CHECKING, Any

from .errors import (
    FieldError as FieldError,
    InputError as InputError,
    LoanscoreError as LoanscoreError,
    ModelError as ModelError,
    SchemaError as SchemaError,
    ValidationError as ValidationError,
    VerificationError as VerificationError,
)
from .schema import Schema as Schema

if TYPE_CHECKING:
    from .grades import MasterScale as MasterScale
    from .points import PointsScale as PointsScale
    from .reasons import Reason as Reason
    from .scorer import Bands as Bands, BatchResult as BatchResult, Scorer as Scorer, ScoreResult as ScoreResult
    from .verify import verify_model as verify_model

# Loaded on first use (PEP 562): they import numpy, and `loanscore --help` should not pay for it.
_LAZY = {"Bands": "scorer", "BatchResult": "scorer", "MasterScale": "grades", "PointsScale": "points",
         "Reason": "reasons", "Scorer": "scorer", "ScoreResult": "scorer",
         "verify_model": "verify"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Bands",
    "BatchResult",
    "FieldError",
    "InputError",
    "LoanscoreError",
    "MasterScale",
    "ModelError",
    "PointsScale",
    "Reason",
    "Schema",
    "ScoreResult",
    "Scorer",
    "SchemaError",
    "ValidationError",
    "VerificationError",
    "verify_model",
]
