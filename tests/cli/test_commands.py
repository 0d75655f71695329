"""The command group: help with exit codes, and clear words where the training extra is absent."""

from __future__ import annotations

import importlib.util
import os

import pytest
from click.testing import CliRunner

from loanscore.cli.main import main


def test_help_lists_commands_and_exit_codes() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("score", "watch", "explain", "statements", "backtest", "compare", "monitor", "verify", "audit",
                    "train", "export", "recalibrate", "report", "generate", "fairness", "overrides", "notices", "fields",
                    "ask", "schema"):
        assert command in result.output
    assert "130  interrupted" in result.output and "3    verification failed: a model's hash" in result.output


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is not None, reason="only meaningful without the [train] extra")
@pytest.mark.parametrize("args", [["train", "--data", "{csv}", "--out", "run"], ["export", ".", "--out", "m"],
                                  ["report", "eda", "--data", "{csv}", "--output", "e.html"],
                                  ["recalibrate", "{csv}", "--out", "m"], ["schema", "draft", "{csv}"],
                                  ["schema", "check", "{csv}", "--data", "{csv}"]])
def test_training_commands_explain_the_missing_extra(args, tmp_path) -> None:
    csv = tmp_path / "d.csv"
    csv.write_text("ID\n1\n")
    result = CliRunner().invoke(main, [a.format(csv=csv) for a in args])
    assert result.exit_code == 2
    assert "pip install 'loanscore[train]'" in result.output and "Traceback" not in result.output


def test_generate_writes_valid_applicants(tmp_path, scorer) -> None:
    out = tmp_path / "g.csv"
    result = CliRunner().invoke(main, ["generate", "--rows", "50", "--seed", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    scored = CliRunner().invoke(main, ["score", str(out), "-q"])
    assert scored.exit_code == 0, scored.output
    assert len(scored.output.strip().splitlines()) == 51


class _CtrlCMidway(list):
    """A column that is interrupted (Ctrl-C) once ``after`` of its values have been written."""

    after = 500

    def __iter__(self):  # type: ignore[no-untyped-def]
        for k, value in enumerate(list.__iter__(self)):
            if k == self.after:
                raise KeyboardInterrupt
            yield value


def test_generate_interrupted_midway_leaves_the_old_file(tmp_path, monkeypatch) -> None:
    """Before, Ctrl-C while `generate` wrote left the rows so far in place of the file, and said "no output was
    written"."""
    import loanscore.train.synthetic as synthetic

    real = synthetic.generate

    def interrupted(*args, **kwargs):  # type: ignore[no-untyped-def]
        columns = real(*args, **kwargs)
        first = next(iter(columns))
        columns[first] = _CtrlCMidway(columns[first])
        return columns

    monkeypatch.setattr(synthetic, "generate", interrupted)
    out = tmp_path / "g.csv"
    out.write_text("yesterday's applicants\n")
    result = CliRunner().invoke(main, ["generate", "--rows", "2000", "--out", str(out)])
    assert result.exit_code == 130, result.output
    assert "Interrupted; no output was written." in result.output
    assert out.read_text() == "yesterday's applicants\n" and sorted(os.listdir(tmp_path)) == ["g.csv"]


def test_an_unforeseen_fault_is_a_message_and_a_saved_traceback(monkeypatch, tmp_path) -> None:
    """A bug must not meet a branch clerk as a traceback: one line saying what happened and where the details are
    (exit 70), the traceback in a file to send; LOANSCORE_DEBUG=1 lets it through for the developer."""
    import loanscore.runtime.fields

    def broken(schema):  # type: ignore[no-untyped-def]
        raise RuntimeError("a fault for the test")

    monkeypatch.setattr(loanscore.runtime.fields, "contract", broken)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.delenv("LOANSCORE_DEBUG", raising=False)
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    result = CliRunner().invoke(main, ["fields"])
    assert result.exit_code == 70, result.output
    assert "loanscore failed unexpectedly (RuntimeError: a fault for the test)" in result.output
    assert "Traceback" not in result.output
    (report,) = tmp_path.glob("loanscore-error-*.txt")
    assert str(report) in result.output
    text = report.read_text("utf-8")
    assert "Traceback" in text and "a fault for the test" in text and "cli/fields.py" in text.replace("\\", "/")

    monkeypatch.setenv("LOANSCORE_DEBUG", "1")
    result = CliRunner().invoke(main, ["fields"])
    assert isinstance(result.exception, RuntimeError)

    # click's own errors raised in a command keep their meaning: a usage error is still exit 2
    result = CliRunner().invoke(main, ["explain", "--json", "{}", "--row", "1"])
    assert result.exit_code == 2 and "--json is a single applicant" in result.output


@pytest.mark.parametrize("args", [["score", "-", "--decline-from", "nan"], ["score", "-", "--approve-below", "NaN"],
                                  ["notices", "-", "--out", "x", "--decline-below-points", "nan"],
                                  ["cutoffs", "-", "--cutoff-points", "-inf"]])
def test_a_cut_off_that_is_no_finite_number_is_a_usage_error(args) -> None:
    """nan passes any range check (it compares false to every bound), so it is refused by name."""
    result = CliRunner().invoke(main, args, input="")
    assert result.exit_code == 2 and "is not a finite number" in result.output, result.output
