"""The files a command reads and the outputs it commits, counted where its caller asks (each CLI command).

Kept apart from the readers, without numpy, so that a command's wrapper can start the count cheaply.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class RunFiles:
    """The files a command has opened to read and the outputs it has committed: an output must not replace a file
    the command reads (the applicants, gone), and an interrupted run says what it left."""

    read: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    audit_log: str | None = None
    """The audit log the run records to, if any."""
    recorded: int = 0
    """How many of :attr:`written` a record in that log already accounts for."""

    @property
    def record_due(self) -> bool:
        """An output is committed and the audit record naming it is not written yet: a signal now waits for it
        (``cli.interrupts``), so that the log never lacks a file the run left."""
        return self.audit_log is not None and len(self.written) > self.recorded


RUN_FILES: ContextVar[RunFiles | None] = ContextVar("loanscore_run_files", default=None)
"""Where a caller keeps count (each command of the CLI), its :class:`RunFiles`."""


def note_read(path: str | Path) -> None:
    """Count ``path`` among the files this command reads, where its caller keeps count."""
    if (files := RUN_FILES.get()) is not None:
        files.read.append(str(path))


def note_written(path: str | Path) -> None:
    """Count ``path`` among the outputs this command has committed (a file, or a folder that appeared whole)."""
    if (files := RUN_FILES.get()) is not None:
        files.written.append(str(path))


def note_recorded() -> None:
    """The audit record for what this command has written so far is in its log."""
    if (files := RUN_FILES.get()) is not None:
        files.recorded = len(files.written)
