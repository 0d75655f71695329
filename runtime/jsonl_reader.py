"""JSON Lines applicant files in chunks (one object per line), and one applicant given as a JSON object."""

from __future__ import annotations

import itertools
import json
import math
import operator
import secrets
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from .errors import InputError
from .tabular import CHUNK_ROWS, Chunk, Source, check_passthrough, missing_message
from .validate import ParsedText


class JsonNumbers(ParsedText):
    """A JSON Lines column of numbers (and nulls): read as numbers at once, each one's text made only when asked
    for (an error message, a column kept as text), as :func:`_as_text` words it."""

    def __init__(self, numbers: np.ndarray, values: list[Any]):
        self.numbers, self._values = numbers, values

    def __getitem__(self, i):  # type: ignore[no-untyped-def]
        if isinstance(i, slice):
            return [_as_text(v) for v in self._values[i]]
        return _as_text(self._values[i])


def _json_column(values: list[Any]) -> Sequence[Any]:
    """A column of JSON values as text (None for null), the validator's input; one of numbers and nulls only
    (the common case) as :class:`JsonNumbers`, which spares a text per value that validation would parse again."""
    kinds = set(map(type, values))
    if kinds <= {float, int, type(None)} and kinds - {type(None)}:
        try:
            numbers = np.array(values if type(None) not in kinds else [math.nan if v is None else v for v in values],
                               dtype=np.float64)
        except OverflowError:  # an integer past float's range: worded value by value
            pass
        else:
            return JsonNumbers(numbers, values)
    return [_as_text(v) for v in values]


def _as_text(value: Any) -> Any:
    """A JSON value as the validator's fast path wants it: text, or None for null."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value)


class JsonLinesReader:
    """Read JSON Lines (one applicant object per line), in chunks.

    A line that is not valid JSON, or is not an object, is kept as a rejected
    row. Values may be numbers, strings or null (a missing value).
    """

    def __init__(
        self,
        path: str | Path,
        inputs: Sequence[str],
        *,
        id_column: str | None = None,
        keep: Sequence[str] = (),
        chunk_rows: int = CHUNK_ROWS,
        stdin: IO[bytes] | None = None,
        one_by_one: bool = False,
        later: Collection[str] = (),
        _lines: Iterator[str] | None = None,
        _name: str | None = None,
        _single: bool = False,
    ):
        """``one_by_one``: records answered as they arrive (``score --line-buffered``), a line each: the first
        record's keys say nothing of the next's (a key it lacks is its own missing value, not a column the input
        lacks), and a blank line is answered, as an error, since the program waits for an answer to each line.
        ``later``: inputs the caller knows only later records hold (:attr:`keys` of a first reading), so the first
        chunk need not."""
        check_passthrough(keep)
        self._source = None if _lines is not None else Source(path, stdin)
        self.name = _name or (self._source.name if self._source else str(path))
        self.inputs = tuple(inputs)
        self.chunk_rows = chunk_rows
        self._single = _single
        self._one_by_one = one_by_one
        self._lines = _lines if _lines is not None else self._source.lines(universal=False)  # type: ignore[union-attr]
        self._rows = 0
        self._sentinel = secrets.randbits(62) + (1 << 62)  # between a file's lines: see _all_objects
        self.keys: dict[str, None] = {}
        """Every key of the records read so far, in the order they first appear (:attr:`header` is the first
        chunk's): a reader of the whole file, such as training, learns the columns only the later records hold."""
        try:
            self._first = self._read_chunk()
            if self._first is None:
                raise InputError(f"{self.name} is empty: it holds no applicant records.")
            records = self._first_records
            seen = set().union(*(r.keys() for r in records)) if records else set()
            self.header = list(dict.fromkeys(k for r in records for k in r))
            """The first chunk's keys, in the order they first appear (a header's part, for a reader of every key)."""
            if records and not one_by_one:
                missing = [c for c in self.inputs if c not in seen and c not in later]
                if missing:
                    raise InputError(
                        missing_message(self.name, missing, sorted(seen), "required columns", self.inputs)
                        + " Write null for a value that is missing."
                    )
                absent = [k for k in keep if k not in seen]
                if absent:
                    raise InputError(missing_message(self.name, absent, sorted(seen), "columns to keep"))
            passthrough = ([id_column] if id_column and (id_column in seen or one_by_one) else []) + [
                k for k in keep if k != id_column]
            self.passthrough = tuple(dict.fromkeys(passthrough))
        except BaseException:
            self.close()
            raise

    @property
    def total_bytes(self) -> int | None:
        return self._source.total_bytes if self._source else None

    @property
    def bytes_read(self) -> int:
        return self._source.bytes_read if self._source else 0

    @property
    def stdin_sha256(self) -> str | None:
        return self._source.sha256 if self._source else None

    def close(self) -> None:
        if self._source:
            self._source.close()

    def _read_chunk(self) -> tuple[int, list[dict[str, Any]], dict[int, str]] | None:
        first = self._rows + 1
        if self._one_by_one or self._single:
            records, errors = self._parse(self._lines, first)
        else:  # a file: its blank lines are no rows, and its lines are parsed together where all are objects
            lines = list(itertools.islice(filter(str.strip, self._lines), self.chunk_rows))
            parsed = _all_objects(lines, self._sentinel)
            records, errors = (parsed, {}) if parsed is not None else self._parse(iter(lines), first)
        if not records:
            return None
        self._rows += len(records)
        self._first_records = [r for i, r in enumerate(records) if i not in errors] if errors else records
        for r in self._first_records if not self._one_by_one else ():  # a co-process's stream has no columns
            if r.keys() - self.keys:
                self.keys.update(dict.fromkeys(r))
        return first, records, errors

    def _parse(self, lines: Iterator[str], first: int) -> tuple[list[dict[str, Any]], dict[int, str]]:
        """Up to a chunk of records from ``lines``, one by one: each line that is not an applicant object kept as
        a row with its error."""
        records: list[dict[str, Any]] = []
        errors: dict[int, str] = {}
        for line in lines:
            row = first + len(records)
            where = "the record" if self._single else f"row {row}"
            if not line.strip():
                if not self._one_by_one:  # a blank line is no row; but a program's is answered, or it would wait
                    continue
                errors[len(records)] = f"{where} is a blank line, not an applicant."
                records.append({})
                if len(records) >= self.chunk_rows:
                    break
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                errors[len(records)] = f"{where} is not valid JSON: {exc.msg} (column {exc.colno})."
                obj = {}
            except (ValueError, RecursionError) as exc:
                errors[len(records)] = f"{where} is not an applicant record: {_unreadable(exc)}."
                obj = {}
            else:
                if not isinstance(obj, dict):
                    errors[len(records)] = f"{where} is not a JSON object (got {_json_kind(obj)}); write one object per line."
                    obj = {}
            records.append(obj)
            if len(records) >= self.chunk_rows:
                break
        return records, errors

    def _chunk(self, read: tuple[int, list[dict[str, Any]], dict[int, str]]) -> Chunk:
        first, records, errors = read
        return Chunk(
            n=len(records),
            first_row=None if self._single else first,
            columns={c: _json_column(values) for c, values in _columns(records, self.inputs).items()},
            passthrough=dict(_columns(records, self.passthrough)),
            row_errors=errors,
        )

    def __enter__(self) -> JsonLinesReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Chunk]:
        try:
            if self._first is not None:
                first, self._first = self._first, None
                yield self._chunk(first)
            while (read := self._read_chunk()) is not None:
                yield self._chunk(read)
        finally:
            self.close()


def _all_objects(lines: list[str], sentinel: int) -> list[dict[str, Any]] | None:
    """``lines`` parsed in one call, as one JSON array, when each is one JSON object (else ``None``, and the
    caller parses them one by one, for each bad line's own error): 1.5 times faster than a call per line.

    A number no line can know (``sentinel`` + 1, + 2, ...) stands between the lines, and each must come back
    between two objects: a line that is not a value on its own (``{"a": [1`` with ``2]}`` after it, or
    ``{"b": 1}, {"c": 2}``) would take one in or put one off its place."""
    if len(lines) < 2:
        return None
    text = lines[0] + "".join(f",{sentinel + i},{line}" for i, line in enumerate(lines[1:], 1))
    try:
        parsed = json.loads(f"[{text}]")
    except (ValueError, RecursionError):
        return None
    objects = parsed[0::2]
    if len(objects) != len(lines) or parsed[1::2] != list(range(sentinel + 1, sentinel + len(lines))) \
            or not all(type(o) is dict for o in objects):
        return None
    return objects


def _columns(records: list[dict[str, Any]], names: Sequence[str]) -> dict[str, list[Any]]:
    """Each of ``names``' values in ``records`` (None where a record lacks it): columns from rows, taken apart at
    once where every record holds every name (twice as fast as a lookup per value)."""
    if len(names) > 1 and records:
        try:
            rows = list(map(operator.itemgetter(*names), records))
        except KeyError:
            pass
        else:
            return dict(zip(names, map(list, zip(*rows))))
    return {c: [r.get(c) for r in records] for c in names}


def _json_kind(obj: Any) -> str:
    return {list: "an array", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(obj), "a number"
    )


def _unreadable(exc: ValueError | RecursionError) -> str:
    """What valid JSON the json module still cannot read holds: nesting deeper than its recursion limit, or an
    integer of more than 4,300 digits (Python's limit on converting one)."""
    if isinstance(exc, RecursionError):
        return "its JSON nests too deeply to read"
    return "it holds a number of more digits than Python reads (4,300), more than any field takes"


def json_record_reader(
    text: str, inputs: Sequence[str], *, id_column: str | None = None, keep: Sequence[str] = (), name: str = "--json"
) -> JsonLinesReader:
    """A reader over one applicant given as a JSON object (it may span several lines)."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{name} is not an applicant record: {_unreadable(exc)}.") from None
    if not isinstance(obj, dict):
        raise InputError(f"{name} must be one JSON object of column: value pairs, got {_json_kind(obj)}.")
    return JsonLinesReader(
        name, inputs, id_column=id_column, keep=keep, _lines=iter([json.dumps(obj)]), _name=name, _single=True
    )
