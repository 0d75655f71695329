"""``loanscore train`` and ``loanscore export``: they need the [train] extra, imported only when run."""

from __future__ import annotations

from pathlib import Path

import click

from .errors import reports_errors, require_train_extra
from .options import (audit_option, data_file_options, FiniteRange, load_master_scale, master_scale_option,
                      open_audit, record_run)

DEV_DATA_HINT = "e.g. ../shared/data/uci_credit_card_dev.csv.gz"


@click.command()
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help=f"Labelled CSV (gzip allowed), Excel workbook or JSON Lines, {DEV_DATA_HINT}.")
@click.option("--out", "run_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Run directory to write (model.keras, preprocessor.skops, metrics.json, run.json): new, empty "
                   "or an older run, which is replaced whole once the new one is written.")
@click.option("--schema", "schema_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Schema file (TOML or JSON); default: the built-in Taiwan schema.")
@click.option("--without", default="", metavar="FIELDS",
              help="Comma-separated fields (or history channels) the model must not read, e.g. SEX,MARRIAGE,AGE "
                   "where the law forbids them in credit decisions; its report still slices decisions by them.")
@click.option("--epochs", type=click.IntRange(1), default=None, help="Maximum epochs (early stopping may end sooner).")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=42, show_default=True, help="Seed for the split, weights and shuffling.")
@click.option("--ensemble", type=click.IntRange(1, 20), default=None,
              help="Networks (seeds seed, seed+1, ...) averaged inside the one exported graph.")
@click.option("--teacher", type=FiniteRange(0, 1), default=0.6, show_default=True,
              help="Weight of boosted trees' out-of-fold probabilities in the training target "
                   "(knowledge distillation; the trees are not exported). 0: labels only.")
@click.option("--monotone", type=FiniteRange(min=0), default=None,
              help="Weight of a training penalty wherever a riskier applicant (--monotone-roles; by default one "
                   "month's later repayment status) scores lower (default 4, the shipped model's, where the "
                   "schema has a column with those roles). 0: none.")
@click.option("--monotone-roles", default="status", show_default=True, metavar="ROLES",
              help="What the penalty covers, comma-separated: status (a repayment month one month later), "
                   "credit_limit and payment (the credit line, or a month's payment, 20 % lower).")
@click.option("--monotone-scope", type=click.Choice(["all", "on_time"]), default="all", show_default=True,
              help="For whom the credit_limit and payment steps are penalized: all applicants, or only those on "
                   "time in the newest month (among the late, the data show smaller amounts are not riskier).")
@click.option("--amounts", type=click.Choice(["normal_scores", "signed_log"]), default="normal_scores",
              show_default=True, help="Encoding of the schema's signed_log fields (bills, payments, credit line).")
@click.option("--class-weight", type=click.Choice(["none", "balanced"]), default="none", show_default=True,
              help="'none' keeps probabilities calibrated; imbalance is handled by the threshold rule.")
@click.option("--threshold-rule", type=click.Choice(["cost", "cost_empirical", "approval_rate"]), default="cost",
              show_default=True, help="cost: decline from cost-decline-good / (cost-default + cost-decline-good), "
              "the least expected cost for calibrated probabilities; cost_empirical: the least cost on the "
              "validation labels; approval_rate: approve that share of the validation rows.")
@click.option("--cost-default", type=FiniteRange(min=0, min_open=True), default=5.0, show_default=True,
              help="Cost of approving an applicant who defaults (cost rules).")
@click.option("--cost-decline-good", type=FiniteRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Cost of declining an applicant who would have repaid (cost rules).")
@click.option("--approval-rate", type=FiniteRange(0, 1, min_open=True, max_open=True), default=0.75,
              show_default=True, help="Share of applicants to approve (approval_rate rule).")
@audit_option
@data_file_options
@reports_errors
def train(data: Path, run_dir: Path, schema_path: Path | None, without: str, epochs: int | None, seed: int,
          ensemble: int | None, teacher: float, monotone: float | None, monotone_roles: str, monotone_scope: str,
          amounts: str, class_weight: str, threshold_rule: str, cost_default: float, cost_decline_good: float,
          approval_rate: float, audit_log: str | None) -> None:
    """Train the LSTM-CNN on labelled applicants and write RUN_DIR.

    Progress is shown per epoch; the same command and seed give the same model.
    """
    require_train_extra()
    from dataclasses import replace

    from loanscore.runtime.errors import SchemaError
    from loanscore.runtime.schema import Schema
    from loanscore.train.riskier import ROLES, named, riskier_steps
    from loanscore.train.threshold import ThresholdRule
    from loanscore.train.trainer import TrainConfig, train as run_training

    schema = Schema.load(schema_path) if schema_path else Schema.default()
    try:
        schema = schema.without(without.split(","))
    except SchemaError as exc:
        raise click.BadParameter(str(exc), param_hint="--without") from None
    roles = tuple(r.strip() for r in monotone_roles.split(",") if r.strip())
    if not roles or set(roles) - set(ROLES):
        raise click.BadParameter(f"give one or more of {', '.join(ROLES)}, comma-separated; got '{monotone_roles}'.",
                                 param_hint="--monotone-roles")
    if monotone and not riskier_steps(schema, roles):
        raise click.BadParameter(f"the schema has no column with role {named(roles)} for the penalty to score a "
                                 "riskier applicant with; give one that role, or leave --monotone at 0.",
                                 param_hint="--monotone")
    config = TrainConfig(seed=seed, class_weight=class_weight, amounts=amounts, teacher=teacher,
                         monotone_roles=roles, monotone_scope=monotone_scope,
                         threshold=ThresholdRule(threshold_rule, cost_default, cost_decline_good, approval_rate))
    if monotone is not None:
        config = replace(config, monotone=monotone)
    if epochs is not None:
        config = replace(config, network=replace(config.network, max_epochs=epochs))
    if ensemble is not None:
        config = replace(config, ensemble=ensemble)
    audit = open_audit(audit_log)
    run_training(data, run_dir, schema=schema, config=config)
    if audit is not None:  # the first link of a model's history: which data, which settings
        from loanscore.runtime.audit import file_digest, loanscore_version

        audit.append({"event": "train", "loanscore": loanscore_version(), "data": file_digest(data),
                      "run": str(run_dir.resolve()), "schema": schema.name,
                      "left_out": [c for c in without.split(",") if c], "config": config.to_dict(), "exit": 0})


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "model_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Model directory to write (model.onnx, manifest.json, golden.json, parity.json).")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help=f"CSV, workbook or JSON Lines to prove parity on (all its rows), {DEV_DATA_HINT}.")
@click.option("--tolerance", type=FiniteRange(min=0, min_open=True), default=1e-5, show_default=True,
              help="Fail when max |p_onnx - p_keras| exceeds this.")
@click.option("--cv-results", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON from benchmarks/quality.py for this configuration: its CV metrics go into the manifest.")
@master_scale_option
@audit_option
@data_file_options
@reports_errors
def export(run_dir: Path, model_dir: Path, data: Path | None, tolerance: float, cv_results: Path | None,
           master_scale: str | None, audit_log: str | None) -> None:
    """Convert RUN_DIR's model and preprocessing into one ONNX file, and prove parity.

    Nothing is written to --out unless parity holds on the golden cases and on --data. With --data the manifest
    records that population (counts per bin, and per grade of --master-scale) for `loanscore monitor`.
    """
    require_train_extra()
    from loanscore.export.exporter import export_run

    scale = load_master_scale(master_scale, data is not None, "--data")
    audit = open_audit(audit_log)
    export_run(run_dir, model_dir, data=data, tolerance=tolerance, cv_results=cv_results, scale=scale)
    if audit is not None:  # where a model came from, in the same log as every run that used it
        from loanscore.runtime.scorer import Scorer

        record_run(audit, "export", Scorer.load(model_dir), {"data": data} if data else {},
                   {"run": str(run_dir.resolve())}, 0)


@click.command()
@click.option("--rows", type=click.IntRange(1), default=20, show_default=True, help="How many applicants.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True, help="Seed of the generator.")
@click.option("--schema", "schema_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Schema file; default: the built-in Taiwan schema.")
@click.option("--label/--no-label", default=False, show_default=True, help="Include a generated label column.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="CSV to write.")
@reports_errors
def generate(rows: int, seed: int, schema_path: Path | None, label: bool, out: Path) -> None:
    """Write generated applicants (not real people) that follow a schema: for demos, tests and load tests."""
    from loanscore.runtime.schema import Schema
    from loanscore.train.synthetic import generate as make, write_csv

    schema = Schema.load(schema_path) if schema_path else Schema.default()
    write_csv(out, make(schema, rows, seed=seed, label=label))
    click.echo(f"wrote {rows} generated applicants to {out}", err=True)
