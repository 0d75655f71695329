"""The model from Node.js (examples/node): the same probabilities, decisions, errors and warnings as the Python runtime.

Needs Node.js 18+ and ``npm ci --ignore-scripts --prefix examples/node``; the
``node`` fixture skips saying so where they are absent, except under
``LOANSCORE_REQUIRE_NODE=1`` (CI), where their absence fails. ``node_parity``
(tests/conftest.py) compares every row with the Python runtime.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np


ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "node"


EDGES: list[tuple[str, object]] = [
    ("AGE", None), ("AGE", 500), ("AGE", "abc"), ("AGE", " 41 "), ("AGE", "4_1"), ("AGE", True), ("AGE", [1]),
    ("AGE", {"years": 41}), ("AGE", "x" * 70), ("AGE", "0x29"), ("AGE", "inf"), ("AGE", "-Infinity"), ("AGE", "1e400"),
    ("LIMIT_BAL", 0), ("LIMIT_BAL", -5), ("LIMIT_BAL", "5e4"), ("LIMIT_BAL", "+7"), ("LIMIT_BAL", ".5"),
    ("LIMIT_BAL", "5."), ("LIMIT_BAL", 10**9), ("LIMIT_BAL", "NA"), ("SEX", 9), ("SEX", 1.5), ("SEX", None),
    ("SEX", "n/a"), ("EDUCATION", "2"), ("EDUCATION", -3), ("MARRIAGE", "null"), ("PAY_0", "-2"), ("PAY_0", 10),
    ("PAY_0", "nan"), ("BILL_AMT1", "-5e3"), ("BILL_AMT1", ""), ("BILL_AMT1", 4e38), ("PAY_AMT1", -1),
    ("PAY_AMT1", "1 000"), ("PAY_AMT2", "\u00a012\u00a0"),
]


def test_every_rule_of_the_contract_gives_the_same_answer_in_node(node_parity, model_dir, applicants) -> None:
    """Generated applicants, and one applicant per edge case of the input contract (bad, odd or missing values)."""
    base = [{k: int(v) for k, v in row.items() if k != "ID"} for row in applicants(300, seed=11)]
    records = base + [dict(base[k], **{name: value}) for k, (name, value) in enumerate(EDGES)]
    records.append(dict(base[0], AGE=500, SEX=9, PAY_0="late"))  # several problems in one row: each is named
    status, js, stderr = node_parity(model_dir, records)
    rejected = sum(bool(r["errors"]) for r in js)
    assert status == 1 and f"{rejected} of {len(records)} rows rejected" in stderr
    assert (rejected, sum(bool(r["warnings"]) for r in js)) == (21, 3)  # 20 edge cases and the last row; 3 unknown codes
    assert js[-1]["errors"] == ["AGE must be between 18 and 120. Got '500' in row 338.",
                                "PAY_0 must be a number. Got 'late' in row 338."]


def test_real_rows_score_the_same_in_node(node_parity, model_dir, scorer, dev_sample) -> None:
    with open(dev_sample(2000, seed=5), newline="") as stream:
        records = [{k: int(float(v)) for k, v in row.items() if k in scorer.schema.input_names} for row in csv.DictReader(stream)]
    status, js, _ = node_parity(model_dir, records)
    assert status == 0
    assert {r["decision"] for r in js} == {"approve", "decline"}


def test_reason_codes_are_the_same_in_node(node_parity, model_dir, scorer, applicants, dev_sample) -> None:
    """Generated applicants (seldom typical anywhere), real ones (often typical in several fields) and a rejected row."""
    generated = [{k: int(v) for k, v in row.items() if k != "ID"} for row in applicants(200, seed=13)]
    with open(dev_sample(1000, seed=6), newline="") as stream:
        real = [{k: int(float(v)) for k, v in row.items() if k in scorer.schema.input_names} for row in csv.DictReader(stream)]
    records = [*generated, *real, dict(generated[0], AGE=500)]
    status, js, _ = node_parity(model_dir, records, "{not json", reasons=3)
    assert status == 1 and js[-2]["reasons"] == [] and js[-1]["reasons"] == []
    told = [r for r in js if r["decision"] == "decline"]
    assert len(told) > 300 and all(r["reasons"] for r in told)
    assert {r["reasons"][0]["field"] for r in told} >= {"repayment_status", "payment_amount"}
    assert {r["reasons"][0]["statement"] for r in told} >= {"Late repayments in recent months",
                                                            "Small payments in recent months"}


def test_a_statements_file_rewords_the_reasons_as_in_python(node, node_parity, model_dir, scorer, applicants,
                                                             tmp_path) -> None:
    records = [{k: int(v) for k, v in row.items() if k != "ID"} for row in applicants(150, seed=15)]
    words = tmp_path / "words.json"
    words.write_text(json.dumps({"repayment_status": {"higher": "D1 Late", "lower": "D2 Inactive"},
                                 "LIMIT_BAL": {"lower": " C1 Low line "}, "SEX": "Sex"}))
    status, js, _ = node_parity(model_dir, records, reasons=3, statements=words)
    stated = {r["statement"] for result in js for r in result["reasons"]}
    assert status == 0 and {"D1 Late", "C1 Low line"} <= stated and "Late repayments in recent months" not in stated
    for table, message in (({"FOO": "x"}, "the statements word 'FOO', which the model does not have"),
                           ({"SEX": {"higher": "x"}}, "SEX must be a statement (a code has no above or below)"),
                           ({"AGE": {"higher": ""}}, "AGE must be a statement, or a table")):
        words.write_text(json.dumps(table))
        done = subprocess.run([node, str(EXAMPLE / "score.mjs"), "--reasons", "1", "--statements", str(words),
                               str(model_dir)], input="{}\n", capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and message in done.stderr and done.stdout == "", table


def test_case_explanations_are_the_same_in_node(node_explain_parity, model_dir, scorer, applicants, dev_sample) -> None:
    generated = [{k: int(v) for k, v in row.items() if k != "ID"} for row in applicants(60, seed=14)]
    with open(dev_sample(300, seed=8), newline="") as stream:
        real = [{k: int(float(v)) for k, v in row.items() if k in scorer.schema.input_names} for row in csv.DictReader(stream)]
    records = [*generated, *real, dict(generated[0], AGE=500), dict(real[0], SEX=9, EDUCATION=None)]
    js = node_explain_parity(model_dir, records)
    assert js[-2]["errors"] and "effects" not in js[-2]
    status = next(e for e in js[0]["effects"] if e["field"] == "repayment_status")
    assert [m["column"] for m in status["months"]] == list(scorer.schema.history[0].columns)


def test_a_statements_file_rewords_the_explanations_as_in_python(node, node_explain_parity, model_dir, applicants,
                                                                  tmp_path) -> None:
    records = [{k: int(v) for k, v in row.items() if k != "ID"} for row in applicants(30, seed=17)]
    words = tmp_path / "words.json"
    words.write_text(json.dumps({"repayment_status": {"higher": "D1 Late", "lower": "D2 Inactive"}, "SEX": "Sex"}))
    js = node_explain_parity(model_dir, records, statements=words)
    stated = {e["statement"] for result in js for e in result["effects"]}
    assert {"D1 Late", "Sex", "LIMIT_BAL"} <= stated and "Late repayments in recent months" not in stated
    words.write_text("{not json")
    done = subprocess.run([node, str(EXAMPLE / "explain.mjs"), "--statements", str(words), str(model_dir)],
                          input="{}\n", capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--statements takes a statements file in JSON" in done.stderr and done.stdout == ""
    done = subprocess.run([node, str(EXAMPLE / "explain.mjs"), str(model_dir), "--plot"], input="{}\n",
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--plot takes the folder" in done.stderr and done.stdout == ""


def _drawn_in_python(result: dict, schema, title: str) -> str:  # type: ignore[no-untyped-def]
    """Python's drawing (explain_plot.render_svg) of one of Node's explanations, as it came out of explain.mjs."""
    from loanscore.runtime.explain import Effect, Explanation
    from loanscore.runtime.explain_plot import render_svg

    effects = tuple(Effect(e["field"], tuple(e["columns"]), tuple(e["values"]), tuple(e["typical"]), e["effect"],
                           e["probabilityIfTypical"], e["decisionIfTypical"],
                           tuple(m["effect"] for m in e.get("months", [])), e.get("statement", ""))
                    for e in result["effects"])
    return render_svg(Explanation(result["probability"], result["decision"], (0.5, 0.5),
                                  result["typicalProbability"], effects), schema, title)


def test_case_drawings_are_the_same_in_node(node, model_dir, scorer, applicants, dev_sample, tmp_path) -> None:
    """explain.mjs --plot against explain_plot.render_svg given the same explanations: the same bytes."""
    generated = [{k: int(v) for k, v in row.items() if k != "ID"} for row in applicants(20, seed=16)]
    with open(dev_sample(40, seed=9), newline="") as stream:
        real = [{k: int(float(v)) for k, v in row.items() if k in scorer.schema.input_names or k == "ID"}
                for row in csv.DictReader(stream)]
    records = [*generated, *real, dict(real[0], AGE=500)]
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    drawn = tmp_path / "drawn"
    done = subprocess.run([node, str(EXAMPLE / "explain.mjs"), "--plot", str(drawn), str(model_dir), str(path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "1 of 61 rows rejected" in done.stderr
    js = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted(p.name for p in drawn.iterdir()) == sorted(f"row-{k}.svg" for k in range(1, 61))  # not the rejected
    for k, result in enumerate(js[:-1], 1):
        ident = records[k - 1].get("ID")
        where = f"row {k} of {path}"
        title = f"Applicant {ident} ({where})" if ident is not None else where[0].upper() + where[1:]
        assert (drawn / f"row-{k}.svg").read_text() == _drawn_in_python(result, scorer.schema, title), k
    assert "Reasons as stated to the applicant" in (drawn / "row-1.svg").read_text()


def test_numbers_are_drawn_as_python_formats_them_in_node(node, scorer) -> None:
    """Ties (1,234.125 to two places, an effect of 0.0625 to three), -0.0, negatives, labels and a missing value:
    where JavaScript's toFixed rounds a tie up and Python to even."""
    status = next(h for h in scorer.schema.history if h.role == "status")
    effects = [
        {"field": "LIMIT_BAL", "columns": ["LIMIT_BAL"], "values": [1234.125], "typical": [-2.5], "effect": 0.0625,
         "probabilityIfTypical": 0.4375, "decisionIfTypical": "approve", "statement": "A <small> & low line"},
        {"field": "SEX", "columns": ["SEX"], "values": [2], "typical": [2], "effect": 0.0,
         "probabilityIfTypical": 0.5, "decisionIfTypical": "decline"},
        {"field": "AGE", "columns": ["AGE"], "values": [None], "typical": [-1234567], "effect": -0.0,
         "probabilityIfTypical": 0.5, "decisionIfTypical": "decline", "statement": "Age"},
        {"field": status.name, "columns": list(status.columns), "values": [2, 0, None, -1, 1.5, 0],
         "typical": [0] * len(status.columns), "effect": -0.1875, "probabilityIfTypical": 0.6875,
         "decisionIfTypical": "decline",
         "months": [{"column": c, "effect": e} for c, e in zip(status.columns, [0.03125, -0.0, 0.0005, -0.25, 0.125, 0.0])]},
    ]
    result = {"probability": 0.5, "decision": "decline", "typicalProbability": 0.0625, "effects": effects}
    program = ("import { explanationSvg } from './explain_svg.mjs'; import { readFileSync } from 'node:fs';"
               "const [result, schema] = JSON.parse(readFileSync(0, 'utf8'));"
               "process.stdout.write(explanationSvg(result, schema, 'Case & <test>'));")
    manifest = json.loads((scorer.model.directory / "manifest.json").read_text())
    done = subprocess.run([node, "--input-type=module", "-e", program], input=json.dumps([result, manifest["schema"]]),
                          capture_output=True, text=True, timeout=60, cwd=EXAMPLE)
    assert done.returncode == 0, done.stderr
    python = _drawn_in_python(result, scorer.schema, "Case & <test>")
    assert done.stdout == python
    assert "1,234.12 (typical -2.50)" in python and "LIMIT_BAL: 1,234.12" in python and "+0.062" in python


def test_a_line_that_is_no_json_object_is_its_rows_error_and_the_rest_are_scored(node_parity, model_dir, applicants) -> None:
    records = [{k: int(v) for k, v in row.items() if k != "ID"} for row in applicants(3, seed=12)]
    status, js, _ = node_parity(model_dir, records, "{not json", "[1, 2]")
    assert status == 1 and len(js) == 5
    assert [r["probability"] is not None for r in js] == [True, True, True, False, False]
    assert js[3]["errors"][0].startswith("row 4 is not a JSON object") and js[4]["errors"][0].startswith("row 5 ")


def test_golden_cases_pass_and_a_changed_model_is_refused(node, model_dir, tmp_path) -> None:
    done = subprocess.run([node, str(EXAMPLE / "verify.mjs"), str(model_dir)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "236 golden cases" in done.stdout and "OK" in done.stdout
    damaged = tmp_path / "model"
    shutil.copytree(model_dir, damaged)
    manifest = json.loads((damaged / "manifest.json").read_text())
    manifest["sha256"] = "0" * 64
    (damaged / "manifest.json").write_text(json.dumps(manifest))
    refused = subprocess.run([node, str(EXAMPLE / "verify.mjs"), str(damaged)], capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "does not match its manifest" in refused.stderr
    golden = json.loads((damaged / "golden.json").read_text())
    golden["cases"][0]["probability"] += 1e-3  # a golden case that no longer holds
    (damaged / "golden.json").write_text(json.dumps(golden))
    manifest["sha256"] = json.loads((model_dir / "manifest.json").read_text())["sha256"]
    (damaged / "manifest.json").write_text(json.dumps(manifest))
    differs = subprocess.run([node, str(EXAMPLE / "verify.mjs"), str(damaged)], capture_output=True, text=True, timeout=120)
    assert differs.returncode == 3 and "1 cases differ" in differs.stderr


def test_an_edited_manifest_is_refused_in_node_as_in_python(node, model_dir, tmp_path) -> None:
    """The manifest's threshold decides every applicant: Node refuses it edited, by the canonical-JSON hash golden.json
    records, and takes it re-indented with CRLF line ends (a Windows checkout), as the Python runtime does."""
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text("utf-8"))
    (copy / "manifest.json").write_bytes(json.dumps(manifest, indent=4).replace("\n", "\r\n").encode("utf-8"))
    done = subprocess.run([node, str(EXAMPLE / "verify.mjs"), str(copy)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "OK" in done.stdout, done.stderr
    manifest["threshold"]["value"] = 0.5
    (copy / "manifest.json").write_text(json.dumps(manifest, indent=2), "utf-8")
    done = subprocess.run([node, str(EXAMPLE / "verify.mjs"), str(copy)], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "manifest.json has changed since the model was exported" in done.stderr


def test_the_manifest_hash_is_pythons_for_every_kind_of_number_and_string(node, tmp_path) -> None:
    """Python writes a float and an int apart (5.0, 5) and floats in its own notation (1e-05, 1e+16): Node's hash
    of the same text must be Python's, or an untouched manifest would be refused."""
    import random

    from loanscore.runtime.integrity import manifest_sha256

    rng = random.Random(3)
    numbers = [1e-05, 5.0, 5, -0.0, 0.0, 1e16, 1e15, 123456789012345678901234567890, 1.5e-07, 1e-4, 2.5e100,
               -3.25, 0.1, 1 / 3, 9.999e15, 1.7976931348623157e308, 5e-324]
    numbers += [rng.choice([rng.random(), rng.uniform(-1e20, 1e20), 10 ** rng.uniform(-30, 30), 10.0 ** rng.randint(-8, 20),
                            float(rng.randint(-10**6, 10**6)), rng.randint(-10**20, 10**20)]) for _ in range(200)]
    texts = [json.dumps({"z": x, "a": [x, str(x)], "s": "tab\t \u0001 é 中 \"q\" \\ \u2028", "n": {"é": None, "A": True}},
                        indent=k % 3 or None) for k, x in enumerate(numbers)]
    program = ("import { readFileSync } from 'node:fs'; import { manifestSha256 } from "
               f"{json.dumps((EXAMPLE / 'loanscore.mjs').as_uri())}; "
               "console.log(JSON.stringify(JSON.parse(readFileSync(0, 'utf8')).map((t) => manifestSha256(t))));")
    done = subprocess.run([node, "--input-type=module", "-e", program], input=json.dumps(texts), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [manifest_sha256(json.loads(t)) for t in texts]


def test_grades_on_a_master_scale_are_the_same_in_node(node, model_dir, scorer, dev_sample, tmp_path) -> None:
    from loanscore.runtime.grades import MasterScale

    with open(dev_sample(300, seed=16), newline="") as stream:
        records = [{k: int(float(v)) for k, v in row.items() if k in scorer.schema.input_names}
                   for row in csv.DictReader(stream)]
    records[5]["AGE"] = 500  # rejected: no grade

    def node_grades(scale: MasterScale) -> list[dict]:
        path, data = tmp_path / "grades.json", tmp_path / "records.jsonl"
        path.write_text(json.dumps(scale.to_dict()))
        data.write_text("".join(json.dumps(r) + "\n" for r in records))
        done = subprocess.run([node, str(EXAMPLE / "score.mjs"), "--master-scale", str(path), str(model_dir),
                               str(data)], capture_output=True, text=True, timeout=300)
        return [json.loads(line) for line in done.stdout.splitlines()]

    built_in = MasterScale.built_in()
    js = node_grades(built_in)
    p = [float("nan") if r["probability"] is None else r["probability"] for r in js]
    assert [r["grade"] for r in js] == built_in.grade(p) and js[5]["grade"] == "" and len({r["grade"] for r in js}) >= 6
    python = scorer.score_records(records)
    assert sum(a["grade"] == b for a, b in zip(js, built_in.grade([r.probability for r in python]))) >= 299
    edge = js[0]["probability"]  # a bound exactly at a row's probability: the row is in the lower grade
    at_edge = node_grades(MasterScale(("low", "high"), (edge, 1.0)))
    assert at_edge[0]["grade"] == "low" and {r["grade"] for r in at_edge} == {"low", "high", ""}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"grade": [{"name": "a", "upper": 0.5}, {"name": "b", "upper": 0.4}]}))
    done = subprocess.run([node, str(EXAMPLE / "score.mjs"), "--master-scale", str(bad), str(model_dir)], input="{}\n",
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "grade 2 (b): upper 0.4 is not above grade 1's 0.5" in done.stderr


def test_points_are_the_same_in_node(node, model_dir, scorer, dev_sample, tmp_path) -> None:
    """score.mjs --points-scale gives `score --points`'s points: on 300 real rows, and pointsOf on 100,000 drawn
    probabilities (rounding boundaries included) on the built-in and a lender's scale."""
    from loanscore.runtime.points import PointsScale

    with open(dev_sample(300, seed=17), newline="") as stream:
        records = [{k: int(float(v)) for k, v in row.items() if k in scorer.schema.input_names}
                   for row in csv.DictReader(stream)]
    records[7]["AGE"] = 500  # rejected: no points
    scale, data = tmp_path / "points.json", tmp_path / "records.jsonl"
    scale.write_text(json.dumps(PointsScale().to_dict()))
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    done = subprocess.run([node, str(EXAMPLE / "score.mjs"), "--points-scale", str(scale), str(model_dir), str(data)],
                          capture_output=True, text=True, timeout=300)
    js = [json.loads(line) for line in done.stdout.splitlines()]
    python = PointsScale().values([float("nan") if r.probability is None else r.probability
                                   for r in scorer.score_records(records)])
    assert [r["points"] for r in js] == python and js[7]["points"] is None and len(set(python)) > 50

    rng = np.random.default_rng(17)
    lender = PointsScale(500, 19, 40, 0, 1000)
    p = np.concatenate([rng.uniform(0, 1, 50_000), rng.beta(0.5, 20, 50_000), [0.0, 1.0],
                        lender.probability(np.arange(1, 1000) + 0.5), PointsScale().probability(np.arange(301, 900) + 0.5)])
    (tmp_path / "p.json").write_text(json.dumps(p.tolist()))
    for shown in (PointsScale(), lender):
        (tmp_path / "scale.json").write_text(json.dumps(shown.to_dict()))
        script = (f"import {{ pointsOf, pointsScale }} from {json.dumps((EXAMPLE / 'loanscore.mjs').as_uri())};"
                  "import { readFileSync } from 'node:fs';"
                  f"const s = pointsScale(JSON.parse(readFileSync({json.dumps(str(tmp_path / 'scale.json'))}, 'utf8')));"
                  f"const p = JSON.parse(readFileSync({json.dumps(str(tmp_path / 'p.json'))}, 'utf8'));"
                  "process.stdout.write(JSON.stringify(p.map((x) => pointsOf(s, x))));")
        done = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        js_points, py_points = np.array(json.loads(done.stdout)), np.array(shown.values(p))
        differ = js_points != py_points  # only on a half point, where JavaScript's and numpy's logarithms may part
        with np.errstate(invalid="ignore"):  # P 0 and 1: infinitely many points, no half
            on_half = np.abs(shown.exact(p) % 1 - 0.5) < 1e-9
        assert not np.any(differ & ~on_half) and np.all(np.abs(js_points - py_points) <= 1), np.flatnonzero(differ)
        assert differ.sum() < 0.1 * on_half.sum(), (differ.sum(), on_half.sum())
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**PointsScale().to_dict(), "pdo": 0}))
    done = subprocess.run([node, str(EXAMPLE / "score.mjs"), "--points-scale", str(bad), str(model_dir)], input="{}\n",
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "pdo (points to double the odds) must be above 0" in done.stderr
