"""Reason statements: what a reason code says to the applicant, in the lender's words.

A reason names a field or history channel (``repayment_status +0.213``); an
adverse-action notice or a clerk's screen needs a sentence ("Late repayments in
recent months"). The schema's ``reason`` entries give each field its statement,
so they travel in the model's manifest; a statements file given when scoring
replaces them all, for another language or the lender's own reason codes,
without training or exporting again.

Whether the applicant's value is above or below the typical applicant's picks
between a ``higher`` and a ``lower`` statement. For a history channel that is
the sign of the mean difference over the months, on the scale the model reads
(after ``signed_log``), so that one very large amount does not outweigh several
months; where the differences cancel out, the largest one decides.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .errors import SchemaError
from .schema import NO_STATEMENT, HistoryChannel, NumericField, Schema, Statement
from .schema import read_settings, statement_from_data

Statements = Mapping[str, Statement]
"""Each field's or history channel's statement, by name; a name not in it has none."""


def schema_statements(schema: Schema) -> dict[str, Statement]:
    """The statements the schema (and so the model's manifest) words."""
    return {e.name: e.reason for e in schema.entries if e.reason != NO_STATEMENT}


def load_statements(path: str | Path, schema: Schema) -> dict[str, Statement]:
    """Read a statements file (TOML or JSON): each key a field or channel of ``schema``, each value as the
    schema's ``reason`` takes it. It replaces the model's statements: a name it leaves out has none."""
    path = Path(path)
    data = read_settings(path, "statements file")
    if not isinstance(data, dict):
        raise SchemaError(f"Statements file {path}: expected a table of field names, got {type(data).__name__}.")
    codes = [f.name for f in schema.categorical]
    known = [*(f.name for f in schema.numeric), *codes, *(h.name for h in schema.history)]
    unknown = [name for name in data if name not in known]
    if unknown:
        raise SchemaError(
            f"Statements file {path} words {', '.join(map(repr, unknown))}, which the model does not have; "
            f"its fields and history channels are {', '.join(known)}."
        )
    out = {name: statement_from_data(value, f"Statements file {path}: {name}", directional=name not in codes)
           for name, value in data.items()}
    return {name: s for name, s in out.items() if s != NO_STATEMENT}


def directions(schema: Schema, typical: Mapping[str, Any], feeds: Mapping[str, np.ndarray],
               only: Collection[str] | None = None) -> dict[str, np.ndarray]:
    """For each number and history channel (or those named in ``only``), per row of ``feeds``: +1 above the
    typical applicant, -1 below, 0 neither (equal, or missing). A code is neither, so it has no entry."""
    out: dict[str, np.ndarray] = {}
    entries: list[NumericField | HistoryChannel] = [*schema.numeric, *schema.history]
    for entry in entries if only is None else [e for e in entries if e.name in only]:
        names = entry.columns if isinstance(entry, HistoryChannel) else (entry.name,)
        x = np.concatenate([feeds[c] for c in names], axis=1, dtype=np.float64)
        t = np.array([typical[c] for c in names], dtype=np.float32).astype(np.float64)  # as the graph reads it
        if entry.transform == "signed_log":
            x, t = np.sign(x) * np.log1p(np.abs(x)), np.sign(t) * np.log1p(np.abs(t))
        d = x - t
        d[np.isnan(d)] = 0.0  # a missing month is no difference
        way = np.sign(d.sum(axis=1))
        tied = np.flatnonzero(way == 0)  # e.g. statuses -2, -1, +3 against 0, 0, 0: the largest difference decides
        if len(tied):
            last = d.shape[1] - 1 - np.argmax(np.abs(d[tied, ::-1]), axis=1)  # the newest of equally large ones
            way[tied] = np.sign(d[tied, last])
        out[entry.name] = way.astype(np.int8)
    return out


def wording(statement: Statement, direction: int, name: str) -> str:
    """The statement for a value above (+1) or below (-1) typical; the field's name where none is worded."""
    higher, lower = statement
    text = higher if direction > 0 else lower if direction < 0 else higher if higher == lower else ""
    return text or name


def statements_toml(schema: Schema, statements: Statements, heading: str) -> str:
    """``statements`` as a statements file (TOML) to edit: every field and channel of ``schema``, its
    description as a comment, one without a statement commented out. ``heading`` opens it as a comment."""
    quote = functools.partial(json.dumps, ensure_ascii=False)  # a JSON string is a TOML basic string
    directional: list[NumericField | HistoryChannel] = [*schema.numeric, *schema.history]
    lines = [f"# {line}".rstrip() for line in heading.splitlines()]
    lines += ["", "# Codes: one statement each."]
    for f in schema.categorical:
        text = statements.get(f.name, NO_STATEMENT)[0]
        lines.append(f"{'' if text else '# '}{_key(f.name)} = {quote(text)}{_comment(f.description)}")
    lines += ["", "# Numbers and history channels: `higher` when the applicant's value is above the typical",
              "# applicant's, `lower` when below (a history channel: its months taken together)."]
    for e in directional:
        higher, lower = statements.get(e.name, NO_STATEMENT)
        lines += ["", f"{'' if higher or lower else '# '}[{_key(e.name)}]{_comment(e.description)}"]
        lines += [f"{'' if text else '# '}{key} = {quote(text)}" for key, text in (("higher", higher), ("lower", lower))]
    return "\n".join(lines) + "\n"


def _key(name: str) -> str:
    """A TOML key: bare where it may be, else quoted."""
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name, ensure_ascii=False)


def _comment(description: str) -> str:
    return f"  # {' '.join(description.split())}" if description else ""
