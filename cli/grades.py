"""``loanscore grades``: the master scale (rating grades by P(default)), shown or written as a file to edit."""

from __future__ import annotations

import click

from .errors import reports_errors
from .options import master_scale_option

_HELP = """Show the master scale: the rating grades that `score --grade`,
`backtest --by-grade` and `compare --by-grade` use, and the P(default) each
one covers.

\b
Without --master-scale (or $LOANSCORE_MASTER_SCALE), the built-in scale:
10 grades, each doubling the odds of default of the one before. -o writes the
scale as a file to edit (your grade names and bounds), checked when read:

\b
  loanscore grades -o our_grades.toml
  loanscore score applicants.csv --grade --master-scale our_grades.toml
  loanscore grades --master-scale our_grades.toml          # check it, show it
  loanscore grades --format json -o grades.json            # for other languages
"""


@click.command(help=_HELP, short_help="The master scale: rating grades by P(default).")
@master_scale_option
@click.option("-o", "--output", default="-", show_default=True,
              help="Write the scale as a file to this path ('-' is stdout), instead of showing it as a table.")
@click.option("--format", "out_format", type=click.Choice(["toml", "json"]), default=None,
              help="With -o: toml (commented, to edit; the default) or json.")
@reports_errors
def grades(master_scale: str | None, output: str, out_format: str | None) -> None:
    import json

    from loanscore.runtime.grades import MasterScale, describe
    from loanscore.runtime.writers import open_output

    scale = MasterScale.load(master_scale)
    if output == "-" and out_format is None:
        rows = [("grade", "P(default)", "odds of default up to"), *describe(scale)]
        widths = [max(len(r[j]) for r in rows) for j in range(3)]
        click.echo(f"Master scale: {scale.source}")
        click.echo("\n".join(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]}".rstrip() for r in rows))
        return
    with open_output(output) as stream:
        stream.write(json.dumps(scale.to_dict(), indent=2, ensure_ascii=False) + "\n" if out_format == "json"
                     else scale.to_toml())
