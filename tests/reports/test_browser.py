"""Open a report in headless Chromium and take a screenshot, where Debian's chromium is installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from loanscore.train.reports.eda import write_eda_report

CHROMIUM = Path("/usr/bin/chromium")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_report_renders_in_headless_chromium(taiwan, taiwan_csv, tmp_path):
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip("Chromium is not installed (/usr/bin/chromium); `apt-get install -y chromium` to run this test")
    paths = write_eda_report(taiwan_csv, tmp_path / "eda.html", taiwan)
    shot = tmp_path / "screenshot.png"
    cmd = [str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium"),
           "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
           "--hide-scrollbars", "--window-size=1280,2400", f"--screenshot={shot}", paths["html"].as_uri()]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert shot.is_file(), f"no screenshot; chromium exited {result.returncode}: {result.stderr[-2000:]}"
    data = shot.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 20_000  # a page with text and figures, not a blank one
