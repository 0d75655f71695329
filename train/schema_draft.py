"""A first schema for a lender's own columns, drafted from their labelled data.

Writing a schema by hand means listing every monthly column, oldest first, and
each field's codes and range. The file shows most of it: columns numbered
alike are a monthly history, a few whole numbers are codes, a column of 0s and
1s is the outcome. What the file cannot show (which way the months are
numbered, what the law protects, what a valid application may hold beyond the
data) is guessed and marked for review in the TOML written.
"""

from __future__ import annotations

import json
import math
import re
import textwrap
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from loanscore.runtime.errors import InputError
from loanscore.runtime.schema import Schema
from loanscore.runtime.validate import MISSING_TOKENS

from .data import read_text_frame

Numbered = Literal["auto", "oldest-first", "newest-first"]
RECENCY = 0.6
"""How strongly, as a rank correlation averaged over the channels, the months' separation of defaulters must fall
(or rise) with their number for ``numbered="auto"`` to read the order from the data."""

MOST_CODES = 50
"""A text column with more distinct values than this is free text (names, addresses), not codes."""
MOST_STRAYS = 0.05
"""A column whose values are numbers but for at most this share is a column of numbers with typos to fix."""
MOST_NUMBER_CODES = 12
"""Whole numbers with at most this many distinct values are codes (education, housing), not quantities."""
AMOUNT = 10_000
FLOAT32_MAX = float(np.finfo(np.float32).max)
"""Values this large are money: a signed log tames their tail, and their range gets a factor 10 of headroom."""

_LABEL = re.compile(r"default|bad|label|target|outcome|delinq|charge|went|y$", re.I)
_ID = re.compile(r"(^|[^a-z])(id|no|nr|number|key|ref|account|application)$", re.I)
_PROTECTED = frozenset({"sex", "gender", "age", "marital", "marriage", "married", "race", "ethnicity", "ethnic",
                        "religion", "nationality", "disability", "pregnancy"})
"""Words in a column's name that suggest a characteristic credit law protects (ECOA's list, and the EU's)."""
_LIMIT = re.compile(r"limit|credit_?line|line_?of_?credit", re.I)
_STATUS = re.compile(r"stat|pay|arrear|delinq|dpd|late|due|bucket", re.I)
_BALANCE = re.compile(r"bill|bal|owe|outstand|debt|statement|exposure", re.I)
_PAYMENT = re.compile(r"pay|paid|instal", re.I)
_NUMBERED = re.compile(r"^(.*?)(\d+)$")
_WORDED = {
    "status": {"higher": "Late repayments in recent months", "lower": "Little recent use of credit"},
    "balance": {"higher": "High balances owed in recent months", "lower": "Low or credit balances in recent months"},
    "payment": {"higher": "Large payments in recent months", "lower": "Small payments in recent months"},
    "credit_limit": {"higher": "High credit line", "lower": "Low credit line"},
    "age": {"higher": "Age: older than the typical applicant", "lower": "Age: younger than the typical applicant"},
}
"""What a reason code on a field of each role says (the built-in schema's words); other fields say their name."""


@dataclass(frozen=True)
class Draft:
    schema: dict[str, Any]
    """What :meth:`Schema.from_dict` takes."""
    text: str
    """The schema as TOML, each entry with what the data showed and what to review."""
    notes: tuple[str, ...]
    """What the person should check before training, in a sentence each."""


@dataclass(frozen=True)
class _Profile:
    name: str
    text: pd.Series
    numbers: pd.Series | None
    """The values that are numbers, where (nearly) every value is one: see :data:`MOST_STRAYS`."""
    missing: int
    strays: pd.Series
    """In a column of numbers, the values that are not numbers (a typo, "12%"), by row index."""

    @property
    def values(self) -> pd.Series:
        return self.text[self.text != ""]

    @property
    def whole(self) -> bool:
        return self.numbers is not None and bool((self.numbers.dropna() % 1 == 0).all())


def draft_schema(path: str | Path, *, label: str | None = None, id_column: str | None = None,
                 numbered: Numbered = "oldest-first", name: str | None = None) -> Draft:
    """Draft a schema from ``path`` (a labelled CSV, workbook or JSON Lines). ``numbered`` says whether columns
    numbered 1, 2, ... run from the oldest month (``arrears_m01`` … ``arrears_m12``) or from the newest (Taiwan's
    ``PAY_AMT1`` is the latest month); ``"auto"`` reads it from the data (:func:`_month_order`)."""
    path = Path(path)
    frame = read_text_frame(path, "Data file", [c for c in (label, id_column) if c])
    if frame.empty:
        raise InputError(f"{path} has a header but no rows: a schema is drafted from the data's values.")
    profiles = {c: _profile(c, frame[c]) for c in frame.columns}
    notes: list[str] = []
    label = _pick_label(profiles, label, path)
    id_column = _pick_id(profiles, id_column, label, path)
    rest = [p for c, p in profiles.items() if c not in (label, id_column)]
    comments: dict[str, str] = {}
    strays = [f"{p.name} row {p.strays.index[0] + 1} {p.strays.iloc[0]!r}"
              + (f" ({len(p.strays):,} cells)" if len(p.strays) > 1 else "") for p in rest if len(p.strays)]
    if strays:
        notes.append("Not numbers in columns of numbers, drafted as numbers: " + "; ".join(strays) + ". Fix them "
                     "before training (`loanscore schema check` lists every row).")
    outcome = (profiles[label].text == "1").to_numpy()
    history, taken, left, order = _histories(rest, numbered, comments, outcome)
    if not history:
        raise InputError(f"{path} has no monthly history the LSTM could read: no three or more numeric columns "
                         "numbered alike (arrears_m01, arrears_m02, ...)"
                         + (f"; left out: {'; '.join(left)}" if left else "") + ". A schema needs at least one history.")
    numeric: list[dict[str, Any]] = []
    categorical: list[dict[str, Any]] = []
    for p in rest:
        if p.name in taken:
            continue
        kind, entry, comment = _field(p)
        if kind == "left out":
            left.append(f"{p.name} ({comment})")
            continue
        (numeric if kind == "numeric" else categorical).append(entry)
        comments[f"{kind}:{p.name}"] = comment
    if left:
        notes.append("Left out (not a field a model can read as it is): " + "; ".join(left) + ".")
    for entry in (*numeric, *categorical, *history):
        entry["reason"] = _WORDED.get(entry.get("role", ""), _humane(entry["name"]))
    notes.append("Each reason is what a reason code and an adverse-action letter say of the field: drafted from its "
                 "role, else its name; reword them (a letter is written only where the reasons are worded).")
    protected = [e["name"] for e in (*numeric, *categorical) if e.get("protected")]
    if protected:
        notes.append(f"Marked protected (reviewed by `loanscore fairness`): {', '.join(protected)}; check the list "
                     "against the law where you lend.")
    shown, evidence = order
    taken_as = (shown or "oldest-first") if numbered == "auto" else numbered
    notes.append(f"Months taken as numbered {taken_as.replace('-', ' ')} ({history[0]['columns'][0]} is the oldest)"
                 + (f", as the data show: {evidence}" if numbered == "auto" and shown else
                    ", as the data do not show which end is the latest month" if numbered == "auto" else
                    f", though the data suggest the opposite: {evidence}" if shown and shown != numbered else "")
                 + ("; pass --numbered newest-first if 1 is the latest month." if taken_as == "oldest-first"
                    else "; pass --numbered oldest-first if 1 is the earliest month."))
    schema: dict[str, Any] = {"name": name or _stem(path), "label": label, **({"id": id_column} if id_column else {}),
                              "numeric": numeric, "categorical": categorical, "history": history}
    text = _toml(schema, comments, path, len(frame), notes)
    Schema.from_dict(tomllib.loads(text), source=f"the draft of {path.name}")  # the text reads back as a schema
    return Draft(schema, text, tuple(notes))


def _profile(name: str, column: pd.Series) -> _Profile:
    text = column.str.strip()
    text = text.where(~text.str.lower().isin(MISSING_TOKENS), "")
    present = text[text != ""]
    numbers = pd.to_numeric(present, errors="coerce")
    readable = numbers.notna() & (numbers.abs() <= FLOAT32_MAX)
    if not len(present) or readable.mean() < 1 - MOST_STRAYS:
        return _Profile(name, text, None, int(len(text) - len(present)), present[:0])
    return _Profile(name, text, numbers[readable].astype(np.float64), int(len(text) - len(present)),
                    present[~readable])


def _pick_label(profiles: dict[str, _Profile], label: str | None, path: Path) -> str:
    def binary(p: _Profile) -> bool:
        return p.missing == 0 and set(p.values.unique()) <= {"0", "1"} and p.values.nunique() == 2

    if label is not None:
        if label not in profiles:
            raise InputError(f"{path} has no column {label!r} (--label); its columns are {', '.join(profiles)}.")
        if not binary(profiles[label]):
            raise _not_an_outcome(profiles[label], "is the outcome (--label)")
        return label
    candidates = [c for c, p in profiles.items() if binary(p)]
    if not candidates:
        nearly = [p for p in profiles.values() if p.text.isin(["0", "1"]).mean() >= 0.9
                  and (_LABEL.search(p.name) or p.text.isin(["1"]).any() and p.text.isin(["0"]).any())]
        if nearly:
            raise _not_an_outcome(max(nearly, key=lambda p: bool(_LABEL.search(p.name))), "looks like the outcome")
        raise InputError(f"{path} has no column of 0s and 1s to be the outcome (1: defaulted). Add one, or recode "
                         "yours to 0 and 1 and name it with --label.")
    named = [c for c in candidates if _LABEL.search(c)]
    return (named or candidates)[-1]


def _not_an_outcome(p: _Profile, how: str) -> InputError:
    odd = p.text[~p.text.isin(["0", "1"])]
    if len(odd):
        cell = "is blank" if odd.iloc[0] == "" else f"holds {odd.iloc[0]!r}"
        why = f"row {odd.index[0] + 1} {cell}" + (f" ({len(odd):,} rows in all)" if len(odd) > 1 else "")
    else:
        why = f"it holds only {p.text.iloc[0]}, and training needs both"
    return InputError(f"{p.name} {how}, but an outcome must be 0 (repaid) or 1 (defaulted) in every row; {why}. Fix "
                      "the file (leave out applicants whose outcome is not known yet), then draft again.")


def _pick_id(profiles: dict[str, _Profile], id_column: str | None, label: str, path: Path) -> str | None:
    if id_column is not None:
        if id_column not in profiles or id_column == label:
            raise InputError(f"{path} has no column {id_column!r} (--id) other than the outcome.")
        return id_column
    unique = [c for c, p in profiles.items()
              if c != label and p.missing == 0 and p.text.nunique() == len(p.text)]
    named = [c for c in unique if _ID.search(c)]
    if named:
        return named[0]
    first = next(iter(profiles))  # a unique whole number in the first column: a row number
    return first if first in unique and profiles[first].whole else None


def _histories(profiles: list[_Profile], numbered: Numbered, comments: dict[str, str], outcome: np.ndarray
               ) -> tuple[list[dict[str, Any]], set[str], list[str], tuple[Numbered | None, str]]:
    """Columns numbered alike (three or more, numbers in every cell) are one channel, in month order; channels of
    the most common length are kept (a schema's channels share one length). Also the order the data show, and why
    (:func:`_month_order`)."""
    groups: dict[str, list[tuple[int, _Profile]]] = {}
    for p in profiles:
        match = _NUMBERED.match(p.name)
        if match and p.numbers is not None:
            groups.setdefault(match.group(1), []).append((int(match.group(2)), p))
    groups = {stem: sorted(members, key=lambda m: m[0]) for stem, members in groups.items() if len(members) >= 3}
    grouped = {p.name for m in groups.values() for _, p in m}
    if not groups:
        return [], grouped, [], (None, "")
    lengths = Counter(len(m) for m in groups.values())
    months = max(lengths, key=lambda n: (lengths[n], n))
    order = _month_order([[p for _, p in m] for m in groups.values() if len(m) == months], outcome)
    if (numbered if numbered != "auto" else order[0]) == "newest-first":  # auto without evidence: oldest first
        groups = {stem: members[::-1] for stem, members in groups.items()}
    left = [f"{_span([p for _, p in m])} ({len(m)} months; the history has {months})"
            for m in groups.values() if len(m) != months]
    kept = {stem: [p for _, p in m] for stem, m in groups.items() if len(m) == months}
    channels = []
    roles = _roles(kept)
    for stem, members in kept.items():
        values = pd.concat([p.numbers for p in members if p.numbers is not None])
        amount = bool(values.abs().max() >= AMOUNT)
        low, high = float(values.min()), float(values.max())
        entry: dict[str, Any] = {"name": _channel_name(stem), "role": roles[stem],
                                 "columns": [p.name for p in members]}
        if amount:
            entry.update(min=-_ceiling(-low, 10) if low < 0 else 0, max=_ceiling(high, 10), transform="signed_log")
        else:
            entry.update(min=_whole(low), max=_whole(high))
        missing = sum(p.missing for p in members)
        if missing:
            entry["missing"] = "impute"
        comments[f"history:{entry['name']}"] = f"{_num(low)} to {_num(high)}{f'; {missing:,} missing' if missing else ''}"
        channels.append(entry)
    return channels, grouped, left, order


def _month_order(channels: list[list[_Profile]], outcome: np.ndarray) -> tuple[Numbered | None, str]:
    """Which end of the numbering the data show to be the latest month (``None``: they do not), and the evidence.

    Arrears, balances and payments tell most about the next default in the latest month and less the further
    back they go (Taiwan's six months: a month's |AUC - 0.5| falls from month 0 to month 6 in all three channels).
    So the months' separation of defaulters is ranked against their number, channel by channel: a mean rank
    correlation of -:data:`RECENCY` or below says 1 is the latest month, +RECENCY or above the earliest. Data
    made up without that recency (noise that grows month by month) can show the opposite, so the evidence is said,
    and the order is read from it only with ``--numbered auto``."""
    from loanscore.runtime.performance import roc_auc

    trends = []
    for members in channels:  # months in the order of their numbers
        separation = []
        for p in members:
            x = (np.full(len(outcome), np.nan) if p.numbers is None
                 else p.numbers.reindex(range(len(outcome))).to_numpy())
            known = ~np.isnan(x)
            both = 0 < outcome[known].sum() < known.sum()
            separation.append(abs(roc_auc(outcome[known], x[known]) - 0.5) if both else np.nan)
        ranks = pd.Series(separation).rank()
        if ranks.notna().sum() >= 3 and ranks.nunique() > 1:
            trends.append(float(np.corrcoef(np.flatnonzero(ranks.notna()), ranks.dropna())[0, 1]))
    trend = float(np.mean(trends)) if trends else 0.0
    if abs(trend) < RECENCY:
        return None, ""
    first, last = channels[0][0].name, channels[0][-1].name
    return ("newest-first" if trend < 0 else "oldest-first",
            f"how well a month tells defaulters apart {'falls' if trend < 0 else 'rises'} from {first} to {last} "
            f"(rank correlation {trend:+.2f}, {len(trends)} channel{'s' if len(trends) != 1 else ''}), and the "
            "latest month tells most")


def _roles(groups: dict[str, list[_Profile]]) -> dict[str, str]:
    """Each of status, balance and payment goes to the first channel that fits it (training derives monthly
    channels from the first of each role): a status is a few small whole numbers (months late), a balance and a
    payment are amounts named so."""
    roles = dict.fromkeys(groups, "other")

    def small(members: list[_Profile]) -> bool:
        values = pd.concat([p.numbers for p in members if p.numbers is not None])
        return all(p.whole for p in members) and values.min() >= -10 and values.max() <= 36 and values.nunique() <= 40

    def give(role: str, fits: Any) -> None:
        free = [s for s in groups if roles[s] == "other" and fits(s)]
        if free:
            roles[free[0]] = role

    give("status", lambda s: small(groups[s]) and _STATUS.search(s))
    give("status", lambda s: small(groups[s]) and "status" not in roles.values())
    give("balance", lambda s: not small(groups[s]) and _BALANCE.search(s))
    give("payment", lambda s: not small(groups[s]) and _PAYMENT.search(s))
    return roles


def _field(p: _Profile) -> tuple[str, dict[str, Any], str]:
    """A column's entry: ``numeric``, ``categorical`` or ``left out``, with a comment on what the data showed."""
    missing = f"; {p.missing:,} missing" if p.missing else ""
    distinct = (p.numbers if p.numbers is not None else p.values).nunique()
    if distinct == 0:
        return "left out", {}, "empty"
    entry: dict[str, Any] = {"name": p.name}
    age = "age" in _words(p.name)
    if p.numbers is not None and not (p.whole and distinct <= MOST_NUMBER_CODES and not age):
        low, high = float(p.numbers.min()), float(p.numbers.max())
        comment = f"{_num(low)} to {_num(high)}{missing}"
        amount = max(abs(low), abs(high)) >= AMOUNT
        if age:
            entry.update(min=min(18, _whole(low)), max=max(120, _whole(high)), role="age",
                         bands=[25, 35, 45, 55, 65])
        elif amount:
            entry.update(min=0 if low >= 0 else -_ceiling(-low, 10), max=_ceiling(high, 10), transform="signed_log")
            if low > 0:
                entry["min_exclusive"] = True
        else:
            entry.update(min=0 if low >= 0 else -_ceiling(-low), max=_ceiling(high))
        if _LIMIT.search(p.name):
            entry["role"] = "credit_limit"
    elif distinct <= MOST_CODES:
        entry["codes"] = sorted({int(v) for v in p.numbers} if p.whole and p.numbers is not None else set(p.values))
        comment = f"{distinct} codes{missing}"
    else:
        return "left out", {}, f"{distinct:,} distinct texts"
    if missing:
        entry["missing"] = "impute"
    if _words(p.name) & _PROTECTED:
        entry["protected"] = True
    return "numeric" if "codes" not in entry else "categorical", entry, comment


def _ceiling(x: float, headroom: float = 1) -> int | float:
    """A round upper bound: the next power of ten at or above ``x`` times ``headroom`` (1 for 0), at most the
    largest number the graph's float32 inputs hold."""
    if x <= 0:
        return 1
    bound = 10 ** math.ceil(math.log10(x) + math.log10(headroom))
    return bound if bound <= FLOAT32_MAX else FLOAT32_MAX


def _whole(x: float) -> int | float:
    return int(x) if x == int(x) else x


def _span(columns: list[_Profile]) -> str:
    names = [p.name for p in columns]
    return ", ".join(names) if len(names) <= 3 else f"{names[0]} … {names[-1]}"


def _humane(name: str) -> str:
    """``years_at_address`` -> ``Years at address``, ``monthlyIncome`` -> ``Monthly income``."""
    words = re.sub(r"([a-z])([A-Z])", r"\1 \2", name).replace("_", " ").replace(".", " ").replace("-", " ").split()
    text = " ".join(words).lower()
    return text[:1].upper() + text[1:] if text else name


def _words(name: str) -> set[str]:
    return set(re.split(r"[^a-z0-9]+", name.lower()))


def _channel_name(stem: str) -> str:
    """``arrears_m`` -> ``arrears``, ``PAY_`` -> ``PAY``."""
    name = re.sub(r"[\W_]+(m|mo|mon|month|months)[\W_]*$|[\W_]+$", "", stem, flags=re.I)
    return name or stem


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".csv", ".txt", ".jsonl", ".ndjson", ".json", ".xlsx", ".xlsm"):
        name = name.removesuffix(suffix)
    return name


def _num(x: float) -> str:
    return f"{x:,.0f}" if x == int(x) else f"{x:,.4g}"


def _toml(schema: dict[str, Any], comments: dict[str, str], path: Path, rows: int, notes: list[str]) -> str:
    lines = [f"# A schema drafted by `loanscore schema draft` from {path.name} ({rows:,} rows).",
             "# Review it before training: what the data cannot show was guessed.",
             *(line for n in notes for line in textwrap.wrap(n, 110, initial_indent="# - ", subsequent_indent="#   ")),
             "# Ranges are what a valid application may hold: an applicant outside them is rejected at scoring,",
             "# so widen any the data happened to fill. See docs/training.md, \"Your own data: the schema\".",
             f"name = {_value(schema['name'])}", f"label = {_value(schema['label'])}"]
    if "id" in schema:
        lines.append(f"id = {_value(schema['id'])}")
    for kind in ("numeric", "categorical", "history"):
        for entry in schema[kind]:
            lines += ["", f"[[{kind}]]"]
            if f"{kind}:{entry['name']}" in comments:
                lines.append(f"# {comments[kind + ':' + entry['name']]}")
            for key, value in entry.items():
                text = _value(value)
                if len(text) > 100 and isinstance(value, list):  # a long history: a month a line
                    text = "[\n" + "".join(f"    {_value(x)},\n" for x in value) + "]"
                lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # JSON's string escapes are TOML's
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, float) and v == int(v):
        v = int(v)
    return f"{v:_}" if isinstance(v, int) and abs(v) >= 10_000 else repr(v)
