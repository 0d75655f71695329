"""`loanscore watch`: a hot folder scored file by file, with nothing lost, overwritten or half-written."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from loanscore.cli.main import main

LOANSCORE = [sys.executable, "-c", "import sys; from loanscore.cli.main import main; sys.argv[0] = 'loanscore'; main()"]


def rows_of(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_once_scores_each_file_moves_it_on_and_explains_a_failure(applicants, to_csv, model_dir, tmp_path) -> None:
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    good = applicants(30, seed=1)
    (inbox / "a.csv").write_text(to_csv(good))
    some_bad = applicants(5, seed=2)
    some_bad[2]["AGE"] = "abc"
    (inbox / "b.csv").write_text(to_csv(some_bad))
    (inbox / "c.csv").write_text("name,amount\nx,1\n")  # not an applicant file: no model columns
    (inbox / "notes.txt").write_text("not for scoring")
    (inbox / ".copying.csv").write_text(to_csv(good))  # hidden: a copy in progress
    (inbox / "~$week.xlsx").write_bytes(b"\x05clerk" + b"\x00" * 50)  # Excel's lock file: the workbook is open
    log = tmp_path / "audit.jsonl"
    result = CliRunner().invoke(main, ["watch", str(inbox), "--out", str(out), "--model", str(model_dir), "--once",
                                       "--audit-log", str(log)])
    assert result.exit_code == 2, result.output  # a file could not be read
    scored = rows_of(out / "a.scored.csv")
    alone = CliRunner().invoke(main, ["score", str(inbox / "processed" / "a.csv"), "--model", str(model_dir), "-q"])
    assert scored == list(csv.DictReader(alone.output.splitlines()))  # exactly what `score` writes
    b = rows_of(out / "b.scored.csv")
    assert len(b) == 5 and "AGE must be a number" in b[2]["error"] and b[0]["decision"]
    assert sorted(p.name for p in (inbox / "processed").iterdir()) == ["a.csv", "b.csv"]
    assert sorted(p.name for p in (inbox / "failed").iterdir()) == ["c.csv", "c.csv.error.txt"]
    assert "lacks the required columns" in (inbox / "failed" / "c.csv.error.txt").read_text()
    assert sorted(p.name for p in inbox.iterdir()) == [".copying.csv", "failed", "notes.txt", "processed",
                                                      "~$week.xlsx"]
    assert "b.csv: scored 4 of 5 rows, 1 rejected" in result.output
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(Path(r["input"]["path"]).name, r["exit"]) for r in records] == [("a.csv", 0), ("b.csv", 1), ("c.csv", 2)]
    assert records[0]["output"]["path"] == str((out / "a.scored.csv").resolve())
    done = inbox / "processed" / "a.csv"  # recorded where it was scored, by content, and where it went
    assert records[0]["input"]["path"] == str((inbox / "a.csv").resolve())
    assert records[0]["input"]["moved_to"] == str(done.resolve())
    assert CliRunner().invoke(main, ["audit", str(log), "--file", str(done)]).exit_code == 0


def test_a_name_seen_before_gets_a_new_output_and_nothing_is_overwritten(applicants, to_csv, model_dir,
                                                                         tmp_path) -> None:
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    for seed in (1, 2):
        (inbox / "day.jsonl").write_text("".join(json.dumps(r) + "\n" for r in applicants(3, seed=seed)))
        result = CliRunner().invoke(main, ["watch", str(inbox), "--out", str(out), "--model", str(model_dir),
                                           "--once", "--format", "jsonl", "--stamp"])
        assert result.exit_code == 0, result.output
    outputs = sorted(out.iterdir(), key=lambda p: p.name != "day.scored.jsonl")  # the first run's, then the second's
    assert len(outputs) == 2 and outputs[0].name == "day.scored.jsonl" and outputs[1].name.startswith("day-")
    assert len(list((inbox / "processed").iterdir())) == 2
    first, second = ([json.loads(line) for line in p.read_text().splitlines()] for p in outputs)
    assert first[0]["ID"] == "1" and first != second and first[0]["model_id"] == second[0]["model_id"]


def test_it_waits_for_a_file_to_settle_and_stops_cleanly_on_a_signal(applicants, to_csv, model_dir,
                                                                     tmp_path) -> None:
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    watcher = subprocess.Popen([*LOANSCORE, "watch", str(inbox), "--out", str(out), "--model", str(model_dir),
                                "--interval", "2"], stderr=subprocess.PIPE, text=True)
    try:
        growing = inbox / "late.csv"
        text = to_csv(applicants(40, seed=3))
        for k in range(4):  # written in four parts, 0.4 s apart (well under the interval): never taken half-written
            with open(growing, "a") as fh:
                fh.write(text[k * len(text) // 4 : (k + 1) * len(text) // 4])
            time.sleep(0.4)
            assert k == 3 or not (out / "late.scored.csv").exists()
        deadline = time.monotonic() + 60
        while not (inbox / "processed" / "late.csv").exists():
            assert time.monotonic() < deadline and watcher.poll() is None, "the watcher did not take the file"
            time.sleep(0.1)
        assert len(rows_of(out / "late.scored.csv")) == 40
    finally:
        watcher.send_signal(signal.SIGTERM if os.name != "nt" else signal.SIGINT)
        _, err = watcher.communicate(timeout=60)
    assert watcher.returncode == 130, err
    assert "late.csv: scored 40 of 40 rows" in err and "Stopped after 1 file;" in err


def test_each_file_is_written_back_with_its_own_separator(applicants, to_csv, model_dir, tmp_path) -> None:
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    text = to_csv(applicants(4, seed=31))
    (inbox / "commas.csv").write_text(text)
    (inbox / "excel.csv").write_text(text.replace(",", ";"))
    result = CliRunner().invoke(main, ["watch", str(inbox), "--out", str(out), "--model", str(model_dir), "--once",
                                       "-q"])
    assert result.exit_code == 0, result.output
    commas, excel = ((out / f"{n}.scored.csv").read_text() for n in ("commas", "excel"))
    assert excel.splitlines()[0] == "ID;probability_of_default;decision;error;warning"
    assert excel == commas.replace(",", ";").replace(";0.", ";0,") and "0," in excel


def test_a_file_taken_away_before_it_is_scored_is_skipped_not_a_crash(scorer, tmp_path, capsys) -> None:
    """Another process (a second watcher, a user) can take a file between the listing and the reading."""
    from loanscore.cli.score import Interrupts, Layout
    from loanscore.cli.watch import _take

    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    out.mkdir()
    code = _take(inbox / "gone.csv", inbox, out, scorer, "csv", Layout(), Interrupts(), None, False)
    assert code == 0 and "gone.csv: gone from" in capsys.readouterr().err
    assert not list(out.iterdir()) and not (inbox / "failed").exists()



def test_a_fault_on_one_file_sends_it_to_failed_and_the_watcher_goes_on(applicants, to_csv, model_dir, tmp_path,
                                                                        monkeypatch) -> None:
    """A fault loanscore did not foresee (here made to happen on one file's reader) must not stop a branch's hot
    folder: that file goes to failed/ naming the saved traceback, the next file is scored, exit 70 with --once."""
    import tempfile

    import loanscore.runtime.readers as readers

    real = readers.open_reader

    def faulty(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if Path(path).name == "a.csv":
            raise RuntimeError("a fault for the test")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(readers, "open_reader", faulty)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    monkeypatch.delenv("LOANSCORE_DEBUG", raising=False)
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    for name, seed in (("a.csv", 1), ("b.csv", 2)):
        (inbox / name).write_text(to_csv(applicants(10, seed=seed)))
    result = CliRunner().invoke(main, ["watch", str(inbox), "--out", str(out), "--model", str(model_dir), "--once"])
    assert result.exit_code == 70, result.output
    assert len(rows_of(out / "b.scored.csv")) == 10 and (inbox / "processed" / "b.csv").exists()
    assert (inbox / "failed" / "a.csv").exists() and not (out / "a.scored.csv").exists()
    why = (inbox / "failed" / "a.csv.error.txt").read_text("utf-8")
    (report,) = tmp_path.glob("loanscore-error-*.txt")
    assert "loanscore failed unexpectedly (RuntimeError: a fault for the test)" in why and str(report) in why
    assert "Traceback" not in result.output


def test_a_signal_while_a_scored_file_is_moved_and_recorded_stops_the_watcher_after_it(
        applicants, to_csv, model_dir, tmp_path, monkeypatch, ctrl_c_heard) -> None:
    """The output is committed, so the file is seen through (moved, its line printed, its audit record written)
    before the watcher stops; before, it stopped in between: "Stopped after 0 files", the run unrecorded."""
    import loanscore.cli.watch as watch

    inbox, out, log = tmp_path / "inbox", tmp_path / "out", tmp_path / "audit.jsonl"
    inbox.mkdir()
    (inbox / "a.csv").write_text(to_csv(applicants(20, seed=4)))
    (inbox / "b.csv").write_text(to_csv(applicants(20, seed=5)))
    real = watch.log_score

    def signalled(*args, **kwargs):  # Ctrl-C after a.csv's output is committed and the file moved
        os.kill(os.getpid(), signal.SIGINT)
        real(*args, **kwargs)

    monkeypatch.setattr(watch, "log_score", signalled)
    result = CliRunner().invoke(main, ["watch", str(inbox), "--out", str(out), "--model", str(model_dir), "--once",
                                       "--audit-log", str(log)])
    assert result.exit_code == 130, result.output
    assert "a.csv: scored 20 of 20 rows" in result.stderr and "Stopped after 1 file;" in result.stderr
    assert (inbox / "processed" / "a.csv").exists() and (inbox / "b.csv").exists()  # b.csv waits for next time
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [Path(r["output"]["path"]).name for r in records] == ["a.scored.csv"]
    assert sorted(p.name for p in out.iterdir()) == ["a.scored.csv"]


def test_the_inbox_as_the_output_folder_is_refused(applicants, to_csv, model_dir, tmp_path, monkeypatch) -> None:
    """Its own scored files would be taken for applicants: they ended in failed/ ("no model columns")."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.csv").write_text(to_csv(applicants(5, seed=6)))
    monkeypatch.chdir(tmp_path)
    for out in (str(inbox), "inbox/", "./inbox"):
        result = CliRunner().invoke(main, ["watch", str(inbox), "--out", out, "--model", str(model_dir), "--once"])
        assert result.exit_code == 2 and "is the inbox" in result.output, result.output
        assert sorted(p.name for p in inbox.iterdir()) == ["a.csv"]
    result = CliRunner().invoke(main, ["watch", str(inbox), "--out", "inbox/scored", "--model", str(model_dir),
                                       "--once", "-q"])
    assert result.exit_code == 0 and (inbox / "scored" / "a.scored.csv").exists(), result.output


def test_each_file_is_counted_on_its_own_so_a_watcher_running_for_months_keeps_no_growing_list(
        applicants, to_csv, model_dir, tmp_path, monkeypatch) -> None:
    import loanscore.cli.watch as watch
    from loanscore.runtime.run_files import RUN_FILES

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for k in range(3):
        (inbox / f"f{k}.csv").write_text(to_csv(applicants(3, seed=k)))
    seen, real = [], watch._take

    def counted(*args, **kwargs):  # the files the run has noted as read when each file is taken
        seen.append(len(RUN_FILES.get().read))
        return real(*args, **kwargs)

    monkeypatch.setattr(watch, "_take", counted)
    result = CliRunner().invoke(main, ["watch", str(inbox), "--out", str(tmp_path / "out"), "--model", str(model_dir),
                                       "--once", "-q", "--audit-log", str(tmp_path / "audit.jsonl")])
    assert result.exit_code == 0, result.output
    assert seen == [1, 1, 1]  # the audit log only: not the files taken before
