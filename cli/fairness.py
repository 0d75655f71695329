"""``loanscore fairness``: do the model's decisions fall harder on a group the law protects?"""

from __future__ import annotations

import sys

import click

from .backtest import _fmt
from .errors import reports_errors
from .inputs import echo_rejects, echo_sheet_notes, header_has, open_labelled, stdin_as_file
from .options import (audit_option, decision_bands, FINITE, FiniteRange, input_format_option, load_points_scale,
                      open_audit, points_scale_option, record_run)
from .output import aligned, write_figures

_HELP = """Review the model's decisions for adverse impact on protected groups.

\b
INPUT (CSV, JSON Lines or an Excel workbook) holds the model's fields; each
applicant is approved below the cut-off (default: the model's threshold).
For each --by field (default: the fields the schema marks protected, those
the model was trained --without included) prints each group's share,
approval rate and ratio to the most-approved group's, and tests:

\b
  adverse impact  alert when a group's approval rate is below four-fifths of
                  the most-approved group's and Fisher's exact test gives
                  p < 0.01 / groups compared; groups under 30 rows are shown,
                  not tested
  calibration     with outcomes (the schema's label, when the file has it,
                  or --outcome): alert when a group's defaults differ
                  from its expected count by more than chance explains
                  (p < 0.01 / groups); each group's ROC AUC and share of good
                  payers approved are shown beside
  as reference    for a field the model reads (not a test): each group
                  scored with the field set to the most-approved group's
                  code (or, for a number in bands, its median); the
                  decisions that change are the part of the gap the field
                  itself makes

\b
A gap in approval rates is a screening signal, not a legal finding: groups
can differ in risk, and the outcomes show whether the model prices each
group's risk alike. Exit status: 0 pass, 4 alert, 2 nothing could be
reviewed. Rows that cannot be scored are listed, not counted.

\b
Examples:
  loanscore fairness applications_2025.csv
  loanscore fairness applications_2025.csv --by SEX --by AGE:30,50 --by branch
  loanscore fairness applications_2025.csv --by SEX*AGE:25,35,45,55,65
  loanscore fairness applications_2025.csv --reference SEX=1 --reference AGE=35-44
  loanscore fairness book_with_outcomes.csv --outcome defaulted_12m -o fairness.json --plot fairness.svg
  loanscore fairness applications_2025.csv --decline-below-points 540
"""


@click.command(help=_HELP, short_help="Approval rates and calibration by protected group (adverse impact).")
@click.argument("input_path", metavar="INPUT")
@click.option("--by", "by", multiple=True, metavar="FIELD[:EDGES]",
              help="Review by this column: a schema field as the schema groups it (codes, or its bands), any other "
                   "column by its values (at most 20); FIELD:25,35,45 bands numbers at those edges; SEX*AGE crosses "
                   "columns (women under 25, ...). Repeatable. Default: the schema's protected fields.")
@click.option("--reference", "references", multiple=True, metavar="FIELD=GROUP",
              help="Compare FIELD's groups with GROUP (a code such as SEX=1, or a band such as AGE=35-44) instead of "
                   "its most-approved group; repeatable.")
@click.option("--outcome", metavar="COLUMN", help="Column holding the outcome (1 defaulted, 0 repaid). Default: the "
              "schema's label, when the file has it; without one, approvals only.")
@click.option("--decline-from", type=FiniteRange(0, 1), help="Decline from this P(default) up. Default: the "
              "model's threshold.")
@click.option("--decline-below-points", type=FINITE, metavar="N",
              help="Decline scores below N points, instead of --decline-from.")
@points_scale_option
@click.option("--model", "model_dir", type=click.Path(file_okay=False), help="Model directory. Default: the shipped model.")
@click.option("-o", "--output", metavar="FILE", help="Also write every figure as JSON (written atomically).")
@click.option("--plot", metavar="FILE.svg", help="Also draw approval rates and calibration by group (SVG, atomically).")
@input_format_option()
@click.option("-q", "--quiet", is_flag=True, help="No progress line on stderr.")
@audit_option
@reports_errors
def fairness(input_path: str, by: tuple[str, ...], references: tuple[str, ...], outcome: str | None,
             decline_from: float | None,
             decline_below_points: float | None, points_scale: str | None, model_dir: str | None,
             output: str | None, plot: str | None,
             input_format: str, sheet: str | None, quiet: bool, audit_log: str | None) -> None:
    from loanscore.runtime.errors import EXIT_ALERT, EXIT_OK, InputError
    from loanscore.runtime.fairness import ALERT, groupings, review
    from loanscore.runtime.fairness_plot import render_svg
    from loanscore.runtime.model import Model
    from loanscore.runtime.scorer import Bands, Scorer
    from loanscore.runtime.stream import Progress

    points = load_points_scale(points_scale, decline_below_points is not None, "--decline-below-points")
    audit = open_audit(audit_log)
    model = Model.load(model_dir)
    cut = decision_bands(Bands, model.threshold, None, decline_from, points, None, decline_below_points).decline_from
    scorer = Scorer(model)
    schema = model.schema
    wanted = groupings(schema, by)
    if not wanted:
        raise InputError(f"The model's schema ({schema.name}) marks no field protected: name the groups to review "
                         "with --by COLUMN (a field, or a column of the file such as one a lender keeps for "
                         "fair-lending reviews).")
    wanted = _with_references(wanted, references)
    with stdin_as_file(input_path) as (path, described):  # read twice: stdin is kept in a file
        if outcome is None and header_has(path, input_format, sheet, schema.label, schema.input_names):
            outcome = schema.label

        def opened():  # type: ignore[no-untyped-def]
            return open_labelled(path, schema.input_names, outcome, tuple(c for g in wanted for c in g.columns),
                                 fmt=input_format, sheet=sheet, numbers=schema.number_names, who="A fairness review")[0]

        reader = opened()
        try:
            result = review(scorer, reader, wanted, cut, outcome=outcome, reopen=opened,
                            progress=Progress.for_terminal(reader.total_bytes, quiet=quiet))
        finally:
            reader.close()
        echo_sheet_notes(reader)
        if result.rejected:
            echo_rejects(result.rejected, result.source, "could not be scored"
                         + (" or hold an outcome other than 0, 1 or blank" if outcome else "")
                         + ", and are left out of the review", output)
        click.echo(render(result))
        write_figures(result, output, plot, render_svg)
        code = EXIT_ALERT if result.verdict == ALERT else EXIT_OK
        record_run(audit, "fairness", scorer, {"input": described}, {
            "outcome": outcome, "decline_from": result.decline_from, "rows": result.rows, "scored": result.scored,
            "rejected": len(result.rejected), "fields": [f.name for f in result.fields], "verdict": result.verdict,
            "alerts": [f"{f.name} {g.label}" for f in result.fields for g in f.groups
                       if f.adverse(g) or f.miscalibrated(g)]}, code, sheet=sheet)
    sys.exit(code)


def _with_references(wanted: list, references: tuple[str, ...]) -> list:
    """``wanted`` with each ``--reference FIELD=GROUP`` set on its field's grouping."""
    from dataclasses import replace

    given: dict[str, str] = {}
    for spec in references:
        name, sep, group = spec.partition("=")
        if not sep or not name.strip() or not group.strip():
            raise click.BadParameter(f"expected FIELD=GROUP, such as SEX=1 or AGE=35-44; got {spec!r}.",
                                     param_hint="'--reference'")
        given[name.strip()] = group.strip()
    unknown = sorted(set(given) - {g.name for g in wanted})
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)} is not reviewed here; the fields reviewed are "
                                 f"{', '.join(g.name for g in wanted)}.", param_hint="'--reference'")
    return [replace(g, reference=given[g.name]) if g.name in given else g for g in wanted]


def render(result) -> str:  # type: ignore[no-untyped-def]
    """The review as a person reads it: what was reviewed, each field's groups, then the verdicts."""
    from loanscore.runtime.fairness import FOUR_FIFTHS, MIN_GROUP

    approved = result.approved / result.scored
    lines = [f"Fairness review of {result.source}",
             f"{result.rows:,} rows read, {result.scored:,} scored"
             + (f", {len(result.rejected):,} rejected (listed on stderr)" if result.rejected else "")
             + f"; approved below P(default) {result.decline_from:.4g}: {result.approved:,} ({approved:.1%})"]
    if result.outcome:
        blank = result.scored - result.outcomes
        lines.append(f"outcomes from {result.outcome}: {result.defaults:,} defaults "
                     f"({result.defaults / max(result.outcomes, 1):.1%} of {result.outcomes:,})"
                     + (f"; {blank:,} rows without one (not known yet) count in the approvals only" if blank else ""))
    else:
        lines.append("no outcomes (give --outcome COLUMN to test calibration by group too)")
    for f in result.fields:
        ref = f.reference
        kind = "protected, " if f.grouping.protected else ""
        against = f"the reference group given ({f.grouping.reference})" if f.grouping.reference \
            else "the most-approved group"
        lines += ["", f"By {f.name} ({kind}{f.how}): approval against {against}"
                      + (f", {ref.label}; alert below {FOUR_FIFTHS:g} with p < {f.alpha:.2g}" if ref is not None
                         else ": no such group of 30 rows or more here, nothing tested" if f.grouping.reference
                         else "")]
        as_head = (f"as {ref.label}", "changed") if f.as_reference and ref is not None else ()
        table = [("group", "rows", "share", "approved", *as_head, "ratio", "p-value")]
        for g in f.groups:
            if g is ref:
                ratio, p = "reference", ""
            elif not f.tested(g):
                ratio, p = _fmt(f.ratio(g), ".3f"), f"not tested (under {MIN_GROUP} rows)" if g.rows < MIN_GROUP else ""
            else:
                flag = "  <- adverse impact" if f.adverse(g) else "  (below four-fifths)" \
                    if f.ratio(g) < FOUR_FIFTHS else ""
                ratio, p = f"{f.ratio(g):.3f}", f"{f.p_value(g):.2g}{flag}"
            as_ref = () if not as_head else ("", "") if g is ref else (
                f"{f.as_reference[g.label][0] / g.rows:.1%}", f"{f.as_reference[g.label][1]:,}")
            table.append((g.label, f"{g.rows:,}", f"{g.rows / result.scored:.1%}", f"{g.approval_rate:.1%}", *as_ref,
                          ratio, p))
        lines += aligned(table)
        if as_head:
            what = f"{f.as_value}, that group's median" if f.grouping.edges else f"{f.as_value}, that group's code"
            lines.append(f"({as_head[0]}: the same applicants scored with {f.name} set to {what}; changed: "
                         "decisions that differ)")
        if result.outcome:
            lines += ["", f"By {f.name}: is each group's risk priced alike? (alert below p {f.calibration_alpha:.2g})"]
            table = [("group", "mean P(default)", "default rate", "defaults / expected", "ROC AUC",
                      "good payers approved", "ratio", "p-value")]
            for g in f.groups:
                flag = "  <- miscalibrated" if f.miscalibrated(g) else ""
                table.append((g.label, _fmt(g.expected / g.outcomes if g.outcomes else None, ".1%"),
                              _fmt(g.default_rate, ".1%"), f"{g.defaults:,} / {g.expected:,.1f}", _fmt(g.roc_auc, ".4f"),
                              _fmt(g.good_approval_rate, ".1%"),
                              "reference" if g is ref else _fmt(f.good_ratio(g), ".3f"),
                              f"{g.calibration_p_value:.2g}{flag}"))
            lines += aligned(table)
    lines += ["", *_verdicts(result)]
    return "\n".join(lines)


def _verdicts(result) -> list[str]:  # type: ignore[no-untyped-def]
    from loanscore.runtime.fairness import ALERT, MIN_GROUP, PASS

    tested = [(f, g) for f in result.fields for g in f.groups if f.tested(g)]
    if tested:
        f, g = min(tested, key=lambda t: t[0].ratio(t[1]))
        adverse = ALERT if any(f.adverse(g) for f, g in tested) else PASS
        line = f"adverse impact: {adverse} (lowest ratio {f.ratio(g):.3f}: {f.name} {g.label}, p {f.p_value(g):.2g})"
    else:
        line = f"adverse impact: not tested (no two groups of {MIN_GROUP} rows or more with an approval)"
    out = [line]
    sized = [(f, g) for f in result.fields for g in f.groups if g.rows >= MIN_GROUP]
    if result.outcome and sized:
        f, g = min(sized, key=lambda t: t[1].calibration_p_value)
        calibrated = ALERT if any(f.miscalibrated(g) for f, g in sized) else PASS
        out.append(f"calibration:    {calibrated} (smallest p {g.calibration_p_value:.2g}: {f.name} {g.label})")
    out.append(f"overall: {result.verdict}")
    return out
