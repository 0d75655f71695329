"""``loanscore recalibrate``: the same model, its probabilities refitted to a lender's own data.

A model trained on one portfolio ranks applicants elsewhere about as well, but
its probabilities carry that portfolio's default rate (the Taiwan data's 22 %).
When ``loanscore backtest`` finds the probabilities off on known outcomes, the
first remedy is to recalibrate, not to retrain. Three maps on the model's own
log-odds, all increasing, so the ranking (ROC AUC, KS) stays exactly as it was:

* ``platt``: ``P' = sigmoid(a * logit(P) + b)`` fitted on outcomes; fixes both
  the level and how spread out the probabilities are;
* ``intercept``: ``a = 1``, ``b`` the maximum-likelihood shift on outcomes
  (the mean of P' is then the observed default rate); one parameter, so it
  follows a small file's noise less;
* ``default_rate``: ``a = 1``, ``b`` such that the mean of P' over the file's
  applicants is a rate the lender states (calibration to its long-run default
  rate, its central tendency); the applicants need no outcomes.

It is written into the graph, not applied beside it: the exported model ends
in ``sigmoid(scale * mean logit + shift)`` (the training's own Platt layer),
and ``a * (scale * z + shift) + b`` is again such a layer, so the new model
has the same operators and size, and the runtime, the Node example and any
other consumer of the ONNX file need no change. The golden cases are mapped
the same way, parity with the map is checked on every scored row, and
nothing is written unless it holds.

Threshold: a ``cost`` rule's threshold follows from the costs alone, so it is
kept and decisions now follow the recalibrated probabilities; any other
rule's threshold is mapped, so that exactly the same applicants are declined
as before. The population reference for ``loanscore monitor`` becomes this
file's. Figures on the file are in-sample for the calibration (the map was
fitted on it); its ranking figures are not affected.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from loanscore.runtime.backtest import outcome_errors, outcomes
from loanscore.runtime.errors import InputError, ModelError
from loanscore.runtime.integrity import manifest_sha256, sha256_file
from loanscore.runtime.model import GOLDEN, MANIFEST, PARITY, PROBABILITY, Model
from loanscore.runtime.performance import brier_score, expected_calibration_error, roc_auc
from loanscore.runtime.scorer import Scorer
from loanscore.runtime.stability import Reference, recorded_scale
from loanscore.runtime.staging import staged
from loanscore.runtime.stream import scored_batches
from loanscore.runtime.readers import open_reader
from loanscore.runtime.tabular import DATA_SHEET
from loanscore.runtime.verify import verify_model
from loanscore.train.calibration import mapped, platt, shift_to_rate, standard_errors

from .model_card import write_model_card

METHODS = ("platt", "intercept", "default_rate")
MIN_EACH = 50
"""Defaults and repayments each needed to fit on outcomes: a map from fewer would follow the file's noise."""
MIN_ROWS = 100
"""Applicants needed to shift to a stated default rate: fewer would make the file's mix, not the lender's, set it."""


@dataclass(frozen=True)
class Recalibration:
    model_dir: Path
    method: str
    scale: float
    shift: float
    standard_errors: dict[str, float]
    rows: int
    scored: int
    rejected: list[tuple[int | None, str]]
    before: dict[str, float]
    after: dict[str, float]
    threshold: dict[str, Any]
    max_abs_diff: float
    probabilities: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))
    """The scored rows' probabilities before the map (for ``--plot``)."""
    outcomes: np.ndarray | None = field(repr=False, default=None)
    """The scored rows' outcomes, NaN where blank (not known yet)."""
    unknown: int = 0
    """Scored rows whose outcome is blank: in the population reference and the decline rate, not in the fit."""


def recalibrate(model_dir: str | Path | None, data: str | Path, out: str | Path, *, outcome: str | None = None,
                method: str = "platt", default_rate: float | None = None,
                progress: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True)) -> Recalibration:
    """Fit ``method``'s map on ``data`` and write the recalibrated model to ``out`` (atomically).

    ``platt`` and ``intercept`` read outcomes; ``default_rate`` reads only applicants and needs ``default_rate``.
    The graph must compute the fitted map within the golden cases' tolerance (the one it was exported with).
    """
    if method not in METHODS:
        raise InputError(f"Unknown recalibration method {method!r}; choose one of {', '.join(METHODS)}.")
    if (method == "default_rate") != (default_rate is not None):
        raise InputError("A stated default rate goes with the default_rate method, and only with it.")
    if default_rate is not None and not 0 < default_rate < 1:
        raise InputError(f"The default rate must lie strictly between 0 and 1 (0.08 for 8 %), not {default_rate}.")
    model = Model.load(model_dir)
    scorer = Scorer(model)
    schema = model.schema
    outcome = (outcome or schema.label) if default_rate is None else None  # outcomes, or a stated rate
    try:
        reader = open_reader(data, [*schema.input_names, *([outcome] if outcome is not None else [])],
                             numbers=schema.number_names, sheet=DATA_SHEET.get())
    except InputError as exc:
        if outcome is None or outcome not in str(exc):
            raise
        raise InputError(f"{exc} Recalibrating reads each applicant's outcome (1 defaulted, 0 repaid) from "
                         f"{outcome}; name another column with --outcome, or state the lender's default rate "
                         "with --default-rate.") from None
    ys, ps, feeds, rejected, rows = [], [], [], [], 0
    more = None
    if outcome is not None:
        column = outcome
        more = lambda c: outcome_errors(c.columns[column], column, c.first_row, blank=True)  # noqa: E731
    try:
        for batch in scored_batches(scorer, reader, more_errors=more):
            rows += batch.chunk.n
            rejected += batch.rejected
            if outcome is not None:
                ys.append(outcomes(batch.chunk.columns[outcome])[batch.keep])
            ps.append(batch.probability)
            feeds.append(batch.feeds)
    finally:
        reader.close()
    p = np.concatenate(ps) if ps else np.empty(0)
    y = (np.concatenate(ys) if ys else np.empty(0)) if outcome is not None else None
    if y is None:
        unknown, fit_p, fit_y = 0, p, None
        basis = f"{len(p):,} applicants and a default rate of {default_rate:.2%}"
    else:
        known = ~np.isnan(y)
        unknown, fit_p, fit_y = int(len(p) - known.sum()), p[known], y[known]
        basis = f"{int(known.sum()):,} rows with an outcome ({int(np.nansum(y)):,} defaults)"
    scale, shift, errors = _fit(method, fit_p, fit_y, default_rate, data, unknown)
    progress(f"{method} on {basis}: P' = sigmoid({scale:.4f} * logit(P) {shift:+.4f})")

    out = Path(out)
    with staged(out) as staging:
        graph = onnx.load(model.directory / model.manifest["model_file"])
        _rescale_output(graph, scale, shift)
        onnx.save(graph, staging / model.manifest["model_file"])
        source = {"file": Path(data).name, "sha256": sha256_file(Path(data)), "rows": rows, "scored": len(p),
                  "method": method,
                  **({"defaults": int(np.nansum(y)), "with_outcome": len(p) - unknown} if y is not None
                     else {"target_rate": default_rate}),
                  **({"standard_errors": errors} if errors else {})}
        manifest, threshold = _manifest(model.manifest, staging / model.manifest["model_file"], scale, shift, source)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        golden = json.loads((model.directory / GOLDEN).read_text("utf-8"))
        tolerance = float(golden["tolerance"])
        for case in golden["cases"]:
            case["probability"] = float(mapped(np.array([case["probability"]]), scale, shift)[0])
        golden["note"] += f" Recalibrated: sigmoid({scale:.6g} * logit(p) + {shift:.6g}) of the exported probability."

        inputs = {c: np.concatenate([f[c] for f in feeds]) for c in schema.input_names}
        p_new = Model.load(staging).run(inputs)[0].reshape(-1).astype(np.float64)
        diff = float(np.max(np.abs(p_new - mapped(p, scale, shift))))
        if not diff <= tolerance:
            raise ModelError(f"The recalibrated graph does not compute the fitted map: max |diff| {diff:.3g} on "
                             f"{len(p):,} rows (tolerance {tolerance:g}); nothing was written.")
        after = mapped(p, scale, shift)
        manifest["recalibrations"][-1].update(
            before=_figures(y, p, model.threshold, default_rate),
            after=_figures(y, after, threshold["value"], default_rate),
            max_abs_diff=diff)
        manifest["population"] = Reference.build(
            schema.columns(), inputs, p_new, threshold["value"],
            {"file": source["file"], "sha256": source["sha256"], "rows": len(p), "training_data": False,
             "recorded": "at recalibration"}, recorded_scale(model.manifest)).to_dict()
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        golden["manifest_sha256"] = manifest_sha256(manifest)  # the new manifest: verify checks it
        (staging / GOLDEN).write_text(json.dumps(golden, indent=1) + "\n")
        exported = model.directory / PARITY
        parity = json.loads(exported.read_text("utf-8")) if exported.exists() else {}
        parity = {"recalibration": {"file": source["file"], "n": len(p), "max_abs_diff": diff, "tolerance": tolerance,
                                    "against": "sigmoid(scale * logit(p) + shift) of the model before"},
                  **({"export": parity} if parity else {})}
        (staging / PARITY).write_text(json.dumps(parity, indent=2) + "\n")
        verify_model(staging)
        write_model_card(staging, name=out.name)
    record = manifest["recalibrations"][-1]
    return Recalibration(out, method, scale, shift, errors, rows, len(p), rejected, record["before"], record["after"],
                         threshold, diff, p, y, unknown)


def _fit(method: str, p: np.ndarray, y: np.ndarray | None, rate: float | None, data: str | Path,
         unknown: int = 0) -> tuple[float, float, dict[str, float]]:
    """``(scale, shift, standard errors)`` of ``method``'s map on the rows with an outcome (``unknown`` more had
    none); refuses a file too small or ranked backwards."""
    if y is None:
        assert rate is not None, "recalibrating needs outcomes or a default rate"
        if len(p) < MIN_ROWS:
            raise InputError(f"{data} has {len(p):,} scorable applicants; shifting to a default rate needs at least "
                             f"{MIN_ROWS}.")
        return 1.0, shift_to_rate(p, rate), {}
    defaults = int(y.sum())
    if min(defaults, len(y) - defaults) < MIN_EACH:
        raise InputError(f"{data} has {defaults:,} defaults and {len(y) - defaults:,} repayments among its "
                         f"{len(y):,} scorable rows with an outcome"
                         + (f" ({unknown:,} more have none yet)" if unknown else "")
                         + f"; recalibrating on outcomes needs at least {MIN_EACH} of each. "
                         "With fewer, state the lender's long-run default rate instead (--default-rate).")
    auc = roc_auc(y, p)
    scale, shift = platt(p, y) if method == "platt" else (1.0, shift_to_rate(p, float(y.mean())))
    if auc < 0.5 or scale <= 0:
        raise InputError(f"On {data} the model ranks applicants the wrong way round (ROC AUC {auc:.3f}): higher "
                         "probabilities went with fewer defaults. Check the outcome column (1 defaulted, 0 repaid) "
                         "before recalibrating; a model this far off needs retraining, not recalibration.")
    return scale, shift, standard_errors(p, scale, shift, slope=method == "platt")


def _rescale_output(model: onnx.ModelProto, scale: float, shift: float) -> None:
    """Turn the graph's last ``sigmoid(z * w + c)`` into ``sigmoid(z * (scale * w) + (scale * c + shift))``."""
    graph = model.graph
    producer = {o: n for n in graph.node for o in n.output}
    inits = {i.name: i for i in graph.initializer}
    node = producer.get(PROBABILITY)
    while node is not None and node.op_type == "Identity":
        node = producer.get(node.input[0])
    add = producer.get(node.input[0]) if node is not None and node.op_type == "Sigmoid" else None
    matmul = next((producer.get(i) for i in (add.input if add is not None and add.op_type == "Add" else ())
                   if producer.get(i) is not None and producer[i].op_type == "MatMul"), None)
    if add is None or matmul is None:
        raise ModelError("The model's output is not the sigmoid of an affine map (the exported Platt layer), so it "
                         "cannot be recalibrated in place; re-export it with this version of loanscore.")
    weight = next(i for i in matmul.input if i in inits)
    bias = next(i for i in add.input if i in inits)
    uses = {name: sum(name in n.input for n in graph.node) for name in (weight, bias)}
    for node_, name, value in ((matmul, weight, lambda w: scale * w), (add, bias, lambda b: scale * b + shift)):
        old = numpy_helper.to_array(inits[name])
        new = numpy_helper.from_array(value(old.astype(np.float64)).astype(old.dtype),
                                      name if uses[name] == 1 else f"{name}_recalibrated")
        if uses[name] == 1:
            graph.initializer.remove(inits[name])
        else:  # shared with another node: give this one its own copy
            node_.input[list(node_.input).index(name)] = new.name
        graph.initializer.append(new)


def _manifest(manifest: dict, onnx_path: Path, scale: float, shift: float, source: dict) -> tuple[dict, dict]:
    out = json.loads(json.dumps(manifest))
    threshold = dict(out["threshold"])
    old_value = float(threshold["value"])
    if threshold.get("rule") == "cost":
        how = "kept: a cost rule's threshold follows from the costs; decisions follow the recalibrated probabilities"
    else:
        threshold["value"] = float(mapped(np.array([old_value]), scale, shift)[0])
        how = (f"mapped from {old_value:.6g}: the {threshold.get('rule')} rule's threshold moves with the "
               "probabilities, so the same applicants are declined")
    threshold["recalibrated"] = how
    out["threshold"] = threshold
    out.update(sha256=sha256_file(onnx_path), created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    out.setdefault("recalibrations", []).append({
        **source, "scale": scale, "shift": shift, "from_sha256": manifest["sha256"], "threshold": how})
    return out, threshold


def _figures(y: np.ndarray | None, p: np.ndarray, threshold: float, rate: float | None) -> dict[str, float | None]:
    """Calibration on the rows with an outcome (all, for a stated rate); the decline rate on every scored row."""
    decline = float(np.mean(p >= threshold))
    if y is None:
        return {"mean_probability": float(p.mean()), "decline_rate": decline, "target_rate": rate}
    known = ~np.isnan(y)
    y, p = y[known], p[known]
    return {"mean_probability": float(p.mean()), "decline_rate": decline, "default_rate": float(y.mean()),
            "brier": brier_score(y, p), "ece": expected_calibration_error(y, p)}

