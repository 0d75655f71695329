"""A folder a command writes appears whole or not at all, and what it replaces is never lost half-way."""

from __future__ import annotations

from pathlib import Path

import pytest

from loanscore.runtime.errors import InputError
from loanscore.runtime.staging import Folder, staged

RUN = Folder("the run", "run", "run.json", frozenset({"run.json", "data.bin"}))


def older(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text("old\n")
    (out / "data.bin").write_text("old data\n")
    return out


def held(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in folder.iterdir()}


def test_the_new_folder_replaces_the_old_one_whole(tmp_path) -> None:
    out = older(tmp_path)
    with staged(out, RUN) as staging:
        (staging / "run.json").write_text("new\n")
        assert held(out) == {"run.json": "old\n", "data.bin": "old data\n"}, "nothing changes until the end"
    assert held(out) == {"run.json": "new\n"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


@pytest.mark.parametrize("failure", [KeyboardInterrupt, RuntimeError])
def test_a_failure_while_writing_leaves_the_old_folder_as_it_was(tmp_path, failure) -> None:
    out = older(tmp_path)
    with pytest.raises(failure), staged(out, RUN) as staging:
        (staging / "run.json").write_text("new\n")
        raise failure
    assert held(out) == {"run.json": "old\n", "data.bin": "old data\n"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_failed_rename_puts_the_old_folder_back(tmp_path, monkeypatch) -> None:
    """The old folder steps aside before the new one takes its name: if that fails, it comes back."""
    out = older(tmp_path)
    rename = Path.rename

    def refused(self: Path, target):  # type: ignore[no-untyped-def]
        if Path(target) == out.resolve() and self.name.startswith(".out-") and "-old-" not in self.name:
            raise PermissionError(13, "Permission denied")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", refused)
    with pytest.raises(PermissionError), staged(out, RUN) as staging:
        (staging / "run.json").write_text("new\n")
    assert held(out) == {"run.json": "old\n", "data.bin": "old data\n"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_folder_holding_more_than_the_run_is_refused_before_anything_is_written(tmp_path) -> None:
    out = older(tmp_path)
    (out / "notes.txt").write_text("mine\n")
    with pytest.raises(InputError, match="it holds an older run and also notes.txt, which replacing it would "
                                         "delete"), staged(out, RUN):
        pytest.fail("the block must not run")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "a.txt").write_text("mine\n")
    with pytest.raises(InputError, match=r"it holds a.txt, and no run \(no run.json\)"), staged(mine, RUN):
        pytest.fail("the block must not run")
    assert held(out)["notes.txt"] == "mine\n" and held(mine) == {"a.txt": "mine\n"}
