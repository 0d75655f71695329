"""``loanscore recalibrate``: the model's probabilities refitted to a lender's own outcomes, in a new model directory."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import TRAIN_EXTRA_HINT, echo_rejects, reports_errors

_HELP = """Refit the model's probabilities to applicants with known outcomes.

\b
INPUT (CSV or JSON Lines) holds the model's fields and each applicant's
outcome, 1 defaulted or 0 repaid (column: the schema's label, or --outcome),
ideally recent applicants of the lender's own. Fits Platt scaling on the
model's log-odds, P' = sigmoid(a * logit(P) + b), writes it into a copy of
the graph in --out with a new manifest, golden cases and model card, and
prints calibration before and after. The ranking (ROC AUC) is unchanged.
Nothing is written unless the new graph computes the fitted map and passes
`loanscore verify`. Needs the [train] extra (onnx, scikit-learn).

\b
Examples:
  loanscore recalibrate outcomes_2025.csv --out models/recalibrated
  loanscore recalibrate book.jsonl --model models/current --outcome defaulted_12m --out models/next
"""


@click.command(help=_HELP, short_help="Refit the probabilities to known outcomes (Platt scaling in the graph).")
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Model directory to write.")
@click.option("--model", "model_dir", type=click.Path(file_okay=False),
              help="Model directory to recalibrate. Default: the shipped model.")
@click.option("--outcome", metavar="COLUMN", help="Column holding the outcome (1 defaulted, 0 repaid). "
              "Default: the schema's label.")
@reports_errors
def recalibrate(input_path: str, out: Path, model_dir: str | None, outcome: str | None) -> None:
    import importlib.util

    from loanscore.runtime.errors import LoanscoreError

    missing = [m for m in ("onnx", "sklearn") if importlib.util.find_spec(m) is None]
    if missing:
        raise LoanscoreError(f"{TRAIN_EXTRA_HINT} Missing: {', '.join(missing)}.")
    from loanscore.export.recalibrate import recalibrate as run

    result = run(model_dir, input_path, out, outcome=outcome)
    if result.rejected:
        echo_rejects(result.rejected, Path(input_path).name,
                     "could not be scored or lack an outcome, and are left out of the fit", None)
    b, a = result.before, result.after
    rows = [("", "before", "after"),
            ("mean P(default)", f"{b['mean_probability']:.2%}", f"{a['mean_probability']:.2%}"),
            ("observed default rate", f"{b['default_rate']:.2%}", f"{a['default_rate']:.2%}"),
            ("Brier score", f"{b['brier']:.4f}", f"{a['brier']:.4f}"),
            ("ECE (10 bins)", f"{b['ece']:.4f}", f"{a['ece']:.4f}"),
            ("declined", f"{b['decline_rate']:.1%}", f"{a['decline_rate']:.1%}")]
    widths = [max(len(r[j]) for r in rows) for j in range(3)]
    click.echo(f"Recalibrated on {Path(input_path).name}: {result.scored:,} of {result.rows:,} rows; "
               f"P' = sigmoid({result.scale:.4f} * logit(P) {result.shift:+.4f})\n")
    click.echo("\n".join(f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}" for r in rows))
    click.echo(f"\nthreshold {result.threshold['value']:.4g}: {result.threshold['recalibrated']}")
    click.echo(f"(in-sample: the two parameters were fitted on this file; the ranking is unchanged.)\n"
               f"wrote {result.model_dir} (the graph computes the map to max |diff| {result.max_abs_diff:.2e}; "
               "verify passed)")
