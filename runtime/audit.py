"""An append-only audit log of the runs that use or make a model, each record chained to the one before by
its SHA-256.

A lender must be able to say later which model, with which cut-offs, decided
on which file, run by whom, and where that model came from. ``loanscore score --audit-log FILE`` (or
``$LOANSCORE_AUDIT_LOG``) appends one JSON line per completed run; a desktop
application records each decision with :meth:`AuditLog.append_score`, and
anything else (an officer's override) with :meth:`AuditLog.append`. Records
name files and applicants by SHA-256, never by their fields: the log holds
no applicant data.

Each record carries ``prev``, the SHA-256 of the line before it (``null`` on
the first line), so editing, inserting or removing a line breaks the chain
at the next line and :meth:`AuditLog.check` (``loanscore audit``) names it.
A chain cannot show a rewrite of the whole file from some line on, or a cut
tail: for that, copy the head hash that ``check`` reports somewhere else
(a ticket, a second machine) now and then, and compare.

Writers on one machine take an exclusive lock on ``LOG.lock`` beside the log
around reading the last line and appending (``flock``; on Windows, a lock on
the file's first byte with ``msvcrt``, waited for up to :data:`LOCK_WAIT_S`),
so concurrent runs still form one chain; each record is one ``write`` call.

A log is rotated (:meth:`AuditLog.rotate`, ``loanscore audit LOG --rotate``)
by renaming it with the time and starting the new file with a ``rotated``
record whose ``prev`` is the old file's head: the chain runs on across files,
and ``check`` verifies the link when the old file lies beside the new one.
"""

from __future__ import annotations

import dataclasses
import getpass
import hashlib
import importlib
import json
import os
import platform
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import InputError, VerificationError
from .run_files import note_recorded


def _optional(module: str) -> Any:
    """The platform's locking module, or ``None`` where it has none (``fcntl`` on POSIX, ``msvcrt`` on Windows)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


fcntl, msvcrt = _optional("fcntl"), _optional("msvcrt")

LOCK_WAIT_S = 60.0
"""How long a writer on Windows waits for another run to release the log before giving up with a message
(``flock`` elsewhere waits as long as it takes)."""

ROTATED = "rotated"
"""The event of a rotated log's first record, the one whose ``prev`` may name another file's head."""


@dataclass(frozen=True)
class AuditCheck:
    """What :meth:`AuditLog.check` found: the records, and where the chain first breaks (``None``: intact)."""

    path: Path
    records: list[dict[str, Any]]
    head: str | None
    """SHA-256 of the last line: write it down elsewhere to detect a later rewrite or a cut tail."""
    broken_at: int | None = None
    problem: str = ""
    continues: dict[str, Any] | None = None
    """The ``rotated`` first record's ``continues``: the file this log carries the chain on from."""
    link: str = ""
    """How the link to that file checked: ``"verified"``, ``"broken"``, ``"absent"`` (not beside this log), or
    ``""`` for a log that continues none."""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


class AuditLog:
    """One audit log file (JSON Lines). Created, with its folder, on the first append."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def writable(self) -> None:
        """Raise a clear error now, before any work, if records could not be appended later."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            for path in (self.path, self.path.with_name(self.path.name + ".lock")):
                with open(path, "ab"):
                    pass
        except OSError as exc:
            raise InputError(f"The audit log {self.path} cannot be written ({exc.strerror or exc}), so the run "
                             "did not start. Name another file with --audit-log or $LOANSCORE_AUDIT_LOG.") from None

    def is_a_log(self) -> None:
        """Raise a clear error now if the file holds something other than an audit log (an applicant file named by
        mistake, which an appended record would damage) or ends in a cut-short line (no record can chain to it)."""
        try:
            size = self.path.stat().st_size
        except OSError:
            return  # a new log
        if not size:
            return
        with open(self.path, "rb") as fh:
            fh.seek(max(0, size - (1 << 16)))
            tail = fh.read()
        if not tail.endswith(b"\n"):
            raise InputError(f"The audit log {self.path} ends in a cut-short line (or is no audit log), so the run "
                             f"did not start; run `loanscore audit {self.path}` to see where, and start a new log "
                             "or repair it.")
        try:
            record = json.loads(tail.rstrip(b"\n").rsplit(b"\n", 1)[-1])
        except ValueError:
            record = None
        if not isinstance(record, dict) or "prev" not in record:
            raise InputError(f"{self.path} is not an audit log (its last line is no audit record), so nothing was "
                             "appended to it and the run did not start. Name the log's own file with --audit-log, "
                             "or a new one.")

    def append(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Append ``record`` with the time (UTC), user, host and ``prev``; returns what was written."""
        self.writable()
        with self._locked() as fh:
            prev = _last_line(fh)
            entry = {**_stamp(), **record, "prev": _hash(prev)}
            line = memoryview(json.dumps(entry, ensure_ascii=False, allow_nan=False).encode("utf-8") + b"\n")
            fd = fh.fileno()  # written unbuffered: a failed write must leave no bytes behind to be flushed later
            end = os.lseek(fd, 0, os.SEEK_END)
            try:
                while line:
                    line = line[os.write(fd, line):]
                os.fsync(fd)
            except OSError as exc:  # a full disk: take back a half-written line, so that the chain still holds
                try:
                    os.ftruncate(fd, end)
                except OSError:
                    pass
                raise InputError(f"Cannot append to the audit log {self.path} ({exc.strerror or exc}): this run is "
                                 "not recorded in it, and the log was left as it was. Free some space and record "
                                 "the run again, or name another log.") from None
        note_recorded()
        return entry

    def append_score(self, scorer: Any, record: Mapping[str, Any], result: Any, **extra: Any) -> dict[str, Any]:
        """Record one applicant's decision as ``loanscore score`` records a run of one row.

        ``record`` is what was given to ``scorer.score`` (it is kept only as the SHA-256 of its canonical JSON,
        so a later check can tell whether a stored application is the one decided on); ``result`` its
        :class:`~loanscore.runtime.scorer.ScoreResult`; ``extra`` adds fields, e.g. ``applicant="A-17"``.
        """
        ok = not result.errors
        return self.append({
            "event": "score_one", **decided_by(scorer),
            "input": {"path": "record", "record_sha256": record_sha256(record)},
            "rows": 1, "scored": int(ok), "rejected": int(not ok), "warned": int(bool(result.warnings)),
            "decisions": {d: int(result.decision == d) for d in ("approve", "review", "decline")},
            "probability": result.probability, "decision": result.decision,
            "errors": [f"{e.field} {e.reason}" for e in result.errors], **extra})  # not the values: no applicant data

    def check(self) -> AuditCheck:
        """Read every record and check the chain line by line."""
        try:
            lines = self.path.read_bytes().split(b"\n")
        except OSError as exc:
            raise InputError(f"Cannot read the audit log {self.path}: {exc.strerror or exc}.") from None
        if lines and lines[-1] == b"":
            lines.pop()
        elif lines:  # no newline at the end: a write was cut short, or the file was edited
            return AuditCheck(self.path, [], None, len(lines), "the last line does not end with a newline, so "
                              "its record was cut short or the file was edited")
        records: list[dict[str, Any]] = []
        prev: bytes | None = None
        for number, line in enumerate(lines, start=1):
            expected = _hash(prev)
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("not a JSON object")
            except (ValueError, UnicodeDecodeError, RecursionError) as exc:
                return AuditCheck(self.path, records, _hash(prev), number, f"line {number} is not a JSON record "
                                  f"({exc})")
            if number == 1 and record.get("event") == ROTATED and isinstance(record.get("prev"), str):
                expected = record["prev"]  # carries on the chain of the file it names (checked below)
            if record.get("prev") != expected:
                where = "the first line should have prev null" if expected is None else (
                    f"its prev does not match the SHA-256 of line {number - 1}")
                return AuditCheck(self.path, records, _hash(prev), number, f"line {number} breaks the chain: "
                                  f"{where}, so line {number} or {number - 1} was edited, or a line between them "
                                  "removed or inserted")
            records.append(record)
            prev = line
        check = AuditCheck(self.path, records, _hash(prev))
        return self._check_link(check) if records and records[0].get("event") == ROTATED else check

    def rotate(self) -> tuple[Path, dict[str, Any]]:
        """Rename the log with the time (``audit.jsonl`` -> ``audit-20261206T053500Z.jsonl``) and start it again
        with a ``rotated`` record chained to the old file's head. Refuses a log whose chain is broken."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        old = self.path.with_name(f"{self.path.stem}-{stamp}{self.path.suffix}")
        with self._locked() as fh:  # no record can slip in between the check and the rename
            check = self.check()
            if not check.intact:
                raise VerificationError(f"{self.path}: {check.problem}; a broken log is not rotated.")
            head = _last_line(fh)
            if head is None:
                raise InputError(f"{self.path} is empty: there is nothing to rotate.")
            if old.exists():
                raise InputError(f"{old} exists already; rotate again in a second.")
            os.rename(self.path, old)
            digest = file_digest(old)
            n = len(check.records)
            entry = {**_stamp(), "event": ROTATED, "continues": {"file": old.name, "sha256": digest["sha256"],
                                                                 "records": n, "head": _hash(head)},
                     "prev": _hash(head)}
            # "ab", not "xb": a writer's writable() may have created the file, empty, since the rename; no
            # record can be in it, as records are written under the lock this rotation holds.
            with open(self.path, "ab") as new:
                if new.tell():
                    raise InputError(f"{self.path} was written to while it was being rotated; check it with "
                                     "`loanscore audit`.")
                new.write(json.dumps(entry, ensure_ascii=False).encode("utf-8") + b"\n")
                new.flush()
                os.fsync(new.fileno())
        return old, entry

    def _check_link(self, check: AuditCheck) -> AuditCheck:
        """A rotated log: does the file it continues, if it lies beside it, end where the first record says?"""
        continues = check.records[0].get("continues") or {}
        old = self.path.with_name(str(continues.get("file", "")))
        if not continues.get("file") or not old.is_file():
            return dataclasses.replace(check, continues=continues, link="absent")
        from .integrity import sha256_file

        earlier = AuditLog(old).check()
        problem = (f"the file it continues, {old.name}, has a broken chain ({earlier.problem})"
                   if not earlier.intact else
                   f"its first record continues {old.name}, whose SHA-256 has changed since the rotation"
                   if sha256_file(old) != continues.get("sha256") else
                   f"its first record's prev is not the head of {old.name}"
                   if earlier.head != check.records[0].get("prev") else "")
        if problem:
            return dataclasses.replace(check, broken_at=1, problem=f"line 1 breaks the chain: {problem}",
                                       continues=continues, link="broken")
        return dataclasses.replace(check, continues=continues, link="verified")

    @contextmanager
    def _locked(self) -> Iterator[Any]:
        """The log open for appending while this process holds the exclusive lock on ``LOG.lock``: a file beside
        the log that is never renamed, so a rotation and the writers waiting on it agree on which file is the log."""
        with open(self.path.with_name(self.path.name + ".lock"), "a+b") as lock:
            if fcntl is not None:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            elif msvcrt is not None:
                self._wait_for(lock)
            try:
                with open(self.path, "a+b") as fh:
                    yield fh
            finally:
                if fcntl is not None:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
                elif msvcrt is not None:
                    lock.seek(0)
                    msvcrt.locking(lock.fileno(), msvcrt.LK_UNLCK, 1)

    def _wait_for(self, lock: Any) -> None:
        """Lock ``lock``'s first byte (Windows): ``msvcrt`` tries once without waiting, so try every 50 ms up to
        :data:`LOCK_WAIT_S`, then name the lock rather than hang a desk."""
        import time

        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            lock.seek(0)  # msvcrt locks from the file's position
            try:
                msvcrt.locking(lock.fileno(), msvcrt.LK_NBLCK, 1)
                return
            except OSError:
                if time.monotonic() >= deadline:
                    raise InputError(f"The audit log {self.path} has been locked by another run for "
                                     f"{LOCK_WAIT_S:g} s ({lock.name}), so no record was appended; find that run "
                                     "(a loanscore command or application writing to this log) and let it end.") \
                        from None
                time.sleep(0.05)


def file_digest(path: str | Path) -> dict[str, Any]:
    """A file as a record names it: absolute path, size and SHA-256."""
    from .integrity import sha256_file

    p = Path(path).resolve()
    return {"path": str(p), "bytes": p.stat().st_size, "sha256": sha256_file(p)}


def decided_by(scorer: Any) -> dict[str, Any]:
    """What decides in a scoring record: the loanscore version, the model (folder, SHA-256) and the cut-offs."""
    return {"loanscore": loanscore_version(),
            "model": {"path": str(scorer.model.directory.resolve()), "sha256": scorer.model.manifest["sha256"]},
            "cutoffs": {"approve_below": scorer.bands.approve_below, "decline_from": scorer.bands.decline_from}}


def record_sha256(record: Mapping[str, Any]) -> str:
    """The SHA-256 that :meth:`AuditLog.append_score` records for an applicant's fields."""
    return text_sha256(json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str))


def text_sha256(text: str) -> str:
    """SHA-256 of ``text`` as UTF-8: how a record names an applicant given as ``--json`` text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def loanscore_version() -> str:
    """The installed loanscore's version, as records name it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("loanscore")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _hash(line: bytes | None) -> str | None:
    return hashlib.sha256(line).hexdigest() if line is not None else None


def _last_line(fh: Any) -> bytes | None:
    """The file's last line without its newline (``None`` if empty), read backwards from the end."""
    end = fh.seek(0, os.SEEK_END)
    if end == 0:
        return None
    block, data, pos = 1 << 16, b"", end
    while pos > 0:
        step = min(block, pos)
        pos -= step
        fh.seek(pos)
        data = fh.read(step) + data
        if data.count(b"\n") >= 2 or pos == 0:
            break
    lines = data.rstrip(b"\n").split(b"\n")
    if not data.endswith(b"\n"):
        raise InputError(f"The audit log {fh.name} ends in a cut-short line; run `loanscore audit {fh.name}` to "
                         "see where, and start a new log or repair it before scoring with it.")
    return lines[-1]


def _stamp() -> dict[str, str]:
    """When, by whom and where a record was written."""
    return {"time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "user": _user(), "host": platform.node()}


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment or the password database (some containers)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
