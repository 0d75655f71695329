"""Reason statements: the schema words them, a statements file rewords them, the direction picks the wording."""

from __future__ import annotations

import json

import numpy as np
import pytest

from loanscore.runtime import SchemaError, Scorer
from loanscore.runtime.explain import STATED, render_text
from loanscore.runtime.reasons import MIN_EFFECT
from loanscore.runtime.schema import Schema
from loanscore.runtime.statements import directions, load_statements, schema_statements, statements_toml, wording

LATE, LITTLE_USE = "Late repayments in recent months", "Little recent use of revolving credit"


@pytest.fixture(scope="module")
def typical(scorer: Scorer) -> dict[str, float]:
    return dict(scorer.explainer.typical)


def _lender(reason: object, kind: str = "history") -> dict:
    entry = {"name": "status", "columns": ["m1", "m2"]} if kind == "history" else {"name": "region", "codes": [1, 2]}
    data: dict = {"label": "bad", "history": [{"name": "status", "columns": ["m1", "m2"]}]}
    if kind == "history":
        data["history"] = [{**entry, "reason": reason}]
    else:
        data["categorical"] = [{**entry, "reason": reason}]
    return data


def test_the_taiwan_schema_words_every_field_and_the_manifest_carries_it(schema: Schema, scorer: Scorer) -> None:
    words = schema_statements(schema)
    assert set(words) == {"LIMIT_BAL", "AGE", "SEX", "EDUCATION", "MARRIAGE",
                          "repayment_status", "bill_amount", "payment_amount"}
    assert words["repayment_status"] == (LATE, LITTLE_USE)
    assert words["LIMIT_BAL"][1] == "Low credit line" and words["SEX"] == ("Sex", "Sex")
    assert schema_statements(scorer.schema) == words  # the shipped model's manifest
    assert Schema.from_dict(schema.to_dict()) == schema
    assert schema.to_dict()["categorical"][0]["reason"] == "Sex"


def test_one_sided_and_single_statements_round_trip() -> None:
    one_sided = Schema.from_dict(_lender({"higher": "Arrears"}))
    assert one_sided.history[0].reason == ("Arrears", "")
    assert one_sided.to_dict()["history"][0]["reason"] == {"higher": "Arrears"}
    same = Schema.from_dict(_lender({"higher": "Arrears", "lower": "Arrears"}))
    assert same.to_dict()["history"][0]["reason"] == "Arrears" and Schema.from_dict(same.to_dict()) == same
    assert Schema.from_dict(_lender(None)).history[0].reason == ("", "")


@pytest.mark.parametrize(
    ("reason", "kind", "fragment"),
    [
        ("", "history", "must be a statement, or a table of 'higher' and 'lower'"),
        ({"above": "x"}, "history", "must be a statement, or a table"),
        ({"higher": 3}, "history", "got {'higher': 3}"),
        ({}, "history", "got {}"),
        ({"higher": "x"}, "code", "must be a statement (a code has no above or below)"),
        (["x"], "code", "got ['x']"),
    ],
)
def test_a_malformed_reason_names_the_entry(reason: object, kind: str, fragment: str) -> None:
    with pytest.raises(SchemaError) as info:
        Schema.from_dict(_lender(reason, kind), source="lender.toml")
    name = "history channel status" if kind == "history" else "categorical field region"
    assert f"lender.toml: {name}: 'reason'" in str(info.value) and fragment in str(info.value)


def test_directions_compare_with_the_typical_applicant_month_by_month(schema: Schema, typical) -> None:
    status, bills = schema.history[0].columns, schema.history[1].columns
    rows = [
        {"LIMIT_BAL": 20_000, "AGE": 60, status: [0, 0, 0, 0, 1, 2]},     # above, above, later payments
        {"LIMIT_BAL": 140_000, "AGE": 20, status: [-2, -1, 0, 0, 0, 0]},  # typical, below, less use
        {status: [-2, -1, 0, 0, 3, 0]},                                    # cancel out: the +3 decides
        {status: [-1, 0, 0, 0, 0, 1]},                                     # cancel out, equally large: newest
        {status: [np.nan] * 5 + [1]},                                      # missing months are no difference
        {bills: [0, 0, 0, 0, 0, 5_000_000]},  # five months far below outweigh one far above (signed log)
    ]
    feeds = {c.name: np.full((len(rows), 1), typical[c.name], dtype=np.float32) for c in schema.columns()}
    for i, row in enumerate(rows):
        for key, values in row.items():
            for column, value in zip((key,) if isinstance(key, str) else key, np.atleast_1d(values)):
                feeds[column][i, 0] = value
    way = directions(schema, typical, feeds)
    assert way["LIMIT_BAL"].tolist()[:2] == [-1, 0] and way["AGE"].tolist()[:2] == [1, -1]
    assert way["repayment_status"].tolist() == [1, -1, 1, 1, 1, 0]
    assert way["bill_amount"].tolist() == [0, 0, 0, 0, 0, -1]
    assert "SEX" not in way  # a code is neither above nor below


def test_wording_falls_back_to_the_fields_name_where_no_statement_fits() -> None:
    assert wording((LATE, LITTLE_USE), 1, "status") == LATE
    assert wording((LATE, LITTLE_USE), -1, "status") == LITTLE_USE
    assert wording((LATE, LITTLE_USE), 0, "status") == "status"
    assert wording(("Sex", "Sex"), 0, "SEX") == "Sex"
    assert wording(("Arrears", ""), -1, "status") == "status"


def test_the_shipped_model_words_a_late_payer_and_a_low_credit_line(scorer: Scorer, typical) -> None:
    late = {**typical, "PAY_0": 1, "LIMIT_BAL": 20_000}
    reasons = scorer.score(late, reasons=3).reasons
    assert [(r.field, r.statement) for r in reasons] == [("repayment_status", LATE), ("LIMIT_BAL", "Low credit line")]
    assert reasons[0].to_dict()["statement"] == LATE
    mixed = {**typical, "PAY_6": -2, "PAY_5": -1, "PAY_2": 3}  # sums to 0: the 3-month delay decides
    assert scorer.score(mixed, reasons=1).reasons[0].statement == LATE


def _statements_file(tmp_path, text: str, name: str = "words.toml"):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def test_a_statements_file_replaces_the_models_wording(model_dir, schema: Schema, typical, tmp_path) -> None:
    toml = _statements_file(tmp_path, 'SEX = "性別"\n[repayment_status]\nhigher = "D1 近幾個月有延遲還款"\n')
    assert load_statements(toml, schema) == {"SEX": ("性別", "性別"), "repayment_status": ("D1 近幾個月有延遲還款", "")}
    as_json = _statements_file(tmp_path, json.dumps({"repayment_status": {"higher": "D1"}}), "words.json")
    assert load_statements(as_json, schema) == {"repayment_status": ("D1", "")}

    scorer = Scorer.load(model_dir, statements=toml)
    late = {**typical, "PAY_0": 1, "LIMIT_BAL": 20_000}
    reasons = scorer.score(late, reasons=2).reasons
    assert [r.statement for r in reasons] == ["D1 近幾個月有延遲還款", "LIMIT_BAL"]  # the file words no credit line
    assert Scorer.load(model_dir, statements={}).score(late, reasons=1).reasons[0].statement == ""


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('INCOME = "Low income"\n', ("words 'INCOME', which the model does not have; its fields and history "
                                     "channels are LIMIT_BAL, AGE, SEX, EDUCATION, MARRIAGE, repayment_status")),
        ('[SEX]\nhigher = "x"\n', "SEX must be a statement (a code has no above or below)"),
        ('[bill_amount]\nhigher = ""\n', "bill_amount must be a statement, or a table"),
        ("SEX = \n", "is not valid TOML"),
    ],
)
def test_a_bad_statements_file_says_what_is_wrong(schema: Schema, tmp_path, text: str, fragment: str) -> None:
    path = _statements_file(tmp_path, text)
    with pytest.raises(SchemaError) as info:
        load_statements(path, schema)
    assert str(info.value).startswith(f"Statements file {path}") and fragment in str(info.value)
    with pytest.raises(SchemaError, match="Cannot read statements file"):
        load_statements(tmp_path / "absent.toml", schema)


def test_an_explanation_states_the_first_reasons_as_a_notice_would(scorer: Scorer, typical) -> None:
    late = {**typical, "PAY_0": 1, "LIMIT_BAL": 20_000, "AGE": 60, "MARRIAGE": 1, "SEX": 1, "PAY_AMT1": 0}
    case = scorer.explain(late)
    by_field = {e.field: e for e in case.effects}
    assert by_field["repayment_status"].statement == LATE
    assert by_field["repayment_status"].to_dict()["statement"] == LATE
    text = render_text(case, scorer.schema, "Applicant")
    stated = text.split("Reasons as stated to the applicant:\n")[1].split("\n\n")[0].splitlines()
    raising = [e for e in case.effects if e.effect >= MIN_EFFECT]
    assert len(stated) == min(STATED, len(raising)) and len(raising) > STATED
    assert stated[0] == f"  1. {LATE} (repayment_status +{by_field['repayment_status'].effect:.3f})"
    assert all(f"{e.statement} ({e.field} " in line for e, line in zip(raising, stated))


def test_the_statements_file_written_reads_back_as_the_same_statements(schema: Schema, tmp_path) -> None:
    words = {**schema_statements(schema), "AGE": ("Older", ""), "SEX": ("Sex \"as recorded\"", "Sex \"as recorded\"")}
    del words["EDUCATION"], words["bill_amount"]
    text = statements_toml(schema, words, "A heading\nover two lines")
    assert text.startswith("# A heading\n# over two lines\n")
    assert '# EDUCATION = ""' in text and "# [bill_amount]  # bill statement" in text and '# lower = ""' in text
    path = _statements_file(tmp_path, text)
    assert load_statements(path, schema) == words
    assert load_statements(_statements_file(tmp_path, statements_toml(schema, {}, "none"), "none.toml"), schema) == {}
    odd = Schema.from_dict({"label": "bad", "categorical": [{"name": "home region", "codes": [1], "reason": "Région"}],
                            "history": [{"name": "arrears.12m", "columns": ["a1", "a2"], "reason": {"lower": "Peu"}}]})
    path = _statements_file(tmp_path, statements_toml(odd, schema_statements(odd), "odd names"), "odd.toml")
    assert load_statements(path, odd) == {"home region": ("Région", "Région"), "arrears.12m": ("", "Peu")}


def test_a_windows_editors_byte_order_mark_is_read_and_utf_16_is_named(schema: Schema, tmp_path) -> None:
    bom = tmp_path / "bom.toml"
    bom.write_bytes('SEX = "性別"\n'.encode("utf-8-sig"))
    assert load_statements(bom, schema) == {"SEX": ("性別", "性別")}
    wide = tmp_path / "wide.toml"
    wide.write_bytes('SEX = "Sex"\n'.encode("utf-16"))
    with pytest.raises(SchemaError, match=r"wide.toml is not UTF-8 text \(byte 1 cannot be read\); save it as UTF-8"):
        load_statements(wide, schema)
