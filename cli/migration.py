"""``loanscore migration``: how the same borrowers' rating grades moved between two scorings of a portfolio."""

from __future__ import annotations

import json
import sys

import click

from .errors import reports_errors
from .inputs import echo_rejects, echo_sheet_notes
from .options import audit_option, input_format_option, master_scale_option, open_audit, record_run

_HELP = """The rating migration matrix of a portfolio scored twice.

\b
Scores BEFORE and AFTER (e.g. the book at the end of last quarter and of
this one; CSV or JSON Lines), matches the borrowers by the schema's id
column and prints each grade before (down) against the grade after
(across), with the shares kept, downgraded (riskier) and upgraded, on the
master scale (--master-scale, else the built-in one). --downgrades FILE
writes the borrowers downgraded by --notches grades or more (IFRS 9's
significant increase in credit risk starts from such a list), most first.

\b
A borrower in one file only is counted, not matched. Rows without an id,
with an id seen before in the same file, or that cannot be scored are
listed with row and reason and left out. Exit status: 0, or 1 when some
rows were left out.

\b
Examples:
  loanscore migration book_2026_q2.csv book_2026_q3.csv
  loanscore migration book_2026_q2.csv book_2026_q3.csv --notches 2 --downgrades review.csv -o migration.json
  loanscore migration book_2026_q2.csv book_2026_q3.csv --plot migration.svg
"""


@click.command(help=_HELP, short_help="Rating migration matrix of the same borrowers scored twice.")
@click.argument("before_path", metavar="BEFORE")
@click.argument("after_path", metavar="AFTER")
@master_scale_option
@click.option("--notches", type=click.IntRange(1), default=3, show_default=True,
              help="Flag borrowers downgraded by this many grades or more.")
@click.option("--downgrades", metavar="FILE.csv", help="Write the flagged borrowers: id, P(default) and grade "
              "before and after (atomically).")
@click.option("--model", "model_dir", type=click.Path(file_okay=False), help="Model directory. Default: the shipped model.")
@click.option("-o", "--output", metavar="FILE", help="Also write every figure as JSON (written atomically).")
@click.option("--plot", metavar="FILE.svg", help="Also draw the matrix, each cell shaded by its share of the row "
              "(SVG, atomically).")
@input_format_option("BEFORE and AFTER")
@click.option("-q", "--quiet", is_flag=True, help="No progress line on stderr.")
@audit_option
@reports_errors
def migration(before_path: str, after_path: str, master_scale: str | None, notches: int, downgrades: str | None,
              model_dir: str | None, output: str | None, plot: str | None,
              input_format: str, sheet: str | None, quiet: bool,
              audit_log: str | None) -> None:
    from loanscore.runtime.errors import EXIT_OK, EXIT_ROWS_REJECTED, InputError
    from loanscore.runtime.grades import MasterScale
    from loanscore.runtime.migration import migrate, score_by_id
    from loanscore.runtime.model import Model
    from loanscore.runtime.scorer import Scorer
    from loanscore.runtime.stream import Progress
    from loanscore.runtime.readers import open_reader
    from loanscore.runtime.writers import CsvRows, formula_safe, open_output

    if before_path == after_path == "-":
        raise InputError("Only one of BEFORE and AFTER can be stdin (-).")
    scale = MasterScale.load(master_scale)
    audit = open_audit(audit_log)
    scorer = Scorer(Model.load(model_dir))
    schema = scorer.schema
    if not schema.id:
        raise InputError("The model's schema names no id column; a migration matches borrowers by it.")
    id_column = schema.id

    def scored(path: str):  # type: ignore[no-untyped-def]
        reader = open_reader(path, schema.input_names, fmt=input_format, sheet=sheet, id_column=id_column,
                             numbers=schema.number_names)
        try:
            return score_by_id(scorer, reader, id_column, Progress.for_terminal(reader.total_bytes, quiet=quiet))
        finally:
            reader.close()
            echo_sheet_notes(reader)

    before, after = scored(before_path), scored(after_path)
    for side in (before, after):
        if side.rejected:
            echo_rejects(side.rejected, side.source, "were left out of the migration", output)
    result = migrate(before, after, scale)
    if not result.ids:
        raise InputError(f"No borrower of {before.source} is also in {after.source} (matched by {schema.id}); "
                         "there is no migration to show.")
    click.echo(render(result, notches, schema.id))
    document = result.to_dict(notches)
    if downgrades:
        with open_output(downgrades) as stream:
            writer = CsvRows(stream)
            writer.writerow([schema.id, "probability_before", "grade_before", "probability_after", "grade_after",
                             "notches"])
            for k in result.downgraded(notches):
                key = result.ids[k]
                writer.writerow([*formula_safe([key]), f"{before.probability[key]:.6f}",
                                 scale.names[result.grade_before[k]], f"{after.probability[key]:.6f}",
                                 scale.names[result.grade_after[k]], int(result.notches[k])])
    if output:
        with open_output(output) as stream:
            stream.write(json.dumps(document, indent=2) + "\n")
    if plot:
        from loanscore.runtime.migration_plot import render_svg

        with open_output(plot) as stream:
            stream.write(render_svg(result, notches))
    code = EXIT_ROWS_REJECTED if before.rejected or after.rejected else EXIT_OK
    record_run(audit, "migration", scorer, {"before": before_path, "after": after_path,
                                            **({"downgrades": downgrades} if downgrades else {}), **({"plot": plot} if plot else {})},
               {key: document[key] for key in ("matched", "only_before", "only_after", "same_grade", "downgraded",
                                               "upgraded", "flag_notches", "flagged", "master_scale")},
               code, sheet=sheet)
    sys.exit(code)


def render(result, notches: int, id_column: str) -> str:  # type: ignore[no-untyped-def]
    """The matrix (rows and each row's shares), then the shares kept, downgraded and upgraded."""
    m, names = result.matrix, result.scale.names
    used = [k for k in range(len(names)) if m[k].sum() or m[:, k].sum()]
    table = [("before \\ after", *(names[k] for k in used), "borrowers", "downgraded")]
    for k in used:
        n = int(m[k].sum())
        table.append((names[k], *(f"{m[k, j] / n:.1%}" if m[k, j] else "." for j in used), f"{n:,}",
                      f"{m[k, k + 1:].sum() / n:.1%}" if n else "-"))
    table.append(("borrowers", *(f"{int(m[:, j].sum()):,}" for j in used), f"{int(m.sum()):,}", ""))
    widths = [max(len(r[j]) for r in table) for j in range(len(table[0]))]
    moves, flagged = result.moves, len(result.downgraded(notches))
    lines = [f"Rating migration from {result.before.source} to {result.after.source} on {result.scale.described}",
             f"{len(result.ids):,} borrowers in both (matched by {id_column}); {result.only_before:,} only before, "
             f"{result.only_after:,} only after", "",
             "Share of each grade before (down) in each grade after (across):",
             *((f"  {r[0]:<{widths[0]}}  " + "  ".join(f"{v:>{w}}" for v, w in zip(r[1:], widths[1:]))).rstrip()
               for r in table), "",
             f"same grade {moves['same_grade']:.1%}, downgraded {moves['downgraded']:.1%}, upgraded "
             f"{moves['upgraded']:.1%}; mean move {moves['mean_notches']:+.2f} grades",
             f"downgraded by {notches} grades or more: {flagged:,} borrowers ({flagged / len(result.ids):.1%})"]
    return "\n".join(lines)
