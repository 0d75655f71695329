"""loanscore's runtime: score applicants with onnxruntime and numpy alone.

Nothing here imports TensorFlow, Keras, scikit-learn or pandas.
"""

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
from .scorer import Bands as Bands, BatchResult as BatchResult, Scorer as Scorer, ScoreResult as ScoreResult
from .verify import verify_model as verify_model

__all__ = [
    "Bands",
    "BatchResult",
    "FieldError",
    "InputError",
    "LoanscoreError",
    "ModelError",
    "Schema",
    "ScoreResult",
    "Scorer",
    "SchemaError",
    "ValidationError",
    "VerificationError",
    "verify_model",
]
