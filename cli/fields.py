"""``loanscore fields``: the columns a file to score must hold, from the model's own schema; a blank file to fill in."""

from __future__ import annotations

import click

from .errors import reports_errors

_HELP = """The model's input contract: each column a file to score must hold
(by that name, in any order; other columns are ignored or copied with
--keep-columns), what it holds, the values allowed and what happens when a
value is missing; then the outcome column the monitoring commands read. It
comes from the schema in the model's manifest, so it describes the model
given, a lender's own schema included.

\b
--template FILE writes a blank applicant file to fill in: .csv, the header
row; .xlsx, a workbook whose sheet "applicants" has the header and whose
sheet "fields" lists the contract. -o FILE writes the contract itself as
JSON (.json) or CSV.

\b
Examples:
  loanscore fields
  loanscore fields --template applicants.xlsx
  loanscore fields --model models/ours -o contract.json
"""


@click.command(help=_HELP, short_help="The columns a file to score must hold; a blank file to fill in.")
@click.option("--template", "template_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write a blank applicant file to fill in: .csv (the header) or .xlsx (the header, and the contract "
                   "on a second sheet).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the contract as JSON (.json) or CSV (any other name).")
@click.option("--model", "model_dir", type=click.Path(file_okay=False), help="Model directory. Default: the shipped model.")
@reports_errors
def fields(template_path: str | None, output: str | None, model_dir: str | None) -> None:
    import csv
    import json

    from loanscore.runtime.errors import InputError
    from loanscore.runtime.fields import contract, template_header
    from loanscore.runtime.model import Model
    from loanscore.runtime.writers import open_output

    model = Model.load(model_dir)
    schema = model.schema
    rows = contract(schema)
    table = [("column", "what", "allowed", "when missing"), *((r.column, r.what, r.allowed, r.missing) for r in rows)]
    if template_path:
        suffix = template_path.lower().rsplit(".", 1)[-1]
        if suffix not in ("csv", "xlsx"):
            raise InputError(f"--template {template_path}: a template is a .csv file or an .xlsx workbook.")
        if suffix == "xlsx":
            from loanscore.runtime.xlsx import write_workbook

            write_workbook(template_path, {"applicants": [template_header(schema)], "fields": table})
        else:
            with open_output(template_path) as stream:
                csv.writer(stream, lineterminator="\n").writerow(template_header(schema))
        click.echo(f"wrote a blank applicant file for {schema.name} -> {template_path}", err=True)
    if output:
        with open_output(output) as stream:
            if output.lower().endswith(".json"):
                stream.write(json.dumps({"schema": schema.name, "model": str(model.directory), "columns": [
                    r.to_dict() for r in rows]}, indent=2) + "\n")
            else:
                writer = csv.writer(stream, lineterminator="\n")
                writer.writerow(["column", "role", "what", "allowed", "when_missing", "protected"])
                writer.writerows([r.column, r.role, r.what, r.allowed, r.missing, r.protected] for r in rows)
    if template_path or output:
        return
    click.echo(render(rows, f"Input contract of the model in {model.directory} (schema {schema.name}): a file to "
                            "score holds these columns, by these names, in any order; other columns are ignored."))


def render(rows, title: str) -> str:  # type: ignore[no-untyped-def]
    """The contract to read: a block per column, a history channel's months in one block."""
    import textwrap

    from loanscore.runtime.fields import blocks

    width = min(max(len(r.column) for r in rows if not r.channel), 12) + 2  # a longer name has a line of its own
    out = [*textwrap.wrap(title, 100), ""]
    for block in blocks(rows):
        r = block[0]
        if r.channel:
            out += textwrap.wrap(f"{r.channel} (history, {len(block)} months)"
                                 + (f": {r.what.split(': ', 1)[1]}" if ": " in r.what else ""), 100,
                                 subsequent_indent=" " * width)
            out += textwrap.wrap(", ".join(m.column for m in block) + " (oldest to latest)", 100,
                                 initial_indent=" " * width, subsequent_indent=" " * width)
        else:
            out += textwrap.wrap(r.what, 100, initial_indent=f"{r.column:<{width}}", subsequent_indent=" " * width) \
                if len(r.column) < width else [r.column, *textwrap.wrap(r.what, 100, initial_indent=" " * width,
                                                                         subsequent_indent=" " * width)]
        out += textwrap.wrap(f"{r.allowed}; when missing: {r.missing}", 100, initial_indent=" " * width,
                             subsequent_indent=" " * width)
    return "\n".join(out)
