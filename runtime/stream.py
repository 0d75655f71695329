"""Score a file of any length in bounded memory: read a chunk, score it, write it, repeat."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Protocol

import numpy as np

from .errors import FieldError
from .scorer import APPROVE, DECLINE, REVIEW, Scorer
from .tabular import Chunk, Reader, ScoredChunk


class _Writer(Protocol):
    def write(self, chunk: ScoredChunk) -> None: ...


@dataclass(frozen=True)
class Summary:
    """What a run did: rows read (= rows written), rows rejected, rows scored with a warning, and each
    decision's count."""

    n_rows: int
    n_rejected: int
    n_warned: int
    seconds: float
    decisions: dict[str, int] = field(default_factory=dict)

    @property
    def n_scored(self) -> int:
        return self.n_rows - self.n_rejected


def score_stream(scorer: Scorer, reader: Reader, writer: _Writer, *, progress: Progress | None = None,
                 reasons: int = 0) -> Summary:
    """Score every chunk of ``reader`` with ``scorer`` and hand the results to ``writer``,
    with up to ``reasons`` reason codes per scored row.

    A row that ``reader`` found broken (``Chunk.row_errors``) is rejected with
    that error alone: its fields cannot be trusted to be in their columns, so
    field errors and warnings are not reported for it. Otherwise a row's error
    is all its field errors joined with ``"; "``.
    """
    start = time.perf_counter()
    n_rows = n_rejected = n_warned = 0
    decisions = dict.fromkeys((APPROVE, REVIEW, DECLINE), 0)
    try:
        for chunk in reader:
            batch = scorer.score_columns(chunk.columns, first_row=chunk.first_row, reasons=reasons)
            error = [""] * chunk.n
            warning = [""] * chunk.n
            for i, warns in batch.warnings.items():
                warning[i] = "; ".join(warns)
            rejected = rejections(batch.errors, chunk.row_errors)
            for i, message in rejected.items():
                error[i] = message
            probability, decision, why = batch.probability, batch.decision, batch.reasons
            if chunk.row_errors:
                rows = np.fromiter(chunk.row_errors, dtype=np.int64)
                probability = probability.copy()
                probability[rows] = np.nan
                decision = decision.copy()
                decision[rows] = ""
                why = None if why is None else [() if i in chunk.row_errors else r for i, r in enumerate(why)]
                for i in chunk.row_errors:
                    warning[i] = ""
            writer.write(ScoredChunk(chunk.passthrough, probability, decision.tolist(), error, warning, why))
            n_rows += chunk.n
            n_rejected += len(rejected)
            n_warned += sum(1 for w in warning if w)
            for name in decisions:
                decisions[name] += int(np.count_nonzero(decision == name))
            if progress is not None:
                progress.update(n_rows, reader.bytes_read)
    finally:
        if progress is not None:
            progress.close()
    return Summary(n_rows, n_rejected, n_warned, time.perf_counter() - start, decisions)


def rejections(field_errors: Mapping[int, Sequence[FieldError]], row_errors: Mapping[int, str]) -> dict[int, str]:
    """Why each rejected row of a chunk was rejected: a broken row's own reason, else its field errors joined."""
    out = {i: "; ".join(str(e) for e in errs) for i, errs in field_errors.items()}
    out.update(row_errors)
    return out


@dataclass(frozen=True)
class Batch:
    """One chunk, scored, for callers that summarise rows instead of writing them (monitor, backtest).

    ``keep`` marks the rows that were scored; ``feeds`` and ``probability``
    hold those rows only; ``rejected`` lists the others as (row, reason).
    """

    chunk: Chunk
    keep: np.ndarray
    feeds: dict[str, np.ndarray]
    probability: np.ndarray
    rejected: list[tuple[int | None, str]]


def scored_batches(scorer: Scorer, reader: Reader, progress: Progress | None = None, *,
                   more_errors: Callable[[Chunk], Mapping[int, FieldError]] | None = None) -> Iterator[Batch]:
    """Score ``reader`` chunk by chunk; ``more_errors`` rejects rows for reasons of the caller's own
    (a back-test's missing outcome), reported with the row's field errors."""
    rows = 0
    try:
        for chunk in reader:
            checked, p = scorer.check_and_run(chunk.columns, chunk.n, chunk.first_row)
            field_errors: Mapping[int, Sequence[FieldError]] = checked.errors
            if more_errors is not None and (extra := more_errors(chunk)):
                field_errors = {i: [*checked.errors.get(i, ()), *([extra[i]] if i in extra else [])]
                                for i in sorted({*checked.errors, *extra})}
            errors = rejections(field_errors, chunk.row_errors)
            keep = np.ones(chunk.n, dtype=bool)
            keep[list(errors)] = False
            first = chunk.first_row or 1
            yield Batch(chunk, keep, {name: feed[keep] for name, feed in checked.feeds.items()}, p[keep],
                        [(first + i, errors[i]) for i in sorted(errors)])
            rows += chunk.n
            if progress is not None:
                progress.update(rows, reader.bytes_read)
    finally:
        if progress is not None:
            progress.close()


class Progress:
    """A progress line on a terminal: rows, rows/s and, for a regular file, an ETA.

    Redrawn at most every ``interval`` seconds with a carriage return, and
    erased at the end, so it never mixes with what is written to stdout.
    """

    def __init__(self, stream: IO[str], total_bytes: int | None = None, *, interval: float = 0.25):
        self.stream = stream
        self.total_bytes = total_bytes or None
        self.interval = interval
        self._start = time.perf_counter()
        self._last = 0.0
        self._width = 0

    @classmethod
    def for_terminal(cls, total_bytes: int | None, *, quiet: bool = False, stream: IO[str] | None = None) -> Progress | None:
        """A progress line on stderr when it is a terminal and ``quiet`` is off, else ``None``."""
        stream = stream if stream is not None else sys.stderr
        if quiet or not _isatty(stream):
            return None
        return cls(stream, total_bytes)

    def line(self, rows: int, bytes_read: int, now: float | None = None) -> str:
        elapsed = max((now if now is not None else time.perf_counter()) - self._start, 1e-9)
        text = f"{rows:,} rows  {rows / elapsed:,.0f} rows/s"
        if self.total_bytes and 0 < bytes_read:
            fraction = min(bytes_read / self.total_bytes, 1.0)
            eta = elapsed * (1 - fraction) / fraction
            text += f"  {fraction:.0%}  ETA {_clock(eta)}"
        return text

    def update(self, rows: int, bytes_read: int) -> None:
        now = time.perf_counter()
        if now - self._last < self.interval:
            return
        self._last = now
        text = self.line(rows, bytes_read, now)
        self.stream.write("\r" + text.ljust(self._width))
        self.stream.flush()
        self._width = len(text)

    def close(self) -> None:
        if self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
