"""``loanscore backtest``: with the outcomes known, does the model still perform as it did at development?"""

from __future__ import annotations

import math
import sys

import click

from .errors import reports_errors
from .inputs import echo_rejects, echo_sheet_notes, open_labelled
from .options import audit_option, input_format_option, load_master_scale, master_scale_option, open_audit, record_run
from .output import aligned, write_figures

_HELP = """Check the model on applicants whose outcomes are now known.

\b
INPUT (CSV or JSON Lines) holds the model's fields and each applicant's
outcome, 1 defaulted or 0 repaid (column: the schema's label, or --outcome).
Prints ROC AUC with its 95% interval, KS, Brier score, calibration per score
band and the cost at the model's threshold, beside the figures the model was
developed with, and tests:

\b
  discrimination  alert when the AUC is below the AUC these applicants'
                  probabilities should give if they were right, by more
                  than chance explains (one-sided, 1 in 100); not the
                  development AUC, which another population (only the
                  approved, say) does not reach by nature
  calibration     alert when observed defaults differ from the expected
                  count by more than chance explains, overall (p < 0.01) or
                  in a score band (p < 0.01 / bands)
  --by COLUMN     the same within each value of COLUMN (p < 0.01 / values)
  --by-grade      the same within each rating grade of the master scale
                  (p < 0.01 / grades), as a validation of a rating system does

\b
Exit status: 0 pass, 4 alert, 2 nothing could be tested. Rows that cannot be
scored or whose outcome is neither 0, 1 nor blank are listed, not tested; rows
with a blank outcome (not known yet: the declined, or loans too young) are
counted, not tested.

\b
Examples:
  loanscore backtest applicants_2025_with_outcomes.csv
  loanscore backtest book.jsonl --outcome defaulted_12m -o backtest.json --plot backtest.svg
  loanscore backtest applicants_2025_with_outcomes.csv --by EDUCATION --by branch
  loanscore backtest applicants_2025_with_outcomes.csv --by-grade --master-scale our_grades.toml
"""


@click.command(help=_HELP, short_help="Discrimination and calibration on applicants with known outcomes.")
@click.argument("input_path", metavar="INPUT")
@click.option("--outcome", metavar="COLUMN", help="Column holding the outcome (1 defaulted, 0 repaid). "
              "Default: the schema's label.")
@click.option("--by", "by", multiple=True, metavar="COLUMN",
              help="Also test calibration within each value of COLUMN (a model field's development deciles, or a "
                   "column of up to 20 values such as a region); repeatable.")
@click.option("--by-grade", is_flag=True, help="Also test calibration within each rating grade of the master scale "
              "(see --master-scale and `loanscore grades`).")
@master_scale_option
@click.option("--model", "model_dir", type=click.Path(file_okay=False),
              help="Model directory. Default: the shipped model.")
@click.option("-o", "--output", metavar="FILE", help="Also write every figure as JSON (written atomically).")
@click.option("--plot", metavar="FILE.svg", help="Also draw calibration by band and the ROC curve (SVG, atomically).")
@input_format_option()
@click.option("-q", "--quiet", is_flag=True, help="No progress line on stderr.")
@audit_option
@reports_errors
def backtest(input_path: str, outcome: str | None, by: tuple[str, ...], by_grade: bool, master_scale: str | None,
             model_dir: str | None, output: str | None, plot: str | None,
             input_format: str, sheet: str | None, quiet: bool,
             audit_log: str | None) -> None:
    from loanscore.runtime.backtest import ALERT, backtest as run_backtest, is_training_data
    from loanscore.runtime.errors import EXIT_ALERT, EXIT_OK
    from loanscore.runtime.model import Model
    from loanscore.runtime.scorer import Scorer
    from loanscore.runtime.stream import Progress
    from loanscore.runtime.backtest_plot import render_svg

    grades = load_master_scale(master_scale, by_grade, "--by-grade")
    audit = open_audit(audit_log)
    scorer = Scorer(Model.load(model_dir))
    schema = scorer.schema
    outcome = outcome or schema.label
    reader, by = open_labelled(input_path, schema.input_names, outcome, by, fmt=input_format, sheet=sheet,
                               numbers=schema.number_names, who="A back-test")
    try:
        result = run_backtest(scorer, reader, outcome, by=by, grades=grades,
                              progress=Progress.for_terminal(reader.total_bytes, quiet=quiet))
    finally:
        reader.close()
    echo_sheet_notes(reader)
    result.training_data = is_training_data(input_path, scorer.model.manifest)
    if result.rejected:
        echo_rejects(result.rejected, result.source,
                     "could not be scored or hold an outcome other than 0, 1 or blank, and are left out of the "
                     "back-test", output)
    click.echo(render(result))
    write_figures(result, output, plot, render_svg)
    code = EXIT_ALERT if result.verdict == ALERT else EXIT_OK
    record_run(audit, "backtest", scorer, {"input": input_path}, {
        "outcome": outcome, "rows": result.rows, "scored": result.scored, "rejected": len(result.rejected),
        "verdict": result.verdict, "roc_auc": result.metrics["roc_auc"], "brier": result.metrics["brier"]},
        code, sheet=sheet)
    sys.exit(code)


def render(result) -> str:  # type: ignore[no-untyped-def]
    """The back-test as a person reads it: what was tested, the figures beside development's, then the verdicts."""
    m, dev = result.metrics, result.development or {}
    lo, hi = result.auc_interval
    lines = [
        f"Back-test of {result.source} (outcome: {result.outcome})",
        f"{result.rows:,} rows read, {result.scored:,} tested"
        + (f", {result.unknown:,} without an outcome yet" if result.unknown else "")
        + (f", {len(result.rejected):,} rejected (listed on stderr)" if result.rejected else "")
        + f"; {result.defaults:,} defaults ({m['default_rate']:.1%}), {result.expected_defaults:,.1f} expected",
        "",
    ]
    if result.training_data:
        lines[-1:-1] = ["Note: this is the file the model was trained on, so these figures are in-sample and flatter "
                        "the model;", "back-test on applicants it has not seen."]
    if dev:
        where = "out-of-fold" if dev.get("measured_on") == "out_of_fold" else "validation"
        head = f"development ({where}, {dev.get('n', 0):,} rows)"
    else:
        head = "development (not recorded)"
    costs = result.costs
    table: list[tuple[str, ...]] = [
        ("", "now", head),
        ("ROC AUC", _fmt(m["roc_auc"], ".4f") + ("" if math.isnan(lo) else f" (95% interval {lo:.4f}-{hi:.4f})"),
         _fmt(dev.get("roc_auc"), ".4f")),
        ("ROC AUC expected here", _fmt(result.expected_auc, ".4f") + ("" if math.isnan(result.expected_auc) else
                                                                     " (if P(default) is right)"), ""),
        ("KS", _fmt(m["ks"], ".4f"), _fmt(dev.get("ks"), ".4f")),
        ("PR AUC", _fmt(m["pr_auc"], ".4f"), _fmt(dev.get("pr_auc"), ".4f")),
        ("Brier score", f"{m['brier']:.4f}", _fmt(dev.get("brier"), ".4f")),
        ("ECE (10 bins)", f"{m['ece']:.4f}", _fmt(dev.get("ece"), ".4f")),
        ("default rate", f"{m['default_rate']:.1%}", _fmt(dev.get("default_rate"), ".1%")),
        (f"approved below {m['threshold']:.4g}", f"{m['approval_rate']:.1%}", _fmt(dev.get("approval_rate"), ".1%")),
        ("recall of defaults", f"{m['recall']:.1%}", _fmt(dev.get("recall"), ".1%")),
    ]
    if costs is not None:
        ratio = f"{costs['cost_default']:g}:{costs['cost_decline_good']:g}"
        table.append((f"cost per applicant ({ratio})", f"{result.expected_cost:.4f}",
                      _fmt(dev.get("expected_cost_per_applicant"), ".4f")))
    w0, w1 = (max(len(r[j]) for r in table) for j in (0, 1))
    lines += [f"{a:<{w0}}  {b:<{w1}}  {c}".rstrip() for a, b, c in table]

    lines += ["", f"Calibration by score band ({result.bands_from})"]
    lines += _band_table("band", result.bands, result.band_alpha)

    for name, parts in result.segments.items():
        alpha = result.segment_alpha(name)
        lines += ["", f"Calibration by {name} (alert below p {alpha:.2g} = 0.01 / {len(parts)} segments)"]
        table = [("segment", "rows", "mean P(default)", "default rate", "defaults / expected", "ROC AUC", "p-value")]
        for seg in parts:
            flag = "  <- alert" if seg.p_value < alpha else ""
            table.append((seg.label, f"{seg.rows:,}", f"{seg.expected / seg.rows:.1%}",
                          f"{seg.defaults / seg.rows:.1%}", f"{seg.defaults:,} / {seg.expected:,.1f}",
                          _fmt(seg.roc_auc, ".4f"), f"{seg.p_value:.4f}{flag}"))
        lines += aligned(table)

    if result.master_scale:
        lines += ["", f"Calibration by grade (master scale: {result.master_scale}; alert below p "
                      f"{result.grade_alpha:.2g} = 0.01 / {len(result.grades)} grades)"]
        lines += _band_table("grade", result.grades, result.grade_alpha)

    worst = min(result.bands, key=lambda b: b.p_value)
    if result.discrimination == "not tested":
        disc = "not tested (the file holds only one outcome)"
    else:
        disc = (f"{result.discrimination} (AUC {m['roc_auc']:.4f} against {result.expected_auc:.4f} expected on these "
                f"applicants if their P(default) is right; one-sided p {result.auc_p_value:.3g}, alert below 0.01)")
    lines += [
        "",
        f"discrimination: {disc}",
        f"calibration:    {result.calibration} ({result.defaults:,} defaults against {result.expected_defaults:,.1f} "
        f"expected, p {result.calibration_p_value:.3g}; smallest band p {worst.p_value:.3g}, "
        f"alert below {result.band_alpha:.2g})",
    ]
    if result.segments:
        name, seg = min(((n, g) for n, parts in result.segments.items() for g in parts), key=lambda t: t[1].p_value)
        lines.append(f"segments:       {result.segment_calibration} (smallest p {seg.p_value:.3g}: {name} {seg.label})")
    if result.grades:
        worst_grade = min(result.grades, key=lambda g: g.p_value)
        lines.append(f"grades:         {result.grade_calibration} (smallest p {worst_grade.p_value:.3g}: grade "
                     f"{worst_grade.label})")
    lines.append(f"overall: {result.verdict}")
    return "\n".join(lines)


def _band_table(heading: str, bands, alpha: float) -> list[str]:  # type: ignore[no-untyped-def]
    rows = [(heading, "rows", "mean P(default)", "default rate", "defaults / expected", "p-value")]
    for b in bands:
        flag = "  <- alert" if b.p_value < alpha else ""
        rows.append((b.label, f"{b.rows:,}", f"{b.mean_probability:.1%}", f"{b.default_rate:.1%}",
                     f"{b.defaults:,} / {b.expected:,.1f}", f"{b.p_value:.4f}{flag}"))
    return aligned(rows)


def _fmt(value: float | None, spec: str) -> str:
    """A figure, blank where development did not record it, "n/a" where it is undefined (one outcome only) or
    is no number (a damaged manifest)."""
    if value is None:
        return ""
    try:
        return "n/a" if math.isnan(value) else format(value, spec)
    except (TypeError, ValueError, OverflowError):
        return "n/a"
