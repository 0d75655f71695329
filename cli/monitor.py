"""``loanscore monitor``: is a batch of applicants still like the population the model learned from?"""

from __future__ import annotations

import json
import sys

import click

from .errors import reports_errors
from .inputs import echo_rejects, echo_sheet_notes
from .options import audit_option, input_format_option, load_master_scale, master_scale_option, open_audit, record_run

_HELP = """Compare the applicants in INPUT with the model's reference population.

\b
Scores INPUT (CSV or JSON Lines) and prints the population stability index
(PSI) of the score and of every input field against the population the model
was exported with (or against --reference FILE, e.g. last quarter's
applicants). Below 0.10 is stable, 0.10-0.25 worth watching, from 0.25 a
shift. "chance" is the PSI that a sample of this size exceeds by chance 1
time in 100; a PSI below it may be chance alone.

\b
--grade compares the rating grades too (on --master-scale, else the built-in
scale): each grade's share, their PSI, and the Herfindahl index of the
shares (how concentrated the applicants are in a few grades).

\b
Several INPUT files (e.g. one a month, oldest first) are each compared with
the reference and shown side by side, so that a drift is seen building up;
--plot then draws each variable's PSI file by file.

\b
Exit status: 0 no shift, 4 the score or a field has shifted (PSI >= 0.25),
2 a file could not be compared (the others still are). Rows that cannot be
scored are listed, not binned.

\b
Examples:
  loanscore monitor applicants_2026_11.csv
  loanscore monitor this_month.csv --reference last_month.csv -o stability.json
  loanscore monitor applicants_2026_11.csv --plot stability.svg
  loanscore monitor applicants_2026_11.csv --grade --master-scale our_grades.toml
  loanscore monitor applicants_2026_0*.csv --plot trend.svg
"""

LEFT_OUT = "could not be scored and are left out of the comparison"


@click.command(help=_HELP, short_help="Population stability (PSI) of a batch against the model's reference.")
@click.argument("input_paths", metavar="INPUT...", nargs=-1, required=True)
@click.option("--model", "model_dir", type=click.Path(file_okay=False), help="Model directory. Default: the shipped model.")
@click.option("--reference", "reference_path", metavar="FILE",
              help="Compare against this file's applicants instead of the reference in the model's manifest.")
@click.option("-o", "--output", metavar="FILE", help="Also write every figure as JSON (written atomically).")
@click.option("--plot", metavar="FILE.svg",
              help="Also draw the PSI of every variable and the distributions that moved, or with several INPUT "
                   "files each variable's PSI file by file (SVG, atomically).")
@input_format_option()
@click.option("--grade", is_flag=True, help="Compare the rating grades too: each grade's share and their PSI, and "
              "the Herfindahl index of the shares (see --master-scale).")
@master_scale_option
@click.option("-q", "--quiet", is_flag=True, help="No progress line on stderr.")
@audit_option
@reports_errors
def monitor(input_paths: tuple[str, ...], model_dir: str | None, reference_path: str | None, output: str | None,
            plot: str | None, input_format: str, sheet: str | None, grade: bool, master_scale: str | None, quiet: bool,
            audit_log: str | None) -> None:
    from loanscore.runtime.errors import EXIT_ALERT, EXIT_OK, EXIT_USAGE, InputError
    from loanscore.runtime.model import Model
    from loanscore.runtime.scorer import Scorer
    from loanscore.runtime.stability import SHIFT, Reference, collect, gravest, monitor as compare_population
    from loanscore.runtime.stream import Progress
    from loanscore.runtime.readers import open_reader
    from loanscore.runtime.writers import open_output

    if [*input_paths, reference_path].count("-") > 1:
        raise InputError("Only one of INPUT and --reference can be stdin (-).")
    scale = load_master_scale(master_scale, grade, "--grade")
    audit = open_audit(audit_log)
    scorer = Scorer(Model.load(model_dir))
    schema = scorer.schema

    def read(path: str, fmt: str = "auto", sheet: str | None = None):  # type: ignore[no-untyped-def]
        return open_reader(path, schema.input_names, fmt=fmt, sheet=sheet, id_column=schema.id,
                           numbers=schema.number_names)

    if reference_path is not None:
        reader = read(reference_path)
        try:
            reference, rejected = collect(scorer, reader, scale=scale,
                                          progress=Progress.for_terminal(reader.total_bytes, quiet=quiet))
        finally:
            reader.close()
        echo_sheet_notes(reader)
        if rejected:
            echo_rejects(rejected, f"the reference {reader.name}", LEFT_OUT, None)
    else:
        reference = Reference.from_manifest(scorer.model.manifest, f"The model in {scorer.model.directory}")

    def compare(path: str):  # type: ignore[no-untyped-def]
        reader = read(path, input_format, sheet)
        try:
            report = compare_population(scorer, reader, reference, scale=scale,
                                        progress=Progress.for_terminal(reader.total_bytes, quiet=quiet))
        finally:
            reader.close()
        echo_sheet_notes(reader)
        if report.rejected:
            echo_rejects(report.rejected, report.source, LEFT_OUT, output)
        if report.rows == 0:
            raise InputError(f"{report.source} has a header but no rows; there is nothing to compare.")
        if report.scored == 0:
            raise InputError(f"None of the {report.rows:,} rows of {report.source} could be scored; "
                             "there is nothing to compare.")
        return report

    failed: list[dict[str, str]] = []
    if len(input_paths) == 1:
        report = compare(input_paths[0])
        click.echo(render(report))
        document, drawing = report.to_dict(), report
    else:
        reports = []
        for path in input_paths:
            try:
                reports.append(compare(path))
            except InputError as exc:
                click.echo(f"Error: {exc} It is left out of the trend.", err=True)
                failed.append({"file": path, "error": str(exc)})
        if not reports:
            raise InputError(f"None of the {len(input_paths)} files could be compared.")
        click.echo(render_trend(reports, failed))
        document = {"reference": reports[0].to_dict()["reference"], "verdict": gravest(r.worst for r in reports),
                    "files": [r.to_dict() for r in reports], "not_compared": failed}
        drawing = reports
    if output:
        with open_output(output) as stream:
            stream.write(json.dumps(document, indent=2) + "\n")
    if plot:
        from loanscore.runtime.stability_plot import render_svg, render_trend_svg

        with open_output(plot) as stream:
            stream.write(render_trend_svg(drawing) if isinstance(drawing, list) else render_svg(drawing))
    code = EXIT_USAGE if failed else EXIT_ALERT if document["verdict"] == SHIFT else EXIT_OK
    compared = {r["source"]: r for r in (document.get("files") or [document])}
    record_run(audit, "monitor", scorer, {"input": [p for p in input_paths if p not in {f["file"] for f in failed}],
                                          **({"reference": reference_path} if reference_path else {})}, {
        "verdict": document["verdict"], "not_compared": [f["file"] for f in failed],
        "files": [{"rows": r["rows"], "scored": r["scored"], "verdict": r["verdict"], "score_psi": r["score"]["psi"],
                   **({"grade_psi": r["grade"]["psi"]} if "grade" in r else {})} for r in compared.values()],
        **({"master_scale": scale.to_dict()} if scale else {})}, code, sheet=sheet)
    sys.exit(code)


def render(report) -> str:  # type: ignore[no-untyped-def]
    """The report as a table a person reads top to bottom: the score first, then each field."""
    ref = report.reference
    src = ref.source
    described = f"{src.get('file', 'reference')}, {ref.rows:,} rows" if src else f"{ref.rows:,} rows"
    lines = [
        f"Population stability of {report.source} against {described}",
        f"{report.rows:,} rows read, {report.scored:,} scored"
        + (f", {len(report.rejected):,} rejected (listed on stderr)" if report.rejected else ""),
        f"mean P(default) {ref.mean_probability:.3f} -> {report.mean_probability:.3f}; "
        f"declined from the threshold {ref.threshold:.4g}: {ref.decline_rate:.1%} -> {report.decline_rate:.1%}",
        "",
    ]
    rows = [("", "PSI", "chance", "largest move (reference -> now)", "verdict")]
    for s in report.variables:
        k = s.largest_move
        rows.append((s.name, f"{s.psi:.3f}", f"{s.chance:.3f}",
                     f"{s.labels[k]}: {s.reference[k]:.1%} -> {s.actual[k]:.1%}", s.verdict))
    widths = [max(len(r[j]) for r in rows) for j in range(4)]
    for i, r in enumerate(rows):
        lines.append(f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:<{widths[3]}}  {r[4]}")
        if i == len(report.variables) - len(report.fields):
            lines.append("")
    if report.grade is not None:
        lines += ["", *render_grades(report)]
    from loanscore.runtime.stability import PSI_SHIFT, PSI_WATCH

    lines += ["", f"overall: {report.worst} (PSI below {PSI_WATCH:.2f} stable, {PSI_WATCH:.2f}-{PSI_SHIFT:.2f} watch, "
                  f"from {PSI_SHIFT:.2f} shift)"]
    return "\n".join(lines)


def render_grades(report) -> list[str]:  # type: ignore[no-untyped-def]
    """Each grade's range and share, reference and now, and the concentration of the shares."""
    from loanscore.runtime.grades import describe
    from loanscore.runtime.stability import herfindahl

    g = report.grade
    rows = [("grade", "P(default)", "reference", "now", "change")]
    for (name, span, _), e, a in zip(describe(report.scale), g.reference, g.actual, strict=True):
        rows.append((name, span, f"{e:.1%}", f"{a:.1%}", f"{round(100 * (a - e), 1) + 0.0:+.1f} pt"))
    widths = [max(len(r[j]) for r in rows) for j in range(5)]
    lines = [f"Grades on {report.scale.described}:"]
    lines += [f"  {r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  " + "  ".join(c.rjust(w) for c, w in zip(r[2:], widths[2:]))
              for r in rows]
    lines.append(f"  concentration (Herfindahl index of the shares; 1/{len(g.labels)} = {1 / len(g.labels):.3f} if "
                 f"even): {herfindahl(report.reference.grades):.3f} -> {herfindahl(g.counts):.3f}")
    return lines


MARKS = {"stable": " ", "watch": "*", "shift": "!", "too few rows to tell": "?"}
"""How a PSI cell of the trend table shows its verdict."""


def render_trend(reports, failed) -> str:  # type: ignore[no-untyped-def]
    """Several files against one reference: a column per file (in the order given), a row per variable."""
    from loanscore.runtime.stability import PSI_SHIFT, PSI_WATCH, gravest

    ref = reports[0].reference
    src = ref.source
    described = f"{src.get('file', 'reference')}, {ref.rows:,} rows" if src else f"{ref.rows:,} rows"
    lines = [f"Population stability of {len(reports)} files against {described}", ""]
    for k, r in enumerate(reports, 1):
        rejected = f", {len(r.rejected):,} rejected (listed on stderr)" if r.rejected else ""
        lines.append(f"  {k}  {r.source}: {r.rows:,} rows read, {r.scored:,} scored{rejected}")
    lines += [f"  -  {f['file']}: not compared ({f['error']})" for f in failed] + [""]
    rows = [("", "reference ", *[f"{k} " for k in range(1, len(reports) + 1)], "worst")]
    rows.append(("mean P(default)", *[f"{x.mean_probability:.3f} " for x in [ref, *reports]], ""))
    rows.append((f"declined (>= {ref.threshold:.4g})", *[f"{x.decline_rate:.1%} " for x in [ref, *reports]], ""))
    graded = reports[0].grade is not None
    if graded:
        from loanscore.runtime.stability import herfindahl

        rows.append(("grade concentration (HHI)", *[f"{herfindahl(c):.3f} " for c in
                                                    [ref.grades, *[r.grade.counts for r in reports]]], ""))
    for j, first in enumerate(reports[0].variables):
        cells = [r.variables[j] for r in reports]
        rows.append((first.name, "", *[f"{s.psi:.3f}{MARKS[s.verdict]}" for s in cells], gravest(s.verdict for s in cells)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, r in enumerate(rows):
        cells = [r[0].ljust(widths[0]), *[c.rjust(w + 1) for c, w in zip(r[1:-1], widths[1:-1])], r[-1]]
        lines.append("  ".join(cells).rstrip())
        if i in (0, 2 + graded, 2 + graded + len(reports[0].variables) - len(reports[0].fields)):
            lines.append("")
    lines += ["", f"PSI: * watch ({PSI_WATCH:.2f}-{PSI_SHIFT:.2f}), ! shift (from {PSI_SHIFT:.2f}), "
                  f"? above {PSI_WATCH:.2f} but within chance; overall: {gravest(r.worst for r in reports)}"]
    return "\n".join(lines)
