"""``loanscore statements``: the model's reason statements as a file to reword."""

from __future__ import annotations

import click

from .errors import reports_errors

_HELP = """Write the model's reason statements as a statements file (TOML) to edit.

\b
Each field and history channel with what `loanscore score --reasons N` says
when it raises P(default) (the reason_statements column); a number or channel
has one statement for a value above the typical applicant's and one for below.
Reword them (another language, your own reason codes) and give the file back:

\b
  loanscore statements -o words.toml
  loanscore score applicants.csv --reasons 3 --statements words.toml
  loanscore statements --format json -o words.json   # for examples/node
"""


@click.command(help=_HELP, short_help="The model's reason statements, as a file to reword.")
@click.option("--model", "model_dir", type=click.Path(file_okay=False), help="Model directory. Default: the shipped model.")
@click.option("-o", "--output", default="-", show_default=True, help="Output file; '-' is stdout. A file appears only once complete.")
@click.option("--format", "out_format", type=click.Choice(["toml", "json"]), default="toml", show_default=True,
              help="toml: every field, commented, to edit; json: the statements alone (for examples/node).")
@reports_errors
def statements(model_dir: str | None, output: str, out_format: str) -> None:
    import json

    from loanscore.runtime.model import Model
    from loanscore.runtime.schema import statement_to_data
    from loanscore.runtime.statements import schema_statements, statements_toml
    from loanscore.runtime.writers import open_output

    model = Model.load(model_dir)
    words = schema_statements(model.schema)
    if out_format == "json":
        with open_output(output) as stream:
            data = {name: statement_to_data(s) for name, s in words.items()}
            stream.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return
    heading = (f"Reason statements of the model in {model.directory} (schema {model.schema.name}).\n"
               "Use: loanscore score FILE --reasons 3 --statements THIS_FILE (also explain, and Scorer.load).\n"
               "A name left out or commented out has no statement: its reasons are named by the field.")
    with open_output(output) as stream:
        stream.write(statements_toml(model.schema, words, heading))
