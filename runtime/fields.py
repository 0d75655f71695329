"""The input contract of a model, column by column: what a file to score must hold, from the model's own schema.

A branch filling in applicants, or an engineer wiring a system to the
model, needs the columns by name, what each holds, the values allowed and
what happens when one is missing. All of it is in the schema that the
manifest carries, the lender's own schema included, so it is read from there
rather than from a document that may describe another model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .schema import CategoricalField, Column, NumericField, Schema


@dataclass(frozen=True)
class Contract:
    """One column of an applicant file: its name and role, and what it may hold."""

    column: str
    role: str
    """``id``, ``field``, ``history`` or ``outcome``."""
    what: str
    allowed: str
    missing: str
    protected: bool = False
    channel: str = ""
    """A history column's channel (its months share what, allowed and missing)."""
    source: Column | None = None

    def to_dict(self) -> dict[str, Any]:
        c = self.source
        return {"column": self.column, "role": self.role, "what": self.what, "allowed": self.allowed,
                "missing": self.missing, "protected": self.protected, **({"channel": self.channel} if self.channel else {}),
                **({} if c is None else {"kind": c.kind, "min": c.min, "max": c.max, "min_exclusive": c.min_exclusive,
                                         "codes": list(c.codes), "labels": dict(c.labels)})}


def contract(schema: Schema) -> list[Contract]:
    """Every column of an applicant file, in the order a template lists them: the id, the model's fields and
    history months (oldest first), then the outcome the monitoring commands read."""
    columns = {c.name: c for c in schema.columns()}
    rows = []
    if schema.id:
        rows.append(Contract(schema.id, "id", "the applicant's id, copied to every output (not read by the model)",
                             "any text", "allowed"))
    for f in schema.fields:
        c = columns[f.name]
        rows.append(Contract(f.name, "field", _what(f), _allowed(c), _missing(c), f.protected, source=c))
    for h in schema.history:
        n = len(h.columns)
        for k, name in enumerate(h.columns, 1):
            c = columns[name]
            when = " (oldest)" if k == 1 else " (latest)" if k == n else ""
            what = f"{h.name}, month {k} of {n}{when}" + (f": {h.description}" if h.description else "")
            rows.append(Contract(name, "history", what, _allowed(c), _missing(c), channel=h.name, source=c))
    rows.append(Contract(schema.label, "outcome", "the outcome, 1 defaulted or 0 repaid: read by backtest, compare, "
                         "cutoffs, fairness, overrides and recalibrate; not when scoring", "0 or 1",
                         "allowed where not known yet (overrides); else the row is left out"))
    return rows


def blocks(rows: list[Contract]) -> list[list[Contract]]:
    """``rows`` as they are asked for or read: one column a block, a history channel's months together."""
    out: list[list[Contract]] = []
    for r in rows:
        if r.channel and out and out[-1][0].channel == r.channel:
            out[-1].append(r)
        else:
            out.append([r])
    return out


def _what(f: NumericField | CategoricalField) -> str:
    statement = f.reason[0] or f.reason[1]
    text = f.description or statement or ""
    return text + (" (protected characteristic)" if f.protected else "")


def values(c: Column | None) -> str:
    """The values a column takes, briefly: its codes with their labels, or its range (any text for a column the
    model does not read, ``None``: the id)."""
    if c is None:
        return "any text"
    if c.kind == "code":
        return ", ".join(f"{code} {c.labels[str(code)]}" if str(code) in c.labels else str(code) for code in c.codes)
    return c.domain()


def _allowed(c: Column) -> str:
    return values(c) + (" (another code is scored, with a warning)" if c.kind == "code" else "")


def _missing(c: Column) -> str:
    return "the row is rejected" if c.missing == "reject" else "filled in by the model (imputed)"


def template_header(schema: Schema) -> list[str]:
    """A blank applicant file's header: the id, if the schema has one, then the model's input columns."""
    return [*([schema.id] if schema.id else []), *schema.input_names]


__all__ = ["Contract", "blocks", "contract", "template_header", "values"]
