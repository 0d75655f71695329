"""`loanscore score --audit-log` and `loanscore audit`: what each run records, and a chain that shows edits."""

from __future__ import annotations

import csv
import hashlib
import json
import multiprocessing
from pathlib import Path

import pytest
from click.testing import CliRunner

from loanscore.cli.main import main
from loanscore.runtime.audit import AuditLog
from loanscore.runtime.errors import InputError


def run(*args: object, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def records(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text("utf-8").splitlines()]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def logged(applicants, write_csv, model_dir, tmp_path):  # type: ignore[no-untyped-def]
    """Three scoring runs into one log: a file with a review band, one applicant as JSON, a file via the env var."""
    rows = applicants(40, seed=3)
    rows[7]["AGE"] = "-4"  # one rejected row: exit 1, still logged
    source = write_csv(rows)
    log = tmp_path / "logs" / "audit.jsonl"
    first = run("score", source, "--model", model_dir, "-o", tmp_path / "out.csv", "--approve-below", "0.1",
                "--decline-from", "0.3", "--audit-log", log)
    assert first.exit_code == 1, first.output
    one = {k: v for k, v in applicants(1, seed=4)[0].items() if k != "ID"}
    second = run("score", "--model", model_dir, "--json", json.dumps(one), "--audit-log", log)
    assert second.exit_code == 0, second.output
    third = run("score", source, "--model", model_dir, "-o", tmp_path / "out.jsonl", "--format", "jsonl",
                env={"LOANSCORE_AUDIT_LOG": str(log)})
    assert third.exit_code == 1, third.output
    return log, source, one


def test_each_run_records_model_cutoffs_files_and_counts(logged, model_dir, tmp_path) -> None:
    log, source, one = logged
    first, second, third = records(log)
    manifest = json.loads((model_dir / "manifest.json").read_text())
    for r in (first, second, third):
        assert r["event"] == "score" and r["model"] == {"path": str(model_dir.resolve()), "sha256": manifest["sha256"]}
        assert r["user"] and r["host"] is not None and r["time"].endswith("Z")
    assert first["cutoffs"] == {"approve_below": 0.1, "decline_from": 0.3}
    assert third["cutoffs"] == {"approve_below": manifest["threshold"]["value"],
                                "decline_from": manifest["threshold"]["value"]}
    assert first["input"] == {"path": str(source.resolve()), "bytes": source.stat().st_size, "sha256": sha(source)}
    out = tmp_path / "out.csv"
    assert first["output"] == {"path": str(out.resolve()), "bytes": out.stat().st_size, "sha256": sha(out),
                               "format": "csv"}
    with open(out, newline="") as fh:
        decisions = [row["decision"] for row in csv.DictReader(fh)]
    assert first["decisions"] == {d: decisions.count(d) for d in ("approve", "review", "decline")}
    assert first["decisions"]["review"] > 0 and sum(first["decisions"].values()) == first["scored"] == 39
    assert (first["rows"], first["rejected"], first["exit"]) == (40, 1, 1)
    assert second["input"] == {"path": "--json", "text_sha256": hashlib.sha256(json.dumps(one).encode()).hexdigest()}
    assert second["output"] == {"path": "stdout", "format": "csv"} and second["rows"] == 1
    assert third["output"]["format"] == "jsonl" and third["output"]["sha256"] == sha(tmp_path / "out.jsonl")


def test_the_chain_links_each_line_to_the_one_before(logged) -> None:
    log = logged[0]
    lines = log.read_bytes().splitlines()
    assert [json.loads(line)["prev"] for line in lines] == [None] + [hashlib.sha256(x).hexdigest() for x in lines[:-1]]
    result = run("audit", log)
    assert result.exit_code == 0, result.output
    assert f"3 records, the chain is intact. Head (SHA-256 of the last line): {hashlib.sha256(lines[-1]).hexdigest()}" \
        in result.output
    table = result.output.splitlines()
    assert table[0].split()[:6] == ["time", "(UTC)", "user", "event", "model", "input"]
    one = records(log)[1]["decisions"]
    assert table[2].split()[-7:] == ["--json", "1", *(str(one[d]) for d in ("approve", "review", "decline")), "0", "0"]


@pytest.mark.parametrize(("tamper", "line", "why"), [
    (lambda ls: [ls[0], ls[1].replace(b'"rows": 1,', b'"rows": 2,'), ls[2]], 3, "its prev does not match"),
    (lambda ls: [ls[0], ls[2]], 2, "its prev does not match the SHA-256 of line 1"),
    (lambda ls: ls[1:], 1, "the first line should have prev null"),
    (lambda ls: [ls[0], ls[2], ls[1]], 2, "its prev does not match"),
    (lambda ls: [ls[0], b"not json", ls[2]], 2, "line 2 is not a JSON record"),
])
def test_an_edited_removed_or_reordered_line_breaks_the_chain(logged, tamper, line, why) -> None:
    log = logged[0]
    log.write_bytes(b"\n".join(tamper(log.read_bytes().splitlines())) + b"\n")
    result = run("audit", log)
    assert result.exit_code == 3, result.output
    assert f"line {line}" in result.output and why in result.output


def test_a_cut_short_log_is_named_and_not_appended_to(logged, applicants, write_csv, model_dir, tmp_path) -> None:
    log = logged[0]
    log.write_bytes(log.read_bytes()[:-20])
    result = run("audit", log)
    assert result.exit_code == 3 and "does not end with a newline" in result.output
    again = run("score", write_csv(applicants(3)), "--model", model_dir, "-o", tmp_path / "again.csv",
                "--audit-log", log)
    assert again.exit_code == 2 and "ends in a cut-short line" in again.output


def test_a_log_that_cannot_be_written_stops_the_run_before_any_output(applicants, write_csv, model_dir,
                                                                         tmp_path) -> None:
    (tmp_path / "a_file").write_text("")
    result = run("score", write_csv(applicants(3)), "--model", model_dir, "-o", tmp_path / "out.csv",
                 "--audit-log", tmp_path / "a_file" / "audit.jsonl")
    assert result.exit_code == 2 and "cannot be written" in result.output and "the run did not start" in result.output
    assert not (tmp_path / "out.csv").exists()


def _append(path: str, worker: int) -> None:
    log = AuditLog(path)
    for i in range(25):
        log.append({"event": "desk", "worker": worker, "i": i})


class WindowsLocks:
    """``msvcrt``'s byte locks as Windows has them, made of POSIX record locks, to run the Windows path here: a
    lock covers ``nbytes`` from the file's position, and LK_NBLCK fails at once while another process holds one."""

    LK_UNLCK, LK_NBLCK = 0, 2

    @staticmethod
    def locking(fd: int, mode: int, nbytes: int) -> None:
        import fcntl
        import os

        start = os.lseek(fd, 0, os.SEEK_CUR)
        fcntl.lockf(fd, fcntl.LOCK_UN if mode == WindowsLocks.LK_UNLCK else fcntl.LOCK_EX | fcntl.LOCK_NB, nbytes,
                    start)


def as_on_windows() -> None:
    """This process's audit logs lock as they do on Windows (no ``fcntl.flock``; ``msvcrt``)."""
    from loanscore.runtime import audit

    audit.fcntl, audit.msvcrt = None, WindowsLocks


def _append_as_on_windows(path: str, worker: int) -> None:
    as_on_windows()
    _append(path, worker)


@pytest.mark.parametrize("writer", [_append, _append_as_on_windows], ids=["flock", "windows"])
def test_concurrent_writers_form_one_chain(writer, tmp_path) -> None:
    """Four processes appending at once: the lock keeps reading the last line and appending together (with
    ``flock``, and as on Windows)."""
    path = str(tmp_path / "audit.jsonl")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=writer, args=(path, w)) for w in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    check = AuditLog(path).check()
    assert check.intact and len(check.records) == 100
    assert sorted((r["worker"], r["i"]) for r in check.records) == [(w, i) for w in range(4) for i in range(25)]


def _hold_lock(path: str, held, release) -> None:  # type: ignore[no-untyped-def]
    with open(path + ".lock", "a+b") as lock:
        lock.seek(0)
        WindowsLocks.locking(lock.fileno(), WindowsLocks.LK_NBLCK, 1)
        held.set()
        release.wait(60)


def test_a_lock_held_too_long_on_windows_is_named_not_waited_on_forever(tmp_path, monkeypatch) -> None:
    from loanscore.runtime import audit
    from loanscore.runtime.errors import InputError

    path = tmp_path / "audit.jsonl"
    AuditLog(path).append({"event": "start"})
    context = multiprocessing.get_context("spawn")
    held, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_lock, args=(str(path), held, release))
    holder.start()
    try:
        assert held.wait(60)
        monkeypatch.setattr(audit, "fcntl", None)
        monkeypatch.setattr(audit, "msvcrt", WindowsLocks)
        monkeypatch.setattr(audit, "LOCK_WAIT_S", 0.3)
        with pytest.raises(InputError, match=r"has been locked by another run for 0.3 s \(.*audit\.jsonl\.lock\), "
                                             r"so no record was appended"):
            AuditLog(path).append({"event": "waited"})
    finally:
        release.set()
        holder.join(60)
    AuditLog(path).append({"event": "after"})  # released: the next writer goes on, the chain whole
    check = AuditLog(path).check()
    assert check.intact and [r["event"] for r in check.records] == ["start", "after"]


def test_an_application_appends_its_own_records(tmp_path) -> None:
    log = AuditLog(tmp_path / "desk" / "audit.jsonl")
    written = log.append({"event": "desk_score", "applicant": "A-17", "probability": 0.12, "decision": "approve"})
    assert written["prev"] is None and written["decision"] == "approve"
    log.append({"event": "override", "applicant": "A-17", "decision": "decline", "by": "credit officer"})
    check = log.check()
    assert check.intact and [r["event"] for r in check.records] == ["desk_score", "override"]
    with pytest.raises(ValueError):  # NaN is not JSON: refused before anything is written
        log.append({"event": "bad", "probability": float("nan")})
    assert len(log.check().records) == 2


def test_file_finds_the_run_that_wrote_a_scores_file_and_refuses_a_changed_one(logged, tmp_path) -> None:
    log = logged[0]
    out = tmp_path / "out.csv"
    result = run("audit", log, "--file", out, "--file", logged[1])
    assert result.exit_code == 0, result.output
    first = records(log)[0]
    assert f"is the output of 1 run(s):\n  output of the run at {first['time']}" in result.output
    assert "approve below 0.1, decline from 0.3" in result.output
    assert "is the input of 2 run(s)" in result.output  # the source file was scored twice
    # a run that read several files (monitor of two batches) records a list of inputs: each is found
    second = tmp_path / "second.csv"
    second.write_text("".join(Path(logged[1]).read_text().splitlines(keepends=True)[:-1]))  # one row fewer
    assert run("monitor", logged[1], second, "--audit-log", log).exit_code in (0, 4)
    result = run("audit", log, "--file", second)
    assert result.exit_code == 0 and "is the input of 1 run(s)" in result.output, result.output
    assert f"recorded as {second.resolve()}" in result.output or f"recorded as {second}" in result.output
    out.write_text(out.read_text().replace(",0.", ",0.0", 1))  # someone edits a probability
    result = run("audit", log, "--file", out)
    assert result.exit_code == 3 and "was neither read nor written by any run" in result.output
    assert "1 of 1 files are in no run" in result.output


def test_a_desktop_app_records_each_decision_without_the_applicants_fields(scorer, applicants, tmp_path) -> None:
    from loanscore.runtime.audit import record_sha256

    log = AuditLog(tmp_path / "desk.jsonl")
    good = {k: v for k, v in applicants(1, seed=5)[0].items() if k != "ID"}
    result = scorer.score(good)
    written = log.append_score(scorer, good, result, applicant="A-17")
    assert written["decision"] == result.decision and written["probability"] == result.probability
    assert written["decisions"] == {d: int(d == result.decision) for d in ("approve", "review", "decline")}
    assert written["input"] == {"path": "record", "record_sha256": record_sha256(good)}
    assert written["model"]["sha256"] == scorer.model.manifest["sha256"] and written["applicant"] == "A-17"
    line = (tmp_path / "desk.jsonl").read_text("utf-8")
    assert not [name for name in good if name in line]  # no field of the application is in the log
    bad = scorer.score_records([dict(good, AGE="-4")])[0]
    written = log.append_score(scorer, dict(good, AGE="-4"), bad)
    assert (written["scored"], written["rejected"], written["decision"]) == (0, 1, None)
    assert written["errors"] == ["AGE must be between 18 and 120"]  # the field and the rule, not the value
    assert record_sha256(good) != record_sha256(dict(good, AGE="-4")) and log.check().intact
    result = run("audit", tmp_path / "desk.jsonl")
    assert result.exit_code == 0 and result.output.count("score_one") == 2


@pytest.fixture()
def labelled(applicants, scorer, schema, write_csv):  # type: ignore[no-untyped-def]
    """200 generated applicants with outcomes drawn from the shipped model's probabilities."""
    import numpy as np

    rows = applicants(200, seed=21)
    p = scorer.score_columns({c: [r[c] for r in rows] for c in schema.input_names}).probability
    y = np.random.default_rng(21).random(len(p)) < p
    return write_csv([dict(r, **{schema.label: str(int(d))}) for r, d in zip(rows, y, strict=True)], name="book.csv")


def test_every_command_that_runs_the_model_on_applicants_logs_its_run(labelled, model_dir, tmp_path) -> None:
    log = tmp_path / "audit.jsonl"
    env = {"LOANSCORE_AUDIT_LOG": str(log)}
    outputs = {c: tmp_path / f"{c}.json" for c in ("backtest", "monitor", "compare")}
    case = tmp_path / "case.txt"
    assert run("explain", labelled, "--model", model_dir, "--row", 3, "-o", case, env=env).exit_code == 0
    assert run("backtest", labelled, "--model", model_dir, "-o", outputs["backtest"], env=env).exit_code in (0, 4)
    assert run("monitor", labelled, "--model", model_dir, "-o", outputs["monitor"], env=env).exit_code in (0, 4)
    assert run("compare", labelled, "--model", model_dir, "--challenger", model_dir, "-o", outputs["compare"],
               env=env).exit_code == 0
    explain, backtest, monitor, compare = records(log)
    assert [r["event"] for r in (explain, backtest, monitor, compare)] == ["explain", "backtest", "monitor", "compare"]
    for r in (explain, backtest, compare):
        assert r["input"] == {"path": str(labelled.resolve()), "bytes": labelled.stat().st_size,
                              "sha256": sha(labelled)}
    assert monitor["input"] == [explain["input"]]
    assert explain["row_numbers"] == [3] and explain["explained"] == 1
    assert explain["output"]["sha256"] == sha(case)
    figures = {c: json.loads(p.read_text()) for c, p in outputs.items()}
    assert backtest["verdict"] == figures["backtest"]["verdict"]
    assert backtest["roc_auc"] == figures["backtest"]["metrics"]["roc_auc"] and backtest["scored"] == 200
    assert monitor["verdict"] == figures["monitor"]["verdict"]
    assert monitor["files"] == [{"rows": 200, "scored": 200, "verdict": figures["monitor"]["verdict"],
                                 "score_psi": figures["monitor"]["score"]["psi"]}]
    assert compare["challenger"]["sha256"] == compare["model"]["sha256"] and compare["roc_auc_difference"] == 0.0
    assert compare["switches"] == {"approved by the challenger only": 0, "approved by the champion only": 0}
    listing = run("audit", log)
    assert listing.exit_code == 0 and "explained 1" in listing.output and "ΔAUC +0.0000" in listing.output
    assert f"  {figures['backtest']['verdict']}  " in listing.output


@pytest.mark.parametrize("command", [["explain", "--row", "1"], ["backtest"], ["monitor"],
                                     ["compare", "--challenger", "MODEL"]])
def test_a_log_that_cannot_be_written_stops_every_command_first(labelled, model_dir, tmp_path, command) -> None:
    (tmp_path / "a_file").write_text("")
    args = [str(model_dir) if a == "MODEL" else a for a in command]
    result = run(args[0], labelled, *args[1:], "--model", model_dir, "-o", tmp_path / "out",
                 "--audit-log", tmp_path / "a_file" / "audit.jsonl")
    assert result.exit_code == 2 and "cannot be written" in result.output
    assert not (tmp_path / "out").exists()


def test_a_run_from_stdin_records_the_sha256_of_what_it_read(applicants, write_csv, model_dir, tmp_path) -> None:
    source = write_csv(applicants(30, seed=8))
    log = tmp_path / "audit.jsonl"
    result = CliRunner().invoke(main, ["score", "-", "--model", str(model_dir), "-o", str(tmp_path / "o.csv"),
                                       "--audit-log", str(log)], input=source.read_bytes())
    assert result.exit_code == 0, result.output
    assert records(log)[0]["input"] == {"path": "stdin", "bytes": source.stat().st_size, "sha256": sha(source)}
    found = run("audit", log, "--file", source)  # the file that was piped in is found by its content
    assert found.exit_code == 0 and "is the input of 1 run(s)" in found.output


def test_rotate_starts_a_new_file_chained_to_the_old_one(logged, tmp_path) -> None:
    log = logged[0]
    before, head = log.read_bytes(), hashlib.sha256(log.read_bytes().splitlines()[-1]).hexdigest()
    result = run("audit", log, "--rotate")
    assert result.exit_code == 0, result.output
    (old,) = [p for p in log.parent.iterdir() if p.name.startswith("audit-") and p.suffix == ".jsonl"]
    assert old.read_bytes() == before and f"(3 records, head {head})" in result.output
    first = records(log)[0]
    assert first["event"] == "rotated" and first["prev"] == head
    assert first["continues"] == {"file": old.name, "sha256": sha(old), "records": 3, "head": head}
    AuditLog(log).append({"event": "desk"})
    check = AuditLog(log).check()
    assert check.intact and check.link == "verified" and len(check.records) == 2
    assert "ends where this log begins" in run("audit", log).output

    lines = before.splitlines()  # the archived file's last record is edited afterwards: its own chain holds
    old.write_bytes(b"\n".join([*lines[:2], lines[2].replace(b'"rows": 40,', b'"rows": 41,')]) + b"\n")
    assert AuditLog(old).check().intact
    result = run("audit", log)
    assert result.exit_code == 3 and "whose SHA-256 has changed since the rotation" in result.output
    old.rename(tmp_path / old.name)  # archived elsewhere: the link cannot be checked, and the log says so
    result = run("audit", log)
    assert result.exit_code == 0 and "is not beside it, so the link was not checked" in result.output


def test_a_broken_log_is_not_rotated(logged) -> None:
    log = logged[0]
    lines = log.read_bytes().splitlines()
    log.write_bytes(b"\n".join([lines[0], lines[2]]) + b"\n")
    result = run("audit", log, "--rotate")
    assert result.exit_code == 3 and "a broken log is not rotated" in result.output
    assert sorted(p.name for p in log.parent.iterdir()) == ["audit.jsonl", "audit.jsonl.lock"]


def _append_slowly(path: str, worker: int) -> None:
    import time

    log = AuditLog(path)
    for i in range(30):
        log.append({"event": "desk", "worker": worker, "i": i})
        time.sleep(0.1)  # 3 s of writing, with the two rotations in the middle


def test_rotating_while_others_write_loses_no_record(tmp_path) -> None:
    """Three writers append while the log is rotated twice: every record lands in exactly one file, and
    each file chains on from the one before."""
    import time

    path = tmp_path / "audit.jsonl"
    AuditLog(path).append({"event": "start"})
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_slowly, args=(str(path), w)) for w in range(3)]
    for w in workers:
        w.start()
    deadline = time.monotonic() + 60
    while len(path.read_bytes().splitlines()) < 10:  # the writers have started
        assert time.monotonic() < deadline and all(w.exitcode in (None, 0) for w in workers), "writers failed"
        time.sleep(0.01)
    rotated = [AuditLog(path).rotate()[0]]
    time.sleep(1.05)  # rotated names carry the time to the second
    rotated.append(AuditLog(path).rotate()[0])
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    files = [*rotated, path]
    checks = [AuditLog(p).check() for p in files]
    assert all(c.intact for c in checks) and [c.link for c in checks] == ["", "verified", "verified"]
    desk = sorted((r["worker"], r["i"]) for c in checks for r in c.records if r["event"] == "desk")
    assert desk == [(w, i) for w in range(3) for i in range(30)]
    assert all(any(r["event"] == "desk" for r in c.records) for c in checks)  # each file got some of them


def _chain(path: Path, records: list[dict]) -> None:
    """A valid log of ``records`` as given (times included), chained as AuditLog.append chains them."""
    prev, lines = None, []
    for r in records:
        line = json.dumps({**r, "prev": prev}).encode()
        lines.append(line)
        prev = hashlib.sha256(line).hexdigest()
    path.write_bytes(b"\n".join(lines) + b"\n")


def test_daily_sums_each_days_and_models_decisions(tmp_path) -> None:
    def run_record(time: str, model: str, approve: int, review: int, decline: int, rejected: int) -> dict:
        return {"time": time, "event": "score", "model": {"sha256": model * 64}, "rows": approve + review + decline
                + rejected, "scored": approve + review + decline, "rejected": rejected,
                "decisions": {"approve": approve, "review": review, "decline": decline}}

    log = tmp_path / "audit.jsonl"
    _chain(log, [run_record("2026-12-01T09:00:00Z", "a", 60, 0, 40, 2),
                 run_record("2026-12-01T15:00:00Z", "a", 20, 10, 70, 0),
                 {"time": "2026-12-01T16:00:00Z", "event": "backtest", "verdict": "pass"},
                 run_record("2026-12-02T10:00:00Z", "a", 1, 0, 0, 0),
                 run_record("2026-12-02T11:00:00Z", "b", 3, 1, 0, 0)])
    result = run("audit", log, "--daily")
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.output.splitlines()[:4]]
    assert lines[0] == ["day", "(UTC)", "model", "runs", "rows", "approved", "review", "declined", "rejected"]
    assert lines[1] == ["2026-12-01", "aaaaaaaaaaaa", "2", "202", "40.0%", "5.0%", "55.0%", "2"]
    assert lines[2] == ["2026-12-02", "aaaaaaaaaaaa", "1", "1", "100.0%", "0.0%", "0.0%", "0"]
    assert lines[3] == ["2026-12-02", "bbbbbbbbbbbb", "1", "4", "75.0%", "25.0%", "0.0%", "0"]


def test_a_writer_creating_the_log_during_a_rotation_does_not_break_it(tmp_path, monkeypatch) -> None:
    """The window the concurrent test above can hit by chance, made certain: just after the rename, a writer's
    writable() check creates the log, empty, before taking the lock; the rotation still writes its record there."""
    import os

    from loanscore.runtime import audit

    path = tmp_path / "audit.jsonl"
    AuditLog(path).append({"event": "start"})
    rename = os.rename

    def rename_then_a_writer_checks(src, dst):  # type: ignore[no-untyped-def]
        rename(src, dst)
        AuditLog(path).writable()

    monkeypatch.setattr(audit.os, "rename", rename_then_a_writer_checks)
    old, _ = AuditLog(path).rotate()
    monkeypatch.undo()
    lines = path.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["event"] == "rotated" and old.is_file()
    AuditLog(path).append({"event": "after"})
    assert AuditLog(path).check().intact


def test_a_disk_that_fills_while_a_record_is_written_leaves_the_chain_intact(tmp_path, monkeypatch) -> None:
    """The disk fills half-way through a record: that half is taken back, the error says the run is not
    recorded, and the log still checks; once there is room again, the next record chains on."""
    import errno
    import os

    log = AuditLog(tmp_path / "audit.jsonl")
    log.append({"event": "first"})
    real = os.write
    calls = []

    def half_then_full(fd, data):  # type: ignore[no-untyped-def]
        calls.append(len(data))
        if len(calls) == 1:
            return real(fd, bytes(data[:10]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(InputError, match=r"Cannot append to the audit log .*No space left on device.*this run is "
                                         r"not recorded in it, and the log was left as it was"):
        log.append({"event": "second"})
    monkeypatch.setattr(os, "write", real)
    assert len(calls) == 2 and len((tmp_path / "audit.jsonl").read_text().splitlines()) == 1
    assert log.check().intact
    log.append({"event": "third"})
    assert log.check().intact and [json.loads(x)["event"] for x in
                                   (tmp_path / "audit.jsonl").read_text().splitlines()] == ["first", "third"]


def test_a_file_that_is_no_audit_log_is_refused_before_the_run_not_appended_to(applicants, write_csv,
                                                                              tmp_path) -> None:
    """`--audit-log loans.csv` (the applicants, named by mistake) appended a JSON record to the applicant file;
    `--audit-log` naming the output had the scores replace the log."""
    path = write_csv(applicants(10, seed=8), "loans.csv")
    text = path.read_text()
    result = CliRunner().invoke(main, ["score", str(path), "-o", str(tmp_path / "s.csv"), "--audit-log", str(path)])
    assert result.exit_code == 2 and "is not an audit log (its last line is no audit record)" in result.output
    assert path.read_text() == text and not (tmp_path / "s.csv").exists()
    (tmp_path / "cut.jsonl").write_text('{"prev": null}\n{"prev": "ab')
    result = CliRunner().invoke(main, ["score", str(path), "-o", str(tmp_path / "s.csv"), "--audit-log",
                                       str(tmp_path / "cut.jsonl")])
    assert result.exit_code == 2 and "ends in a cut-short line" in result.output and not (tmp_path / "s.csv").exists()
    log = tmp_path / "both.csv"
    result = CliRunner().invoke(main, ["score", str(path), "-o", str(log), "--audit-log", str(log)])
    assert result.exit_code == 2 and "it is a file this command reads or records to" in result.output
    assert log.read_text() == ""  # the log, created before the run, still empty: no scores in it
    good = tmp_path / "audit.jsonl"
    for _ in range(2):  # a real log is appended to as before
        assert CliRunner().invoke(main, ["score", str(path), "-o", str(tmp_path / "s.csv"), "-q", "--audit-log",
                                         str(good)]).exit_code == 0
    assert len(good.read_text().splitlines()) == 2
