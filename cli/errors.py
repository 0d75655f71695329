"""Turning a command's failures into messages and exit codes, never a traceback."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from loanscore.runtime.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, LoanscoreError

from .interrupts import Interrupts


F = TypeVar("F", bound=Callable[..., Any])

TRAIN_EXTRA_HINT = "This command needs the training extra: pip install 'loanscore[train]' (or '.[train]' in a checkout)."


def reports_errors(func: F) -> F:
    """Print ``Error: ...`` and exit with the error's code instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from loanscore.runtime.run_files import RUN_FILES, RunFiles

        token = RUN_FILES.set(RunFiles())  # no output replaces an input; an interrupted run says what it wrote
        try:
            with Interrupts():  # SIGTERM as Ctrl-C: what the run was writing is removed, not left half-done
                return func(*args, **kwargs)
        except LoanscoreError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            files = RUN_FILES.get() or RunFiles()
            if not files.written:
                click.echo("Interrupted; no output was written.", err=True)
            elif files.audit_log and not files.record_due:
                click.echo(f"Interrupted after writing {', '.join(files.written)} (complete, and recorded in "
                           f"{files.audit_log}); the run stopped before its end.", err=True)
            else:
                click.echo(f"Interrupted after writing {', '.join(files.written)} (complete); the run stopped "
                           "before its end, so its summary may be missing.", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # a fault no check foresaw: a message for the person, the traceback for a fix
            if os.environ.get("LOANSCORE_DEBUG"):
                raise
            click.echo(f"Error: loanscore failed unexpectedly ({type(exc).__name__}: {exc}). This is a bug, or a "
                       "damaged input file or model directory that no check caught (`loanscore verify` checks a "
                       f"model). The details are in {crash_report(exc)}; please send that "
                       "file with your report.", err=True)
            sys.exit(EXIT_INTERNAL)
        finally:
            RUN_FILES.reset(token)

    return wrapper  # type: ignore[return-value]


def crash_report(exc: BaseException) -> str:
    """Write the command line, versions and traceback to a new file in the temporary folder; its path."""
    import platform
    import tempfile
    import traceback
    from datetime import UTC, datetime
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("loanscore")
    except PackageNotFoundError:
        ours = "(not installed)"
    text = (f"loanscore {ours}, Python {platform.python_version()}, {platform.platform()}\n"
            f"command: {' '.join(sys.argv)}\ntime: {datetime.now(UTC).isoformat(timespec='seconds')}\n\n"
            + "".join(traceback.format_exception(exc)))
    try:
        fd, path = tempfile.mkstemp(prefix="loanscore-error-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError:
        return "this traceback (the temporary folder could not be written):\n" + text
    return path


def require_train_extra() -> None:
    """Fail with an install hint, not an ImportError, when training packages are absent."""
    import importlib.util

    needed = ("tensorflow", "tf2onnx", "sklearn", "skl2onnx", "skops", "pandas", "matplotlib")
    missing = [m for m in needed if importlib.util.find_spec(m) is None]
    if missing:
        raise LoanscoreError(f"{TRAIN_EXTRA_HINT} Missing: {', '.join(missing)}.")
