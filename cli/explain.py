"""``loanscore explain``: one applicant's score taken apart, for a credit officer reviewing the case."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from .errors import reports_errors
from .options import (audit_option, decision_bands, FiniteRange, input_format_option, load_master_scale,
                      load_points_scale, master_scale_option, open_audit, points_scale_option, record_run)
from .output import silence_stdout

if TYPE_CHECKING:
    from loanscore.runtime.explain import Explanation

_HELP = """Explain the scores of chosen applicants in INPUT (CSV or JSON Lines).

\b
For each applicant: P(default) and the decision, the typical applicant's
P(default), and for every field and history channel the applicant's value
against the typical applicant's, its effect (P(default) minus P(default) with
the field made typical) and P(default) and decision were it typical; under each
history channel, the effect of each month alone. Largest effect first.
Where the model words its reasons (or --statements FILE does), the text ends
with the first four as an adverse-action notice would state them.

\b
Choose applicants with --id (the schema's id column) or --row (1-based data
row), each as often as needed; without either, every row is explained.
--plot draws one applicant's explanation as an SVG picture.

\b
Examples:
  loanscore explain applicants.csv --id 17
  loanscore explain applicants.csv --row 3 --plot row3.svg
  loanscore explain applicants.csv --id 17 --id 18 --format jsonl -o cases.jsonl
  loanscore explain --json '{"LIMIT_BAL": 50000, "AGE": 35, ...}'
"""


@dataclass(frozen=True)
class _Case:
    """One chosen row: where it is, and its explanation or why it could not be scored."""

    row: int | None
    id: Any
    explanation: Explanation | None = None
    error: str = ""

    def title(self, source: str) -> str:
        if self.row is None:
            return f"The applicant ({source})"
        where = f"row {self.row:,} of {source}"
        ident = "" if self.id is None else _id_text(self.id)
        return f"Applicant {ident} ({where})" if ident else where[0].upper() + where[1:]


@click.command(help=_HELP, short_help="Every field's effect on chosen applicants' scores.")
@click.argument("input_path", metavar="[INPUT]", required=False)
@click.option("--id", "ids", multiple=True, metavar="ID", help="Explain the applicant(s) with this id.")
@click.option("--row", "rows", multiple=True, type=click.IntRange(1), metavar="N", help="Explain data row N (1 = the first after the header).")
@click.option("--json", "json_text", metavar="TEXT", help="Explain one applicant given as a JSON object ('-' reads stdin) instead of INPUT.")
@click.option("--model", "model_dir", type=click.Path(file_okay=False), help="Model directory. Default: the shipped model.")
@click.option("-o", "--output", default="-", show_default=True, help="Output file; '-' is stdout. A file appears only once complete.")
@click.option("--format", "out_format", type=click.Choice(["text", "jsonl"]), default="text", show_default=True, help="Output format.")
@input_format_option()
@click.option("--plot", type=click.Path(dir_okay=False), metavar="FILE.svg", help="Draw the one chosen applicant's explanation.")
@click.option("--approve-below", type=FiniteRange(0, 1), help="Approve below this probability. Default: the model's threshold.")
@click.option("--decline-from", type=FiniteRange(0, 1), help="Decline from this probability up. Default: the model's threshold.")
@click.option("--statements", "statements_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Word the reasons with this statements file (TOML or JSON) instead of the model's statements; "
                   "`loanscore statements -o FILE` writes the model's own, ready to edit.")
@click.option("--grade", is_flag=True, help="Give each P(default)'s rating grade: the applicant's, the typical "
              "applicant's, and each field's if typical (see --master-scale).")
@master_scale_option
@click.option("--points", is_flag=True, help="Give each P(default)'s score in points, and each field's effect in "
              "points: what it costs (or earns) the applicant (see --points-scale).")
@points_scale_option
@click.option("-q", "--quiet", is_flag=True, help="No progress line and no summary on stderr.")
@audit_option
@reports_errors
def explain(
    input_path: str | None,
    ids: tuple[str, ...],
    rows: tuple[int, ...],
    json_text: str | None,
    model_dir: str | None,
    output: str,
    out_format: str,
    input_format: str,
    sheet: str | None,
    plot: str | None,
    approve_below: float | None,
    decline_from: float | None,
    statements_path: str | None,
    grade: bool,
    master_scale: str | None,
    points: bool,
    points_scale: str | None,
    quiet: bool,
    audit_log: str | None,
) -> None:
    if (input_path is None) == (json_text is None):
        raise click.UsageError("Give a file to explain (INPUT) or one applicant as --json TEXT, not both.")
    if json_text is not None and (ids or rows or sheet):
        raise click.UsageError("--id, --row and --sheet choose rows of INPUT; --json is a single applicant.")
    if plot and json_text is None and len(set(ids)) + len(set(rows)) != 1:
        raise click.UsageError("--plot draws one applicant: choose exactly one with --id or --row.")

    from loanscore.runtime.errors import EXIT_OK, EXIT_ROWS_REJECTED, InputError
    from loanscore.runtime.explain import annotated, render_text
    from loanscore.runtime.explain_plot import render_svg
    from loanscore.runtime.model import Model
    from loanscore.runtime.scorer import Bands, Scorer
    from loanscore.runtime.jsonl_reader import json_record_reader
    from loanscore.runtime.readers import open_reader
    from loanscore.runtime.tabular import Reader
    from loanscore.runtime.writers import open_output

    grades = load_master_scale(master_scale, grade, "--grade")
    scale = load_points_scale(points_scale, points)
    audit = open_audit(audit_log)
    model = Model.load(model_dir)
    scorer = Scorer(model, decision_bands(Bands, model.threshold, approve_below, decline_from),
                    statements=statements_path)
    scorer.explainer  # noqa: B018 -- a model without a population fails here, before any output
    schema = model.schema
    if json_text is not None:
        text = sys.stdin.read() if json_text == "-" else json_text
        source = "stdin" if json_text == "-" else "--json"
        reader: Reader = json_record_reader(text, schema.input_names, id_column=schema.id, name=source)
    else:
        assert input_path is not None
        reader = open_reader(input_path, schema.input_names, fmt=input_format, sheet=sheet, id_column=schema.id,
                             numbers=schema.number_names)
        source = reader.name
    try:
        if ids and schema.id not in reader.passthrough:
            what = f"no {schema.id} column" if schema.id else "no id column in the model's schema"
            raise InputError(f"--id needs the applicants' ids, but {source} has {what}; choose rows with --row.")
        chosen: Iterable[_Case] = _cases(scorer, reader, set(ids), set(rows), quiet)
        drawn: _Case | None = None
        if ids or rows or plot:  # a few rows, all checked before anything is written
            chosen = found = list(chosen)
            _check_found(found, ids, rows, source, schema.id, plot is not None)
            drawn = found[0] if plot and found and found[0].explanation else None
        n = rejected = 0
        with open_output(output) as stream, open_output(plot) if drawn and plot else nullcontext() as drawing:
            if drawing is not None and drawn is not None and drawn.explanation:  # both files appear, or neither
                drawing.write(render_svg(drawn.explanation, schema, drawn.title(source), grades, scale))
            for case in chosen:
                n += 1
                if case.explanation is None:
                    rejected += 1
                    stream.write(json.dumps({"id": case.id, "row": case.row, "error": case.error}) + "\n"
                                 if out_format == "jsonl" else f"{case.title(source)}\nNot explained: {case.error}\n\n")
                elif out_format == "jsonl":
                    shown = annotated(case.explanation, grades, scale)
                    stream.write(json.dumps({"id": case.id, "row": case.row, **shown}) + "\n")
                else:
                    stream.write(render_text(case.explanation, schema, case.title(source), grades, scale) + "\n")
    except BrokenPipeError:  # e.g. `loanscore explain big.csv | head`: stop quietly, like other tools
        silence_stdout()
        sys.exit(EXIT_OK)
    finally:
        reader.close()
    if not quiet:
        done = f"explained {n - rejected:,} of {n:,} applicants"
        click.echo(done + (f"; {rejected:,} could not be scored" if rejected else "") +
                   (f" -> {output}" if output != "-" else "") + (f"; plot -> {plot}" if drawn else ""),
                   err=True)
    code = EXIT_ROWS_REJECTED if rejected else EXIT_OK
    if audit is not None:  # a case review reads applicants' data: who looked at which, with which model
        from loanscore.runtime.audit import text_sha256

        read = ({"path": "--json", "text_sha256": text_sha256(text)} if json_text is not None else input_path)
        files = {"input": read, "output": {"path": "stdout"} if output == "-" else output,
                 **({"plot": plot} if drawn else {})}
        record_run(audit, "explain", scorer, files, {"ids": list(ids), "row_numbers": list(rows),
                                                     "explained": n - rejected, "rejected": rejected,
                                                     **({"master_scale": grades.to_dict()} if grades else {}),
                                                     **({"points_scale": scale.to_dict()} if scale else {})},
                   code, sheet=sheet)
    sys.exit(code)


def _cases(scorer, reader, ids: set[str], rows: set[int], quiet: bool) -> Iterator[_Case]:  # type: ignore[no-untyped-def]
    """The chosen rows of ``reader`` (all without ``ids`` or ``rows``), explained, in input order."""
    from loanscore.runtime.explain import explain_feeds
    from loanscore.runtime.stream import Progress, rejections
    from loanscore.runtime.validate import check_columns

    every = not (ids or rows)
    last = max(rows) if rows and not ids else None
    progress = Progress.for_terminal(reader.total_bytes, quiet=quiet or not every)
    done = 0
    try:
        for chunk in reader:
            first = chunk.first_row or 1
            id_values = chunk.passthrough.get(scorer.schema.id or "", [None] * chunk.n)
            picked = [i for i in range(chunk.n)
                      if every or first + i in rows or (id_values[i] is not None and _id_text(id_values[i]) in ids)]
            if picked:
                checked = check_columns(scorer.schema.columns(), chunk.columns, chunk.n, chunk.first_row)
                errors = rejections(checked.errors, chunk.row_errors, chunk.sheet_rows)
                good = [i for i in picked if i not in errors]
                explained = dict(zip(good, explain_feeds(scorer, {k: v[good] for k, v in checked.feeds.items()})
                                     if good else []))
                for i in picked:
                    row = None if chunk.first_row is None else first + i
                    if i in explained:
                        warnings = tuple(checked.warnings.get(i, ()))
                        yield _Case(row, id_values[i], dataclasses.replace(explained[i], warnings=warnings))
                    else:
                        yield _Case(row, id_values[i], error=errors[i])
            done += chunk.n
            if progress is not None:
                progress.update(done, reader.bytes_read)
            if last is not None and first + chunk.n > last:
                break
    finally:
        if progress is not None:
            progress.close()


def _id_text(value: Any) -> str:
    """An id as typed on the command line: JSON's 17 and 17.0, and CSV's " 17", are all "17"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _check_found(cases: list[_Case], ids: tuple[str, ...], rows: tuple[int, ...], source: str, id_column: str | None,
                 one: bool) -> None:
    """Fail, before anything is written, if a chosen id or row is not in ``source`` (or --plot got several)."""
    from loanscore.runtime.errors import InputError

    seen_ids = {_id_text(c.id) for c in cases if c.id is not None}
    seen_rows = {c.row for c in cases}
    missing = [f"{id_column} {i}" for i in dict.fromkeys(ids) if i not in seen_ids]
    missing += [f"row {r:,}" for r in dict.fromkeys(rows) if r not in seen_rows]
    if missing:
        raise InputError(f"{source} has no {', no '.join(missing)}; nothing was explained.")
    if one and len(cases) > 1:
        where = ", ".join(f"row {c.row:,}" for c in cases)
        raise InputError(f"--plot draws one applicant, but {id_column} {ids[0]} is on {where}; choose one with --row.")
