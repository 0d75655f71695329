"""``loanscore report eda`` and ``loanscore report model``: HTML reports for a lender.

matplotlib, pandas and the report code are imported inside the commands, never
at module level, so ``loanscore --help`` and scoring stay light.
"""

from __future__ import annotations

from pathlib import Path

import click

from .errors import reports_errors, require_train_extra
from .options import data_file_options

DATA_HELP = ("Labelled CSV (gzip allowed), Excel workbook or JSON Lines, e.g. "
             "../shared/data/uci_credit_card_dev.csv.gz.")
OUTPUT_HELP = "HTML file to write; its figures go to <stem>_figures/*.png and its numbers to <stem>.json."


@click.group()
def report() -> None:
    """Write HTML reports: exploratory analysis of data, evaluation of a model, or its monitoring."""


@report.command()
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help=DATA_HELP)
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help=OUTPUT_HELP)
@click.option("--schema", "schema_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Schema file (TOML or JSON); default: the built-in Taiwan schema.")
@data_file_options
@reports_errors
def eda(data: Path, output: Path, schema_path: Path | None) -> None:
    """Exploratory analysis of labelled data: quality, distributions, default rates, history, correlations."""
    require_train_extra()
    from loanscore.runtime.schema import Schema
    from loanscore.train.reports.eda import write_eda_report

    schema = Schema.load(schema_path) if schema_path else Schema.default()
    paths = write_eda_report(data, output, schema)
    click.echo(f"wrote {paths['html']} (figures in {paths['figures']}, numbers in {paths['json']})")


@report.command()
@click.argument("model_dir", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help=DATA_HELP)
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help=OUTPUT_HELP)
@click.option("--band-field", default="AGE", show_default=True,
              help="Numeric field to slice in bands at --band-edges (ignored when the schema has no such numeric "
                   "field); '' to skip. Fields the schema gives bands are sliced at those too.")
@click.option("--band-edges", default="25,35,45,55,65", show_default=True,
              help="Inner band edges for --band-field, ascending, comma-separated.")
@data_file_options
@reports_errors
def model(model_dir: Path | None, data: Path, output: Path, band_field: str, band_edges: str) -> None:
    """Evaluate MODEL_DIR (default: the shipped model) on labelled data.

    ROC, PR, calibration, KS, score histogram, calibration by rating grade,
    confusion matrix, threshold trade-off, metrics, fairness slices with the
    four-fifths rule, the reason codes of the declined, and population
    stability.
    """
    try:
        edges = [float(e) for e in band_edges.split(",") if e.strip()]
    except ValueError:
        raise click.BadParameter(f"expected numbers separated by commas, got {band_edges!r}.",
                                 param_hint="--band-edges") from None
    if not edges or edges != sorted(set(edges)):
        raise click.BadParameter(f"expected strictly increasing numbers, got {band_edges!r}.", param_hint="--band-edges")
    require_train_extra()
    from loanscore.train.reports.evaluation import write_model_report

    paths = write_model_report(data, output, model_dir, band_field=band_field or None, band_edges=edges)
    click.echo(f"wrote {paths['html']} (figures in {paths['figures']}, numbers in {paths['json']})")


from .monitoring_report import monitoring  # noqa: E402 - a runtime command in the same group

report.add_command(monitoring)
