"""Score a file of any length in bounded memory: read a chunk, score it, write it, repeat."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import IO, Protocol

import numpy as np

from .errors import FieldError
from .scorer import APPROVE, DECLINE, REVIEW, Scorer
from .tabular import Chunk, Reader
from .writers import ScoredChunk, Shadow


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
    shadow: ShadowTally | None = None

    @property
    def n_scored(self) -> int:
        return self.n_rows - self.n_rejected


@dataclass
class ShadowTally:
    """How a shadow model's decisions compare with those in force, on the rows both models scored."""

    decisions: dict[str, dict[str, int]] = field(
        default_factory=lambda: {a: dict.fromkeys((APPROVE, REVIEW, DECLINE), 0) for a in (APPROVE, REVIEW, DECLINE)})
    """Decision in force -> the shadow model's decision -> rows."""
    rejected: int = 0
    """Rows the shadow model rejected (whether or not the model in force scored them)."""
    probability_sum: float = 0.0
    shadow_probability_sum: float = 0.0

    def add(self, probability: np.ndarray, decision: np.ndarray, shadow: Shadow) -> None:
        both = ~np.isnan(probability) & ~np.isnan(shadow.probability)
        self.rejected += int(np.count_nonzero(np.isnan(shadow.probability)))
        self.probability_sum += float(probability[both].sum())
        self.shadow_probability_sum += float(shadow.probability[both].sum())
        ours, theirs = decision[both], np.asarray(shadow.decision)[both]
        for a, row in self.decisions.items():
            mine = ours == a
            for b in row:
                row[b] += int(np.count_nonzero(mine & (theirs == b)))

    @property
    def both(self) -> int:
        return sum(sum(row.values()) for row in self.decisions.values())

    @property
    def same(self) -> int:
        return sum(row[a] for a, row in self.decisions.items())

    def to_dict(self) -> dict[str, object]:
        n = self.both
        return {"rows_both_scored": n, "shadow_rejected": self.rejected, "same_decision": self.same,
                "decisions": self.decisions,
                "mean_probability": self.probability_sum / n if n else None,
                "mean_shadow_probability": self.shadow_probability_sum / n if n else None}


def score_stream(scorer: Scorer, reader: Reader, writer: _Writer, *, progress: Progress | None = None,
                 reasons: int = 0, shadow: Scorer | None = None) -> Summary:
    """Score every chunk of ``reader`` with ``scorer`` and hand the results to ``writer``,
    with up to ``reasons`` reason codes per scored row, and with ``shadow``'s results beside (a second
    model, at its own threshold, that decides nothing: it is watched before it replaces ``scorer``).

    A row that ``reader`` found broken (``Chunk.row_errors``) is rejected with
    that error alone: its fields cannot be trusted to be in their columns, so
    field errors and warnings are not reported for it. Otherwise a row's error
    is all its field errors joined with ``"; "``.
    """
    start = time.perf_counter()
    n_rows = n_rejected = n_warned = 0
    decisions = dict.fromkeys((APPROVE, REVIEW, DECLINE), 0)
    tally = ShadowTally() if shadow is not None else None
    try:
        for chunk in reader:
            batch = scorer.score_columns(chunk.columns, first_row=chunk.first_row, reasons=reasons)
            error = [""] * chunk.n
            warning = [""] * chunk.n
            for i, warns in batch.warnings.items():
                warning[i] = "; ".join(warns)
            for i, note in chunk.row_warnings.items():
                warning[i] = f"{warning[i]}; {note}" if warning[i] else note
            rejected = rejections(batch.errors, chunk.row_errors, chunk.sheet_rows)
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
            watched = None if shadow is None else _shadow(shadow, chunk)
            if tally is not None and watched is not None:
                tally.add(probability, decision, watched)
            writer.write(ScoredChunk(chunk.passthrough, probability, decision.tolist(), error, warning, why, watched))
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
    return Summary(n_rows, n_rejected, n_warned, time.perf_counter() - start, decisions, tally)


def _shadow(shadow: Scorer, chunk: Chunk) -> Shadow:
    """The shadow model's results on ``chunk``; a broken row is rejected by it too, with the same reason."""
    batch = shadow.score_columns(chunk.columns, first_row=chunk.first_row)
    error = [""] * chunk.n
    for i, message in rejections(batch.errors, chunk.row_errors, chunk.sheet_rows).items():
        error[i] = message
    probability, decision = batch.probability, batch.decision
    if chunk.row_errors:
        rows = np.fromiter(chunk.row_errors, dtype=np.int64)
        probability, decision = probability.copy(), decision.copy()
        probability[rows], decision[rows] = np.nan, ""
    return Shadow(probability, decision.tolist(), error)


def rejections(field_errors: Mapping[int, Sequence[FieldError]], row_errors: Mapping[int, str],
               sheet_rows: Sequence[int] | None = None) -> dict[int, str]:
    """Why each rejected row of a chunk was rejected: a broken row's own reason, else its field errors joined;
    with a workbook's ``sheet_rows`` (:attr:`Chunk.sheet_rows`), each names the row as Excel shows it too."""
    out = {i: "; ".join(str(e if sheet_rows is None else replace(e, sheet_row=sheet_rows[i])) for e in errs)
           for i, errs in field_errors.items()}
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
            errors = rejections(field_errors, chunk.row_errors, chunk.sheet_rows)
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
    ``label`` says which of several passes it is (a report's checks).
    """

    def __init__(self, stream: IO[str], total_bytes: int | None = None, *, interval: float = 0.25,
                 label: str = ""):
        self.stream = stream
        self.total_bytes = total_bytes or None
        self.interval = interval
        self.label = label
        self._start = time.perf_counter()
        self._last = 0.0
        self._width = 0

    @classmethod
    def for_terminal(cls, total_bytes: int | None, *, quiet: bool = False, stream: IO[str] | None = None,
                     label: str = "") -> Progress | None:
        """A progress line on stderr when it is a terminal and ``quiet`` is off, else ``None``."""
        stream = stream if stream is not None else sys.stderr
        if quiet or not _isatty(stream):
            return None
        return cls(stream, total_bytes, label=label)

    def again(self, what: str) -> Progress:
        """A progress line for another pass over the same file, ``what`` added to the label."""
        return Progress(self.stream, self.total_bytes, interval=self.interval,
                        label=f"{self.label}, {what}" if self.label else what)

    def line(self, rows: int, bytes_read: int, now: float | None = None) -> str:
        elapsed = max((now if now is not None else time.perf_counter()) - self._start, 1e-9)
        text = f"{self.label}: " if self.label else ""
        text += f"{rows:,} rows  {rows / elapsed:,.0f} rows/s"
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
