"""The errors a user of loanscore can meet, and the exit status of each.

The CLI maps every exception here to its ``exit_code``; nothing else escapes
as a traceback. The table is repeated in the README (Exit codes) and in ``--help``:

====  ==========================================================
code  meaning
====  ==========================================================
0     every row was scored
1     some rows were rejected (their ``error`` says why); the rest were scored
2     usage, input-file or model error: nothing was scored
3     verification failed: a model's hash, golden cases, manifest or parity, or an audit log's chain
4     an alert: ``monitor`` found a shift, ``backtest`` a worse model
70    a fault loanscore did not foresee: a message, and the traceback in a file to report
130   interrupted (Ctrl-C); no partial output is left behind
====  ==========================================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass

EXIT_OK = 0
EXIT_ROWS_REJECTED = 1
EXIT_USAGE = 2
EXIT_VERIFY = 3
EXIT_ALERT = 4
EXIT_INTERNAL = 70
"""A fault loanscore did not foresee (sysexits' EX_SOFTWARE): a bug, or damage no check catches yet."""
EXIT_INTERRUPTED = 130


class LoanscoreError(Exception):
    """Base class: a problem the user can fix, reported without a traceback."""

    exit_code = EXIT_USAGE


class InputError(LoanscoreError):
    """The input file or record cannot be read as applicants (header, encoding, format)."""


class SchemaError(LoanscoreError):
    """A schema description is malformed."""


class ModelError(LoanscoreError):
    """A model directory is missing, unreadable, or refused at load."""


class VerificationError(LoanscoreError):
    """The model does not match its manifest or its golden cases."""

    exit_code = EXIT_VERIFY


@dataclass(frozen=True)
class FieldError:
    """Why one field of one applicant cannot be scored.

    ``row`` is the 1-based data row (the header is not counted), or ``None``
    for a single record; ``sheet_row`` the row number Excel shows for it, for a
    workbook (where blank rows and the header's place make the two differ).
    """

    field: str
    value: object
    reason: str
    row: int | None = None
    sheet_row: int | None = None

    def __str__(self) -> str:
        where = f" in row {self.row}" if self.row is not None else ""
        if self.sheet_row is not None:
            where += f" (Excel row {self.sheet_row})"
        return f"{self.field} {self.reason}. Got {_show(self.value)}{where}."


class ValidationError(LoanscoreError, ValueError):
    """An applicant record breaks the model's input contract.

    ``errors`` lists every bad field, so a desk clerk can fix them all at once;
    ``field``, ``value`` and ``reason`` are those of the first.
    """

    def __init__(self, errors: list[FieldError] | tuple[FieldError, ...]):
        self.errors = tuple(errors)
        first = self.errors[0]
        self.field, self.value, self.reason, self.row = first.field, first.value, first.reason, first.row
        super().__init__("; ".join(str(e) for e in self.errors))


def _show(value: object) -> str:
    if isinstance(value, (bool, list, dict)):  # from JSON: quote it as the file wrote it, not as Python prints it
        text = json.dumps(value, separators=(",", ":"))
    else:
        text = "" if value is None else str(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"'{text}'"
