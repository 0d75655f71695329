"""The command group: help with exit codes, and clear words where the training extra is absent."""

from __future__ import annotations

import importlib.util

import pytest
from click.testing import CliRunner

from loanscore.cli.main import main


def test_help_lists_commands_and_exit_codes() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("score", "watch", "explain", "statements", "backtest", "compare", "monitor", "verify", "audit",
                    "train", "export", "recalibrate", "report", "generate", "fairness", "overrides", "notices", "fields",
                    "ask"):
        assert command in result.output
    assert "130  interrupted" in result.output and "3    verification failed: a model's hash" in result.output


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is not None, reason="only meaningful without the [train] extra")
@pytest.mark.parametrize("args", [["train", "--data", "{csv}", "--out", "run"], ["export", ".", "--out", "m"],
                                  ["report", "eda", "--data", "{csv}", "--output", "e.html"],
                                  ["recalibrate", "{csv}", "--out", "m"]])
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
