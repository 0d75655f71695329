"""``loanscore recalibrate``: the model's probabilities refitted to a lender's own data, in a new model directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .errors import TRAIN_EXTRA_HINT, reports_errors
from .inputs import echo_rejects
from .options import audit_option, data_file_options, open_audit, record_run

_HELP = """Refit the model's probabilities to a lender's own applicants.

\b
INPUT (CSV, JSON Lines or an Excel workbook) holds the model's fields, ideally of recent
applicants of the lender's own, and, unless --default-rate is given, each
applicant's outcome, 1 defaulted, 0 repaid or blank not known yet (column:
the schema's label, or --outcome); the map is fitted on the rows with an
outcome. A map on the model's log-odds, P' = sigmoid(a * logit(P) + b):

\b
  --method platt      a and b fitted on the outcomes (the default)
  --method intercept  a = 1, b fitted on the outcomes: one parameter
  --default-rate R    a = 1, b such that INPUT's mean P' is R, the lender's
                      long-run default rate; INPUT needs no outcomes

It is written into a copy of the graph in --out with a new manifest, golden
cases and model card, and calibration before and after is printed. The
ranking (ROC AUC) is unchanged. Nothing is written unless the new graph
computes the fitted map and passes `loanscore verify`. Needs the [train]
extra (onnx, scikit-learn).

\b
Examples:
  loanscore recalibrate outcomes_2025.csv --out models/recalibrated
  loanscore recalibrate book.jsonl --model models/current --outcome defaulted_12m --out models/next
  loanscore recalibrate applicants_q3.csv --default-rate 4.5% --out models/central_tendency
"""


class Rate(click.ParamType):
    """A rate as a fraction (0.045) or a percentage (4.5%)."""

    name = "RATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        text = str(value).strip()
        try:
            rate = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            self.fail(f"{value!r} is not a rate: write 0.045 or 4.5%.", param, ctx)
        if not 0 < rate < 1:
            self.fail(f"{value!r} is not strictly between 0 and 1 (0 % and 100 %).", param, ctx)
        return rate


@click.command(help=_HELP, short_help="Refit the probabilities to a lender's outcomes or default rate (in the graph).")
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Model directory to write.")
@click.option("--model", "model_dir", type=click.Path(file_okay=False),
              help="Model directory to recalibrate. Default: the shipped model.")
@click.option("--outcome", metavar="COLUMN", help="Column holding the outcome (1 defaulted, 0 repaid). "
              "Default: the schema's label.")
@click.option("--method", type=click.Choice(["platt", "intercept"]), help="The map to fit on the outcomes: slope "
              "and shift (platt, the default) or the shift alone (intercept).")
@click.option("--default-rate", "default_rate", type=Rate(), help="The lender's long-run default rate, as 0.045 or "
              "4.5%: shift INPUT's mean P(default) to it; INPUT needs no outcomes.")
@click.option("--plot", metavar="FILE.svg", help="Also draw calibration by decile before and after (with outcomes) "
              "and the map itself (SVG, atomically).")
@data_file_options
@audit_option
@reports_errors
def recalibrate(input_path: str, out: Path, model_dir: str | None, outcome: str | None, method: str | None,
                default_rate: float | None, plot: str | None, audit_log: str | None) -> None:
    import importlib.util

    import numpy as np

    from loanscore.runtime.errors import LoanscoreError

    missing = [m for m in ("onnx", "sklearn") if importlib.util.find_spec(m) is None]
    if missing:
        raise LoanscoreError(f"{TRAIN_EXTRA_HINT} Missing: {', '.join(missing)}.")
    from loanscore.export.recalibrate import recalibrate as run

    if default_rate is not None and (method or outcome):
        raise click.UsageError("--default-rate fits the shift to a stated rate and reads no outcomes; leave out "
                               f"--{'method' if method else 'outcome'}.")
    if plot and not Path(plot).resolve().parent.is_dir():  # before the model is written, not after
        raise click.UsageError(f"--plot {plot}: the folder {Path(plot).parent} does not exist.")
    audit = open_audit(audit_log)
    result = run(model_dir, input_path, out, outcome=outcome, default_rate=default_rate,
                 method="default_rate" if default_rate is not None else method or "platt")
    if plot:
        from loanscore.export.recalibration_plot import render_svg
        from loanscore.runtime.writers import open_output

        p, y = result.probabilities, result.outcomes
        known = slice(None) if y is None else ~np.isnan(y)
        with open_output(plot) as stream:
            stream.write(render_svg(p[known], None if y is None else y[known], result.scale, result.shift,
                                    result.threshold["value"], f"Recalibrated ({result.method}) on "
                                    f"{Path(input_path).name}: {result.scored:,} applicants"))
    if audit is not None:
        from loanscore.runtime.scorer import Scorer

        new = Scorer.load(result.model_dir)
        record_run(audit, "recalibrate", new, {"input": input_path}, {
            "from_sha256": new.model.manifest["recalibrations"][-1]["from_sha256"], "method": result.method,
            "scale": result.scale, "shift": result.shift, "rows": result.rows, "scored": result.scored,
            "rejected": len(result.rejected)}, 0)
    if result.rejected:
        what = "could not be scored" + (" or have an outcome other than 0, 1 or blank" if default_rate is None else "")
        echo_rejects(result.rejected, Path(input_path).name, f"{what}, and are left out of the fit", None)
    if result.unknown and result.outcomes is not None:
        known = ~np.isnan(result.outcomes)
        with_, without = (float(result.probabilities[k].mean()) for k in (known, ~known))
        click.echo(f"{result.unknown:,} scored rows have no outcome yet (blank): the map is fitted on the "
                   f"{result.scored - result.unknown:,} with one (mean P(default) {with_:.2%}) and assumed to hold "
                   f"for the rest ({without:.2%}); they count in the decline rate and the new population "
                   "reference.\n", err=True)
    b, a = result.before, result.after
    lines = [("mean P(default)", "mean_probability", "{:.2%}"), ("observed default rate", "default_rate", "{:.2%}"),
             ("stated default rate", "target_rate", "{:.2%}"), ("Brier score", "brier", "{:.4f}"),
             ("ECE (10 bins)", "ece", "{:.4f}"), ("declined" + (" (all scored)" if result.unknown else ""), "decline_rate", "{:.1%}")]
    rows = [("", "before", "after")] + [(label, form.format(b[key]), form.format(a[key]))
                                         for label, key, form in lines if key in b]
    widths = [max(len(r[j]) for r in rows) for j in range(3)]
    errors = ", ".join(f"{'a' if k == 'scale' else 'b'} ± {v:.4f}" for k, v in result.standard_errors.items())
    click.echo(f"Recalibrated ({result.method}) on {Path(input_path).name}: {result.scored:,} of {result.rows:,} "
               f"rows{f' ({result.scored - result.unknown:,} with an outcome)' if result.unknown else ''}; "
               f"P' = sigmoid({result.scale:.4f} * logit(P) {result.shift:+.4f})"
               + (f"; standard errors {errors}" if errors else "") + "\n")
    click.echo("\n".join(f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}" for r in rows))
    if "scale" in result.standard_errors:
        lo, hi = (result.scale + z * result.standard_errors["scale"] for z in (-1.96, 1.96))
        click.echo(f"\nslope a: 95 % interval {lo:.3f} to {hi:.3f}; " + (
            "it contains 1, so the spread held: --method intercept (the shift alone) would fit with one "
            "parameter." if lo <= 1 <= hi else "it excludes 1, so the spread changed too: the slope is needed."))
    click.echo(f"\nthreshold {result.threshold['value']:.4g}: {result.threshold['recalibrated']}")
    click.echo("(in-sample: the map was fitted on this file; the ranking is unchanged.)\n"
               f"wrote {result.model_dir} (the graph computes the map to max |diff| {result.max_abs_diff:.2e}; "
               "verify passed)")
