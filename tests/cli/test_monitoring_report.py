"""`loanscore report monitoring`: each section says what the command of its name says on the same file."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re

from click.testing import CliRunner

from loanscore.cli.main import main


def run(*args):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, [*map(str, args)])


def verdict_of(command: list, tmp_path, name: str) -> str:  # type: ignore[type-arg]
    out = tmp_path / f"{name}.json"
    run(*command, "-o", out, "-q")
    return json.loads(out.read_text())["verdict"]


def test_each_section_is_its_commands_verdict_and_text(schema, applicants, write_csv, tmp_path) -> None:
    rows = applicants(600, seed=101)
    scored = list(csv.DictReader(io.StringIO(run("score", write_csv(rows), "-q").stdout)))
    book = []
    for k, (r, s) in enumerate(zip(rows, scored, strict=True)):
        approved = (s["decision"] == "approve") != (k % 9 == 0)  # every ninth decision overridden
        book.append({**r, "branch": "north" if k % 2 else "south", "final_decision": "approved" if approved
                     else "declined", schema.label: str(k % 3 == 0) if approved else ""})
    source, page = write_csv(book, name="quarter.csv"), tmp_path / "monitoring.html"
    result = run("report", "monitoring", source, "--output", page, "--by", "branch")
    expected = {
        "Population stability": verdict_of(["monitor", source], tmp_path, "m"),
        "Back-test": verdict_of(["backtest", source], tmp_path, "b"),
        "Fair lending": verdict_of(["fairness", source], tmp_path, "f"),
        "Overrides": verdict_of(["overrides", source, "--by", "branch"], tmp_path, "o"),
    }
    text = page.read_text()
    for title, verdict in expected.items():
        assert f"<h2>{title}: {verdict}</h2>" in text and f"{title}: {verdict}" in result.stderr
    assert result.exit_code == (4 if {"alert", "shift"} & set(expected.values()) else 0), result.output
    assert text.count("<svg") == 4 and text.count("<pre>") == 4
    overrides = run("overrides", source, "--by", "branch", "-q").stdout
    assert overrides.splitlines()[3] in text  # the command's own table, as it prints it (escaped alike)
    # From stdin: kept in a temporary file (every check reads it), named "stdin", and gone afterwards.
    piped_page, log = tmp_path / "piped.html", tmp_path / "audit.jsonl"
    piped = CliRunner().invoke(main, ["report", "monitoring", "-", "--output", str(piped_page), "--by", "branch",
                                      "--audit-log", str(log)], input=source.read_bytes())
    assert piped.exit_code == result.exit_code, piped.output
    assert [line for line in piped.stderr.splitlines() if ": " in line] == [
        line for line in result.stderr.splitlines() if ": " in line]
    assert "stdin" in piped_page.read_text() and "loanscore-" not in piped_page.read_text()
    record = json.loads(log.read_text().splitlines()[-1])
    assert record["input"] == {"path": "stdin", "bytes": source.stat().st_size,
                               "sha256": hashlib.sha256(source.read_bytes()).hexdigest()}


def test_checks_without_their_columns_say_why_they_did_not_run(applicants, write_csv, tmp_path) -> None:
    page = tmp_path / "m.html"
    result = run("report", "monitoring", write_csv(applicants(200, seed=102)), "--output", page)
    assert result.exit_code in (0, 4), result.output
    text = page.read_text()
    assert re.search(r"<h2>Back-test: not run: the file has no outcome column", text)
    assert re.search(r"<h2>Overrides: not run: the file has no final decisions", text)
    assert text.count("<svg") == 2  # stability and fairness
    piped = CliRunner().invoke(main, ["report", "monitoring", "-", "--output", str(page)], input="ID\n")
    assert piped.exit_code == 2 and "stdin lacks the required columns" in piped.output
    twice = CliRunner().invoke(main, ["report", "monitoring", "-", "--reference", "-", "--output", str(page)])
    assert twice.exit_code == 2 and "Only one of INPUT and --reference can be stdin" in twice.output


def test_a_check_that_cannot_run_on_the_file_says_why_and_the_others_run(schema, applicants, write_csv,
                                                                         tmp_path) -> None:
    rows = [{**r, schema.label: ""} for r in applicants(100, seed=103)]  # an outcome column, nothing known yet
    page = tmp_path / "m.html"
    result = run("report", "monitoring", write_csv(rows), "--output", page)
    assert result.exit_code in (0, 4), result.output
    assert "<h2>Back-test: not run: None of the 100 rows of" in page.read_text()
    assert "<h2>Population stability: " in page.read_text() and "Population stability: not run" not in result.stderr
    broken = run("report", "monitoring", write_csv([{"ID": "1", "AGE": "30"}], name="few.csv"), "--output", page)
    assert broken.exit_code == 2 and "lacks the required columns" in broken.output  # no check can run: an error


def test_stability_against_another_file_is_monitors_against_it(applicants, write_csv, tmp_path) -> None:
    now, before = write_csv(applicants(300, seed=104), name="now.csv"), write_csv(applicants(300, seed=105),
                                                                                 name="before.csv")
    page = tmp_path / "m.html"
    result = run("report", "monitoring", now, "--output", page, "--reference", before)
    assert result.exit_code in (0, 4), result.output
    monitor = run("monitor", now, "--reference", before, "-q").stdout
    assert monitor.splitlines()[0] == f"Population stability of {now} against {before}, 300 rows"
    shown = html.unescape(page.read_text())
    assert monitor.splitlines()[0] in shown and monitor.splitlines()[5] in shown  # the score's line, as monitor has it


def test_the_report_runs_the_graph_on_the_files_rows_once(schema, applicants, write_csv, tmp_path,
                                                          monkeypatch) -> None:
    """Four checks read the file; the graph sees its rows once, so the report costs the graph what the fairness
    review alone costs (its counterfactual rows are its own)."""
    from loanscore.runtime.model import Model

    rows = applicants(400, seed=5)
    book = [{**r, "final_decision": "approved" if k % 2 else "declined", schema.label: str(k % 4 == 0)}
            for k, r in enumerate(rows)]
    source = write_csv(book)
    graph_rows: list[int] = []
    real = Model.run
    monkeypatch.setattr(Model, "run", lambda m, feeds, *a: graph_rows.append(len(feeds["AGE"])) or real(m, feeds, *a))
    assert run("fairness", source, "-q").exit_code in (0, 4)
    fairness, graph_rows[:] = sum(graph_rows), []
    result = run("report", "monitoring", source, "--output", tmp_path / "m.html")
    assert result.exit_code in (0, 4) and result.stderr.count(": not run") == 0, result.output
    assert sum(graph_rows) == fairness > 400


def test_on_a_terminal_each_check_shows_its_own_progress_line(schema, applicants, write_csv, tmp_path,
                                                              monkeypatch) -> None:
    import loanscore.runtime.stream as stream

    rows = applicants(300, seed=6)
    source = write_csv([{**r, "final_decision": "approved", schema.label: "0"} for r in rows])
    monkeypatch.setattr(stream, "_isatty", lambda _: True)
    shown = run("report", "monitoring", source, "--output", tmp_path / "m.html").stderr
    for label in ("Population stability (1 of 4): ", "Back-test (2 of 4): ", "Fair lending (3 of 4): ",
                  "Fair lending (3 of 4), as the reference groups: ", "Overrides (4 of 4): "):
        assert f"\r{label}300 rows" in shown, label
    quiet = run("report", "monitoring", source, "--output", tmp_path / "q.html", "-q").stderr
    assert "\r" not in quiet and "Overrides: " in quiet


def _without_seconds(d):  # type: ignore[no-untyped-def]
    if isinstance(d, dict):
        return {k: _without_seconds(v) for k, v in d.items() if k != "seconds"}
    return [_without_seconds(v) for v in d] if isinstance(d, list) else d


def test_json_holds_each_checks_figures_as_its_command_writes_them(schema, applicants, write_csv, tmp_path) -> None:
    rows = applicants(500, seed=12)
    book = [{**r, "branch": f"B{k % 3}", "final_decision": "approved" if k % 3 else "declined",
             schema.label: str(int(k % 5 == 0)) if k % 3 else ""} for k, r in enumerate(rows)]
    source, out, log = write_csv(book), tmp_path / "m.json", tmp_path / "audit.jsonl"
    result = run("report", "monitoring", source, "--json", out, "--by", "branch", "-q", "--audit-log", log)
    assert result.exit_code in (0, 4), result.output
    found = run("audit", log, "--file", out)  # the log knows which run wrote the JSON
    assert found.exit_code == 0 and "is the output of 1 run" in found.output, found.output
    assert not list(tmp_path.glob("*.html")) and f"wrote {out}" in result.stderr
    document = json.loads(out.read_text())
    commands = {"Population stability": ["monitor", source], "Back-test": ["backtest", source],
                "Fair lending": ["fairness", source], "Overrides": ["overrides", source, "--by", "branch"]}
    assert [c["check"] for c in document["checks"]] == list(commands)
    for check in document["checks"]:
        own = tmp_path / "own.json"
        run(*commands[check["check"]], "-o", own, "-q")
        figures = json.loads(own.read_text())
        assert _without_seconds(check["figures"]) == _without_seconds(figures), check["check"]
        assert check["verdict"] == figures["verdict"] and check["rows_left_out"] == len(figures["rejected"])
    assert document["verdict"] == ("alert" if result.exit_code == 4 else "pass")
    assert document["file"] == {"path": str(source), "sha256": hashlib.sha256(source.read_bytes()).hexdigest()}
    piped = CliRunner().invoke(main, ["report", "monitoring", "-", "--json", str(tmp_path / "p.json"), "--by",
                                      "branch", "-q"], input=source.read_bytes())
    text = (tmp_path / "p.json").read_text()
    assert piped.exit_code == result.exit_code and "loanscore-" not in text  # stdin's temporary file is not named
    assert [c["figures"]["source"] for c in json.loads(text)["checks"]] == ["stdin"] * 4
    nothing = run("report", "monitoring", source)
    assert nothing.exit_code == 2 and "--output FILE.html, --json FILE.json, or both" in nothing.output
    twice = run("report", "monitoring", source, "--output", tmp_path / "r", "--json", tmp_path / "r")
    assert twice.exit_code == 2 and "the JSON would replace the HTML" in twice.output and not (tmp_path / "r").exists()


def test_json_says_why_a_check_did_not_run(applicants, write_csv, tmp_path) -> None:
    source, out = write_csv(applicants(50, seed=3)), tmp_path / "m.json"
    result = run("report", "monitoring", source, "--json", out, "--output", tmp_path / "m.html")
    assert result.exit_code in (0, 4), result.output
    checks = {c["check"]: c for c in json.loads(out.read_text())["checks"]}
    assert checks["Back-test"]["verdict"] == "not run" and "figures" not in checks["Back-test"]
    assert "no outcome column" in checks["Back-test"]["why_not_run"]
    assert (tmp_path / "m.html").exists() and "figures" in checks["Population stability"]


def test_a_file_that_changes_between_the_checks_is_refused_not_reported(schema, applicants, write_csv, to_csv,
                                                                         tmp_path, monkeypatch) -> None:
    """Each check reads the file: rows appended meanwhile (an export still running) would make the sections
    describe different files under one name and digest."""
    import loanscore.cli.monitoring_report as report

    rows = applicants(200, seed=9)
    source = write_csv([{**r, schema.label: "0"} for r in rows])
    real = report._backtest

    def appended(*args, **kwargs):  # Back-test reads the file; then the export appends more rows
        section = real(*args, **kwargs)
        with open(source, "a") as fh:
            fh.write(to_csv([{**r, schema.label: "1"} for r in applicants(5, seed=10)]).split("\n", 1)[1])
        return section

    monkeypatch.setattr(report, "_backtest", appended)
    page, data = tmp_path / "m.html", tmp_path / "m.json"
    result = run("report", "monitoring", source, "--output", page, "--json", data, "-q")
    assert result.exit_code == 2 and "changed while the report was made" in result.output, result.output
    assert not page.exists() and not data.exists()
