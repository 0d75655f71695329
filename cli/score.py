"""``loanscore score``: score a file of applicants, or one applicant given as JSON."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import click

from .errors import reports_errors
from .inputs import echo_sheet_notes
from .interrupts import Interrupts
from .options import (audit_option, decision_bands, FiniteRange, input_format_option, load_master_scale,
                      load_points_scale, master_scale_option, open_audit, output_format, points_options, record_run,
                      separator_option)
from .output import silence_stdout

_HELP = """Score the applicants in INPUT (CSV, JSON Lines or an Excel workbook, .xlsx; '-' reads stdin).

\b
One output row per input row, in input order: the id column (if the input has
one), any --keep-columns, then probability_of_default, decision
(approve/review/decline), error (why a row was not scored) and warning.
A row that cannot be scored is kept, with its error; the exit status is then 1.

\b
--reasons N adds a reasons column after decision: the N fields (or history
channels) that raise the applicant's P(default) the most above the typical
applicant's, e.g. "repayment_status +0.213; payment_amount +0.052". It scores
each row once more per field and channel, so it is several times slower.
Where the model words its reasons, a reason_statements column follows, e.g.
"Late repayments in recent months; Small payments in recent months";
--statements FILE words them your way (another language, your reason codes).
`loanscore explain` takes one applicant's score apart, month by month.

\b
--grade adds a grade column after probability_of_default: the applicant's
rating grade on the lender's master scale (--master-scale FILE), else on the
built-in one, 10 grades each doubling the odds of default (`loanscore grades`).

\b
--points adds a points column after probability_of_default: the score in
points, higher for safer, on the lender's points scale (--points-scale FILE),
else 600 points at good:bad odds 50:1, 20 points to double the odds, 300 to
900 (`loanscore points`). --approve-from-points and --decline-below-points
set the cut-offs in points: the decisions then follow the points exactly.

\b
--shadow MODEL_DIR scores every row with a second model too, which decides
nothing: its probability, decision (at its own threshold) and error close
each row (shadow_probability, shadow_decision, shadow_error), and the summary
says how often the two decide alike. Run a challenger so for a while before
it replaces the model in use; `loanscore compare` judges the two once the
outcomes are known.

\b
Examples:
  loanscore score applicants.csv -o scores.csv
  loanscore score applicants.jsonl --format jsonl > scores.jsonl
  loanscore score --json '{"LIMIT_BAL": 50000, "AGE": 35, ...}' --reasons 3
  loanscore score applicants.csv --grade --master-scale our_grades.toml -o scores.csv
  loanscore score applicants.csv --approve-from-points 560 --decline-below-points 520
  loanscore score applicants.csv --shadow models/challenger -o scores.csv
"""


def _split_columns(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    names: list[str] = []
    for value in values:
        for name in value.split(","):
            name = name.strip()
            if not name:
                raise click.BadParameter(f"'{value}' holds an empty column name; write A,B,C.")
            names.append(name)
    return tuple(dict.fromkeys(names))


@click.command(help=_HELP, short_help="Score applicants from a CSV, JSON Lines or Excel file.")
@click.argument("input_path", metavar="[INPUT]", required=False)
@click.option("--model", "model_dir", type=click.Path(file_okay=False), help="Model directory. Default: the shipped model.")
@click.option("-o", "--output", default="-", show_default=True, help="Output file; '-' is stdout. A file appears only once complete.")
@click.option("--format", "out_format", type=click.Choice(["csv", "jsonl", "xlsx"]),
              help="Output format: csv, jsonl or xlsx (an Excel workbook). Default: by -o's extension, else csv.")
@separator_option
@input_format_option()
@click.option("--json", "json_text", metavar="TEXT", help="Score one applicant given as a JSON object ('-' reads it from stdin) instead of INPUT.")
@click.option("--keep-columns", multiple=True, callback=_split_columns, metavar="A,B", help="Input columns to copy to the output.")
@click.option("--approve-below", type=FiniteRange(0, 1), help="Approve below this probability. Default: the model's threshold.")
@click.option("--decline-from", type=FiniteRange(0, 1), help="Decline from this probability up. Default: the model's threshold.")
@click.option("--reasons", type=click.IntRange(0, 100), default=0, metavar="N",
              help="Add the N reasons that raise each applicant's P(default) the most (reason codes).")
@click.option("--statements", "statements_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Word the reasons with this statements file (TOML or JSON) instead of the model's statements; "
                   "`loanscore statements -o FILE` writes the model's own, ready to edit.")
@click.option("--grade", is_flag=True, help="Add a grade column after probability_of_default: each applicant's "
              "rating grade on the master scale (see --master-scale).")
@master_scale_option
@points_options
@click.option("--shadow", "shadow_dir", type=click.Path(file_okay=False), metavar="MODEL_DIR",
              help="Also score every row with this model, which decides nothing: shadow_probability, "
                   "shadow_decision (at its own threshold) and shadow_error columns, and how often it agrees.")
@click.option("--stamp", is_flag=True, help="Add model_id (the first 12 hex digits of the model's SHA-256) and "
              "scored_at (the run's start, UTC) to every output row: a row copied elsewhere still says what scored it.")
@audit_option
@click.option("--line-buffered", is_flag=True,
              help="Answer each applicant as soon as its line arrives, flushing it to stdout: for a program that "
                   "keeps one loanscore running and writes it applicants one at a time (CSV with its header "
                   "first, or JSON Lines).")
@click.option("-q", "--quiet", is_flag=True, help="No progress line and no summary on stderr.")
@click.option("--chunk-rows", type=click.IntRange(1, 1_000_000), default=8192, hidden=True)
@reports_errors
def score(
    input_path: str | None,
    model_dir: str | None,
    output: str,
    out_format: str | None,
    separator: str,
    input_format: str,
    sheet: str | None,
    json_text: str | None,
    keep_columns: tuple[str, ...],
    approve_below: float | None,
    decline_from: float | None,
    reasons: int,
    statements_path: str | None,
    grade: bool,
    master_scale: str | None,
    points: bool,
    approve_from_points: float | None,
    decline_below_points: float | None,
    points_scale: str | None,
    shadow_dir: str | None,
    stamp: bool,
    audit_log: str | None,
    line_buffered: bool,
    quiet: bool,
    chunk_rows: int,
) -> None:
    if statements_path and not reasons:
        raise click.UsageError("--statements words reason codes; add --reasons N.")
    if input_path is not None and json_text is not None:
        raise click.UsageError("Give either INPUT or --json, not both.")
    if input_path is None and json_text is None:
        raise click.UsageError("Missing INPUT: give a file to score, '-' for stdin, or --json TEXT.")
    if json_text is not None and sheet:
        raise click.UsageError("--sheet chooses a workbook's sheet; --json is a single applicant.")
    out_format = output_format(out_format, output, separator)
    if line_buffered and (output != "-" or out_format == "xlsx" or input_format == "xlsx" or json_text is not None):
        raise click.UsageError("--line-buffered answers on stdout, a line for each line read: give no -o, and "
                               "read and write CSV or JSON Lines (a workbook is written once complete).")

    # Heavy imports wait until here, so `loanscore --help` stays fast.
    from loanscore.runtime.model import Model
    from loanscore.runtime.scorer import Bands, Scorer
    from loanscore.runtime.jsonl_reader import json_record_reader
    from loanscore.runtime.readers import open_reader
    from loanscore.runtime.tabular import Reader

    grades = load_master_scale(master_scale, grade, "--grade")
    scale = load_points_scale(points_scale, points or approve_from_points is not None
                              or decline_below_points is not None)
    audit = open_audit(audit_log)
    model = Model.load(model_dir)
    scorer = Scorer(model, decision_bands(Bands, model.threshold, approve_below, decline_from, scale,
                                         approve_from_points, decline_below_points), statements=statements_path)
    if reasons:
        scorer.explainer  # noqa: B018 -- a model without a population fails here, before any output
    shadow = Scorer(Model.load(shadow_dir)) if shadow_dir else None
    schema = model.schema
    inputs, numbers = read_for(scorer, shadow)
    with naming_shadow_columns(scorer, shadow):
        if json_text is not None:
            text = sys.stdin.read() if json_text == "-" else json_text
            name = "stdin" if json_text == "-" else "--json"
            reader: Reader = json_record_reader(text, inputs, id_column=schema.id, keep=keep_columns, name=name)
        else:
            assert input_path is not None
            if input_path == "-" and not quiet and _isatty(sys.stdin):
                click.echo("Reading applicants from the terminal; end with Ctrl-D.", err=True)
            reader = open_reader(
                input_path, inputs, fmt=input_format, sheet=sheet, id_column=schema.id, keep=keep_columns,
                chunk_rows=1 if line_buffered else chunk_rows, numbers=numbers, one_by_one=line_buffered,
            )
    layout = Layout(reasons, grades, scale, shadow, stamp, separator)
    with Interrupts() as interrupts:  # until the audit record is written: a committed output always has one
        code, summary = score_into(scorer, reader, output, out_format, quiet, interrupts, layout, line_buffered)
        if audit is not None and summary is not None:
            from loanscore.runtime.audit import text_sha256

            source = ({"path": "--json", "text_sha256": text_sha256(text)} if json_text is not None else
                      {"path": "stdin", "bytes": reader.bytes_read, "sha256": reader.stdin_sha256}
                      if input_path == "-" else input_path)
            log_score(audit, scorer, source, output, out_format, summary, code, layout, sheet)
    if code:
        sys.exit(code)


@dataclass(frozen=True)
class Layout:
    """What a scored file holds besides each row's probability and decision, as `score` and `watch` take it."""

    reasons: int = 0
    grades: Any = None
    """A master scale, for a grade column."""
    points: Any = None
    """A points scale, for a points column."""
    shadow: Any = None
    """A second scorer, whose results close each row."""
    stamp: bool = False
    """model_id and scored_at on every row."""
    separator: str = "input"
    """The CSV output's, by name, or "input" for the CSV input's (a comma after JSON Lines)."""


def log_score(audit, scorer, source: Any, output: str, out_format: str, summary, code: int,  # type: ignore[no-untyped-def]
              layout: Layout, sheet: str | None = None) -> None:
    """The audit record of one scored file (``source``: a path, or a ready description of stdin or --json; ``sheet``
    the workbook's sheet named by --sheet)."""
    from loanscore.runtime import grades as grading, points as scoring
    from loanscore.runtime.audit import file_digest

    grades, points, shadow = layout.grades, layout.points, layout.shadow

    scales: dict[str, Any] = {}
    if grades is not None:
        scales["master_scale"] = grades.to_dict() if grades.source == grading.BUILT_IN else file_digest(grades.source)
    if points is not None:  # its five numbers say what a score means; a file's digest, where it came from
        scales["points_scale"] = {**points.to_dict(), **({} if points.source == scoring.BUILT_IN else
                                                         {"sha256": file_digest(points.source)["sha256"]})}
    record_run(audit, "score", scorer, {"input": source}, {
        "output": {**(file_digest(output) if output != "-" else {"path": "stdout"}), "format": out_format},
        "reasons": layout.reasons, **scales, "rows": summary.n_rows, "scored": summary.n_scored,
        "rejected": summary.n_rejected, "warned": summary.n_warned, "decisions": summary.decisions,
        **({} if shadow is None else {"shadow": {
            "path": str(shadow.model.directory.resolve()), "sha256": shadow.model.manifest["sha256"],
            "threshold": shadow.threshold, **summary.shadow.to_dict()}})}, code, sheet=sheet)


def stamp_columns(model) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """--stamp's columns: the model and the run's start."""
    from datetime import UTC, datetime

    return {"model_id": model.manifest["sha256"][:12],
            "scored_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


def score_into(scorer, reader, output: str, out_format: str, quiet: bool,  # type: ignore[no-untyped-def]
               interrupts: Interrupts, layout: Layout, line_buffered: bool = False) -> tuple[int, Any]:
    """Stream ``reader`` through ``scorer`` into ``output``, with ``layout``'s columns (each chunk flushed, with
    ``line_buffered``); the exit status and the run's summary (``None`` when the reader of stdout went away
    first)."""
    from loanscore.runtime.errors import EXIT_OK, EXIT_ROWS_REJECTED
    from loanscore.runtime.stream import Progress, score_stream
    from loanscore.runtime.csv_reader import CsvReader
    from loanscore.runtime.tabular import SEPARATORS
    from loanscore.runtime.writers import make_writer, open_output

    if layout.separator == "input":
        delimiter = reader.delimiter if isinstance(reader, CsvReader) else ","
    else:
        delimiter = next(c for c, name in SEPARATORS.items() if name == layout.separator)
    reasons, shadow = layout.reasons, layout.shadow
    try:
        progress = Progress.for_terminal(reader.total_bytes, quiet=quiet)
        with open_output(output) as stream:
            if out_format == "csv" and output != "-" and isinstance(reader, CsvReader) and reader.from_excel:
                stream.write("\ufeff")  # a file for Excel, which reads UTF-8 as UTF-8 only with the mark
            worded = reasons > 0 and bool(scorer.explainer.statements)
            writer = make_writer(
                out_format, stream, reader.passthrough, reasons=reasons > 0, statements=worded,
                stamp=stamp_columns(scorer.model) if layout.stamp else None, grades=layout.grades,
                delimiter=delimiter, points=layout.points, shadow=shadow is not None)
            try:
                summary = score_stream(scorer, reader, interrupts.guard(writer, stream if line_buffered else None),
                                       progress=progress, reasons=reasons, shadow=shadow)
                if hasattr(writer, "finish"):  # a workbook is written once every row is in
                    writer.finish()
            finally:
                if hasattr(writer, "close"):
                    writer.close()
            interrupts.check()  # before the output file is committed
            interrupts.hold()  # committed next: the run is seen through to its audit record
    except BrokenPipeError:  # e.g. `loanscore score big.csv | head`: stop quietly, like other tools
        silence_stdout()
        return EXIT_OK, None
    finally:
        reader.close()
    if not quiet:
        click.echo(_summary_line(summary, reader.name, output), err=True)
        echo_sheet_notes(reader)
        if shadow is not None:
            click.echo(shadow_lines(summary.shadow, shadow), err=True)
    return (EXIT_ROWS_REJECTED if summary.n_rejected else EXIT_OK), summary


def read_for(scorer, shadow) -> tuple[list[str], Any]:  # type: ignore[no-untyped-def]
    """The input columns to read and the numeric ones: the model's, and a shadow model's too."""
    if shadow is None:
        return scorer.schema.input_names, scorer.schema.number_names
    inputs = list(dict.fromkeys([*scorer.schema.input_names, *shadow.schema.input_names]))
    return inputs, set(scorer.schema.number_names) & set(shadow.schema.number_names)


@contextmanager
def naming_shadow_columns(scorer, shadow) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """A missing column that only the shadow model reads: the error says so, so that no one looks for it in the
    model in force."""
    from loanscore.runtime.errors import InputError

    only = [] if shadow is None else [c for c in shadow.schema.input_names if c not in scorer.schema.input_names]
    try:
        yield
    except InputError as exc:
        if named := [c for c in only if c in str(exc)]:
            raise InputError(f"{exc} ({', '.join(named)}: read by the shadow model only.)") from None
        raise


def shadow_lines(tally, shadow) -> str:  # type: ignore[no-untyped-def]
    """How the shadow model decided beside the model in force: the share alike, the mean P(default) of each,
    and the decisions crossed (those that occur)."""
    n = tally.both
    head = (f"shadow model {shadow.model.directory.name} ({shadow.model.manifest['sha256'][:12]}, threshold "
            f"{shadow.threshold:.4g})")
    if n == 0:
        return f"{head}: no row was scored by both models ({tally.rejected:,} rejected by the shadow model)"
    text = (f"{head}: same decision for {tally.same:,} of the {n:,} rows both scored ({tally.same / n:.1%}); "
            f"mean P(default) {tally.probability_sum / n:.4f} in force, {tally.shadow_probability_sum / n:.4f} "
            "shadow" + (f"; {tally.rejected:,} rows rejected by the shadow model" if tally.rejected else ""))
    used = [d for d in tally.decisions if any(tally.decisions[d].values())
            or any(row[d] for row in tally.decisions.values())]
    table = [("in force \\ shadow", *used), *((a, *(f"{tally.decisions[a][b]:,}" for b in used)) for a in used)]
    widths = [max(len(r[j]) for r in table) for j in range(len(used) + 1)]
    return "\n".join([text, *("  " + "  ".join(c.ljust(w) if j == 0 else c.rjust(w)
                                               for j, (c, w) in enumerate(zip(r, widths))) for r in table)])


def _summary_line(summary, source: str, output: str) -> str:  # type: ignore[no-untyped-def]
    target = "stdout" if output == "-" else output
    if summary.n_rows == 0:
        return f"{source} has a header but no rows; wrote an empty result -> {target}"
    text = f"scored {summary.n_scored:,} of {summary.n_rows:,} rows"
    if summary.n_rejected:
        text += f"; {summary.n_rejected:,} rejected (see the error column)"
    if summary.n_warned:
        text += f"; {summary.n_warned:,} with warnings"
    rate = summary.n_rows / summary.seconds if summary.seconds > 0 else 0.0
    return f"{text} -> {target} ({summary.seconds:.1f} s, {rate:,.0f} rows/s)"


def _isatty(stream) -> bool:  # type: ignore[no-untyped-def]
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
