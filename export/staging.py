"""A model directory appears whole or not at all: it is written beside its place, then renamed into it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from loanscore.runtime.run_files import note_written
from loanscore.runtime.tabular import refuse_failed_write


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A private folder beside ``out`` to write into; it replaces ``out`` when the block ends without an error,
    and is removed otherwise, so a failed export or recalibration leaves ``out`` as it was."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a model directory is meant to be shared
    try:
        yield staging
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
        note_written(out)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            refuse_failed_write(exc, str(out), "nothing was left half-written and what was there is as it was")
        raise
