"""The model from Node.js (examples/node): the same probabilities, decisions, errors and warnings as the Python runtime.

Needs Node.js 18+ and ``npm ci --ignore-scripts --prefix examples/node``; skips
saying so where they are absent, except under ``LOANSCORE_REQUIRE_NODE=1``
(CI), where their absence fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from loanscore.runtime.scorer import Scorer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "node"
TOLERANCE = 1e-6
"""Python (onnxruntime 1.28) and Node.js (onnxruntime-node 1.30) run the same float32 graph."""


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    missing = ("Node.js is not installed" if found is None else
               "examples/node has no node_modules: run npm ci --ignore-scripts --prefix examples/node"
               if not (EXAMPLE / "node_modules" / "onnxruntime-node").is_dir() else None)
    if missing:
        if os.environ.get("LOANSCORE_REQUIRE_NODE") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    return str(found)


def score_in_node(node: str, records: list[object], tmp_path: Path, *lines: str) -> tuple[int, list[dict], str]:
    """Run score.mjs on ``records`` (as JSON Lines, then ``lines`` as they are) with the shipped model."""
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + "".join(line + "\n" for line in lines))
    done = subprocess.run([node, str(EXAMPLE / "score.mjs"), str(ROOT / "artifacts" / "model"), str(path)],
                          capture_output=True, text=True, timeout=120)
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()], done.stderr


def as_python(scorer: Scorer, records: list[dict]) -> list[dict]:
    return [{"probability": r.probability, "decision": r.decision or "", "errors": [str(e) for e in r.errors],
             "warnings": list(r.warnings)} for r in scorer.score_records(records)]


def assert_same(node_results: list[dict], python_results: list[dict]) -> None:
    assert len(node_results) == len(python_results)
    for i, (js, py) in enumerate(zip(node_results, python_results)):
        assert js["row"] == i + 1
        assert (js["errors"], js["warnings"], js["decision"]) == (py["errors"], py["warnings"], py["decision"]), i + 1
        if py["probability"] is None or py["errors"]:
            assert js["probability"] is None, i + 1
        else:
            assert abs(js["probability"] - py["probability"]) <= TOLERANCE, i + 1


EDGES: list[tuple[str, object]] = [
    ("AGE", None), ("AGE", 500), ("AGE", "abc"), ("AGE", " 41 "), ("AGE", "4_1"), ("AGE", True), ("AGE", [1]),
    ("AGE", {"years": 41}), ("AGE", "x" * 70), ("AGE", "0x29"), ("AGE", "inf"), ("AGE", "-Infinity"), ("AGE", "1e400"),
    ("LIMIT_BAL", 0), ("LIMIT_BAL", -5), ("LIMIT_BAL", "5e4"), ("LIMIT_BAL", "+7"), ("LIMIT_BAL", ".5"),
    ("LIMIT_BAL", "5."), ("LIMIT_BAL", 10**9), ("LIMIT_BAL", "NA"), ("SEX", 9), ("SEX", 1.5), ("SEX", None),
    ("SEX", "n/a"), ("EDUCATION", "2"), ("EDUCATION", -3), ("MARRIAGE", "null"), ("PAY_0", "-2"), ("PAY_0", 10),
    ("PAY_0", "nan"), ("BILL_AMT1", "-5e3"), ("BILL_AMT1", ""), ("BILL_AMT1", 4e38), ("PAY_AMT1", -1),
    ("PAY_AMT1", "1 000"), ("PAY_AMT2", "\u00a012\u00a0"),
]


def test_every_rule_of_the_contract_gives_the_same_answer_in_node(node, scorer, applicants, tmp_path) -> None:
    """Generated applicants, and one applicant per edge case of the input contract (bad, odd or missing values)."""
    base = [{k: int(v) for k, v in row.items() if k != "ID"} for row in applicants(300, seed=11)]
    records = base + [dict(base[k], **{name: value}) for k, (name, value) in enumerate(EDGES)]
    records.append(dict(base[0], AGE=500, SEX=9, PAY_0="late"))  # several problems in one row: each is named
    status, js, stderr = score_in_node(node, records, tmp_path)
    py = as_python(scorer, records)
    assert_same(js, py)
    rejected = sum(bool(r["errors"]) for r in py)
    assert status == 1 and f"{rejected} of {len(records)} rows rejected" in stderr
    assert (rejected, sum(bool(r["warnings"]) for r in py)) == (21, 3)  # 20 edge cases and the last row; 3 unknown codes
    assert js[-1]["errors"] == ["AGE must be between 18 and 120. Got '500' in row 338.",
                                "PAY_0 must be a number. Got 'late' in row 338."]


def test_real_rows_score_the_same_in_node(node, scorer, dev_sample, tmp_path) -> None:
    import csv

    with open(dev_sample(2000, seed=5), newline="") as stream:
        records = [{k: int(float(v)) for k, v in row.items() if k in scorer.schema.input_names} for row in csv.DictReader(stream)]
    status, js, _ = score_in_node(node, records, tmp_path)
    assert status == 0
    assert_same(js, as_python(scorer, records))
    assert {r["decision"] for r in js} == {"approve", "decline"}


def test_a_line_that_is_no_json_object_is_its_rows_error_and_the_rest_are_scored(node, scorer, applicants, tmp_path) -> None:
    records = [{k: int(v) for k, v in row.items() if k != "ID"} for row in applicants(3, seed=12)]
    status, js, _ = score_in_node(node, records, tmp_path, "{not json", "[1, 2]")
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
