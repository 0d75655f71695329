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


RUN_FILES: ContextVar[RunFiles | None] = ContextVar("loanscore_run_files", default=None)
"""Where a caller keeps count (each command of the CLI), its :class:`RunFiles`."""


def note_read(path: str | Path) -> None:
    """Count ``path`` among the files this command reads, where its caller keeps count."""
    if (files := RUN_FILES.get()) is not None:
        files.read.append(str(path))
