"""`loanscore overrides`: the lender's final decisions against the shipped model's, as `score` decides."""

from __future__ import annotations

import csv
import io
import json

from click.testing import CliRunner

from loanscore.cli.main import main


def run(*args, **kwargs):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, [*map(str, args)], **kwargs)


def decided(rows, scored, *, low=(), high=(), branch=None):  # type: ignore[no-untyped-def]
    """``rows`` with the model's decision (from ``scored``) as the final one, except the declined rows ``low``
    (approved) and the approved rows ``high`` (declined); ``branch(k)`` names each row's branch."""
    out = []
    for k, (row, s) in enumerate(zip(rows, scored, strict=True)):
        approve = (s["decision"] == "approve") != (k in low or k in high)
        out.append({**row, "final_decision": "approved" if approve else "declined",
                    **({"branch": branch(k)} if branch else {})})
    return out


def test_counts_are_the_departures_from_the_decisions_score_gives(applicants, write_csv, tmp_path) -> None:
    rows = applicants(400, seed=81)
    scored = list(csv.DictReader(io.StringIO(run("score", write_csv(rows), "-q").stdout)))
    declined = [k for k, s in enumerate(scored) if s["decision"] == "decline"]
    approved = [k for k, s in enumerate(scored) if s["decision"] == "approve"]
    low, high = set(declined[:7]), set(approved[:3])
    decisions = decided(rows, scored, low=low, high=high)
    plain = next(k for k in range(len(rows)) if k not in low | high)
    for k, row in enumerate(decisions):  # a reason on each override but one, and on a row that is none
        row["why"] = "collateral" if k in low and k != min(low) else "documents" if k in high or k == plain else ""
    source, out, log = write_csv(decisions, name="decisions.csv"), tmp_path / "o.json", tmp_path / "audit.jsonl"
    result = run("overrides", source, "--reason", "why", "-o", out, "--plot", tmp_path / "o.svg", "--audit-log", log,
                 "-q")
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())
    overall = figures["overall"]
    assert (overall["model_decline"], overall["low_side"]) == (len(declined), 7)
    assert (overall["model_approve"], overall["high_side"]) == (len(approved), 3)
    assert sum(g["low_side"] for g in figures["grades"]) == 7 and figures["verdict"] == "pass"
    assert f"7 low-side  {7 / len(declined):.1%}" in result.stdout and "overall: pass" in result.stdout
    assert [(r["reason"], r["low_side"], r["high_side"]) for r in figures["reasons"]] == [
        ("collateral", 6, 0), ("documents", 0, 3), ("(none given)", 1, 0)]
    assert "Override reasons (column why; on the 10 overrides)" in result.stdout
    assert (tmp_path / "o.svg").read_text().startswith("<svg")
    record = json.loads(log.read_text().splitlines()[-1])
    assert (record["event"], record["low_side"], record["high_side"]) == ("overrides", 7, 3)


def test_a_branch_that_overrides_more_than_the_rest_and_a_limit_alert(applicants, write_csv) -> None:
    rows = applicants(600, seed=82)
    scored = list(csv.DictReader(io.StringIO(run("score", write_csv(rows), "-q").stdout)))
    declined = [k for k, s in enumerate(scored) if s["decision"] == "decline"]
    branch = ["east" if k % 4 == 0 else "west" for k in range(len(rows))]
    east_declined = [k for k in declined if branch[k] == "east"]
    source = write_csv(decided(rows, scored, low=set(east_declined), branch=lambda k: branch[k]))
    result = run("overrides", source, "--by", "branch", "-q")
    assert result.exit_code == 4, result.output  # east approved every decline, west none
    east_line = next(line for line in result.stdout.splitlines() if line.startswith("east"))
    assert "<- overrides more than the rest" in east_line and "overall: alert" in result.stdout
    quiet = write_csv(decided(rows, scored, low=set(declined[:2])), name="few.csv")
    assert run("overrides", quiet, "-q").exit_code == 0
    assert run("overrides", quiet, "--limit", "0.001", "-q").exit_code == 4  # 2 of the declined is above 0.1 %


def test_bad_final_decisions_and_outcomes_are_named_and_the_rest_reviewed(applicants, write_csv, schema) -> None:
    rows = applicants(50, seed=83)
    scored = list(csv.DictReader(io.StringIO(run("score", write_csv(rows), "-q").stdout)))
    out = decided(rows, scored)
    for k, r in enumerate(out):
        r[schema.label] = "" if r["final_decision"] == "declined" else str(k % 2)
    out[3]["final_decision"] = "pending"
    out[8]["final_decision"] = ""
    out[12][schema.label] = "yes"
    out[20]["AGE"] = "7"
    result = run("overrides", write_csv(out), "-q")
    assert result.exit_code == 0, result.output
    assert "4 rows of" in result.stderr
    assert "final_decision must be the lender's final decision, approve or decline" in result.stderr
    assert "row 4" in result.stderr and "row 9" in result.stderr and "is missing" in result.stderr
    assert f"{schema.label} must be 0 (repaid), 1 (defaulted) or blank" in result.stderr
    assert "46 reviewed, 4 rejected" in result.stdout and f"outcome: {schema.label}" in result.stdout
    approved = sum(1 for k, r in enumerate(out) if r["final_decision"] == "approved" and k not in (12, 20))
    assert f"{approved} of the {approved} approved have an outcome" in result.stdout


def test_the_final_decision_column_must_be_there(applicants, write_csv) -> None:
    source = write_csv(applicants(10, seed=84))
    result = run("overrides", source, "-q")
    assert result.exit_code == 2 and "final_decision" in result.output and "named by --final" in result.output
    for option in ("--final", "--reason"):
        clash = run("overrides", source, option, "AGE", "-q")
        assert clash.exit_code == 2 and f"{option} AGE is a model field" in clash.output
    absent = run("overrides", write_csv([{**r, "final_decision": "approved"} for r in applicants(10, seed=84)],
                                        name="d.csv"), "--reason", "why", "-q")
    assert absent.exit_code == 2 and "why: each override's reason, named by --reason" in absent.output
    unused = run("overrides", source, "--points-scale", "ours.toml", "-q")  # a scale with no cut-off in points
    assert unused.exit_code == 2 and "add --approve-from-points or --decline-below-points" in unused.output


def test_cut_offs_in_points_decide_as_the_points_read(applicants, write_csv, tmp_path) -> None:
    rows = applicants(300, seed=85)
    scored = list(csv.DictReader(io.StringIO(run("score", write_csv(rows), "--points", "-q").stdout)))
    source = write_csv([{**r, "final_decision": "approved"} for r in rows], name="all_approved.csv")
    out = tmp_path / "o.json"
    result = run("overrides", source, "--approve-from-points", 490, "--decline-below-points", 465, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    overall = json.loads(out.read_text())["overall"]
    points = [int(s["points"]) for s in scored]
    assert (overall["model_approve"], overall["model_review"], overall["model_decline"]) == (
        sum(p >= 490 for p in points), sum(465 <= p < 490 for p in points), sum(p < 465 for p in points))
    assert overall["low_side"] == overall["model_decline"] and overall["review_approved"] == overall["model_review"]


def test_a_lenders_many_officers_are_each_a_group(applicants, write_csv, tmp_path) -> None:
    """60 officers: more than the 20 values a segment may have elsewhere; 201 is one too many."""
    rows = applicants(300, seed=86)
    source = write_csv([{**r, "final_decision": "approved", "officer": f"O{k % 60:02d}"} for k, r in enumerate(rows)])
    out = tmp_path / "o.json"
    result = run("overrides", source, "--by", "officer", "-o", out, "-q")
    assert result.exit_code in (0, 4), result.output
    groups = json.loads(out.read_text())["by"]["officer"]["groups"]
    assert [g["group"] for g in groups] == [f"O{k:02d}" for k in range(60)]
    many = write_csv([{**r, "final_decision": "approved", "officer": f"O{k}"} for k, r in
                      enumerate(applicants(201, seed=87))], name="many.csv")
    refused = run("overrides", many, "--by", "officer", "-q")
    assert refused.exit_code == 2 and "officer has 201 distinct values; segments need at most 200" in refused.output


def test_stdin_is_reviewed_as_the_file_is_outcomes_found_by_their_column(applicants, write_csv, schema,
                                                                          tmp_path) -> None:
    """From stdin the outcome column went unnoticed unless named (the header could not be read twice)."""
    rows = applicants(300, seed=84)
    scored = list(csv.DictReader(io.StringIO(run("score", write_csv(rows), "-q").stdout)))
    book = [{**r, schema.label: str(k % 4 == 0)} for k, r in enumerate(decided(rows, scored, low={1, 2, 3}))]
    for r in book:
        r[schema.label] = "1" if r[schema.label] == "True" else "0"
    source = write_csv(book, name="decisions.csv")
    from_file, from_stdin = tmp_path / "file.json", tmp_path / "stdin.json"
    assert run("overrides", source, "-o", from_file, "-q").exit_code == 0
    piped = run("overrides", "-", "-o", from_stdin, "-q", input=source.read_bytes())
    assert piped.exit_code == 0, piped.output
    a, b = (json.loads(f.read_text()) for f in (from_file, from_stdin))
    assert b["outcome"] == schema.label and b["source"] == "stdin"
    for d in (a, b):
        del d["source"], d["seconds"]
    assert a == b
