"""`loanscore notices`: a letter to each declined applicant, with the reasons `score --reasons` gives."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from loanscore.cli.main import main
from loanscore.runtime.notices import BUILT_IN, Template, file_name
from loanscore.runtime.errors import SchemaError


def run(*args, **kwargs):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, [*map(str, args)], **kwargs)


def printed(path) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """letters.html's letters, as (id, text) in page order, read back by an HTML parser."""
    from html.parser import HTMLParser

    class Articles(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.found: list[tuple[str, str]] = []
            self.inside = False

        def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
            assert not self.inside, "an element inside a letter: its text was not escaped"
            if tag == "article":
                self.inside = True
                self.found.append((dict(attrs)["id"], ""))

        def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
            self.inside = self.inside and tag != "article"

        def handle_data(self, data):  # type: ignore[no-untyped-def]
            if self.inside:
                self.found[-1] = (self.found[-1][0], self.found[-1][1] + data)

    parser = Articles()
    parser.feed(path.read_text("utf-8"))
    return parser.found


def reasons(row: dict[str, str]) -> list[str]:
    """A notices.csv row's reasons, reason_1 on."""
    return [row[f"reason_{k}"] for k in range(1, 5) if row[f"reason_{k}"]]


def test_every_declined_applicant_gets_a_letter_with_the_reasons_score_gives(applicants, write_csv, tmp_path) -> None:
    rows = applicants(300, seed=71)
    rows[6]["AGE"] = "500"
    source, out, log = write_csv(rows), tmp_path / "letters", tmp_path / "audit.jsonl"
    result = run("notices", source, "--out", out, "--date", "6 December 2026", "--audit-log", log)
    assert result.exit_code == 1, result.output  # row 7 cannot be scored
    scored = list(csv.DictReader(io.StringIO(run("score", source, "--reasons", "4", "--points", "-q").stdout)))
    index = list(csv.DictReader(io.StringIO((out / "notices.csv").read_text())))
    assert [r["row"] for r in index] == [str(k) for k in range(1, 301)]  # every input row, none dropped
    declined = [s for s in scored if s["decision"] == "decline"]
    assert 0 < len(declined) < 299  # some approved: they get no letter
    letters = sorted(p.name for p in out.iterdir() if p.suffix == ".txt")
    assert letters == sorted(f"notice_{s['ID']}.txt" for s in declined)
    assert sorted(p.name for p in out.iterdir() if p.suffix != ".txt") == ["letters.html", "notices.csv"]
    page = printed(out / "letters.html")  # every letter, in the input's order, to print
    assert page == [(f"notice_{s['ID']}", (out / f"notice_{s['ID']}.txt").read_text()) for s in declined]
    assert "break-after: page" in (out / "letters.html").read_text()
    for s, r in zip(scored, index, strict=True):
        assert (r["decision"], r["score"]) == (s["decision"], s["points"])
        if s["decision"] != "decline":
            assert r["notice"] == "" and reasons(r) == []
            continue
        told = s["reason_statements"].split("; ")
        assert reasons(r) == told and r["notice"] == f"notice_{s['ID']}.txt"
        letter = (out / r["notice"]).read_text()
        assert letter.startswith("6 December 2026\n\nApplicant: " + s["ID"] + "\n")
        assert "\n".join(f"  {k}. {t}" for k, t in enumerate(told, 1)) in letter
        assert f"yours is {s['points']}, on a scale from\n300 to 900" in letter
    assert index[6]["error"].startswith("AGE must be between 18 and 120") and index[6]["notice"] == ""
    assert "1 rows of" in result.stderr and f"wrote {len(declined)} notices" in result.stderr
    record = json.loads(log.read_text().splitlines()[-1])
    assert (record["event"], record["notices"], record["rejected"], record["template"]) == (
        "notices", len(declined), 1, "built-in")


def test_the_lenders_template_and_a_policy_in_points(applicants, write_csv, tmp_path) -> None:
    template = tmp_path / "letter.txt"
    assert run("notices", "--write-template", template).exit_code == 0 and template.read_text() == BUILT_IN
    template.write_text("Ref {id} ({date}) {{internal}}\n{reasons}\nScore {score} <b>&amp;</b>.\n", "utf-8")
    rows = applicants(200, seed=72)
    for r in rows:
        r["ID"] = f"<{r['ID']}>&"
    source, out = write_csv(rows), tmp_path / "letters"
    result = run("notices", source, "--out", out, "--template", template, "--decline-below-points", 500,
                 "--date", "2026-12-06")
    assert result.exit_code == 0, result.output
    index = list(csv.DictReader(io.StringIO((out / "notices.csv").read_text())))
    declined = [r for r in index if r["decision"] == "decline"]
    assert declined and all(int(r["score"]) < 500 for r in declined)  # the policy in points decides
    assert all(int(r["score"]) >= 500 for r in index if r["decision"] != "decline")
    first = declined[0]
    assert (out / first["notice"]).read_text().startswith(f"Ref {first['ID']} (2026-12-06) {{internal}}\n  1. ")
    page = printed(out / "letters.html")  # the letters as text, whatever their characters
    assert page == [(r["notice"].removesuffix(".txt"), (out / r["notice"]).read_text()) for r in declined]
    assert page[0][1].endswith(" <b>&amp;</b>.\n") and page[0][1].startswith("Ref <")


@pytest.mark.parametrize("text, message", [
    ("Dear {name},\n{reasons}\n", "has the placeholder {name}, which loanscore does not fill"),
    ("Dear applicant, we decline.\n", "has no {reasons}: a notice must state the reasons"),
    ("{reasons} {\n", "write {{ and }} for a brace"),
])
def test_a_bad_template_is_refused_before_anything_is_written(text, message, applicants, write_csv,
                                                              tmp_path) -> None:
    template, out = tmp_path / "letter.txt", tmp_path / "letters"
    template.write_text(text, "utf-8")
    with pytest.raises(SchemaError, match="notice template"):
        Template.load(template)
    result = run("notices", write_csv(applicants(5)), "--out", out, "--template", template)
    assert result.exit_code == 2 and message in result.output and not out.exists()


def test_a_folder_with_files_is_refused_and_a_failed_run_leaves_none(applicants, write_csv, tmp_path) -> None:
    out = tmp_path / "letters"
    out.mkdir()
    (out / "old.txt").write_text("yesterday's")
    busy = run("notices", write_csv(applicants(5)), "--out", out)
    assert busy.exit_code == 2 and "already holds files" in busy.output
    missing = run("notices", write_csv([{k: v for k, v in r.items() if k != "AGE"} for r in applicants(5)],
                                       name="no_age.csv"), "--out", tmp_path / "new")
    assert missing.exit_code == 2 and "AGE" in missing.output
    assert not (tmp_path / "new").exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".new")]


def test_file_names_are_safe_and_unique() -> None:
    taken: set[str] = set()
    names = [file_name(i, k, taken) for k, i in enumerate(["7", "../etc/passwd", "7", "", "Ana María 12"], 1)]
    assert names == ["notice_7.txt", "notice_etc_passwd.txt", "notice_7_row-3.txt", "notice_row-4.txt",
                     "notice_Ana_Mar_a_12.txt"]


def test_a_declined_applicant_whose_reason_is_not_worded_gets_no_letter_but_a_review(applicants, write_csv,
                                                                                    tmp_path) -> None:
    words = tmp_path / "words.toml"
    assert run("statements", "-o", words).exit_code == 0
    text = words.read_text()
    words.write_text(text.replace('MARRIAGE = "Marital status"', '# MARRIAGE = "Marital status"'), "utf-8")
    source, out = write_csv(applicants(300, seed=73)), tmp_path / "letters"
    result = run("notices", source, "--out", out, "--statements", words)
    assert result.exit_code == 1, result.output
    index = list(csv.DictReader(io.StringIO((out / "notices.csv").read_text())))
    declined = [r for r in index if r["decision"] == "decline"]
    unworded = [r for r in declined if "MARRIAGE" in reasons(r)]  # the field's name stands in
    assert unworded and all(r["notice"] == "" and "principal reason MARRIAGE has no statement" in r["error"]
                            for r in unworded)
    worded = [r for r in declined if r not in unworded]
    assert worded and all(r["notice"] and not r["error"] for r in worded)
    assert len(list(out.glob("notice_*.txt"))) == len(worded)
    assert f"{len(unworded)} rows of" in result.stderr and "without a reason a letter may state" in result.stderr


def test_a_protected_reason_is_named_and_with_hold_protected_held_for_review(applicants, write_csv, tmp_path) -> None:
    source = write_csv(applicants(300, seed=72))
    scored = list(csv.DictReader(io.StringIO(run("score", source, "--reasons", "4", "-q").stdout)))
    fields = [[part.split(" ")[0] for part in s["reasons"].split("; ")] if s["decision"] == "decline" else []
              for s in scored]
    protected = ["; ".join(f for f in names if f in ("AGE", "SEX", "MARRIAGE")) for names in fields]
    assert any(protected) and not all(p for p, s in zip(protected, scored) if s["decision"] == "decline")

    result = run("notices", source, "--out", tmp_path / "all")
    index = list(csv.DictReader(io.StringIO((tmp_path / "all" / "notices.csv").read_text())))
    assert result.exit_code == 0 and [r["protected_reason"] for r in index] == protected
    assert f"{sum(map(bool, protected))} of them state a protected characteristic" in result.stderr

    log = tmp_path / "audit.jsonl"
    result = run("notices", source, "--out", tmp_path / "held", "--hold-protected", "--audit-log", log)
    assert result.exit_code == 1, result.output
    index = list(csv.DictReader(io.StringIO((tmp_path / "held" / "notices.csv").read_text())))
    for r, p, s in zip(index, protected, scored, strict=True):
        if s["decision"] == "decline" and p:
            assert r["notice"] == "" and r["error"].endswith(f"include {p}, a protected characteristic "
                                                            "(--hold-protected)")
        else:
            assert r["error"] == "" and bool(r["notice"]) == (s["decision"] == "decline")
    letters = sum(1 for s, p in zip(scored, protected) if s["decision"] == "decline" and not p)
    assert len(list((tmp_path / "held").iterdir())) == letters + 2  # and notices.csv, letters.html
    record = json.loads(log.read_text().splitlines()[-1])
    assert (record["notices"], record["unstated"], record["protected_reasons"], record["hold_protected"]) == (
        letters, sum(map(bool, protected)), sum(map(bool, protected)), True)


def test_letters_html_prints_one_letter_to_a_page(chromium, applicants, write_csv, tmp_path) -> None:
    """Printed by Chromium to PDF: a page for each letter, none split or run together."""
    import re

    out, pdf = tmp_path / "letters", tmp_path / "letters.pdf"
    assert run("notices", write_csv(applicants(120, seed=74)), "--out", out).exit_code == 0
    letters = len(printed(out / "letters.html"))
    result = chromium((out / "letters.html").as_uri(), f"--print-to-pdf={pdf}", "--no-pdf-header-footer",
                      profile=tmp_path / "profile")
    assert pdf.is_file(), f"no PDF; chromium exited {result.returncode}: {result.stderr[-2000:]}"
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf.read_bytes()))
    assert letters > 1 and pages == letters


def test_an_id_declined_twice_in_the_file_is_pointed_out(applicants, write_csv, tmp_path) -> None:
    """The same application keyed in twice gets two letters (no row is left out), and a note says so."""
    rows = applicants(60, seed=31)
    scored = list(csv.DictReader(io.StringIO(run("score", write_csv(rows), "-q").stdout)))
    declined = [k for k, r in enumerate(scored) if r["decision"] == "decline"]
    again = dict(rows[declined[0]])
    result = run("notices", write_csv([*rows, again]), "--out", tmp_path / "letters")
    assert result.exit_code == 0, result.output
    first = declined[0] + 1
    assert (f"Note: 1 letter went to an id that already had one in this file ({again['ID']}: rows {first} and 61): "
            "an application entered twice?") in result.output
    assert len([p for p in (tmp_path / "letters").glob("notice_*.txt")]) == len(declined) + 1
    once = run("notices", write_csv(rows), "--out", tmp_path / "once")
    assert "Note:" not in once.output


def test_a_run_stopped_by_sigterm_leaves_no_letters_behind(applicants, to_csv, tmp_path) -> None:
    """SIGTERM (a scheduler's timeout, a service stopping) ended the process on the spot: the half-written folder
    of letters, applicants' names and reasons, stayed behind as a hidden folder beside --out (exit 143, no word).
    Now it stops the run as Ctrl-C does."""
    import os
    import signal
    import subprocess
    import sys
    import time

    head, body = to_csv(applicants(1000)).split("\n", 1)
    data = tmp_path / "many.csv"
    data.write_text(head + "\n" + body * 40)  # 40,000 rows: several seconds of letters
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from loanscore.cli.main import main; sys.argv[0] = 'loanscore'; main()",
         "notices", str(data), "--out", str(tmp_path / "letters")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".letters.") for p in tmp_path.iterdir()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the letters' folder never appeared"
        time.sleep(0.02)
    time.sleep(0.5)  # some letters written
    assert proc.poll() is None, "the run ended before it could be stopped; give it more rows"
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Interrupted; no output was written." in stderr
    assert os.listdir(tmp_path) == ["many.csv"]
