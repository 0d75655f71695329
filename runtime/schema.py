"""What an applicant record holds: fields, their domains, and the payment history.

A schema is data (TOML or JSON), not code, so a lender with other columns or a
longer history trains and scores without editing loanscore. It travels inside
every model's manifest, which is how the runtime knows what to validate.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from .errors import SchemaError

Transform = Literal["none", "signed_log"]
Missing = Literal["impute", "reject"]
Role = Literal["status", "balance", "payment", "other"]
NumericRole = Literal["credit_limit", "age", "other"]

_TRANSFORMS = ("none", "signed_log")
_MISSING = ("impute", "reject")
_ROLES = ("status", "balance", "payment", "other")
_NUMERIC_ROLES = ("credit_limit", "age", "other")

Statement = tuple[str, str]
"""A reason statement: its wording when the applicant's value is above the typical one, and when below.

A field that raises P(default) is a reason (:mod:`.reasons`); its statement is
what an adverse-action notice or a clerk's screen says, e.g. "Late repayments
in recent months". A statement without a direction has the same text twice.
"""
NO_STATEMENT: Statement = ("", "")


@dataclass(frozen=True)
class Column:
    """One raw input column as the validator and the ONNX graph see it."""

    name: str
    kind: Literal["number", "code"]
    missing: Missing
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    codes: tuple[int | str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def is_string(self) -> bool:
        """String-coded categoricals go into the graph as strings, everything else as float32."""
        return self.kind == "code" and any(isinstance(c, str) for c in self.codes)

    def domain(self) -> str:
        """The allowed values in words, for error messages."""
        if self.kind == "code":
            return "one of " + ", ".join(str(c) for c in self.codes)
        low = "" if self.min is None else _num(self.min)
        high = "" if self.max is None else _num(self.max)
        if self.min is not None and self.max is not None:
            op = "greater than" if self.min_exclusive else "between"
            if self.min_exclusive:
                return f"{op} {low} and at most {high}"
            return f"{op} {low} and {high}"
        if self.min is not None:
            return f"{'greater than' if self.min_exclusive else 'at least'} {low}"
        if self.max is not None:
            return f"at most {high}"
        return "a finite number"


@dataclass(frozen=True)
class NumericField:
    name: str
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    transform: Transform = "none"
    missing: Missing = "impute"
    role: NumericRole = "other"
    """``credit_limit`` lets training relate balances to the limit; ``age`` marks the field reports band."""
    description: str = ""
    reason: Statement = NO_STATEMENT
    protected: bool = False
    """A characteristic the law protects from discrimination (age, in many places): ``loanscore fairness`` reviews
    the decisions by it unless told otherwise."""
    bands: tuple[float, ...] = ()
    """Inner edges of the groups a fairness review compares (``[25, 35]``: under 25, 25 to 34, 35 and over)."""


@dataclass(frozen=True)
class CategoricalField:
    name: str
    codes: tuple[int | str, ...]
    labels: dict[str, str] = field(default_factory=dict)
    missing: Missing = "impute"
    description: str = ""
    reason: Statement = NO_STATEMENT
    protected: bool = False
    """A characteristic the law protects (sex, marital status, ...): see :attr:`NumericField.protected`."""


@dataclass(frozen=True)
class HistoryChannel:
    """One monthly series; ``columns`` run from the oldest month to the newest."""

    name: str
    columns: tuple[str, ...]
    min: float | None = None
    max: float | None = None
    transform: Transform = "none"
    missing: Missing = "impute"
    role: Role = "other"
    description: str = ""
    reason: Statement = NO_STATEMENT


@dataclass(frozen=True)
class Schema:
    name: str
    label: str
    id: str | None
    numeric: tuple[NumericField, ...]
    categorical: tuple[CategoricalField, ...]
    history: tuple[HistoryChannel, ...]
    left_out: tuple[NumericField | CategoricalField | HistoryChannel, ...] = ()
    """Fields and history channels taken out of the model (:meth:`without`): it neither reads nor validates them,
    but its model card names them, and a model report still slices its decisions by the fields where the data
    has them, so that leaving a protected attribute out does not hide what the model does to its groups."""

    # -- construction -------------------------------------------------------------
    @classmethod
    def default(cls) -> Schema:
        """The Taiwan credit-card schema of the development data."""
        data = read_settings(Path(__file__).parent / "schemas" / "taiwan.toml", "built-in schema")
        return cls.from_dict(data, source="built-in taiwan schema")

    @classmethod
    def load(cls, path: str | Path) -> Schema:
        """Read a schema from a ``.toml`` or ``.json`` file."""
        path = Path(path)
        return cls.from_dict(read_settings(path, "schema file"), source=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "schema") -> Schema:
        """Build and check a schema; every problem names the entry and the key."""
        if not isinstance(data, dict):
            raise SchemaError(f"{source}: expected a table of keys, got {type(data).__name__}.")
        unknown = set(data) - {"name", "label", "id", "numeric", "categorical", "history", "left_out"}
        if unknown:
            raise SchemaError(f"{source}: unknown keys {sorted(unknown)}; allowed are name, label, id, numeric, "
                              "categorical, history, left_out.")
        left_out = data.get("left_out", {})
        if not isinstance(left_out, dict) or set(left_out) - {"numeric", "categorical", "history"}:
            raise SchemaError(f"{source}: 'left_out' must be a table with 'numeric', 'categorical' and 'history' "
                              "lists.")
        try:
            schema = cls(
                name=str(data.get("name", "custom")),
                label=_req_str(data, "label", source),
                id=data.get("id") or None,
                numeric=tuple(_numeric(e, source) for e in data.get("numeric", [])),
                categorical=tuple(_categorical(e, source) for e in data.get("categorical", [])),
                history=tuple(_history(e, source) for e in data.get("history", [])),
                left_out=(*(_numeric(e, f"{source}: left_out") for e in left_out.get("numeric", [])),
                          *(_categorical(e, f"{source}: left_out") for e in left_out.get("categorical", [])),
                          *(_history(e, f"{source}: left_out") for e in left_out.get("history", []))),
            )
        except (TypeError, ValueError, OverflowError) as exc:
            raise SchemaError(f"{source}: {exc}") from None
        schema._check(source)
        return schema

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; ``Schema.from_dict(s.to_dict()) == s``."""

        def clean(obj: Any) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for k, v in obj.__dict__.items():
                if k == "reason":
                    if v != NO_STATEMENT:
                        out[k] = statement_to_data(v)
                    continue
                if v is None or v in ("", {}, ()) or (k in ("min_exclusive", "protected") and not v) \
                        or (k == "role" and v == "other"):
                    continue
                out[k] = list(v) if isinstance(v, tuple) else v
            return out

        data: dict[str, Any] = {"name": self.name, "label": self.label}
        if self.id:
            data["id"] = self.id
        data["numeric"] = [clean(f) for f in self.numeric]
        data["categorical"] = [clean(f) for f in self.categorical]
        data["history"] = [clean(h) for h in self.history]
        if self.left_out:
            kinds = (("numeric", NumericField), ("categorical", CategoricalField), ("history", HistoryChannel))
            data["left_out"] = {kind: [clean(f) for f in self.left_out if isinstance(f, cls)] for kind, cls in kinds}
        return data

    def without(self, names: Iterable[str]) -> Schema:
        """This schema less the fields (or whole history channels) ``names``: to train a model that does not
        read them, such as the protected attributes a jurisdiction forbids in credit decisions."""
        drop = {n.strip() for n in names if n.strip()}
        known = [f.name for f in self.entries]
        unknown = sorted(drop - set(known))
        if unknown:
            raise SchemaError(f"schema '{self.name}' has no field or history channel {', '.join(unknown)}; "
                              f"it has {', '.join(known)}.")
        kept = replace(self, numeric=tuple(f for f in self.numeric if f.name not in drop),
                       categorical=tuple(f for f in self.categorical if f.name not in drop),
                       history=tuple(h for h in self.history if h.name not in drop),
                       left_out=self.left_out + tuple(f for f in self.entries if f.name in drop))
        kept._check(f"schema '{self.name}' without {', '.join(sorted(drop))}")
        return kept

    def with_left_out(self) -> Schema:
        """The fields a report slices by: the model's, and those :meth:`without` took out of it (not the history
        channels it took out: a report slices by fields only)."""
        numeric = tuple(f for f in self.left_out if isinstance(f, NumericField))
        categorical = tuple(f for f in self.left_out if isinstance(f, CategoricalField))
        return replace(self, numeric=self.numeric + numeric, categorical=self.categorical + categorical, left_out=())

    # -- views ------------------------------------------------------------------
    @property
    def fields(self) -> tuple[NumericField | CategoricalField, ...]:
        """The model's applicant fields, numbers then categories (the history channels aside)."""
        return (*self.numeric, *self.categorical)

    @property
    def entries(self) -> tuple[NumericField | CategoricalField | HistoryChannel, ...]:
        """Every field and history channel the model reads, in the schema's order."""
        return (*self.fields, *self.history)

    @property
    def left_out_fields(self) -> tuple[NumericField | CategoricalField, ...]:
        """The fields (not the history channels) :meth:`without` took out of the model."""
        return tuple(f for f in self.left_out if not isinstance(f, HistoryChannel))

    @property
    def protected_fields(self) -> tuple[NumericField | CategoricalField, ...]:
        """The fields marked ``protected``, those the model was trained without included."""
        return tuple(f for f in (*self.fields, *self.left_out_fields) if f.protected)

    @property
    def months(self) -> int:
        return len(self.history[0].columns) if self.history else 0

    def columns(self) -> list[Column]:
        """Every raw input column, in the graph's input order."""
        cols = [
            Column(f.name, "number", f.missing, f.min, f.max, f.min_exclusive) for f in self.numeric
        ]
        cols += [Column(f.name, "code", f.missing, codes=f.codes, labels=f.labels) for f in self.categorical]
        for h in self.history:
            cols += [Column(c, "number", h.missing, h.min, h.max) for c in h.columns]
        return cols

    @property
    def input_names(self) -> list[str]:
        return [c.name for c in self.columns()]

    @property
    def number_names(self) -> list[str]:
        """The input columns whose values are numbers (all but string-coded categoricals)."""
        return [c.name for c in self.columns() if not c.is_string]

    def _check(self, source: str) -> None:
        names = self.input_names
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise SchemaError(f"{source}: columns listed more than once: {dupes}.")
        for special in (self.label, self.id):
            if special and special in names:
                raise SchemaError(f"{source}: '{special}' is the label or id column and cannot also be a feature.")
        taken = [c for f in self.left_out for c in (f.columns if isinstance(f, HistoryChannel) else (f.name,))]
        clash = sorted(set(taken) & {*names, self.label, self.id})
        if clash or len(set(taken)) < len(taken) or len({f.name for f in self.left_out}) < len(self.left_out):
            raise SchemaError(f"{source}: a left-out field or channel is listed twice, or is also a model input, "
                              f"the label or the id: {clash or sorted(f.name for f in self.left_out)}.")
        if not self.history:
            raise SchemaError(f"{source}: at least one [[history]] channel is needed; the LSTM reads it.")
        lengths = {len(h.columns) for h in self.history}
        if len(lengths) != 1:
            raise SchemaError(
                f"{source}: every history channel needs the same number of months; got "
                + ", ".join(f"{h.name}: {len(h.columns)}" for h in self.history) + "."
            )
        if self.months < 2:
            raise SchemaError(f"{source}: a history needs at least 2 months, got {self.months}.")


def read_settings(path: Path, what: str) -> Any:
    """A schema or statements file's content: JSON for ``.json``, else TOML; UTF-8, with or without the
    byte-order mark some Windows editors write. ``what`` names the file in error messages."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise SchemaError(f"Cannot read {what} {path}: {exc.strerror or exc}.") from None
    except UnicodeDecodeError as exc:
        raise SchemaError(f"{what[0].upper()}{what[1:]} {path} is not UTF-8 text (byte {exc.start + 1} cannot be "
                          "read); save it as UTF-8.") from None
    kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
    try:
        if kind == "JSON":
            return json.loads(text)
        import tomllib  # only here: scoring reads no TOML and starts faster without it

        return tomllib.loads(text)
    except (ValueError, RecursionError) as exc:  # TOMLDecodeError is a ValueError; nesting too deep, RecursionError
        raise SchemaError(f"{what[0].upper()}{what[1:]} {path} is not valid {kind}: {exc}.") from None


def _req_str(entry: dict[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise SchemaError(f"{where}: '{key}' must be a non-empty string, got {value!r}.")
    return value


def _only(entry: dict[str, Any], allowed: set[str], where: str) -> None:
    if not isinstance(entry, dict):
        raise SchemaError(f"{where}: each entry must be a table, got {entry!r}.")
    extra = set(entry) - allowed
    if extra:
        raise SchemaError(f"{where}: unknown keys {sorted(extra)}; allowed are {sorted(allowed)}.")


def _choice(entry: dict[str, Any], key: str, allowed: tuple[str, ...], default: str, where: str) -> Any:
    value = entry.get(key, default)
    if value not in allowed:
        raise SchemaError(f"{where}: '{key}' must be one of {', '.join(allowed)}; got {value!r}.")
    return value


def _flag(entry: dict[str, Any], key: str, where: str) -> bool:
    value = entry.get(key, False)
    if not isinstance(value, bool):
        raise SchemaError(f"{where}: '{key}' must be true or false, got {value!r}.")
    return value


def _bound(entry: dict[str, Any], key: str, where: str) -> float | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SchemaError(f"{where}: '{key}' must be a finite number, got {value!r}.")
    return float(value)


def _range(entry: dict[str, Any], where: str) -> tuple[float | None, float | None]:
    low, high = _bound(entry, "min", where), _bound(entry, "max", where)
    if low is not None and high is not None and low >= high:
        raise SchemaError(f"{where}: 'min' ({_num(low)}) must be below 'max' ({_num(high)}).")
    return low, high


_COMMON = {"name", "description", "missing", "reason"}


def _numeric(entry: dict[str, Any], source: str) -> NumericField:
    where = f"{source}: numeric field {entry.get('name', '?') if isinstance(entry, dict) else '?'}"
    _only(entry, _COMMON | {"min", "max", "min_exclusive", "transform", "role", "protected", "bands"}, where)
    low, high = _range(entry, where)
    bands = entry.get("bands", [])
    if not isinstance(bands, list) or not all(isinstance(b, (int, float)) and not isinstance(b, bool)
                                              and math.isfinite(b) for b in bands) \
            or any(a >= b for a, b in zip(bands, bands[1:])):
        raise SchemaError(f"{where}: 'bands' must list increasing numbers, the inner edges of the groups "
                          f"(e.g. [25, 35, 45]); got {bands!r}.")
    return NumericField(
        name=_req_str(entry, "name", where),
        min=low,
        max=high,
        min_exclusive=bool(entry.get("min_exclusive", False)),
        transform=_choice(entry, "transform", _TRANSFORMS, "none", where),
        missing=_choice(entry, "missing", _MISSING, "impute", where),
        role=_choice(entry, "role", _NUMERIC_ROLES, "other", where),
        description=str(entry.get("description", "")),
        reason=statement_from_data(entry.get("reason"), f"{where}: 'reason'", directional=True),
        protected=_flag(entry, "protected", where),
        bands=tuple(float(b) for b in bands),
    )


def _categorical(entry: dict[str, Any], source: str) -> CategoricalField:
    where = f"{source}: categorical field {entry.get('name', '?') if isinstance(entry, dict) else '?'}"
    _only(entry, _COMMON | {"codes", "labels", "protected"}, where)
    codes = entry.get("codes")
    if not isinstance(codes, list) or not codes:
        raise SchemaError(f"{where}: 'codes' must be a non-empty list of the known codes.")
    kinds = {str if isinstance(c, str) else int if isinstance(c, int) and not isinstance(c, bool) else None for c in codes}
    if None in kinds or len(kinds) != 1:
        raise SchemaError(f"{where}: 'codes' must be all integers or all strings, got {codes!r}.")
    if len(set(codes)) != len(codes):
        raise SchemaError(f"{where}: 'codes' lists a code twice: {codes!r}.")
    labels = entry.get("labels", {})
    if not isinstance(labels, dict):
        raise SchemaError(f"{where}: 'labels' must map codes to descriptions.")
    return CategoricalField(
        name=_req_str(entry, "name", where),
        codes=tuple(codes),
        labels={str(k): str(v) for k, v in labels.items()},
        missing=_choice(entry, "missing", _MISSING, "impute", where),
        description=str(entry.get("description", "")),
        reason=statement_from_data(entry.get("reason"), f"{where}: 'reason'", directional=False),
        protected=_flag(entry, "protected", where),
    )


def _history(entry: dict[str, Any], source: str) -> HistoryChannel:
    where = f"{source}: history channel {entry.get('name', '?') if isinstance(entry, dict) else '?'}"
    _only(entry, _COMMON | {"columns", "min", "max", "transform", "role"}, where)
    columns = entry.get("columns")
    if not isinstance(columns, list) or not all(isinstance(c, str) and c for c in columns):
        raise SchemaError(f"{where}: 'columns' must list the monthly column names, oldest first.")
    low, high = _range(entry, where)
    return HistoryChannel(
        name=_req_str(entry, "name", where),
        columns=tuple(columns),
        min=low,
        max=high,
        transform=_choice(entry, "transform", _TRANSFORMS, "none", where),
        missing=_choice(entry, "missing", _MISSING, "impute", where),
        role=_choice(entry, "role", _ROLES, "other", where),
        description=str(entry.get("description", "")),
        reason=statement_from_data(entry.get("reason"), f"{where}: 'reason'", directional=True),
    )


def statement_from_data(value: Any, where: str, *, directional: bool) -> Statement:
    """A ``reason`` entry: one statement, or (numbers and history channels) a table of ``higher``/``lower`` ones.

    ``where`` names the entry in an error message."""
    if value is None:
        return NO_STATEMENT
    if isinstance(value, str) and value.strip():
        return (value.strip(), value.strip())
    if (directional and isinstance(value, dict) and value and set(value) <= {"higher", "lower"}
            and all(isinstance(v, str) and v.strip() for v in value.values())):
        return (value.get("higher", "").strip(), value.get("lower", "").strip())
    wanted = ("a statement, or a table of 'higher' and 'lower' statements (for a value above or below the "
              "typical applicant's)") if directional else "a statement (a code has no above or below)"
    raise SchemaError(f"{where} must be {wanted}; got {value!r}.")


def statement_to_data(statement: Statement) -> str | dict[str, str]:
    """The inverse of :func:`statement_from_data`."""
    higher, lower = statement
    if higher == lower:
        return higher
    return {k: v for k, v in (("higher", higher), ("lower", lower)) if v}


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)
