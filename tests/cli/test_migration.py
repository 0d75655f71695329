"""``loanscore migration``: the same borrowers' grades before and after, matched by id."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
from click.testing import CliRunner

from loanscore.cli.main import main
from loanscore.runtime.grades import MasterScale


def run(*args):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["migration", *map(str, args)])


def later(rows, seed=0):  # type: ignore[no-untyped-def]
    """The same borrowers a quarter later: a third of them a month later on their latest payments."""
    rng = np.random.default_rng(seed)
    out = []
    for row in rows:
        row = dict(row)
        if rng.random() < 1 / 3:
            row["PAY_0"] = str(min(max(int(row["PAY_0"]), 0) + 2, 8))
        out.append(row)
    return out


def test_the_matrix_is_each_borrowers_grade_before_and_after(scorer, applicants, write_csv, tmp_path):
    rows = applicants(400, seed=30)
    after_rows = later(rows)[40:]  # the first 40 borrowers left the book
    after_rows[0]["ID"] = ""  # no id: listed, not matched
    after_rows.append(dict(after_rows[5]))  # an id seen twice
    before, after = write_csv(rows, name="before.csv"), write_csv(after_rows, name="after.csv")
    out, flagged = tmp_path / "m.json", tmp_path / "down.csv"
    plot = tmp_path / "m.svg"
    result = run(before, after, "-o", out, "--downgrades", flagged, "--notches", 2, "--plot", plot, "-q")
    assert result.exit_code == 1, result.output  # rows were left out
    assert "ID is missing in row 1" in result.output and "appears again (first in row 6)" in result.output
    scale = MasterScale.built_in()
    p_before = {r["ID"]: s.probability for r, s in zip(rows, scorer.score_records(rows))}
    p_after = {r["ID"]: s.probability for r, s in zip(after_rows[1:-1], scorer.score_records(after_rows[1:-1]))}
    ids = [k for k in p_before if k in p_after]
    gb, ga = scale.index([p_before[k] for k in ids]), scale.index([p_after[k] for k in ids])
    by_hand = np.zeros((10, 10), int)
    np.add.at(by_hand, (gb, ga), 1)
    document = json.loads(out.read_text())
    assert document["matrix"] == by_hand.tolist() and document["matched"] == len(ids) == 359
    assert (document["only_before"], document["only_after"]) == (41, 0)
    assert document["downgraded"] == np.mean(ga > gb) > 0.1 and document["upgraded"] == np.mean(ga < gb)
    listed = list(csv.DictReader(flagged.read_text().splitlines()))
    assert {r["ID"] for r in listed} == {k for k, b, a in zip(ids, gb, ga) if a - b >= 2} and listed
    assert [int(r["notches"]) for r in listed] == sorted((int(r["notches"]) for r in listed), reverse=True)
    assert document["flagged"] == len(listed)
    cells = re.findall(r"<title>(\d+) -&gt; (\d+): ([\d,]+) of", plot.read_text())
    assert cells and all(by_hand[int(a) - 1, int(b) - 1] == int(c.replace(",", "")) for a, b, c in cells)
    assert sum(int(c.replace(",", "")) for _, _, c in cells) == len(ids)
    shown = next(line for line in result.output.splitlines() if line.startswith("same grade"))
    assert shown.startswith(f"same grade {np.mean(ga == gb):.1%}, downgraded {np.mean(ga > gb):.1%}")


def test_the_same_file_twice_keeps_every_grade_and_a_lenders_scale_is_used(applicants, write_csv, tmp_path):
    ours = tmp_path / "ours.toml"
    ours.write_text('[[grade]]\nname = "A"\nupper = 0.2\n\n[[grade]]\nname = "B"\nupper = 1\n')
    path, out = write_csv(applicants(50, seed=32)), tmp_path / "m.json"
    result = run(path, path, "--master-scale", ours, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert document["grades"] == ["A", "B"] and document["same_grade"] == 1.0 and document["flagged"] == 0
    assert np.trace(np.array(document["matrix"])) == 50 and f"the master scale in {ours}" in result.output


def test_files_that_cannot_be_matched_get_a_message(applicants, write_csv, to_csv, tmp_path):
    rows = applicants(5, seed=33)
    no_id = tmp_path / "no_id.csv"
    no_id.write_text(to_csv([{k: v for k, v in r.items() if k != "ID"} for r in rows]))
    other = write_csv([dict(r, ID=f"x{r['ID']}") for r in rows], name="other.csv")
    for args, message in [((write_csv(rows), no_id), "has no ID column"),
                          ((write_csv(rows), other), "No borrower of"),
                          ((write_csv(rows), tmp_path / "nope.csv"), "nope.csv")]:
        result = run(*args, "-q")
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
