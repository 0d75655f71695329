"""``loanscore overrides``: where the lender's final decisions departed from the model's, and how those loans did."""

from __future__ import annotations

import math
import sys
from dataclasses import replace

import click

from .errors import reports_errors
from .inputs import echo_rejects, echo_sheet_notes, header_has, open_labelled, stdin_as_file
from .options import (audit_option, decision_bands, FINITE, FiniteRange, input_format_option, load_points_scale,
                      master_scale_option, open_audit, points_scale_option, record_run)
from .output import aligned, write_figures

MOST_GROUPS = 200
"""A --by column may hold this many values: a lender's officers or branches, more than a segment's 20."""

_HELP = """Override monitoring: the applicants in INPUT scored again and set
beside the lender's final decisions (column --final, default final_decision:
approve or decline, or approved, accepted, declined, rejected, denied).

\b
  low-side override   the model declines, the lender approved
  high-side override  the model approves, the lender declined

Between --approve-below and --decline-from the model refers the applicant to
a person, so deciding them is no override. Prints the override rates overall
and by rating grade; with --by COLUMN (a branch, an officer) by its values,
each tested against the rest of the file (Fisher's exact test); with
--reason COLUMN the overrides by the reason the lender gave. With
outcomes (the schema's label when the file has it, or --outcome; blank
where not known yet, as for the declined): the approved by the model's
decision, defaults against the sum of their P(default): did the low-side
overrides default as the model expected, or less often?

\b
Exit status: 4 (alert) when a --by group overrides more than the rest by
more than chance explains (p < 0.01 / groups), or a low-side or high-side
rate is above --limit; else 0. Rows that cannot be scored or lack a final
decision are listed on stderr and left out. Give the cut-offs that were in
force when the decisions were made.

\b
Examples:
  loanscore overrides decisions_2026q3.csv --by branch --reason override_reason --limit 0.10
  loanscore overrides decisions.xlsx --final decision --by officer -o overrides.json --plot overrides.svg
  loanscore overrides decisions.csv --approve-below 0.2 --decline-from 0.4 --outcome defaulted_12m
"""


@click.command(help=_HELP, short_help="Override monitoring: low-side and high-side overrides of the model.")
@click.argument("input_path", metavar="INPUT")
@click.option("--final", default="final_decision", show_default=True, metavar="COLUMN",
              help="Column holding the lender's final decision: approve or decline.")
@click.option("--by", "by", multiple=True, metavar="COLUMN",
              help="Also count overrides by each value of COLUMN (a branch, an officer: at most 200 values; a "
                   "schema field as the schema groups it), each tested against the rest; repeatable.")
@click.option("--reason", metavar="COLUMN", help="Column holding the reason the lender gave for each override "
              "(read on the overrides only): the overrides by reason, and how each reason's low-side loans did.")
@click.option("--limit", type=FiniteRange(0, 1), metavar="RATE",
              help="The policy's limit on the low-side and high-side override rates (0.10 for 10 %): alert above it, "
                   "overall or in a --by group.")
@click.option("--outcome", metavar="COLUMN", help="Column holding the outcome (1 defaulted, 0 repaid, blank not "
              "known). Default: the schema's label, when the file has it.")
@click.option("--approve-below", type=FiniteRange(0, 1),
              help="The model approved below this P(default). Default: the model's threshold.")
@click.option("--decline-from", type=FiniteRange(0, 1),
              help="The model declined from this P(default) up. Default: the model's threshold.")
@click.option("--approve-from-points", type=FINITE, metavar="N",
              help="The model approved scores of N points and up, instead of --approve-below.")
@click.option("--decline-below-points", type=FINITE, metavar="N",
              help="The model declined scores below N points, instead of --decline-from.")
@points_scale_option
@master_scale_option
@click.option("--model", "model_dir", type=click.Path(file_okay=False), help="Model directory. Default: the shipped model.")
@click.option("-o", "--output", metavar="FILE", help="Also write every figure as JSON (written atomically).")
@click.option("--plot", metavar="FILE.svg", help="Also draw the override rates by grade and group (SVG, atomically).")
@input_format_option()
@click.option("-q", "--quiet", is_flag=True, help="No progress line on stderr.")
@audit_option
@reports_errors
def overrides(input_path: str, final: str, by: tuple[str, ...], reason: str | None, limit: float | None,
              outcome: str | None,
              approve_below: float | None, decline_from: float | None, approve_from_points: float | None,
              decline_below_points: float | None, points_scale: str | None, master_scale: str | None,
              model_dir: str | None, output: str | None, plot: str | None, input_format: str, sheet: str | None,
              quiet: bool, audit_log: str | None) -> None:
    from loanscore.runtime.errors import EXIT_ALERT, EXIT_OK, InputError
    from loanscore.runtime.fairness import groupings
    from loanscore.runtime.grades import MasterScale
    from loanscore.runtime.model import Model
    from loanscore.runtime.overrides import ALERT, review
    from loanscore.runtime.overrides_plot import render_svg
    from loanscore.runtime.scorer import Bands, Scorer
    from loanscore.runtime.stream import Progress

    points = load_points_scale(points_scale, approve_from_points is not None or decline_below_points is not None,
                               "--approve-from-points or --decline-below-points")
    grades = MasterScale.load(master_scale)
    audit = open_audit(audit_log)
    model = Model.load(model_dir)
    scorer = Scorer(model, decision_bands(Bands, model.threshold, approve_below, decline_from, points,
                                          approve_from_points, decline_below_points))
    schema = model.schema
    for option, column, holds in (("--final", final, "the lender's final decision"),
                                  ("--reason", reason, "each override's reason")):
        if column is not None and (column in schema.input_names or column in (outcome, schema.label)):
            what = "a model field" if column in schema.input_names else "the outcome"
            raise InputError(f"{option} {column} is {what}; name the column that holds {holds}.")
    if reason == final:
        raise InputError(f"--reason {reason} is the final decisions' column; name the column of the overrides' "
                         "reasons.")
    with stdin_as_file(input_path) as (path, described):  # its header says whether it holds outcomes
        if outcome is None and header_has(path, input_format, sheet, schema.label, schema.input_names):
            outcome = schema.label
        wanted = [replace(g, most=MOST_GROUPS) for g in groupings(schema, by)] if by else []
        reader = open_labelled(path, schema.input_names, outcome, tuple(c for g in wanted for c in g.columns),
                               fmt=input_format, sheet=sheet, numbers=schema.number_names, who="An override review",
                               also=[(final, "each applicant's final decision, named by --final"),
                                     *([(reason, "each override's reason, named by --reason")] if reason else [])])[0]
        try:
            result = review(scorer, reader, final, grades=grades, by=wanted, outcome=outcome, reason=reason,
                            limit=limit, progress=Progress.for_terminal(reader.total_bytes, quiet=quiet))
        finally:
            reader.close()
        echo_sheet_notes(reader)
        if result.rejected:
            echo_rejects(result.rejected, result.source, "could not be reviewed and are left out", output)
        click.echo(render(result))
        write_figures(result, output, plot, render_svg)
        code = EXIT_ALERT if result.verdict == ALERT else EXIT_OK
        o = result.overall
        record_run(audit, "overrides", scorer, {"input": described}, {
            "final": final, "outcome": outcome, "rows": result.rows, "reviewed": o.applicants,
            "rejected": len(result.rejected), "low_side": o.low_side, "high_side": o.high_side, "limit": limit,
            "verdict": result.verdict,
            "flagged": [f"{name} {g.tally.label}" for name, groups in result.by.items() for g in groups
                        if result.flagged(name, g)]}, code, sheet=sheet)
    sys.exit(code)


def render(result) -> str:  # type: ignore[no-untyped-def]
    """The review as a credit-policy meeting reads it: the overrides overall, by grade, by group, then how the
    approved did."""
    from loanscore.runtime.overrides import PASS

    o = result.overall
    cut = (f"approves below P(default) {result.approve_below:.4g} and declines from it"
           if result.approve_below == result.decline_from else
           f"approves below P(default) {result.approve_below:.4g}, declines from {result.decline_from:.4g} and "
           "refers those between to a person")
    lines = [f"Overrides in {result.source} (final decision: {result.final}"
             + (f"; outcome: {result.outcome})" if result.outcome else ")"),
             f"{result.rows:,} rows read, {o.applicants:,} reviewed"
             + (f", {len(result.rejected):,} rejected (listed on stderr)" if result.rejected else "")
             + f"; the model {cut}", ""]
    table: list[tuple[str, ...]] = [("model decision", "applicants", "approved in the end", "overridden", "rate")]
    table.append(("approve", f"{o.model_approve:,}", f"{o.model_approve - o.high_side:,}",
                  f"{o.high_side:,} high-side", _pct(o.high_side_rate)))
    if o.model_review:
        table.append(("refer", f"{o.model_review:,}", f"{o.review_approved:,}", "-", "-"))
    table.append(("decline", f"{o.model_decline:,}", f"{o.low_side:,}", f"{o.low_side:,} low-side",
                  _pct(o.low_side_rate)))
    table.append(("all", f"{o.applicants:,}", f"{o.approved:,}", f"{o.overrides:,}",
                  f"{_pct(o.override_rate)} of {o.decided:,} decided"))
    lines += aligned(table)
    if result.limit is not None:
        lines.append(f"limit: {result.limit:.1%} for each of the low-side and high-side rates"
                     + (" -- exceeded" if result.over_limit(o) else ""))

    lines += ["", f"By grade (master scale: {result.master_scale})"]
    refers = any(t.model_review for t in result.grades)
    table = [("grade", "applicants", "model approves", *(("refers",) if refers else ()), "declines", "high-side",
              "low-side")]
    for t in result.grades:
        if t.applicants:
            table.append((t.label, f"{t.applicants:,}", f"{t.model_approve:,}",
                          *((f"{t.model_review:,}",) if refers else ()), f"{t.model_decline:,}",
                          _count(t.high_side, t.high_side_rate), _count(t.low_side, t.low_side_rate)))
    lines += aligned(table)

    for name, groups in result.by.items():
        lines += ["", f"By {name} (alert: overriding more than the rest, p < {result.alpha(name):.2g} = 0.01 / "
                      f"{sum(not math.isnan(g.p_value) for g in groups)} groups"
                      + (f"; or a rate above {result.limit:.1%}" if result.limit is not None else "") + ")"]
        table = [("group", "applicants", "high-side", "low-side", "override rate", "p-value")]
        for g in groups:
            t = g.tally
            beyond = g.p_value < result.alpha(name)
            why = "; ".join(w for w, yes in (("overrides more than the rest", beyond and g.above),
                                             ("above the limit", result.over_limit(t))) if yes)
            mark = f"  <- {why}" if why else "  (fewer than the rest)" if beyond else ""
            table.append((t.label, f"{t.applicants:,}", _count(t.high_side, t.high_side_rate),
                          _count(t.low_side, t.low_side_rate), _pct(t.override_rate),
                          ("-" if math.isnan(g.p_value) else f"{g.p_value:.3g}") + mark))
        lines += aligned(table)

    if result.reason:
        lines += ["", f"Override reasons (column {result.reason}; on the {o.overrides:,} overrides)"]
        table = [("reason", "low-side", "high-side", *(("low-side loans", "defaults", "expected", "p-value")
                                                       if result.outcome else ("",)))]
        for r in result.reasons:
            perf = r.performance
            figures = (("", "", "", "") if perf is None or not perf.rows else
                       (f"{perf.rows:,}", f"{perf.defaults:,}", f"{perf.expected:,.1f}", f"{perf.p_value:.3g}"))
            table.append((r.label, f"{r.low_side:,}", f"{r.high_side:,}", *(figures if result.outcome else ("",))))
        lines += aligned(table)

    if result.outcome:
        known = sum(p.rows for p in result.performance)
        lines += ["", f"How the approved did ({known:,} of the {o.approved:,} approved have an outcome"
                      + (f"; {result.declined_outcomes:,} outcomes of declined applicants left out"
                         if result.declined_outcomes else "") + ")"]
        table = [("", "loans", "defaults", "expected", "default rate", "mean P(default)", "p-value")]
        for p in result.performance:
            if p.rows:
                table.append((p.label, f"{p.rows:,}", f"{p.defaults:,}", f"{p.expected:,.1f}",
                              _pct(p.default_rate), _pct(p.mean_probability), f"{p.p_value:.3g}"))
        lines += aligned(table)
        low = result.performance[-1]
        if low.rows:
            lines.append("low-side overrides: " + _judged(low))
    lines += ["", f"overall: {result.verdict}" + ("" if result.verdict == PASS else
                                                  " (see the marked rows" + (" and the limit" if
                                                  result.over_limit(o) else "") + ")")]
    return "\n".join(line.rstrip() for line in lines)


def _judged(low) -> str:  # type: ignore[no-untyped-def]
    """What the low-side overrides' defaults say, against what their P(default) expected."""
    figures = f"{low.defaults:,} defaults against {low.expected:,.1f} expected, p {low.p_value:.3g}"
    if low.p_value >= 0.01:
        return f"defaulted as their P(default) expected ({figures}): the officers took on the risk the model saw."
    if low.defaults < low.expected:
        return (f"defaulted less than their P(default) expected ({figures}): the officers knew something the "
                "model does not; ask them what, as a candidate for the next model.")
    return f"defaulted more than even their P(default) expected ({figures})."


def _pct(rate: float) -> str:
    return "-" if math.isnan(rate) else f"{rate:.1%}"


def _count(n: int, rate: float) -> str:
    return f"{n:,} ({_pct(rate)})" if n else "0"
