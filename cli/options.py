"""Options several commands share, and their values turned into what a command uses: cut-offs, scales,
the audit log."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

import click


F = TypeVar("F", bound=Callable[..., Any])


class FiniteRange(click.FloatRange):
    """A number as ``click.FloatRange`` takes it, but refusing nan and the infinities, which pass its bounds (nan
    compares false to every one) and would reach the model's cut-offs as no number at all."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        x = super().convert(value, param, ctx)
        if not math.isfinite(x):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return x


FINITE = FiniteRange()
"""Any finite number."""


def _use_encoding(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """Read CSV input in ``value`` for this command's run, and only for it."""
    if not value:
        return
    from loanscore.runtime.errors import InputError
    from loanscore.runtime.tabular import INPUT_ENCODING, check_encoding

    try:
        name = check_encoding(value)
    except InputError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None
    _for_this_run(ctx, INPUT_ENCODING, name)


def encoding_option(func: F) -> F:
    """``--encoding NAME`` (default ``$LOANSCORE_ENCODING``, else UTF-8): a CSV file saved in a legacy encoding."""
    return click.option("--encoding", metavar="NAME", envvar="LOANSCORE_ENCODING", expose_value=False,
                        callback=_use_encoding,
                        help="Encoding of a CSV file not saved as UTF-8: Excel's plain CSV is cp1252 in Western "
                             "Europe and the Americas, cp950 (Big5) in Taiwan, gbk in mainland China. Default: "
                             "$LOANSCORE_ENCODING, else UTF-8. JSON Lines is UTF-8; a workbook says its own.")(func)


def _use_sheet(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """Read a workbook of training data from the sheet ``value`` for this command's run, and only for it."""
    if not value:
        return
    from loanscore.runtime.tabular import DATA_SHEET

    _for_this_run(ctx, DATA_SHEET, value)


def _for_this_run(ctx: click.Context, var: Any, value: Any) -> None:
    """Set ``var`` until the command line's root context closes: a later option refused leaves the command's own
    context unclosed, and the value would leak into the next command run in the same process."""
    token = var.set(value)
    ctx.find_root().call_on_close(lambda: var.reset(token))


def data_file_options(func: F) -> F:
    """``--encoding NAME`` and ``--sheet NAME`` on a command that reads labelled data (training, export, reports):
    a CSV file saved in a legacy encoding, or the sheet of a workbook."""
    func = encoding_option(func)
    return click.option("--sheet", metavar="NAME", expose_value=False, callback=_use_sheet,
                        help="The sheet of an Excel workbook of data to read. Default: the one that holds the "
                             "schema's fields (a workbook with them on more than one sheet is refused, naming "
                             "them).")(func)


def input_format_option(what: str = "INPUT") -> Callable[[F], F]:
    """``--input-format``, ``--sheet NAME`` and ``--encoding NAME`` on a command that reads applicants from
    ``what``."""

    def decorate(func: F) -> F:
        func = encoding_option(func)
        func = click.option("--sheet", metavar="NAME",
                            help=f"The sheet of an Excel {what} to read. Default: the one that holds the model's "
                                 "fields (a workbook with them on more than one sheet is refused, naming them).")(func)
        return click.option("--input-format", type=click.Choice(["csv", "jsonl", "xlsx", "auto"]), default="auto",
                            show_default=True, help=f"Format of {what}; auto goes by the extension (.csv, .jsonl, "
                            ".xlsx), else by the first bytes.")(func)

    return decorate


def audit_option(func: F) -> F:
    """``--audit-log FILE`` (default ``$LOANSCORE_AUDIT_LOG``) on a command that runs the model on applicants.

    The audit module is imported only when a log is named (:func:`open_audit`), not at every start."""
    return click.option("--audit-log", type=click.Path(dir_okay=False), envvar="LOANSCORE_AUDIT_LOG", metavar="FILE",
                        help="Append a record of the run (model and cut-offs, files and their SHA-256, results, user) "
                             "to this hash-chained log; `loanscore audit FILE` checks it. Default: "
                             "$LOANSCORE_AUDIT_LOG, if set.")(func)


def master_scale_option(func: F) -> F:
    """``--master-scale FILE`` (default ``$LOANSCORE_MASTER_SCALE``): the lender's rating grades."""
    return click.option("--master-scale", type=click.Path(dir_okay=False), envvar="LOANSCORE_MASTER_SCALE",
                        metavar="FILE", help="Rating grades by P(default) from this file (TOML or JSON; `loanscore "
                        "grades -o FILE` writes the built-in scale to edit). Default: $LOANSCORE_MASTER_SCALE, else "
                        "the built-in 10 grades, each doubling the odds of default.")(func)


def points_scale_option(func: F) -> F:
    """``--points-scale FILE`` (default ``$LOANSCORE_POINTS_SCALE``): the lender's score points."""
    return click.option("--points-scale", type=click.Path(dir_okay=False), envvar="LOANSCORE_POINTS_SCALE",
                        metavar="FILE", help="Score points from this file (TOML or JSON; `loanscore points -o FILE` "
                        "writes the built-in scale to edit). Default: $LOANSCORE_POINTS_SCALE, else 600 points at "
                        "good:bad odds 50:1, 20 points to double the odds, 300 to 900.")(func)


def points_options(func: F) -> F:
    """``--points``, ``--approve-from-points N``, ``--decline-below-points N`` and ``--points-scale`` on a command
    that decides: a score in points beside P(default), and cut-offs a branch's policy states in points."""
    func = points_scale_option(func)
    func = click.option("--decline-below-points", type=FINITE, metavar="N",
                        help="Decline scores below N points (implies --points), instead of --decline-from.")(func)
    func = click.option("--approve-from-points", type=FINITE, metavar="N",
                        help="Approve scores of N points and up (implies --points), instead of --approve-below.")(func)
    return click.option("--points", is_flag=True, help="Add a points column after probability_of_default: the "
                        "score in points, higher for safer (see --points-scale).")(func)


def separator_option(func: F) -> F:
    """``--separator``: the CSV output's separator; by default the CSV input's, so that Excel reads it back."""
    return click.option("--separator", type=click.Choice(["input", "comma", "semicolon", "tab"]), default="input",
                        show_default=True, help="Separator of CSV output: the input's (a comma after JSON Lines), "
                        "or a comma, a semicolon (then probabilities have a decimal comma, as Excel writes CSV where "
                        "the comma is the decimal mark) or a tab.")(func)


def output_format(out_format: str | None, output: str, separator: str) -> str:
    """The output's format: as given, else by ``output``'s extension (.jsonl, .xlsx), else CSV; checked against
    ``separator`` and the output (a workbook is a file)."""
    if out_format is None:
        name = output.lower()
        out_format = "xlsx" if name.endswith(".xlsx") else "jsonl" if name.endswith((".jsonl", ".ndjson")) else "csv"
    if separator != "input" and out_format != "csv":
        raise click.UsageError(f"--separator {separator} is for CSV output; JSON Lines and workbooks have none.")
    if out_format == "xlsx" and output == "-":
        raise click.UsageError("A workbook is written to a file: give -o FILE.xlsx.")
    return out_format


def load_master_scale(path: str | None, wanted: bool, flag: str) -> Any:
    """The ``MasterScale`` when ``wanted`` (the command's ``flag`` was given), else ``None``; a scale named on the
    command line without the flag is a usage error (one from the environment is not: it is for every run)."""
    if not _wanted(path, wanted, "master_scale", f"--master-scale grades applicants; add {flag}."):
        return None
    from loanscore.runtime.grades import MasterScale

    return MasterScale.load(path)


def load_points_scale(path: str | None, wanted: bool, flag: str = "--points") -> Any:
    """The ``PointsScale`` when ``wanted``, else ``None``; as :func:`load_master_scale`."""
    if not _wanted(path, wanted, "points_scale", f"--points-scale scores applicants in points; add {flag}."):
        return None
    from loanscore.runtime.points import PointsScale

    return PointsScale.load(path)


def check_on_scale(points: Any, value: float, option: str) -> None:
    """A cut-off in points must be a score the ``points`` scale gives, the lowest excepted (everyone scores it)."""
    if not points.lowest < value <= points.highest:
        raise click.BadParameter(f"{value:g} is outside the points scale: scores run from {points.lowest:g} to "
                                 f"{points.highest:g}.", param_hint=f"'{option}'")


def _wanted(path: str | None, wanted: bool, param: str, usage: str) -> bool:
    from click.core import ParameterSource

    if not wanted and path and click.get_current_context().get_parameter_source(param) is ParameterSource.COMMANDLINE:
        raise click.UsageError(usage)
    return wanted


def decision_bands(bands_cls, threshold: float, approve_below: float | None, decline_from: float | None,  # type: ignore[no-untyped-def]
                   points=None, approve_from_points: float | None = None,
                   decline_below_points: float | None = None):
    """Fill in the cut-off not given so that the bands stay ordered around the model's threshold. Cut-offs in
    points (on the ``points`` scale) become the P(default) cut-offs that decide exactly as the points read."""
    for given, option, in_p, p_option in (
            (approve_from_points, "--approve-from-points", approve_below, "--approve-below"),
            (decline_below_points, "--decline-below-points", decline_from, "--decline-from")):
        if given is not None and in_p is not None:
            raise click.UsageError(f"Give {p_option} or {option}, not both: they set the same cut-off.")
        if given is not None:
            check_on_scale(points, given, option)
    if approve_from_points is not None and decline_below_points is not None \
            and decline_below_points > approve_from_points:
        raise click.BadParameter(f"--decline-below-points ({decline_below_points:g}) must not exceed "
                                 f"--approve-from-points ({approve_from_points:g}).",
                                 param_hint="'--decline-below-points'")
    if approve_from_points is not None:
        approve_below = points.below(approve_from_points)
    if decline_below_points is not None:
        decline_from = points.below(decline_below_points)
    if approve_below is None:
        approve_below = threshold if decline_from is None else min(threshold, decline_from)
    if decline_from is None:
        decline_from = max(threshold, approve_below)
    if approve_below > decline_from:
        raise click.BadParameter(
            f"--approve-below ({approve_below:g}) must not exceed --decline-from ({decline_from:g}).",
            param_hint="'--approve-below'",
        )
    return bands_cls(approve_below, decline_from)


def open_audit(path: str | None) -> Any:
    """The ``AuditLog`` at ``path`` (``None`` without one), checked writable before any work: a run that cannot
    be logged does not start."""
    if not path:
        return None
    from loanscore.runtime.audit import AuditLog
    from loanscore.runtime.run_files import RUN_FILES, note_read

    log = AuditLog(path)
    log.is_a_log()
    log.writable()
    note_read(path)  # so that no output of the run replaces it
    if (files := RUN_FILES.get()) is not None:
        files.audit_log = path  # and a signal after an output is committed waits for the run's record
    return log


def record_run(audit: Any, event: str, scorer: Any, files: dict[str, Any], results: dict[str, Any],
               code: int, sheet: str | None = None) -> None:
    """Append one run to ``audit`` (if any): the model and cut-offs, ``files`` (a path, ``-`` for stdin, a list of
    them, or a ready description) by path, size and SHA-256, the workbook ``sheet`` named (else the file's own
    digest settles which was read), the ``results`` and the exit status."""
    if audit is None:
        return
    from loanscore.runtime.audit import decided_by, file_digest

    def named(value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [named(v) for v in value]
        if isinstance(value, dict):
            return value
        return {"path": "stdin"} if value == "-" else file_digest(value)

    audit.append({"event": event, **decided_by(scorer), **{k: named(v) for k, v in files.items()},
                  **({"sheet": sheet} if sheet else {}), **results, "exit": code})
