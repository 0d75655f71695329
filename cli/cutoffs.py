"""``loanscore cutoffs``: the strategy table a credit committee sets the cut-off from."""

from __future__ import annotations

import click

from .errors import reports_errors
from .inputs import echo_rejects, echo_sheet_notes, open_labelled
from .options import (audit_option, check_on_scale, FINITE, FiniteRange, input_format_option, load_points_scale,
                      master_scale_option, open_audit, points_scale_option, record_run)
from .output import write_figures

_HELP = """What each cut-off would mean on these applicants, before one is chosen.

\b
Scores INPUT (CSV or JSON Lines; e.g. last quarter's applicants) and prints,
for approving through each rating grade of the master scale, below each
--cutoff, from each --cutoff-points and below the model's threshold: the share approved, the default
rate to expect among them, defaults approved and good payers declined per
1,000 applicants, and the cost per applicant at the costs the threshold was
chosen at (marking the least).

\b
Expected figures come from the probabilities alone (the approved's expected
defaults are the sum of their P(default)), so no outcomes are needed; they
hold as far as the model is calibrated to these applicants (check with
`loanscore backtest`). With --outcome COLUMN, the observed figures stand
beside them.

\b
Examples:
  loanscore cutoffs applicants_2026_q3.csv
  loanscore cutoffs applicants_2026_q3.csv --cutoff 0.1 --cutoff 0.25 -o strategy.json --plot strategy.svg
  loanscore cutoffs book_2025.csv --outcome defaulted_12m --master-scale our_grades.toml
  loanscore cutoffs applicants_2026_q3.csv --cutoff-points 520 --cutoff-points 540   # a policy in points
  loanscore cutoffs applicants_2026_q3.csv --by SEX --by AGE   # each cut-off's lowest approval ratio


With --by FIELD (as `loanscore fairness` takes it), a second table gives,
at each cut-off, the field's lowest approval ratio to its most-approved
group and that group, marked where `fairness` would call it adverse impact.
"""


@click.command(help=_HELP, short_help="The strategy table: approval rate, defaults and cost at each cut-off.")
@click.argument("input_path", metavar="INPUT")
@click.option("--cutoff", "bounds", multiple=True, type=FiniteRange(0, 1, min_open=True), metavar="P",
              help="Also approve below this P(default) (between 0 and 1); repeatable.")
@click.option("--cutoff-points", "from_points", multiple=True, type=FINITE, metavar="N",
              help="Also approve scores of N points and up (see `loanscore points`); repeatable.")
@points_scale_option
@click.option("--outcome", metavar="COLUMN", help="Column holding known outcomes (1 defaulted, 0 repaid), to show "
              "the observed figures beside the expected.")
@click.option("--by", "by", multiple=True, metavar="FIELD[:EDGES]",
              help="Also give each cut-off's lowest approval ratio among this column's groups (as `loanscore "
                   "fairness --by` takes it); repeatable.")
@master_scale_option
@click.option("--model", "model_dir", type=click.Path(file_okay=False),
              help="Model directory. Default: the shipped model.")
@click.option("-o", "--output", metavar="FILE", help="Also write every figure as JSON (written atomically).")
@click.option("--plot", metavar="FILE.svg", help="Also draw the default rate among the approved against the share "
              "approved, every cut-off marked (SVG, atomically).")
@input_format_option()
@click.option("-q", "--quiet", is_flag=True, help="No progress line on stderr.")
@audit_option
@reports_errors
def cutoffs(input_path: str, bounds: tuple[float, ...], from_points: tuple[float, ...], points_scale: str | None,
            outcome: str | None, by: tuple[str, ...], master_scale: str | None,
            model_dir: str | None, output: str | None, plot: str | None,
            input_format: str, sheet: str | None, quiet: bool,
            audit_log: str | None) -> None:
    from loanscore.runtime.backtest import manifest_costs
    from loanscore.runtime.cutoffs import candidates, strategy
    from loanscore.runtime.cutoffs_plot import render_svg
    from loanscore.runtime.fairness import groupings
    from loanscore.runtime.grades import MasterScale
    from loanscore.runtime.model import Model
    from loanscore.runtime.scorer import Scorer
    from loanscore.runtime.stream import Progress
    from loanscore.runtime.readers import open_reader

    scale = MasterScale.load(master_scale)  # the table always has the grades: no --grade flag to ask for them
    points = load_points_scale(points_scale, bool(from_points), "--cutoff-points N")
    for n in from_points:
        check_on_scale(points, n, "--cutoff-points")
    audit = open_audit(audit_log)
    scorer = Scorer(Model.load(model_dir))
    schema = scorer.schema
    wanted = groupings(schema, by) if by else []
    columns = tuple(c for g in wanted for c in g.columns)
    if outcome or columns:
        reader, _ = open_labelled(input_path, schema.input_names, outcome, columns, fmt=input_format, sheet=sheet,
                                  numbers=schema.number_names, who="The cut-off table")
    else:
        reader = open_reader(input_path, schema.input_names, fmt=input_format, sheet=sheet, id_column=schema.id,
                             numbers=schema.number_names)
    try:
        result = strategy(scorer, reader, candidates(scorer.threshold, scale, bounds, points, from_points), outcome=outcome,
                          costs=manifest_costs(scorer.model.manifest), master_scale=scale.source,
                          progress=Progress.for_terminal(reader.total_bytes, quiet=quiet), by=wanted)
    finally:
        reader.close()
    echo_sheet_notes(reader)
    if result.rejected:
        fate = "could not be scored" + (" or lack an outcome" if outcome else "") + ", and are left out of the table"
        echo_rejects(result.rejected, result.source, fate, output)
    click.echo(render(result))
    write_figures(result, output, plot, render_svg)
    least = result.least_cost
    record_run(audit, "cutoffs", scorer, {"input": input_path}, {
        "outcome": outcome, "rows": result.rows, "scored": result.applicants, "rejected": len(result.rejected),
        "master_scale": scale.to_dict(), **({"points_scale": points.to_dict()} if points else {}),
        "least_expected_cost": None if least is None else least.label}, 0, sheet=sheet)


def render(result) -> str:  # type: ignore[no-untyped-def]
    """The strategy table as a committee reads it: one row a cut-off, expected figures, then the observed."""
    n = result.applicants
    observed = result.observed_default_rate is not None
    head = (f"Cut-offs on {result.source}: {n:,} applicants"
            + (f" ({len(result.rejected):,} of {result.rows:,} rows rejected, listed on stderr)" if result.rejected
               else "")
            + f"; expected default rate {result.expected_default_rate:.1%}"
            + (f", observed {result.observed_default_rate:.1%}" if observed else ""))
    lines = [head, f"Grades: {result.master_scale}"]
    costs = result.costs
    if costs is not None:
        lines.append(f"Costs: {costs['cost_default']:g} for a default approved, {costs['cost_decline_good']:g} for a "
                     "good payer declined (the costs the model's threshold was chosen at)")
    lines.append("Expected: from P(default) alone; it holds as far as the model is calibrated to these applicants.")
    if observed and any(c.observed_defaults is None or c.observed_good_declined is None for c in result.cutoffs):
        lines.append("Observed: some applicants have no outcome yet (the declined got no loan): the rate is among the "
                     "approved that have one, a count '-' where any it counts has none.")
    lines.append("")

    table = [("approve", "P(default)", "approved", "default rate", "defaults", "good declined",
              *(["cost"] if costs else []), *(["observed rate", "defaults", "good declined"] if observed else []),
              *(["observed cost"] if observed and costs else []), ""),
             ("", "", "", "of approved", "per 1,000", "per 1,000", *(["/applicant"] if costs else []),
              *(["of approved", "per 1,000", "per 1,000"] if observed else []),
              *(["/applicant"] if observed and costs else []), "")]
    least = result.least_cost
    for c in result.cutoffs:
        k = c.approved
        row = [c.label, c.rule, f"{k / n:.1%}", f"{c.expected_defaults / k:.1%}" if k else "-",
               f"{1000 * c.expected_defaults / n:.1f}", f"{1000 * c.expected_good_declined / n:.1f}"]
        if costs:
            row.append(f"{result.cost(c):.4f}")
        if observed:
            bad, good, cost, rate = c.observed_defaults, c.observed_good_declined, result.cost(c, observed=True), \
                c.observed_rate
            share = "" if not k or c.known == k else f" ({c.known / k:.0%} known)"
            row += ["-" if rate is None else f"{rate:.1%}{share}",
                    "-" if bad is None else f"{1000 * bad / n:.1f}", "-" if good is None else f"{1000 * good / n:.1f}"]
            if costs:
                row.append("-" if cost is None else f"{cost:.4f}")
        row.append("<- least expected cost" if c is least else "")
        table.append(tuple(row))
    widths = [max(len(r[j]) for r in table) for j in range(len(table[0]) - 1)]
    lines += [(f"{r[0]:<{widths[0]}}  " + "  ".join(f"{v:>{w}}" for v, w in zip(r[1:-1], widths[1:]))
               + (f"  {r[-1]}" if r[-1] else "")).rstrip() for r in table]
    if result.fairness:
        from loanscore.runtime.fairness import FOUR_FIFTHS

        names = list(result.fairness[0])
        lines += ["", f"Lowest approval ratio to the field's most-approved group at each cut-off (below "
                      f"{FOUR_FIFTHS:g} breaks the four-fifths rule; * adverse impact, as `loanscore fairness` tests it)"]
        table = [("approve", *names)]
        for c, worst in zip(result.cutoffs, result.fairness):
            table.append((c.label, *("n/a" if not group else f"{ratio:.3f} {group}{' *' if adverse else ''}"
                                     for ratio, group, adverse in (worst[name] for name in names))))
        widths = [max(len(r[j]) for r in table) for j in range(len(table[0]))]
        lines += ["  ".join(f"{v:<{w}}" for v, w in zip(r, widths)).rstrip() for r in table]
    return "\n".join(lines)
