"""A folder a command writes (a model, a training run) appears whole or not at all: it is written beside its
place, then renamed into it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError
from .model import MANIFEST
from .run_files import note_written
from .writers import refuse_failed_write


@dataclass(frozen=True)
class Folder:
    """What a command writes as one folder, and so which folder it may replace."""

    noun: str
    """What is written, for messages: "the model"."""
    name: str
    """What such a folder is called: "model directory"."""
    marker: str
    """The file that makes a folder one of these (a model's manifest.json)."""
    files: frozenset[str] = frozenset()
    """Where known, every file such a folder holds: another file in it is the user's, and is not deleted."""


MODEL_FOLDER = Folder("the model", "model directory", MANIFEST)


@contextmanager
def staged(out: Path, folder: Folder = MODEL_FOLDER) -> Iterator[Path]:
    """A private folder beside ``out`` to write into; it replaces ``out`` when the block ends without an error,
    and is removed otherwise, so a failed or interrupted command leaves ``out`` as it was. ``out`` must be new,
    empty or one of ``folder`` (see :func:`refuse_other_files`): replacing it deletes what it holds."""
    out = out.resolve()
    refuse_other_files(out, folder)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a model directory is meant to be shared
    old: Path | None = None
    try:
        yield staging
        if out.exists():  # it steps aside, and comes back if the new one cannot take its name
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-", dir=out.parent))
            old.rmdir()  # a unique name, free for the rename (Windows renames onto no folder, even an empty one)
            out.rename(old)
        staging.rename(out)
        note_written(out)
    except BaseException as exc:
        if old is not None and old.exists() and not out.exists():
            old.rename(out)
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            refuse_failed_write(exc, str(out), "nothing was left half-written and what was there is as it was")
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def refuse_other_files(out: Path, folder: Folder = MODEL_FOLDER) -> None:
    """Refuse an ``out`` that replacing would lose something by: `export runs/r1 --out runs/r1`, or `--out .` in a
    project folder, deleted the training run or the project to make room for the model; `--out .` in a model
    directory pulled the folder from under the command. Called before long work, so that it is not wasted."""
    out = out.resolve()
    if not out.exists():
        return
    into = f"Cannot write {folder.noun} to {out}"
    if out == Path.cwd() or out in Path.cwd().parents:
        raise InputError(f"{into}: replacing it would delete the folder this command runs in. Run it from another "
                         "folder.")
    if not out.is_dir():
        raise InputError(f"{into}: it is a file; name a folder.")
    held = sorted(p.name for p in out.iterdir())
    if not held:
        return
    if folder.marker not in held:
        raise InputError(f"{into}: it holds {_some(held)}, and no {folder.name} (no {folder.marker}), and writing "
                         f"{folder.noun} there would delete them. Name a new or empty folder, or a {folder.name} "
                         "to replace.")
    others = [name for name in held if folder.files and name not in folder.files]
    if others:
        raise InputError(f"{into}: it holds an older {folder.name} and also {_some(others)}, which replacing it "
                         "would delete. Move them out, or name another folder.")


def _some(names: list[str]) -> str:
    return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
