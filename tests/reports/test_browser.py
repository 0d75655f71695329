"""Open a report in headless Chromium and take a screenshot, where Debian's chromium is installed."""

from __future__ import annotations

from loanscore.train.reports.eda import write_eda_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_report_renders_in_headless_chromium(chromium, taiwan, taiwan_csv, tmp_path):
    paths = write_eda_report(taiwan_csv, tmp_path / "eda.html", taiwan)
    shot = tmp_path / "screenshot.png"
    result = chromium(paths["html"].as_uri(), "--hide-scrollbars", "--window-size=1280,2400", f"--screenshot={shot}",
                      profile=tmp_path / "profile")
    assert shot.is_file(), f"no screenshot; chromium exited {result.returncode}: {result.stderr[-2000:]}"
    data = shot.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 20_000  # a page with text and figures, not a blank one
