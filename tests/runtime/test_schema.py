"""The schema is data: the built-in Taiwan one, round trips, and messages for malformed files."""

from __future__ import annotations

import json

import pytest

from loanscore.runtime.errors import SchemaError
from loanscore.runtime.schema import Schema


def test_default_schema_is_the_taiwan_layout(schema: Schema) -> None:
    assert schema.id == "ID"
    assert schema.label == "default.payment.next.month"
    assert schema.months == 6
    status = schema.history[0]
    # Oldest month first: April (PAY_6) -> September (PAY_0).
    assert status.columns == ("PAY_6", "PAY_5", "PAY_4", "PAY_3", "PAY_2", "PAY_0")
    assert len(schema.input_names) == 23
    assert "ID" not in schema.input_names and schema.label not in schema.input_names


def test_round_trip_through_dict_and_json(schema: Schema, tmp_path) -> None:
    assert Schema.from_dict(schema.to_dict()) == schema
    assert [f.name for f in schema.protected_fields] == ["AGE", "SEX", "MARRIAGE"]
    assert "protected" not in schema.to_dict()["numeric"][0]  # LIMIT_BAL: false is the default, left unsaid
    path = tmp_path / "s.json"
    path.write_text(json.dumps(schema.to_dict()))
    assert Schema.load(path) == schema


def test_toml_schema_with_twelve_months_and_string_codes(tmp_path) -> None:
    months = [f"status_m{i:02d}" for i in range(1, 13)]
    path = tmp_path / "lender.toml"
    path.write_text(
        'label = "bad"\nid = "app_id"\n'
        '[[numeric]]\nname = "income"\nmin = 0\ntransform = "signed_log"\n'
        '[[categorical]]\nname = "region"\ncodes = ["north", "south"]\n'
        f'[[history]]\nname = "status"\nrole = "status"\ncolumns = {json.dumps(months)}\nmin = 0\nmax = 5\n'
    )
    s = Schema.load(path)
    assert s.months == 12
    assert s.input_names == ["income", "region", *months]
    assert s.columns()[1].is_string and not s.columns()[0].is_string


def _taiwan_dict() -> dict:
    return Schema.default().to_dict()


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: d.pop("label"), "'label' must be a non-empty string"),
        (lambda d: d.update(colour="red"), "unknown keys ['colour']"),
        (lambda d: d["history"][0]["columns"].pop(), "same number of months"),
        (lambda d: d["numeric"][1].update(min=200), "'min' (200) must be below 'max' (120)"),
        (lambda d: d["numeric"][0].update(transform="sqrt"), "'transform' must be one of none, signed_log"),
        (lambda d: d["categorical"][0].update(codes=[1, "2"]), "all integers or all strings"),
        (lambda d: d["categorical"][0].update(codes=[]), "non-empty list"),
        (lambda d: d["history"][1]["columns"].__setitem__(0, "AGE"), "more than once: ['AGE']"),
        (lambda d: d.update(history=[]), "at least one [[history]] channel"),
        (lambda d: d["numeric"][1].update(bands=[40, 30]), "'bands' must list increasing numbers"),
        (lambda d: d["numeric"][1].update(bands="25,35"), "'bands' must list increasing numbers"),
        (lambda d: d["categorical"][0].update(protected="yes"), "'protected' must be true or false"),
        (lambda d: d["categorical"][0].update(bands=[1]), "unknown keys"),
    ],
)
def test_malformed_schema_names_the_problem(change, fragment: str) -> None:
    data = _taiwan_dict()
    change(data)
    with pytest.raises(SchemaError) as info:
        Schema.from_dict(data, source="my.toml")
    assert fragment in str(info.value)
    assert str(info.value).startswith("my.toml")


def test_unreadable_and_invalid_files(tmp_path) -> None:
    with pytest.raises(SchemaError, match="Cannot read schema file"):
        Schema.load(tmp_path / "absent.toml")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SchemaError, match="is not valid JSON"):
        Schema.load(bad)


def test_a_schema_saved_with_a_byte_order_mark_or_as_utf_16(schema: Schema, tmp_path) -> None:
    path = tmp_path / "s.json"
    path.write_bytes(json.dumps(schema.to_dict()).encode("utf-8-sig"))
    assert Schema.load(path) == schema
    path.write_bytes(json.dumps(schema.to_dict()).encode("utf-16"))
    with pytest.raises(SchemaError, match="Schema file .* is not UTF-8 text .*; save it as UTF-8"):
        Schema.load(path)


def test_without_takes_fields_out_of_the_model_but_keeps_them_for_the_slices(schema: Schema) -> None:
    lean = schema.without(["SEX", " MARRIAGE", "AGE", ""])
    assert not {"SEX", "MARRIAGE", "AGE"} & set(lean.input_names)
    assert len(lean.input_names) == len(schema.input_names) - 3
    assert [f.name for f in lean.left_out] == ["AGE", "SEX", "MARRIAGE"]
    assert Schema.from_dict(json.loads(json.dumps(lean.to_dict()))) == lean
    assert sorted(lean.with_left_out().input_names) == sorted(schema.input_names)
    assert "left_out" not in schema.to_dict()
    assert lean.without(["EDUCATION"]).left_out[-1].name == "EDUCATION"  # taken out again, kept in order
    no_bills = schema.without(["bill_amount"])
    assert no_bills.history == tuple(h for h in schema.history if h.name != "bill_amount")
    assert [h.name for h in no_bills.left_out] == ["bill_amount"] and no_bills.left_out_fields == ()
    assert Schema.from_dict(json.loads(json.dumps(no_bills.to_dict()))) == no_bills
    assert no_bills.with_left_out().input_names == no_bills.input_names  # a report slices by fields only


@pytest.mark.parametrize("names, fragment", [
    (["GENDER"], "has no field or history channel GENDER; it has LIMIT_BAL, AGE, SEX"),
    (["repayment_status", "bill_amount", "payment_amount"], "at least one [[history]] channel is needed"),
])
def test_without_refuses_what_it_cannot_do(schema: Schema, names, fragment: str) -> None:
    with pytest.raises(SchemaError) as err:
        schema.without(names)
    assert fragment in str(err.value)


def test_a_left_out_field_cannot_also_be_an_input(schema: Schema) -> None:
    data = schema.without(["SEX"]).to_dict()
    data["left_out"]["categorical"][0]["name"] = "EDUCATION"
    with pytest.raises(SchemaError, match="also a model input"):
        Schema.from_dict(data)
    data = schema.without(["bill_amount"]).to_dict()
    data["left_out"]["history"][0]["columns"][-1] = "PAY_AMT1"
    with pytest.raises(SchemaError, match=r"also a model input, the label or the id: \['PAY_AMT1'\]"):
        Schema.from_dict(data)
    with pytest.raises(SchemaError, match="'left_out' must be a table"):
        Schema.from_dict({**schema.to_dict(), "left_out": ["SEX"]})
