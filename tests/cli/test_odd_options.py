"""Odd options and damaged model directories get a message, never a traceback.

Every command that runs without the training extra is invoked with options
drawn at random (seeded) from its own parameters, with values a person might
type by mistake (nan, a column that is not there, a file that is not there):
each run ends in a result or a clear error (exit 0 to 4), never an uncaught
exception nor exit 70 (a fault loanscore did not foresee). The shipped
model's manifest or golden cases damaged at random: the same, except that
damage deep in the manifest's records (its development figures, say) that no
check reads may end in exit 70, which must then be its one-line message.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from loanscore.cli.main import main

TRAINING = {"train", "export", "report", "recalibrate"}
"""Commands that need the training extra, or a run directory: tested where they are."""
INTERACTIVE = {"ask", "watch"}
"""One waits for typed answers, the other for files: tested where they are."""
VALUES = ["0", "1", "-1", "0.5", "1.5", "100", "abc", "", "5%", "nan", "inf", "-inf", "2", "ID", "AGE", "SEX",
          "branch", "final_decision", "x,y", "json", "csv", "-"]


@pytest.fixture(scope="module")
def files(applicants, to_csv, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("odd")
    rows = applicants(80, seed=12)
    labelled = [{**r, "default.payment.next.month": str(k % 2), "final_decision": ("approved", "declined")[k % 3 == 0],
                 "branch": f"B{k % 3}"} for k, r in enumerate(rows)]
    (root / "plain.csv").write_text(to_csv(rows))
    (root / "labelled.csv").write_text(to_csv(labelled))
    return {"plain": root / "plain.csv", "labelled": root / "labelled.csv"}


def _invoke(args: list[str], stdin: bytes = b"", *, unforeseen: bool = False) -> click.testing.Result:
    result = CliRunner().invoke(main, args, input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{args} raised {result.exception!r}")
    if unforeseen and result.exit_code == 70:
        assert "loanscore failed unexpectedly" in result.output and "Traceback" not in result.output
        return result
    assert result.exit_code in (0, 1, 2, 3, 4), f"{args} -> exit {result.exit_code}: {result.output[-500:]}"
    return result


@pytest.mark.parametrize("case", range(120))
def test_odd_options_get_a_result_or_a_message(files, tmp_path, monkeypatch, case) -> None:
    monkeypatch.chdir(tmp_path)  # anything an option names is written here
    rng = random.Random(case)
    name = rng.choice(sorted(set(main.commands) - TRAINING - INTERACTIVE))
    args = [name]
    inputs = [str(files["plain"]), str(files["labelled"]), "missing.csv", "-"]
    for param in main.commands[name].params:
        if isinstance(param, click.Argument):
            args += [rng.choice(inputs) for _ in range(1 if param.nargs == 1 else rng.randint(1, 2))]
        elif rng.random() < 0.3 and param.name != "help":
            option = rng.choice(param.opts)
            if param.is_flag:
                args.append(option)
            elif isinstance(param.type, click.Choice):
                args += [option, rng.choice([*param.type.choices, "bogus"])]
            elif isinstance(param.type, click.Path) or param.name in ("output", "out", "plot", "audit_log"):
                args += [option, rng.choice(["out.csv", "out.svg", "out.json", "out.xlsx", "out.html", "folder",
                                             "no/such/folder/out.csv"])]
            else:
                args += [option, rng.choice(VALUES)]
    _invoke(args, files["plain"].read_bytes())


def _damage(manifest: dict, rng: random.Random) -> None:
    """One entry somewhere in the manifest replaced by a value of another kind, or removed."""
    node: dict | list = manifest
    for _ in range(rng.randint(1, 4)):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            return
        key = rng.choice(keys)
        if not isinstance(node[key], (dict, list)) or rng.random() < 0.4:
            if isinstance(node, dict) and rng.random() < 0.3:
                del node[key]
            else:
                node[key] = rng.choice([None, 1, -1, "x", [], {}, 1e308, True, [1, 2], {"a": "b"}, 10 ** 400])
            return
        node = node[key]


@pytest.mark.parametrize("case", range(40))
def test_a_damaged_model_directory_gets_a_message(model_dir, files, tmp_path, monkeypatch, case) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where exit 70 leaves its details
    rng = random.Random(1000 + case)
    damaged = tmp_path / "model"
    shutil.copytree(model_dir, damaged)
    victim = rng.choice(["manifest.json"] * 4 + ["golden.json"])
    document = json.loads((damaged / victim).read_text("utf-8"))
    _damage(document, rng)
    (damaged / victim).write_text(json.dumps(document))
    plain, labelled = str(files["plain"]), str(files["labelled"])
    for args in (["verify", str(damaged)], ["score", plain, "--reasons", "2", "--points", "--grade"],
                 ["monitor", plain], ["backtest", labelled], ["fairness", labelled], ["cutoffs", labelled],
                 ["explain", plain, "--row", "3"], ["notices", plain, "--out", str(tmp_path / "letters")],
                 ["overrides", labelled], ["fields"], ["statements"]):
        if args[0] != "verify":
            args += ["--model", str(damaged)]
        _invoke(args, unforeseen=victim == "manifest.json")
        shutil.rmtree(tmp_path / "letters", ignore_errors=True)


def test_an_interrupt_after_an_output_is_written_names_it_instead_of_saying_nothing_was(applicants, write_csv,
                                                                                          tmp_path,
                                                                                          monkeypatch) -> None:
    import loanscore.cli.fairness as fairness

    def interrupted(*args, **kwargs):  # Ctrl-C once the figures and the picture are written, before the record
        raise KeyboardInterrupt

    monkeypatch.setattr(fairness, "record_run", interrupted)
    figures, plot = tmp_path / "f.json", tmp_path / "f.svg"
    result = CliRunner().invoke(main, ["fairness", str(write_csv(applicants(60, seed=2))), "-o", str(figures),
                                       "--plot", str(plot), "-q"])
    assert result.exit_code == 130 and figures.exists() and plot.exists()
    assert f"Interrupted after writing {figures}, {plot} (complete)" in result.stderr, result.stderr
    assert "no output was written" not in result.stderr
    monkeypatch.setattr(fairness, "write_figures", interrupted)  # before any file: nothing was written, as before
    result = CliRunner().invoke(main, ["fairness", str(write_csv(applicants(60, seed=2))), "-o",
                                       str(tmp_path / "g.json"), "-q"])
    assert result.exit_code == 130 and "Interrupted; no output was written." in result.stderr


def test_a_signal_between_an_output_and_its_audit_record_waits_for_the_record(applicants, write_csv, tmp_path,
                                                                              monkeypatch, ctrl_c_heard) -> None:
    """Any command, not only score and watch: before, Ctrl-C (or SIGTERM) there left f.json with no record of the
    run in the log. Ctrl-C only: this test's own process gets the signal."""
    import os
    import signal

    import loanscore.cli.fairness as fairness

    real = fairness.record_run
    data, figures, log = write_csv(applicants(60, seed=2)), tmp_path / "f.json", tmp_path / "audit.jsonl"

    def signalled(*args, **kwargs):  # type: ignore[no-untyped-def]
        os.kill(os.getpid(), signal.SIGINT)  # lands after f.json is committed, before the record
        real(*args, **kwargs)

    monkeypatch.setattr(fairness, "record_run", signalled)
    result = CliRunner().invoke(main, ["fairness", str(data), "-o", str(figures), "--audit-log", str(log), "-q"])
    assert result.exit_code in (0, 4) and "Interrupted" not in result.stderr, result.output
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert record["event"] == "fairness" and record["input"]["path"] == str(data.resolve()) and figures.exists()

    def then_interrupted(*args, **kwargs):  # type: ignore[no-untyped-def]
        real(*args, **kwargs)
        raise KeyboardInterrupt  # Ctrl-C once the record is in: the message says the log has it

    monkeypatch.setattr(fairness, "record_run", then_interrupted)
    result = CliRunner().invoke(main, ["fairness", str(data), "-o", str(figures), "--audit-log", str(log), "-q"])
    assert result.exit_code == 130
    assert f"Interrupted after writing {figures} (complete, and recorded in {log})" in result.stderr, result.stderr
