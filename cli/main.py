"""The ``loanscore`` command. Subcommands live in their own modules; heavy imports wait until a command runs."""

from __future__ import annotations

import click

from .ask import ask
from .audit import audit
from .backtest import backtest
from .compare import compare
from .cutoffs import cutoffs
from .explain import explain
from .fairness import fairness
from .fields import fields
from .grades import grades
from .migration import migration
from .model_commands import export, generate, train
from .monitor import monitor
from .notices import notices
from .overrides import overrides
from .points import points
from .recalibrate import recalibrate
from .report import report
from .schema import schema
from .score import score
from .statements import statements
from .verify import verify
from .watch import watch

EPILOG = """\b
Exit codes:
  0    every row was scored
  1    some rows were rejected (see the error column); the rest were scored
  2    usage, input-file or model error: nothing was scored
  3    verification failed: a model's hash, golden cases, manifest or
       parity, or an audit log's chain
  4    an alert: monitor found a shift (PSI >= 0.25), backtest worse
       discrimination or calibration than the probabilities promise,
       fairness adverse impact or a group's risk mispriced, overrides
       above the limit or a group overriding more than the rest, or one
       of these in report monitoring
  70   a fault loanscore did not foresee (a bug): a one-line message, the
       traceback saved to a file to report (LOANSCORE_DEBUG=1 shows it)
  130  interrupted; no partial output is left behind
"""


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="loanscore")
def main() -> None:
    """Offline loan-default scoring with an LSTM-CNN exported to ONNX."""


for command in (score, ask, watch, explain, fields, statements, notices, grades, points, cutoffs, migration, monitor, backtest,
                fairness, overrides, compare, verify, audit, schema, train, export, recalibrate, generate, report):
    main.add_command(command)
