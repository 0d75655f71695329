"""``loanscore schema draft`` and ``loanscore schema check``: a lender's own columns, described for training."""

from __future__ import annotations

from pathlib import Path

import click

from .errors import reports_errors, require_train_extra
from .options import data_file_options

DATA = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group()
def schema() -> None:
    """Describe a lender's own columns for training: draft a schema from labelled data, or check one against it."""


@schema.command()
@click.argument("data", type=DATA)
@click.option("-o", "--output", default="-", show_default=True, metavar="FILE",
              help="TOML file to write ('-': standard output).")
@click.option("--label", metavar="COLUMN", help="The outcome column (0 repaid, 1 defaulted). Default: guessed.")
@click.option("--id", "id_column", metavar="COLUMN", help="The applicant id column. Default: guessed.")
@click.option("--numbered", type=click.Choice(["oldest-first", "newest-first", "auto"]), default="oldest-first",
              show_default=True, help="Whether monthly columns numbered 1, 2, ... start from the oldest month "
                                      "(arrears_m01 is a year ago) or the newest (PAY_AMT1 is last month); auto "
                                      "reads it from the data (the latest month tells most about the outcome), "
                                      "else takes oldest first. The draft says what the data show either way.")
@click.option("--name", metavar="NAME", help="The schema's name, recorded in every model trained with it. "
                                             "Default: the file's name.")
@data_file_options
@reports_errors
def draft(data: Path, output: str, label: str | None, id_column: str | None, numbered: str,
          name: str | None) -> None:
    """Draft a schema from DATA's own columns (a labelled CSV, Excel workbook or JSON Lines).

    Columns numbered alike (arrears_m01 ... arrears_m12) become a monthly
    history, in month order; a column of 0s and 1s the outcome; a few whole
    numbers or texts codes; other numbers fields with a range; each field a
    reason statement by its role or name. What the data cannot show is
    guessed and said, on standard error and atop the file: which way the
    months run, which fields the law protects, how far the ranges reach, the
    columns left out and the cells to fix. Review it, then train with it.

    \b
    Examples:
      loanscore schema draft loans_2025.csv -o my_schema.toml
      loanscore schema draft ../shared/data/uci_credit_card_dev.csv.gz --numbered newest-first
    """
    require_train_extra()
    from loanscore.runtime.writers import open_output
    from loanscore.train.schema_draft import draft_schema

    result = draft_schema(data, label=label, id_column=id_column, numbered=numbered, name=name)  # type: ignore[arg-type]
    with open_output(output) as stream:
        stream.write(result.text)
    s = result.schema
    click.echo(f"Drafted schema '{s['name']}': outcome {s['label']}, id {s.get('id', '(none)')}, "
               f"{len(s['numeric'])} numeric and {len(s['categorical'])} categorical fields, "
               f"{len(s['history'])} history channels of {len(s['history'][0]['columns'])} months.", err=True)
    for note in result.notes:
        click.echo(f"Check: {note}", err=True)
    if output != "-":
        import shlex

        from loanscore.runtime.tabular import DATA_SHEET, INPUT_ENCODING

        sheet, encoding = DATA_SHEET.get(), INPUT_ENCODING.get()  # the next commands read DATA as the draft did
        read = (f" --sheet {shlex.quote(sheet)}" if sheet else "") + (
            f" --encoding {encoding}" if encoding != "utf-8" else "")
        out, source = shlex.quote(output), shlex.quote(str(data)) + read
        click.echo(f"wrote {output}; next: loanscore schema check {out} --data {source}, then loanscore train "
                   f"--data {source} --schema {out} --out RUN_DIR", err=True)


@schema.command()
@click.argument("schema_file", metavar="SCHEMA", type=DATA)
@click.option("--data", required=True, type=DATA,
              help="Labelled CSV (gzip allowed), Excel workbook or JSON Lines to check against SCHEMA.")
@data_file_options
@reports_errors
def check(schema_file: Path, data: Path) -> None:
    """Check that SCHEMA reads and that every row of --data keeps to it, as
    `loanscore train` will before it fits anything (exit 2 naming the rows
    and fields that do not)."""
    require_train_extra()
    from loanscore.runtime.schema import Schema
    from loanscore.train.data import load_dataset

    described = Schema.load(schema_file)
    dataset = load_dataset(data, described)
    assert dataset.y is not None
    click.echo(f"OK: {data} keeps to schema '{described.name}': {len(dataset.X):,} rows, default rate "
               f"{dataset.y.mean():.2%}, {len(described.numeric)} numeric and {len(described.categorical)} "
               f"categorical fields, {len(described.history)} history channels of {described.months} months.")
    unread = [c for c in dataset.fingerprint["columns"]
              if c not in {*described.input_names, described.label, described.id}]
    if unread:
        click.echo(f"Not read by a model trained with it ({len(unread)}): {', '.join(unread)}.")
