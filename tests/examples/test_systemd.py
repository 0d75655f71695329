"""examples/systemd/loanscore-watch.service, the hot folder as a service: its command runs as written (paths moved
into a temporary folder), its clean stop (SIGTERM, exit 130) is not taken for a failure, and systemd accepts it."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loanscore.runtime.errors import EXIT_INTERRUPTED

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "examples" / "systemd" / "loanscore-watch.service"
LOANSCORE = Path(sys.executable).with_name("loanscore")


def _settings() -> dict[str, str]:
    lines = [line.strip() for line in UNIT.read_text("utf-8").splitlines()]
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def test_the_unit_command_scores_a_dropped_file(tmp_path: Path) -> None:
    command = shlex.split(_settings()["ExecStart"].replace("/srv/branch", str(tmp_path)))
    assert command[0].endswith("/bin/loanscore") and command[1] == "watch"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(ROOT / "artifacts" / "sample_applicants.csv", inbox / "monday.csv")
    done = subprocess.run([str(LOANSCORE), *command[1:], "--once"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    scored = (tmp_path / "scored" / "monday.scored.csv").read_text("utf-8").splitlines()
    assert len(scored) == 26 and "reasons" in scored[0]
    assert (inbox / "processed" / "monday.csv").exists()
    assert '"event": "score"' in (tmp_path / "audit.jsonl").read_text("utf-8")


def test_a_stop_is_clean_and_a_failure_restarts() -> None:
    settings = _settings()
    assert str(EXIT_INTERRUPTED) in settings["SuccessExitStatus"].split()
    assert settings["Restart"] == "on-failure" and int(settings["RestartSec"]) >= 10


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    unit = tmp_path / UNIT.name  # the venv's loanscore where the unit has /opt/loanscore/venv's
    unit.write_text(UNIT.read_text("utf-8").replace("/opt/loanscore/venv/bin/loanscore", str(LOANSCORE)), "utf-8")
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
