"""A model directory appears whole or not at all: it is written beside its place, then renamed into it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from loanscore.runtime.errors import InputError
from loanscore.runtime.model import MANIFEST
from loanscore.runtime.run_files import note_written
from loanscore.runtime.tabular import refuse_failed_write


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A private folder beside ``out`` to write into; it replaces ``out`` when the block ends without an error,
    and is removed otherwise, so a failed export or recalibration leaves ``out`` as it was. ``out`` must be new,
    empty or a model directory: replacing it deletes what it holds."""
    out = out.resolve()
    _refuse_other_files(out)
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


def _refuse_other_files(out: Path) -> None:
    """`export runs/r1 --out runs/r1`, or `--out .` in a project folder, deleted the training run or the project
    to make room for the model; `--out .` in a model directory pulled the folder from under the command."""
    if not out.exists():
        return
    if out == Path.cwd() or out in Path.cwd().parents:
        raise InputError(f"Cannot write the model to {out}: replacing it would delete the folder this command runs "
                         "in. Run it from another folder.")
    if not out.is_dir():
        raise InputError(f"Cannot write the model to {out}: it is a file; name a folder.")
    held = sorted(p.name for p in out.iterdir())
    if held and MANIFEST not in held:
        shown = ", ".join(held[:4]) + (f" and {len(held) - 4} more" if len(held) > 4 else "")
        raise InputError(f"Cannot write the model to {out}: it holds {shown}, and no model (no {MANIFEST}), and "
                         "writing the model there would delete them. Name a new or empty folder, or a model "
                         "directory to replace.")
