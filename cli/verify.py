"""``loanscore verify``: prove a model directory scores as it did at export."""

from __future__ import annotations

from pathlib import Path

import click

from .errors import reports_errors, require_train_extra
from .options import FINITE, data_file_options


@click.command()
@click.argument("model_dir", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--reference", "run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Training run to compare against (Keras + scikit-learn); needs the [train] extra.")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Labelled or unlabelled CSV, workbook or JSON Lines to measure parity on, with --reference.")
@click.option("--tolerance", type=FINITE, default=None, help="Max |p_onnx - p_keras| for --reference (default 1e-5).")
@data_file_options
@reports_errors
def verify(model_dir: Path | None, run_dir: Path | None, data: Path | None, tolerance: float | None) -> None:
    """Check MODEL_DIR (default: the shipped model) against its manifest and golden cases, and the manifest
    against the SHA-256 recorded at export (its threshold decides every applicant).

    With --reference RUN_DIR --data CSV, also recompute ONNX-vs-Keras parity on
    that data, preprocessing first, then probabilities. Exits 3 on any mismatch.
    """
    from loanscore.runtime.verify import verify_model

    report = verify_model(model_dir)
    click.echo(
        f"OK  {report.directory}: SHA-256 matches the manifest; {report.n_cases} golden cases within "
        f"{report.tolerance:g} (max |diff| {report.max_abs_diff:.2e}); "
        + ("the manifest is as exported" if report.manifest_checked else
           "the manifest is not covered (exported before loanscore recorded its SHA-256: export it again)")
    )
    if run_dir is None:
        if data is not None:
            raise click.UsageError("--data needs --reference RUN_DIR: parity compares against the training run.")
        return
    if data is None:
        raise click.UsageError("--reference needs --data CSV: the rows to compare on.")
    require_train_extra()
    from loanscore.export.parity import PROBABILITY_TOLERANCE, measure_parity
    from loanscore.runtime.model import Model
    from loanscore.train.data import load_dataset
    from loanscore.train.run import TrainedRun

    model = Model.load(report.directory)
    run = TrainedRun.load(run_dir)
    dataset = load_dataset(data, model.schema, labelled=False)
    parity = measure_parity(model, run, dataset.X, model.threshold, tolerance or PROBABILITY_TOLERANCE)
    click.echo(
        f"OK  parity on {parity.n} rows of {data.name}: preprocessing max |diff| {parity.features_max_abs_diff:.2e}; "
        f"probability max |diff| {parity.max_abs_diff:.2e}, mean {parity.mean_abs_diff:.2e} "
        f"(tolerance {parity.tolerance:g}); decisions agree {parity.decision_agreement:.2%}"
    )
