"""`loanscore ask`: an applicant asked for at the desk is scored as `score` scores the same values."""

from __future__ import annotations

import csv
import io
import json

from click.testing import CliRunner

from loanscore.cli.main import main
from loanscore.runtime.audit import record_sha256


def answers(schema, row: dict[str, str]) -> list[str]:  # type: ignore[no-untyped-def]
    """What an officer types for ``row``: the id and each field, then each history channel's months on a line."""
    lines = [row[schema.id]] + [row[f.name] for f in (*schema.numeric, *schema.categorical)]
    return lines + [" ".join(row[c] for c in h.columns) for h in schema.history]


def test_each_applicant_is_scored_as_score_scores_the_same_values(schema, applicants, write_csv, tmp_path) -> None:
    rows = applicants(2, seed=95)
    log = tmp_path / "audit.jsonl"
    typed = [*answers(schema, rows[0]), "y", *answers(schema, rows[1]), "n"]
    result = CliRunner().invoke(main, ["ask", "--reasons", "3", "--audit-log", str(log)], input="\n".join(typed) + "\n")
    assert result.exit_code == 0, result.output
    scored = list(csv.DictReader(io.StringIO(CliRunner().invoke(
        main, ["score", str(write_csv(rows)), "--reasons", "3", "--points", "--grade", "-q"]).stdout)))
    verdicts = result.stdout.split("Decision: ")[1:]
    assert len(verdicts) == 2 and "2 applicants scored." in result.stderr
    for verdict, s in zip(verdicts, scored, strict=True):
        assert verdict.startswith(f"{s['decision']}   P(default) {float(s['probability_of_default']):.4f}   "
                                  f"score {s['points']} points   grade {s['grade']}")
        told = [line.split(". ", 1)[1] for line in verdict.splitlines() if line.startswith("  ") and ". " in line]
        assert told == s["reason_statements"].split("; ")
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["event"] for r in records] == ["score_one", "score_one"]
    first = {k: v for k, v in rows[0].items() if k in (schema.id, *schema.input_names)}
    assert records[0]["input"]["record_sha256"] == record_sha256(first) and records[0]["applicant"] == rows[0]["ID"]


def test_a_value_that_breaks_the_contract_is_asked_for_again(schema, applicants) -> None:
    row = applicants(1, seed=96)[0]
    typed = answers(schema, row)
    age = 1 + [f.name for f in schema.numeric].index("AGE")  # after the id and the fields before it
    typed[age:age] = ["500"]  # a wrong age first, then the right one
    months = len(typed) - len(schema.history)
    typed[months:months] = ["0 0"]  # two months where six are needed, then the six
    result = CliRunner().invoke(main, ["ask"], input="\n".join(typed) + "\nn\n")
    assert result.exit_code == 0, result.output
    assert "AGE must be between 18 and 120. Got '500'. Try again." in result.stderr
    assert f"{schema.months} values are needed" not in result.stderr  # the message says months, not values
    assert f"{schema.months} months are needed, oldest to latest; got 2. Try again." in result.stderr
    assert result.stdout.count("Decision: ") == 1


def test_input_that_ends_midway_scores_nothing_and_leaves_quietly(schema, applicants) -> None:
    typed = answers(schema, applicants(1, seed=97)[0])[:4]
    result = CliRunner().invoke(main, ["ask"], input="\n".join(typed) + "\n")
    assert result.exit_code == 0 and "Decision" not in result.stdout and "0 applicants scored." in result.stderr
    assert "Traceback" not in result.output


def test_a_declined_applicants_letter_is_the_one_notices_writes_and_none_is_overwritten(schema, applicants,
                                                                                       write_csv, tmp_path) -> None:
    rows = applicants(40, seed=98)
    scored = list(csv.DictReader(io.StringIO(CliRunner().invoke(main, ["score", str(write_csv(rows)), "-q"]).stdout)))
    declined = next(r for r, s in zip(rows, scored, strict=True) if s["decision"] == "decline")
    approved = next(r for r, s in zip(rows, scored, strict=True) if s["decision"] == "approve")
    letters, by_notices = tmp_path / "desk", tmp_path / "batch"
    typed = "\n".join([*answers(schema, approved), "y", *answers(schema, declined), "n"]) + "\n"
    args = ["ask", "--reasons", "1", "--letters", str(letters), "--date", "7 December 2026"]
    result = CliRunner().invoke(main, args, input=typed)
    assert result.exit_code == 0, result.output
    notices = CliRunner().invoke(main, ["notices", str(write_csv([declined], name="one.csv")), "--out",
                                        str(by_notices), "--date", "7 December 2026", "-q"])
    assert notices.exit_code == 0, notices.output
    name = f"notice_{declined['ID']}.txt"
    assert sorted(p.name for p in letters.iterdir()) == sorted([name, name.replace(".txt", ".html")])  # none for the approved
    assert (letters / name).read_text() == (by_notices / name).read_text()
    assert f"Letter: {letters / name}" in result.stdout
    again = CliRunner().invoke(main, args, input="\n".join([*answers(schema, declined), "n"]) + "\n")
    second = letters / name.replace(".txt", "_2.txt")
    assert again.exit_code == 0 and second.read_text() == (letters / name).read_text()
    unused = CliRunner().invoke(main, ["ask", "--date", "today"], input="")
    assert unused.exit_code == 2 and "add --letters DIR" in unused.output


def test_ctrl_c_while_a_letter_is_recorded_stops_once_the_record_is_in(schema, applicants, write_csv, tmp_path,
                                                                        monkeypatch, ctrl_c_heard) -> None:
    """A signal between a declined applicant's letter and its audit record waits for the record; it then went
    unheeded, and the next applicant was asked for. Now it stops there, saying the letter is recorded."""
    import os
    import signal

    from loanscore.runtime.audit import AuditLog

    rows = applicants(40, seed=98)
    scored = list(csv.DictReader(io.StringIO(CliRunner().invoke(main, ["score", str(write_csv(rows)), "-q"]).stdout)))
    declined = next(r for r, s in zip(rows, scored, strict=True) if s["decision"] == "decline")
    real = AuditLog.append_score

    def signalled(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C once the letter is written, before its record
        return real(self, *args, **kwargs)

    monkeypatch.setattr(AuditLog, "append_score", signalled)
    letters, log = tmp_path / "letters", tmp_path / "audit.jsonl"
    typed = "\n".join([*answers(schema, declined), "y", *answers(schema, rows[0]), "n"]) + "\n"
    result = CliRunner().invoke(main, ["ask", "--letters", str(letters), "--audit-log", str(log)], input=typed)
    assert result.exit_code == 130, result.output
    assert result.stdout.count("Decision: ") == 1, "the next applicant is not asked for"
    assert [json.loads(line)["event"] for line in log.read_text().splitlines()] == ["score_one"]
    assert "(complete, and recorded in" in result.stderr and str(letters) in result.stderr
