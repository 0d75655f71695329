"""``loanscore compare``: champion against challenger on applicants whose outcomes are known."""

from __future__ import annotations

import math

import click

from .errors import reports_errors
from .inputs import echo_rejects, echo_sheet_notes, open_labelled
from .options import audit_option, input_format_option, load_master_scale, master_scale_option, open_audit, record_run
from .output import write_figures

_HELP = """Compare two models on the same applicants with known outcomes.

\b
INPUT (CSV or JSON Lines) holds both models' fields and each applicant's
outcome, 1 defaulted or 0 repaid (column: the champion's label, or
--outcome). Both models score every row; on the rows both could score it
prints each model's figures at its own threshold, the difference in ROC AUC
(DeLong's test for two AUCs on the same rows: 95% interval and p-value), the
difference in Brier score, and the swap set: who is approved by one model and
declined by the other, and how often they defaulted. --by-grade adds the
grade migration matrix on the master scale: how many applicants the
challenger grades the same, one grade apart or further, and the default
rate of each grade under each model.

\b
Exit status: 0 compared, 2 nothing could be compared. Rows that either model
cannot score, or whose outcome is neither 0, 1 nor blank, are listed and left
out; rows with a blank outcome (not known yet) are counted, not compared.

\b
Examples:
  loanscore compare outcomes_2025.csv --challenger models/retrained
  loanscore compare outcomes_2025.csv --model models/current --challenger models/lean --by SEX --by AGE -o compare.json
  loanscore compare outcomes_2025.csv --challenger models/retrained --plot compare.svg
  loanscore compare outcomes_2025.csv --challenger models/retrained --by-grade --master-scale our_grades.toml
"""


@click.command(help=_HELP, short_help="Champion against challenger on applicants with known outcomes.")
@click.argument("input_path", metavar="INPUT")
@click.option("--challenger", "challenger_dir", required=True, type=click.Path(file_okay=False),
              help="Model directory of the challenger.")
@click.option("--model", "model_dir", type=click.Path(file_okay=False),
              help="Model directory of the champion (the model in use). Default: the shipped model.")
@click.option("--outcome", metavar="COLUMN", help="Column holding the outcome (1 defaulted, 0 repaid). "
              "Default: the champion's label.")
@click.option("--by", "by", multiple=True, metavar="COLUMN",
              help="Also show both models' decisions within each value of COLUMN (a model field's development "
                   "deciles, or a column of up to 20 values such as SEX or a region); repeatable.")
@click.option("--by-grade", is_flag=True, help="Also show the grade migration matrix on the master scale (see "
              "--master-scale and `loanscore grades`).")
@master_scale_option
@click.option("-o", "--output", metavar="FILE", help="Also write every figure as JSON (written atomically).")
@click.option("--plot", metavar="FILE.svg", help="Also draw both ROC curves, the default rate among the approved "
              "against the share approved, and each --by group's approval rates (SVG, atomically).")
@input_format_option()
@click.option("-q", "--quiet", is_flag=True, help="No progress line on stderr.")
@audit_option
@reports_errors
def compare(input_path: str, challenger_dir: str, model_dir: str | None, outcome: str | None, by: tuple[str, ...],
            by_grade: bool, master_scale: str | None, output: str | None, plot: str | None,
            input_format: str, sheet: str | None,
            quiet: bool, audit_log: str | None) -> None:
    from loanscore.runtime.backtest import is_training_data
    from loanscore.runtime.compare import compare as run_compare
    from loanscore.runtime.model import Model, default_model_dir
    from loanscore.runtime.scorer import Scorer
    from loanscore.runtime.stream import Progress
    from loanscore.runtime.compare_plot import render_svg

    grades = load_master_scale(master_scale, by_grade, "--by-grade")
    audit = open_audit(audit_log)
    champion = Scorer(Model.load(model_dir))
    challenger = Scorer(Model.load(challenger_dir))
    names = (_name(model_dir or str(default_model_dir()), "champion"), _name(challenger_dir, "challenger"))
    outcome = outcome or champion.schema.label
    inputs = list(dict.fromkeys([*champion.schema.input_names, *challenger.schema.input_names]))
    numbers = set(champion.schema.number_names) & set(challenger.schema.number_names)
    reader, by = open_labelled(input_path, inputs, outcome, by, fmt=input_format, sheet=sheet, numbers=numbers,
                               who="A comparison")
    try:
        result = run_compare(champion, challenger, reader, outcome, names=names, by=by, grades=grades,
                             progress=Progress.for_terminal(reader.total_bytes, quiet=quiet))
    finally:
        reader.close()
    echo_sheet_notes(reader)
    result.training_data = [role for role, scorer in (("champion", champion), ("challenger", challenger))
                            if is_training_data(input_path, scorer.model.manifest)]
    if result.rejected:
        echo_rejects(result.rejected, result.source,
                     "could not be scored by both models or hold an outcome other than 0, 1 or blank, and are left out",
                     output)
    click.echo(render(result))
    write_figures(result, output, plot, render_svg)
    d = result.to_dict()
    record_run(audit, "compare", champion, {"input": input_path}, {
        "challenger": {"path": str(challenger.model.directory.resolve()),
                       "sha256": challenger.model.manifest["sha256"], "threshold": challenger.threshold},
        "outcome": outcome, "rows": result.rows, "compared": result.compared, "rejected": len(result.rejected),
        "roc_auc_difference": d["roc_auc_difference"]["challenger_minus_champion"],
        "p_value": d["roc_auc_difference"]["p_value"],
        "switches": {s["group"]: s["rows"] for s in d["swap_set"] if "only" in s["group"]}}, 0, sheet=sheet)


def _name(directory: str, role: str) -> str:
    from pathlib import Path

    return f"{role} ({Path(directory).resolve().name})"


def render(result) -> str:  # type: ignore[no-untyped-def]
    """The comparison as a person reads it: each model's figures side by side, the tests, then the swap set."""
    a, b = result.champion, result.challenger
    ma, mb = a.metrics, b.metrics
    lines = [
        f"{a.name} against {b.name} on {result.source} (outcome: {result.outcome})",
        f"{result.rows:,} rows read, {result.compared:,} compared"
        + (f", {result.unknown:,} without an outcome yet" if result.unknown else "")
        + (f", {len(result.rejected):,} rejected (listed on stderr)" if result.rejected else "")
        + f"; {int(ma['confusion_matrix']['tp'] + ma['confusion_matrix']['fn']):,} defaults ({ma['default_rate']:.1%})",
        "",
    ]
    if result.training_data:
        both = len(result.training_data) > 1
        lines[-1:-1] = [f"Note: this is the file the {' and the '.join(result.training_data)} "
                        f"{'were' if both else 'was'} trained on, so {'their' if both else 'its'} figures are "
                        f"in-sample and flatter {'them' if both else 'it'}; compare on applicants neither model has "
                        "seen."]
    table: list[tuple[str, ...]] = [("", a.name, b.name, "challenger - champion")]
    for label, key, spec in (("ROC AUC", "roc_auc", ".4f"), ("KS", "ks", ".4f"), ("PR AUC", "pr_auc", ".4f"),
                             ("Brier score", "brier", ".4f"), ("ECE (10 bins)", "ece", ".4f")):
        table.append((label, _fmt(ma[key], spec), _fmt(mb[key], spec), _signed(mb[key] - ma[key], spec)))
    table += [
        ("threshold", f"{a.threshold:.4g}", f"{b.threshold:.4g}", ""),
        ("approved", f"{ma['approval_rate']:.1%}", f"{mb['approval_rate']:.1%}",
         _signed(100 * (mb["approval_rate"] - ma["approval_rate"]), ".1f") + " points"),
        ("default rate of the approved", _bad_rate(ma), _bad_rate(mb), ""),
        ("recall of defaults", f"{ma['recall']:.1%}", f"{mb['recall']:.1%}", ""),
    ]
    if result.costs is not None:
        ratio = f"{result.costs['cost_default']:g}:{result.costs['cost_decline_good']:g}"
        table.append((f"cost per applicant ({ratio})", f"{a.cost:.4f}", f"{b.cost:.4f}",
                      _signed(b.cost - a.cost, ".4f")))
    widths = [max(len(r[j]) for r in table) for j in range(4)]
    lines += [f"{r[0]:<{widths[0]}}  " + "  ".join(f"{v:>{w}}" for v, w in zip(r[1:], widths[1:])) for r in table]

    lo, hi = result.auc_interval
    ranking = _verdict(result.auc_difference, result.auc_p_value, "ranks", "ranking")
    pricing = _verdict(-result.brier_difference, result.brier_p_value, "prices risk", "pricing")
    lines += [
        "",
        "ROC AUC: " + ("not tested (the file holds only one outcome)" if math.isnan(result.auc_difference) else
                       f"{_signed(result.auc_difference, '.4f')} (95% interval {_signed(lo, '.4f')} to "
                       f"{_signed(hi, '.4f')}; two-sided p {result.auc_p_value:.3g}, DeLong's test for two AUCs on "
                       f"the same rows) -> {ranking}"),
        f"Brier:   {_signed(result.brier_difference, '.5f')} (two-sided p {_fmt(result.brier_p_value, '.3g')}, paired "
        f"on the rows' squared errors) -> {pricing}",
        "",
        "Swap set: each model at its own threshold",
    ]
    swaps = [("", "rows", "share", "defaults", "default rate")]
    for group, (n, d) in result.swaps.items():
        swaps.append((group, f"{n:,}", f"{n / result.compared:.1%}", f"{d:,}", f"{d / n:.1%}" if n else "-"))
    widths = [max(len(r[j]) for r in swaps) for j in range(5)]
    lines += [f"{r[0]:<{widths[0]}}  " + "  ".join(f"{v:>{w}}" for v, w in zip(r[1:], widths[1:])) for r in swaps]
    (n_in, d_in), (n_out, d_out) = result.swaps["approved by the challenger only"], result.swaps[
        "approved by the champion only"]
    if n_in and n_out:
        lines.append(f"The challenger swaps in {n_in:,} applicants who defaulted at {d_in / n_in:.1%} for {n_out:,} "
                     f"who defaulted at {d_out / n_out:.1%}.")
    elif not n_in and not n_out:
        lines.append("The two models decide every compared applicant alike.")
    for name, parts in result.segments.items():
        lines += ["", f"By {name}: approval rates at each model's threshold"]
        table = [("segment", "rows", "default rate", "champion", "challenger", "challenger only", "champion only",
                  "AUC champion", "AUC challenger")]
        for seg in parts:
            table.append((seg["segment"], f"{seg['rows']:,}", f"{seg['defaults'] / seg['rows']:.1%}",
                          f"{seg['champion_approval_rate']:.1%}", f"{seg['challenger_approval_rate']:.1%}",
                          f"{seg['approved_by_challenger_only']:,}", f"{seg['approved_by_champion_only']:,}",
                          _fmt(seg["champion_roc_auc"], ".4f"), _fmt(seg["challenger_roc_auc"], ".4f")))
        widths = [max(len(r[j]) for r in table) for j in range(len(table[0]))]
        lines += [f"{r[0]:<{widths[0]}}  " + "  ".join(f"{v:>{w}}" for v, w in zip(r[1:], widths[1:]))
                  for r in table]
    if result.migration:
        lines += ["", *_migration(result.migration)]
    return "\n".join(lines)


def _migration(m: dict) -> list[str]:
    """The grade migration matrix: the champion's grades down, the challenger's across, with each grade's rows and
    default rate under either model; grades no applicant has under either model are left out."""
    import numpy as np

    rows, defaults = np.array(m["rows"]), np.array(m["defaults"])
    used = [k for k in range(len(m["grades"])) if rows[k].sum() or rows[:, k].sum()]

    def rate(d: int, n: int) -> str:
        return f"{d / n:.1%}" if n else "-"

    table = [("champion \\ challenger", *(m["grades"][k] for k in used), "rows", "default rate")]
    for k in used:
        table.append((m["grades"][k], *(f"{rows[k, j]:,}" if rows[k, j] else "." for j in used),
                      f"{rows[k].sum():,}", rate(defaults[k].sum(), rows[k].sum())))
    table += [("rows", *(f"{rows[:, j].sum():,}" for j in used), f"{rows.sum():,}", ""),
              ("default rate", *(rate(defaults[:, j].sum(), rows[:, j].sum()) for j in used), "", "")]
    widths = [max(len(r[j]) for r in table) for j in range(len(table[0]))]
    return [f"Grade migration (master scale: {m['master_scale']}): rows by the champion's grade (down) and the "
            "challenger's (across)",
            *((f"{r[0]:<{widths[0]}}  " + "  ".join(f"{v:>{w}}" for v, w in zip(r[1:], widths[1:]))).rstrip()
              for r in table),
            f"Same grade {m['same_grade']:.1%}, one grade apart {m['one_grade_apart']:.1%}, further "
            f"{m['further']:.1%}; the challenger grades {m['riskier_by_challenger']:.1%} riskier and "
            f"{m['safer_by_challenger']:.1%} safer."]


def _verdict(gain: float, p: float, what: str, noun: str) -> str:
    if math.isnan(p):
        return "not tested"
    if p >= 0.05:
        return f"no difference in {noun} shown at the 5% level"
    return f"the challenger {what} {'better' if gain > 0 else 'worse'} (p < 0.05)"


def _bad_rate(m: dict) -> str:
    cm = m["confusion_matrix"]
    approved = cm["tn"] + cm["fn"]
    return f"{cm['fn'] / approved:.1%}" if approved else "-"


def _signed(value: float, spec: str) -> str:
    return "n/a" if math.isnan(value) else format(value, "+" + spec)


def _fmt(value: float | None, spec: str) -> str:
    return "" if value is None else "n/a" if math.isnan(value) else format(value, spec)
