"""``loanscore report eda``: what is in a labelled applicant file, before any model.

Everything is driven by the schema: the fields, their codes and labels, and the
history channels with their roles (``status``, ``balance``, ``payment``), so a
lender's own file with other column names or a 12-month history works as is.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from loanscore.runtime.schema import Schema

from ._data import LabelledData, read_labelled
from .html import Report, new_figure, pct
from .slices import auc, code_label
from .sources import source_for

MAX_BINS = 8
"""Quantile bins per numeric field: enough to see a trend, each bin still large."""
DISCRETE_MAX = 12
"""A numeric field with at most this many distinct values is shown value by value."""
MAX_STATES = 12
"""Status values beyond this many distinct ones are grouped at the top end."""
TOP_SIGNALS = 6
PAYER, DEFAULTER = "#3b7dd8", "#d8553b"


def write_eda_report(data: str | Path, output: str | Path, schema: Schema | None = None) -> dict[str, Path]:
    """Analyse ``data`` (labelled CSV) and write ``output`` (HTML) with its figures and JSON."""
    schema = schema or Schema.default()
    d = read_labelled(data, schema)
    return build_eda_report(d, schema).write(output)


def build_eda_report(d: LabelledData, schema: Schema) -> Report:
    source = source_for(schema.name)
    report = Report(
        title=f"Exploratory analysis: {d.path.name}",
        subtitle=f"schema '{schema.name}', {len(d.y):,} labelled rows, label '{schema.label}'",
        footer=[source.credit if source else f"Data: {d.path.name} (schema '{schema.name}').",
                "Descriptive statistics only: associations in this file are not causes, and need not hold for future applicants."],
    )
    _overview(report, d, schema)
    _distributions(report, d, schema)
    bins = _default_by_bin(report, d, schema)
    for ch in schema.history:
        if ch.role == "status":
            _transitions(report, d, ch)
    _trajectories(report, d, schema)
    corr = _correlation(report, d, schema)
    _summary(report, d, schema, bins, corr)
    return report


# -- sections ----------------------------------------------------------------------


def _overview(report: Report, d: LabelledData, schema: Schema) -> None:
    n, defaults = len(d.y), int(d.y.sum())
    report.section("Overview")
    report.table(["", "value"], [
        ["rows read", d.rows_read],
        ["rows with a 0/1 label (analysed)", n],
        ["rows dropped: label not 0 or 1", d.bad_label_rows],
        ["defaults (label 1)", defaults],
        ["default rate", pct(defaults / n, 2)],
        ["input fields", len(schema.input_names)],
        ["history months", schema.months],
        ["rows the model would reject (invalid or required-but-missing value)", d.rejected_rows],
    ])
    report.heading("Missing, invalid and undocumented values")
    labels = {f.name: f.labels for f in schema.categorical}
    rows, issues = [], []
    for q in d.quality:
        if q.clean:
            continue
        undoc = ", ".join(f"{c} ({labels.get(q.name, {}).get(c, 'no label')}): {k:,}" for c, k in q.undocumented_codes.items())
        unknown = ", ".join(f"{c}: {k:,}" for c, k in q.unknown_codes.items())
        rows.append([q.name, q.missing, q.invalid, ", ".join(q.invalid_examples), undoc, unknown])
        issues.append({"field": q.name, "missing": q.missing, "invalid": q.invalid, "invalid_examples": q.invalid_examples,
                       "undocumented_codes": q.undocumented_codes, "unknown_codes": q.unknown_codes})
    if rows:
        report.table(["field", "missing", "invalid", "invalid examples", "undocumented codes (count)",
                      "codes not in the schema (count)"], rows)
        report.text("Invalid values break the schema's domain and are left out of every statistic below; "
                    "undocumented codes are listed by the schema but have no documented meaning; codes not in the "
                    "schema are scored by the runtime with a warning.", note=True)
    else:
        report.text("Every value is present and within the schema's domain; no undocumented codes.")
    report.data["overview"] = {"rows_read": d.rows_read, "rows": n, "bad_label_rows": d.bad_label_rows,
                               "defaults": defaults, "default_rate": defaults / n, "rejected_rows": d.rejected_rows,
                               "fields_with_issues": issues}


def _distributions(report: Report, d: LabelledData, schema: Schema) -> None:
    fields = [(f.name, "numeric", f.transform) for f in schema.numeric] + [(f.name, "code", None) for f in schema.categorical]
    if not fields:
        return
    report.section("Distributions by class")
    fig, axes = _grid(len(fields), width=11, row_height=2.9)
    for ax, (name, kind, transform) in zip(axes, fields):
        x = d.values[name]
        if kind == "numeric":
            v = x.to_numpy(np.float64)
            shown = _signed_log(v) if transform == "signed_log" else v
            finite = shown[np.isfinite(shown)]
            if finite.size == 0:
                ax.set_title(f"{name}: no valid values")
                continue
            edges = np.histogram_bin_edges(finite, bins=30)
            for cls, colour, lab in ((0, PAYER, "payers"), (1, DEFAULTER, "defaulters")):
                sel = shown[(d.y == cls) & np.isfinite(shown)]
                if sel.size:
                    ax.hist(sel, bins=edges, density=True, histtype="stepfilled", alpha=0.45, color=colour, label=lab)
            ax.set_xlabel(f"sign(x)·log10(1+|x|) of {name}" if transform == "signed_log" else name, fontsize=8)
            ax.set_ylabel("density", fontsize=8)
        else:
            labels = schema_labels(schema, name)
            codes = _codes_present(x)
            pos = np.arange(len(codes))
            for k, (cls, colour, lab) in enumerate(((0, PAYER, "payers"), (1, DEFAULTER, "defaulters"))):
                sel = x[d.y == cls]
                share = [(sel == c).mean() if len(sel) else 0.0 for c in codes]
                ax.bar(pos + (k - 0.5) * 0.4, share, width=0.4, color=colour, alpha=0.8, label=lab)
            ax.set_xticks(pos, [_short(code_label(labels, c) or "missing") for c in codes], fontsize=7, rotation=30, ha="right")
            ax.set_ylabel("share of class", fontsize=8)
        ax.set_title(name, fontsize=10)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7, loc="upper right")  # placed, not searched (loc="best" is slow on many rows)
    report.figure("distributions", fig, "Each field's distribution for payers (blue) and defaulters (red). Amount-like "
                  "fields are shown on the signed log scale the model uses; categorical fields as the share of each class.")


def _default_by_bin(report: Report, d: LabelledData, schema: Schema) -> list[dict]:
    fields = [f.name for f in schema.numeric] + [f.name for f in schema.categorical]
    fields += [ch.columns[-1] for ch in schema.history]  # the newest month of each channel
    report.section("Default rate by field")
    overall = float(d.y.mean())
    all_bins: list[dict] = []
    fig, axes = _grid(len(fields), width=11, row_height=2.9)
    for ax, name in zip(axes, fields):
        bins = bin_default_rates(d.values[name], d.y, categorical=name in {f.name for f in schema.categorical},
                                 labels=schema_labels(schema, name))
        for b in bins:
            b["field"] = name
        all_bins += bins
        pos = np.arange(len(bins))
        rates = [b["default_rate"] for b in bins]
        ax.bar(pos, rates, color=DEFAULTER, alpha=0.75)
        ax.axhline(overall, color="#52606d", ls="--", lw=1)
        for i, b in enumerate(bins):
            ax.text(i, rates[i], f"n={b['count']:,}", ha="center", va="bottom", fontsize=6, rotation=90 if len(bins) > 6 else 0)
        ax.set_xticks(pos, [_short(b["bin"]) for b in bins], fontsize=7, rotation=35, ha="right")
        ax.set_ylim(0, min(1.05, max(rates + [overall]) * 1.45 + 0.02))
        ax.set_title(name, fontsize=10)
        ax.set_ylabel("default rate", fontsize=8)
        ax.tick_params(labelsize=7)
    report.figure("default_rate_by_bin", fig, f"Default rate per bin (numeric fields: quantile bins; codes: one bar each), "
                  f"with the number of rows per bar; the dashed line is the overall rate {pct(overall)}. History channels "
                  "are shown for their most recent month.")
    report.details("Table: default rate by bin, with counts", ["field", "bin", "rows", "defaults", "default rate"],
                   [[b["field"], b["bin"], b["count"], b["defaults"], pct(b["default_rate"])] for b in all_bins])
    report.data["default_rate_by_bin"] = all_bins
    return all_bins


def bin_default_rates(x: pd.Series, y: np.ndarray, *, categorical: bool = False,
                      labels: dict[str, str] | None = None) -> list[dict]:
    """Rows, defaults and default rate per bin of ``x`` (missing/invalid values form their own bin)."""
    x = pd.Series(x).reset_index(drop=True)
    y = pd.Series(np.asarray(y)).reset_index(drop=True)
    missing = x.isna()
    if categorical or x.dropna().nunique() <= DISCRETE_MAX:
        keys = x.map(lambda v: code_label(labels or {}, v))
        order = [code_label(labels or {}, c) for c in _codes_present(x[~missing])]
    else:
        xv = x.astype(np.float64)
        codes = pd.qcut(xv, q=MAX_BINS, duplicates="drop", labels=False)
        # label each bin by the values it actually holds, not by qcut's padded edges
        span = xv.groupby(codes).agg(["min", "max"])
        names = {k: f"{_fmt(r['min'])} to {_fmt(r['max'])}" for k, r in span.iterrows()}
        keys = codes.map(names).astype(object)
        order = [names[k] for k in sorted(names)]
    keys = keys.where(~missing, "missing / invalid")
    if missing.any():
        order.append("missing / invalid")
    out = []
    for k in order:
        m = (keys == k).to_numpy()
        if m.any():
            out.append({"bin": k, "count": int(m.sum()), "defaults": int(y[m].sum()), "default_rate": float(y[m].mean())})
    return out


def _transitions(report: Report, d: LabelledData, ch) -> None:
    report.section(f"Repayment-status transitions: {ch.name}")
    S = d.values[list(ch.columns)].to_numpy(np.float64)
    states = sorted(np.unique(S[np.isfinite(S)]).tolist())
    if len(states) > MAX_STATES:  # group the rare top end so the heatmap stays readable
        cap = states[MAX_STATES - 1]
        S = np.where(S > cap, cap, S)
        states = states[:MAX_STATES]
        top = f"{_fmt(cap)}+"
    else:
        top = None
    index = {s: i for i, s in enumerate(states)}
    k = len(states)
    counts = np.zeros((k, k), dtype=np.int64)
    for t in range(S.shape[1] - 1):
        a, b = S[:, t], S[:, t + 1]
        ok = np.isfinite(a) & np.isfinite(b)
        ia = np.array([index[v] for v in a[ok]], dtype=np.int64)
        ib = np.array([index[v] for v in b[ok]], dtype=np.int64)
        np.add.at(counts, (ia, ib), 1)
    rowsum = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rowsum, out=np.zeros_like(counts, dtype=np.float64), where=rowsum > 0)
    names = [_fmt(s) if not (top and s == states[-1]) else top for s in states]
    fig = new_figure(7.5, 6.2)
    ax = fig.add_subplot()
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            if counts[i, j]:
                ax.text(j, i, f"{share[i, j]:.0%}" if share[i, j] >= 0.005 else "<1%", ha="center", va="center",
                        fontsize=7, color="white" if share[i, j] > 0.6 else "#1f2933")
    ax.set_xticks(range(k), names, fontsize=8)
    ax.set_yticks(range(k), [f"{n}  (n={int(r):,})" for n, r in zip(names, rowsum.ravel())], fontsize=8)
    ax.set_xlabel("status the next month")
    ax.set_ylabel("status this month (month-pairs counted)")
    ax.set_title(f"{ch.name}: month-to-month transitions over {len(ch.columns)} months", fontsize=10)
    fig.colorbar(im, ax=ax, shrink=0.8, label="share of the row")
    if ch.description:
        report.text(f"Status codes: {ch.description}.")
    report.figure(f"transitions_{_slug(ch.name)}", fig, f"Share of clients moving from each status (row) to each status "
                  f"the following month (column), pooled over the {len(ch.columns) - 1} consecutive month pairs "
                  f"{ch.columns[0]} → {ch.columns[-1]}.")
    # default rate by the newest two months' status, which is where the signal concentrates
    report.data.setdefault("transitions", {})[ch.name] = {"states": names, "counts": counts.tolist()}


def _trajectories(report: Report, d: LabelledData, schema: Schema) -> None:
    channels = [ch for ch in schema.history if ch.role in ("balance", "payment")]
    if not channels:
        return
    report.section("Bill and payment trajectories")
    fig, axes = _grid(len(channels), width=11, row_height=3.6, cols=min(2, len(channels)))
    out: dict[str, dict[str, Any]] = {}
    for ax, ch in zip(axes, channels):
        M = d.values[list(ch.columns)].to_numpy(np.float64)
        months = np.arange(len(ch.columns))
        out[ch.name] = {}
        for cls, colour, lab in ((0, PAYER, "payers"), (1, DEFAULTER, "defaulters")):
            sel = M[d.y == cls]
            if not len(sel):
                continue
            with np.errstate(all="ignore"):
                q25, med, q75 = (np.nanpercentile(sel, q, axis=0) if np.isfinite(sel).any() else np.full(len(months), np.nan)
                                 for q in (25, 50, 75))
            ax.plot(months, med, marker="o", color=colour, label=f"{lab}: median")
            ax.fill_between(months, q25, q75, color=colour, alpha=0.12, label=f"{lab}: 25th-75th percentile")
            out[ch.name][lab] = {"median": med.tolist(), "p25": q25.tolist(), "p75": q75.tolist()}
        ax.set_xticks(months, list(ch.columns), fontsize=7, rotation=30 if len(months) > 6 else 0)
        ax.set_title(f"{ch.name} ({ch.role})", fontsize=10)
        ax.set_xlabel("month, oldest → newest", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper left")
    report.figure("trajectories", fig, "Median monthly amount (line) and interquartile range (band) of defaulters and payers.")
    report.data["trajectories"] = out


def _correlation(report: Report, d: LabelledData, schema: Schema) -> pd.DataFrame:
    report.section("Correlations")
    numeric = [c.name for c in schema.columns() if not c.is_string]
    frame = d.values[numeric].astype(np.float64).copy()
    frame[schema.label] = d.y
    frame = frame.loc[:, frame.nunique() > 1]
    corr = frame.corr(method="spearman")
    k = len(corr)
    size = max(6.0, min(13.0, 0.38 * k + 2))
    fig = new_figure(size, size * 0.85)
    ax = fig.add_subplot()
    im = ax.imshow(corr.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(k), corr.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(k), corr.index, fontsize=7)
    if k <= 26:
        for i in range(k):
            for j in range(k):
                v = corr.iat[i, j]
                if np.isfinite(v):
                    ax.text(j, i, f"{v:.1f}".replace("0.", ".").replace("-.0", ".0"), ha="center", va="center", fontsize=5,
                            color="white" if abs(v) > 0.6 else "#1f2933")
    fig.colorbar(im, ax=ax, shrink=0.7, label="Spearman correlation")
    report.figure("correlation", fig, "Spearman (rank) correlation between every numeric input and the label "
                  f"'{schema.label}' (last row/column); rank correlation is robust to the heavy tails of amounts.")
    report.data["correlation"] = {"columns": list(corr.columns), "matrix": corr.to_numpy().tolist()}
    return corr


def _summary(report: Report, d: LabelledData, schema: Schema, bins: list[dict], corr: pd.DataFrame) -> None:
    report.section("Strongest signals")
    signals = field_signals(d, schema)
    overall = float(d.y.mean())
    lines = []
    for s in signals[:TOP_SIGNALS]:
        direction = "higher values, more defaults" if s["direction"] > 0 else "higher values, fewer defaults"
        if s["categorical"]:
            direction = "differs by code"
        lines.append(f"{s['field']}: ROC AUC on its own {s['auc']:.3f} ({direction}).")
    big = [b for b in bins if b["count"] >= max(30, 0.01 * len(d.y)) and b["bin"] != "missing / invalid"]
    risky = sorted(big, key=lambda b: -b["default_rate"])[:3]
    for b in risky:
        lines.append(f"Riskiest group: {b['field']} = {b['bin']}: default rate {pct(b['default_rate'])} over "
                     f"{b['count']:,} rows ({b['default_rate'] / overall:.1f}× the overall {pct(overall)}).")
    if schema.label in corr.columns:
        pairs = []
        cols = [c for c in corr.columns if c != schema.label]
        for i, a in enumerate(cols):
            for b in cols[i + 1:]:
                if np.isfinite(corr.at[a, b]):
                    pairs.append((abs(corr.at[a, b]), a, b, corr.at[a, b]))
        for _, a, b, v in sorted(pairs, reverse=True)[:2]:
            lines.append(f"Most correlated inputs: {a} and {b} (Spearman {v:.2f}).")
    flagged = [q for q in d.quality if q.undocumented_codes or q.unknown_codes]
    for q in flagged:
        n = sum(q.undocumented_codes.values()) + sum(q.unknown_codes.values())
        lines.append(f"{q.name}: {n:,} rows carry undocumented or unlisted codes "
                     f"({', '.join(list(q.undocumented_codes) + list(q.unknown_codes))}).")
    report.bullets(lines)
    report.text("ROC AUC on its own: how well the field alone ranks defaulters above payers (0.5 = no signal); "
                "a categorical field is scored by its codes' default rates in this file, so its AUC is optimistic.",
                note=True)
    report.table(["field", "AUC alone", "Spearman with label", "valid rows"],
                 [[s["field"], s["auc"], s["spearman"], s["n"]] for s in signals])
    report.data["signals"] = signals
    report.data["summary"] = lines


def field_signals(d: LabelledData, schema: Schema) -> list[dict]:
    """Every input's univariate ROC AUC (max of AUC and 1-AUC) and Spearman correlation with the label, strongest first."""
    cats = {f.name for f in schema.categorical}
    out = []
    for c in schema.columns():
        x = d.values[c.name]
        ok = x.notna().to_numpy()
        if ok.sum() < 2 or len(np.unique(d.y[ok])) < 2:
            continue
        y = d.y[ok]
        if c.name in cats:
            rates = pd.Series(y).groupby(x[ok].astype(str).to_numpy()).mean()
            score = x[ok].astype(str).map(rates).to_numpy(np.float64)
        else:
            score = x[ok].to_numpy(np.float64)
        a = auc(y, score)
        rho = pd.Series(score).corr(pd.Series(y.astype(float)), method="spearman")
        if math.isnan(a):
            continue
        out.append({"field": c.name, "auc": max(a, 1 - a), "direction": 1 if a >= 0.5 else -1,
                    "spearman": None if pd.isna(rho) else float(rho), "n": int(ok.sum()), "categorical": c.name in cats})
    return sorted(out, key=lambda s: -s["auc"])


# -- helpers -----------------------------------------------------------------------


def schema_labels(schema: Schema, name: str) -> dict[str, str]:
    for f in schema.categorical:
        if f.name == name:
            return f.labels
    return {}


def _codes_present(x: pd.Series) -> list:
    vals = [v for v in pd.unique(x.dropna())]
    try:
        return sorted(vals, key=float)
    except (TypeError, ValueError):
        return sorted(vals, key=str)


def _grid(n: int, *, width: float, row_height: float, cols: int = 3):
    cols = max(1, min(cols, n))
    rows = math.ceil(n / cols)
    fig = new_figure(width, row_height * rows)
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(n)]
    return fig, axes


def _signed_log(v: np.ndarray) -> np.ndarray:
    return np.sign(v) * np.log10(1 + np.abs(v))


def _fmt(x: float) -> str:
    x = float(x)
    if abs(x) >= 1e6:
        return f"{x / 1e6:.3g}M"
    if abs(x) >= 1e3:
        return f"{x / 1e3:.3g}k"
    return f"{x:.0f}" if x == round(x) else f"{x:.3g}"


def _short(text: str, n: int = 16) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name).strip("_").lower() or "channel"
