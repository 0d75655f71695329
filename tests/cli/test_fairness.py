"""``loanscore fairness`` with the shipped model: groups, the two alerts and their exit status, outcomes, bad input."""

from __future__ import annotations

import csv
import itertools
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from click.testing import CliRunner

from loanscore.cli.main import main

LABEL = "default.payment.next.month"


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["fairness", *args])


@pytest.fixture(scope="module")
def book(scorer, schema, applicants) -> tuple[list[dict[str, str]], np.ndarray]:
    """2,400 generated applicants, each with the shipped model's P(default)."""
    rows = applicants(2400, seed=31)
    return rows, scorer.score_columns({c: [r[c] for r in rows] for c in schema.input_names}).probability


def _band(age: int) -> str:
    """The Taiwan schema's age band of ``age``."""
    edges = [25, 35, 45, 55, 65]
    k = sum(age >= e for e in edges)
    return "<25" if k == 0 else "65+" if k == 5 else f"{edges[k - 1]}-{edges[k] - 1}"


def _groups(report: dict, field: str) -> dict[str, dict]:
    return {g["group"]: g for f in report["fields"] if f["field"] == field for g in f["groups"]}


def test_default_review_is_by_the_protected_fields_and_counts_score_decisions(book, write_csv, tmp_path,
                                                                             scorer) -> None:
    rows, _ = book
    path, out, scored = write_csv(rows), tmp_path / "fairness.json", tmp_path / "scored.csv"
    result = run(str(path), "-o", str(out))
    report = json.loads(out.read_text())
    assert result.exit_code == (4 if report["verdict"] == "alert" else 0), result.output
    assert [f["field"] for f in report["fields"]] == ["AGE", "SEX", "MARRIAGE"]
    assert all(f["protected"] for f in report["fields"]) and report["outcome"] is None
    assert "By SEX (protected, codes)" in result.output and "no outcomes" in result.output
    assert CliRunner().invoke(main, ["score", str(path), "-o", str(scored)]).exit_code == 0
    with open(scored, newline="") as fh:
        decisions = [r["decision"] for r in csv.DictReader(fh)]
    for code, label in (("1", "1 male"), ("2", "2 female")):
        mine = [d for r, d in zip(rows, decisions) if r["SEX"] == code]
        group = _groups(report, "SEX")[label]
        assert (group["rows"], group["approved"]) == (len(mine), mine.count("approve"))
    ref = report["fields"][1]["reference"]
    ref_code, other = ("1", "2") if ref == "1 male" else ("2", "1")
    moved = [dict(r, SEX=ref_code) for r in rows if r["SEX"] == other]  # scored as the reference: the gap SEX makes
    was = np.array([d == "approve" for r, d in zip(rows, decisions) if r["SEX"] == other])
    now = scorer.score_columns({c: [r[c] for r in moved] for c in scorer.schema.input_names}).probability \
        < scorer.model.threshold
    group = next(g for label, g in _groups(report, "SEX").items() if label != ref)
    assert group["approval_rate_as_reference"] == now.mean()
    assert group["decisions_changed_as_reference"] == int((now != was).sum()) > 0
    assert "approval_rate_as_reference" not in _groups(report, "SEX")[ref]
    ages = report["fields"][0]
    in_ref = [int(r["AGE"]) for r in rows if _band(int(r["AGE"])) == ages["reference"]]
    assert ages["as_reference_value"] == f"{np.median(in_ref):g}"  # a number is set to the reference's median
    band = next(g["group"] for g in ages["groups"] if g["group"] != ages["reference"])
    moved = [dict(r, AGE=ages["as_reference_value"]) for r in rows if _band(int(r["AGE"])) == band]
    was = np.array([d == "approve" for r, d in zip(rows, decisions) if _band(int(r["AGE"])) == band])
    now = scorer.score_columns({c: [r[c] for r in moved] for c in scorer.schema.input_names}).probability \
        < scorer.model.threshold
    assert _groups(report, "AGE")[band]["approval_rate_as_reference"] == now.mean()
    assert _groups(report, "AGE")[band]["decisions_changed_as_reference"] == int((now != was).sum())
    crossed = run(str(path), "--by", "SEX*AGE:40", "-o", str(out))
    assert crossed.exit_code in (0, 4), crossed.output
    groups = _groups(json.loads(out.read_text()), "SEX*AGE")
    for (code, sex), (young, band) in itertools.product((("1", "1 male"), ("2", "2 female")),
                                                        ((True, "<40"), (False, "40+"))):
        mine = [d for r, d in zip(rows, decisions) if r["SEX"] == code and (int(r["AGE"]) < 40) == young]
        assert (groups[f"{sex}, {band}"]["rows"], groups[f"{sex}, {band}"]["approved"]) == (
            len(mine), mine.count("approve"))
    ages = _groups(report, "AGE")
    assert list(ages) == ["<25", "25-34", "35-44", "45-54", "55-64", "65+"]
    assert ages["25-34"]["rows"] == sum(25 <= int(r["AGE"]) <= 34 for r in rows)
    assert report["decline_from"] == scorer.model.threshold


def test_a_group_declined_far_more_often_is_adverse_impact_with_exit_4_and_a_red_bar(book, write_csv,
                                                                                     tmp_path) -> None:
    rows, p = book
    order = np.argsort(p)
    branch = np.empty(len(p), dtype=object)
    branch[order[:1600]], branch[order[1600:]] = "north", "south"  # south holds the riskiest third
    parity = ["even" if i % 2 == 0 else "odd" for i in range(len(rows))]  # unrelated to risk
    tagged = [dict(r, branch=b, parity=q) for r, b, q in zip(rows, branch, parity)]
    out, plot, log = tmp_path / "f.json", tmp_path / "f.svg", tmp_path / "audit.log"
    result = run(str(write_csv(tagged)), "--by", "branch", "--by", "parity", "-o", str(out), "--plot", str(plot),
                 "--audit-log", str(log))
    assert result.exit_code == 4, result.output
    report = json.loads(out.read_text())
    south, north = _groups(report, "branch")["south"], _groups(report, "branch")["north"]
    assert report["fields"][0]["reference"] == "north" and north["approval_ratio"] == 1.0
    assert south["approval_ratio"] == pytest.approx(south["approval_rate"] / north["approval_rate"])
    assert south["approval_ratio"] < 0.8 and south["adverse_impact"] and south["p_value"] < 0.01
    assert report["fields"][1]["verdict"] == "pass"
    assert "south" in result.output and "<- adverse impact" in result.output
    assert result.output.rstrip().endswith("overall: alert")
    record = json.loads(log.read_text().splitlines()[-1])
    assert (record["event"], record["verdict"], record["alerts"], record["exit"]) == ("fairness", "alert",
                                                                                      ["branch south"], 4)
    svg = ET.parse(plot).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    red = [r.find(f"{ns}title").text for r in svg.iter(f"{ns}rect") if r.get("fill") == "#c0392b"]
    assert len(red) == 1 and red[0].startswith("south:")


def test_outcomes_from_the_label_column_test_calibration_within_each_group(book, write_csv, tmp_path) -> None:
    rows, p = book
    rng = np.random.default_rng(5)
    female = np.array([r["SEX"] == "2" for r in rows])
    y = rng.random(len(p)) < np.where(female, p * 0.5, p)  # women default half as often as the model says
    labelled = [dict(r, **{LABEL: str(int(d))}) for r, d in zip(rows, y)]
    out = tmp_path / "f.json"
    result = run(str(write_csv(labelled)), "--by", "SEX", "-o", str(out))
    assert result.exit_code == 4, result.output
    report = json.loads(out.read_text())
    men, women = _groups(report, "SEX")["1 male"], _groups(report, "SEX")["2 female"]
    assert report["outcome"] == LABEL and report["defaults"] == int(y.sum())
    assert women["miscalibrated"] and not men["miscalibrated"]
    assert women["defaults"] == int(y[female].sum())
    assert women["expected_defaults"] == pytest.approx(p[female].sum(), rel=1e-6)
    assert "calibration:    alert" in result.output and "<- miscalibrated" in result.output


def test_blank_outcomes_of_the_declined_count_in_the_approvals_and_not_in_the_calibration(book, write_csv,
                                                                                          tmp_path) -> None:
    """Outcomes known for the approved only (the declined got no loan): every row is in the approval figures, as
    without outcomes, and calibration is judged on the approved, as a review of those rows alone judges it."""
    rows, p = book
    y = np.random.default_rng(6).random(len(p)) < p
    approved = p < 0.3
    partial = [dict(r, **{LABEL: str(int(d)) if a else ""}) for r, d, a in zip(rows, y, approved)]
    outs = {name: tmp_path / f"{name}.json" for name in ("partial", "none", "known")}
    assert run(str(write_csv(partial, name="partial.csv")), "--decline-from", "0.3", "-o",
               str(outs["partial"])).exit_code in (0, 4)
    assert run(str(write_csv(rows, name="none.csv")), "--decline-from", "0.3", "-o", str(outs["none"])).exit_code \
        in (0, 4)
    known = [r for r, a in zip(partial, approved) if a]
    assert run(str(write_csv(known, name="known.csv")), "--decline-from", "0.3", "-o",
               str(outs["known"])).exit_code in (0, 4)
    got = {name: json.loads(path.read_text()) for name, path in outs.items()}
    assert got["partial"]["rejected"] == [] and got["partial"]["outcomes"] == int(approved.sum())
    for field in ("SEX", "AGE"):
        with_blanks, without = _groups(got["partial"], field), _groups(got["none"], field)
        alone = _groups(got["known"], field)
        assert {k: (g["rows"], g["approved"]) for k, g in with_blanks.items()} == {
            k: (g["rows"], g["approved"]) for k, g in without.items()}
        assert set(alone) <= set(with_blanks)
        for k, g in alone.items():
            mine = with_blanks[k]
            assert (mine["outcomes"], mine["defaults"]) == (g["rows"], g["defaults"])
            assert (mine["expected_defaults"], mine["calibration_p_value"]) == pytest.approx(
                (g["expected_defaults"], g["calibration_p_value"]), rel=1e-6)


def test_points_cut_off_rejected_rows_and_bad_requests(book, write_csv, tmp_path) -> None:
    from loanscore.runtime.points import PointsScale

    rows, _ = book
    bad = [dict(r) for r in rows[:300]]
    bad[9]["AGE"] = "7"
    bad[20]["SEX"] = "7"  # an unknown code is scored (with a warning), in a group of its own
    out = tmp_path / "f.json"
    result = run(str(write_csv(bad)), "--decline-below-points", "540", "--by", "SEX", "-o", str(out))
    report = json.loads(out.read_text())
    assert report["decline_from"] == PointsScale().below(540)
    assert (report["rows"], report["scored"]) == (300, 299)
    assert report["rejected"][0]["row"] == 10 and "AGE" in report["rejected"][0]["error"]
    assert "row 10" in result.output and "AGE" in result.output
    assert _groups(report, "SEX")["7"]["rows"] == 1

    path = str(write_csv(rows[:50]))
    for args, words in ((["--by", "region"], "region"), (["--outcome", "defaulted"], "defaulted"),
                        (["--by", "SEX:1,2"], "categorical"), (["--by", "AGE:50,40"], "increasing")):
        result = run(path, *args)
        assert result.exit_code == 2 and words in result.output and "Traceback" not in result.output, result.output


@pytest.mark.usefixtures("model_dir")
def test_figures_agree_with_backtest_by_segment_on_real_rows(dev_sample, tmp_path) -> None:
    """On 3,000 development rows, the defaults, expected defaults and AUC per SEX are those `backtest --by` finds."""
    path = str(dev_sample(3000, seed=12))
    fair, back = tmp_path / "fair.json", tmp_path / "back.json"
    run(path, "--by", "SEX", "-o", str(fair))
    CliRunner().invoke(main, ["backtest", path, "--by", "SEX", "-o", str(back)])
    groups = _groups(json.loads(fair.read_text()), "SEX")
    segments = {s["segment"]: s for s in json.loads(back.read_text())["segments"]["SEX"]["segments"]}
    assert set(segments) == set(groups) == {"1 male", "2 female"}
    for label, seg in segments.items():
        g = groups[label]
        assert (g["rows"], g["defaults"]) == (seg["rows"], seg["defaults"])
        assert g["expected_defaults"] == pytest.approx(seg["expected"], abs=1e-3)
        assert g["roc_auc"] == pytest.approx(seg["roc_auc"], abs=1e-12)


def test_a_model_whose_schema_marks_nothing_protected_asks_for_by(model_dir, edit_manifest, applicants, write_csv,
                                                                   tmp_path) -> None:
    """A model exported before the schema had protected marks (or a lender's schema without them)."""
    import shutil

    old = tmp_path / "old_model"
    shutil.copytree(model_dir, old)

    def unmark(manifest: dict) -> None:
        for kind in ("numeric", "categorical"):
            for f in manifest["schema"][kind]:
                f.pop("protected", None)
                f.pop("bands", None)

    edit_manifest(old, unmark)
    path = str(write_csv(applicants(40, seed=2)))
    result = run(path, "--model", str(old))
    assert result.exit_code == 2 and "marks no field protected" in result.output and "--by" in result.output
    result = run(path, "--model", str(old), "--by", "SEX")
    assert result.exit_code == 0 and "By SEX (codes)" in result.output, result.output


def test_a_file_and_stdin_give_the_same_review(book, write_csv, tmp_path) -> None:
    """stdin is kept in a temporary file, so that it is read twice as a file is: the outcome column is found and
    a number field is set to its reference group's median in a second pass (from stdin read once, neither was)."""
    rows, _ = book
    path = write_csv(rows[:1500])
    from_file, from_stdin = tmp_path / "file.json", tmp_path / "stdin.json"
    assert run(str(path), "-o", str(from_file)).exit_code in (0, 4)
    piped = CliRunner().invoke(main, ["fairness", "-", "-o", str(from_stdin)], input=path.read_bytes())
    assert piped.exit_code in (0, 4), piped.output
    a, b = (json.loads(f.read_text()) for f in (from_file, from_stdin))
    assert b["source"] == "stdin" and piped.output.startswith("Fairness review of stdin\n")
    for d in (a, b):
        del d["source"], d["seconds"]
    assert a["fields"][0]["field"] == "AGE" and "as_reference_value" in b["fields"][0]
    assert a == b and any("approval_rate_as_reference" in g for f in b["fields"] for g in f["groups"])


def test_a_file_that_changes_between_the_two_passes_is_an_error_not_a_wrong_figure(scorer, schema, applicants,
                                                                                  write_csv) -> None:
    from loanscore.runtime.errors import InputError
    from loanscore.runtime.fairness import groupings, review
    from loanscore.runtime.readers import open_reader

    first, second = write_csv(applicants(300, seed=4), "a.csv"), write_csv(applicants(200, seed=4), "b.csv")
    reader = open_reader(first, schema.input_names)
    with pytest.raises(InputError, match="changed while it was reviewed"):
        review(scorer, reader, groupings(schema, ()), 0.2, reopen=lambda: open_reader(second, schema.input_names))
    reader.close()


def test_cutoffs_by_gives_each_cut_offs_lowest_ratio_as_fairness_finds_it(book, write_csv, tmp_path) -> None:
    rows, _ = book
    path = str(write_csv(rows))
    table = tmp_path / "cutoffs.json"
    plot = tmp_path / "cutoffs.svg"
    result = CliRunner().invoke(main, ["cutoffs", path, "--by", "SEX", "--by", "AGE", "--cutoff", "0.3",
                                       "-o", str(table), "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    import xml.etree.ElementTree as ET

    ns = "{http://www.w3.org/2000/svg}"
    titles = [c.find(f"{ns}title").text for c in ET.parse(plot).getroot().iter(f"{ns}circle")]
    adverse = [t for t in titles if t.endswith("adverse impact")]
    assert len(adverse) == sum(w["adverse_impact"] for c in json.loads(table.read_text())["cutoffs"]
                               if c["approved"] for w in c["lowest_approval_ratio"].values() if w["group"])
    assert "Lowest approval ratio to the field's most-approved group" in result.output
    cuts = {c["approve"]: c for c in json.loads(table.read_text())["cutoffs"]}
    for label, cut in (("below 0.3", ["--decline-from", "0.3"]), ("the model's threshold", [])):
        review = tmp_path / "fairness.json"
        assert run(path, "--by", "SEX", "--by", "AGE", *cut, "-o", str(review)).exit_code in (0, 4)
        for f in json.loads(review.read_text())["fields"]:
            tested = [g for g in f["groups"] if g["tested"]]
            worst = min(tested, key=lambda g: g["approval_ratio"])
            got = cuts[label]["lowest_approval_ratio"][f["field"]]
            assert (got["group"], got["adverse_impact"]) == (worst["group"], worst["adverse_impact"])
            assert got["ratio"] == pytest.approx(worst["approval_ratio"], rel=1e-12)


def test_json_lines_with_the_label_are_reviewed_with_their_outcomes(book, tmp_path) -> None:
    rows, p = book
    y = np.random.default_rng(9).random(600) < p[:600]
    path = tmp_path / "book.jsonl"
    path.write_text("".join(json.dumps({**r, LABEL: int(d)}) + "\n" for r, d in zip(rows[:600], y)))
    out = tmp_path / "f.json"
    result = run(str(path), "--by", "SEX", "-o", str(out))
    assert result.exit_code in (0, 4), result.output
    report = json.loads(out.read_text())
    assert (report["outcome"], report["defaults"]) == (LABEL, int(y.sum()))
    plain = tmp_path / "plain.jsonl"
    plain.write_text("".join(json.dumps(r) + "\n" for r in rows[:600]))
    assert run(str(plain), "--by", "SEX", "-o", str(out)).exit_code in (0, 4)
    assert json.loads(out.read_text())["outcome"] is None


def test_a_reference_group_given_replaces_the_most_approved(book, write_csv, tmp_path) -> None:
    rows, _ = book
    path, out = str(write_csv(rows)), tmp_path / "f.json"
    assert run(path, "--by", "SEX", "-o", str(out)).exit_code in (0, 4)
    default = json.loads(out.read_text())["fields"][0]
    other = next(g["group"] for g in default["groups"] if g["group"] != default["reference"])
    result = run(path, "--by", "SEX", "--reference", f"SEX={other.split()[0]}", "-o", str(out))
    assert result.exit_code in (0, 4) and f"the reference group given ({other.split()[0]}), {other}" in result.output
    field = json.loads(out.read_text())["fields"][0]
    groups = {g["group"]: g for g in field["groups"]}
    assert field["reference"] == other and groups[other]["approval_ratio"] == 1.0
    first = groups[default["reference"]]
    assert first["approval_ratio"] == pytest.approx(first["approval_rate"] / groups[other]["approval_rate"])
    assert first["approval_ratio"] > 1
    assert "approval_rate_as_reference" in first  # scored as the reference given
    result = run(path, "--by", "SEX", "--reference", "SEX=9", "-o", str(out))
    assert "no such group of 30 rows or more here, nothing tested" in result.output and result.exit_code == 0
    assert json.loads(out.read_text())["fields"][0]["reference"] is None
    for bad, words in (("MARRIAGE=1", "MARRIAGE is not reviewed here"), ("SEX", "expected FIELD=GROUP")):
        result = run(path, "--by", "SEX", "--reference", bad)
        assert result.exit_code == 2 and words in result.output
