"""The input contract: messages that name row, field, value and domain; one record and a batch agree."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loanscore.runtime.schema import Schema
from loanscore.runtime.validate import check_columns, check_record

COLUMNS = Schema.default().columns()
GOOD = {c.name: ["1"] if c.kind == "code" else ["0"] for c in COLUMNS}
GOOD.update(LIMIT_BAL=["50000"], AGE=["30"])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("AGE", "500", "AGE must be between 18 and 120. Got '500' in row 1."),
        ("AGE", "17", "AGE must be between 18 and 120. Got '17' in row 1."),
        ("AGE", "", "AGE is required and cannot be missing. Got '' in row 1."),
        ("LIMIT_BAL", "0", "LIMIT_BAL must be greater than 0 and at most 100000000. Got '0' in row 1."),
        ("LIMIT_BAL", "-5", "LIMIT_BAL must be greater than 0 and at most 100000000. Got '-5' in row 1."),
        ("LIMIT_BAL", "abc", "LIMIT_BAL must be a number. Got 'abc' in row 1."),
        ("BILL_AMT1", "inf", "BILL_AMT1 must be a finite number. Got 'inf' in row 1."),
        ("BILL_AMT1", "1e400", "BILL_AMT1 must be a finite number. Got '1e400' in row 1."),
        ("PAY_0", "10", "PAY_0 must be between -2 and 9. Got '10' in row 1."),
        ("SEX", "1.5", "SEX must be a whole-number code, one of 1, 2. Got '1.5' in row 1."),
        ("PAY_AMT1", "9" * 70, "PAY_AMT1 is too long (70 characters; at most 64)."),
    ],
)
def test_bad_values_are_named(field: str, value: str, message: str) -> None:
    checked = check_columns(COLUMNS, {**GOOD, field: [value]}, 1)
    assert [str(e) for e in checked.errors[0]][0].startswith(message)


def test_missing_values_are_imputed_where_allowed_and_codes_unknown_warn() -> None:
    checked = check_columns(COLUMNS, {**GOOD, "BILL_AMT1": ["NA"], "EDUCATION": [""], "SEX": ["9"]}, 1)
    assert checked.errors == {}
    assert math.isnan(checked.feeds["BILL_AMT1"][0, 0]) and math.isnan(checked.feeds["EDUCATION"][0, 0])
    assert checked.warnings[0] == ["SEX code 9 was not seen in training; scored as an unknown code"]


def test_rows_are_numbered_from_first_row() -> None:
    data = {k: v * 3 for k, v in GOOD.items()}
    data["AGE"] = ["30", "x", "30"]
    checked = check_columns(COLUMNS, data, 3, first_row=8193)
    assert list(checked.errors) == [1] and checked.errors[1][0].row == 8194


def test_numpy_columns_skip_parsing() -> None:
    data = {c.name: np.ones(4) for c in COLUMNS}  # 1 is valid everywhere but AGE
    data["LIMIT_BAL"] = np.array([1e4, -1, np.nan, 2e4])
    data["AGE"] = np.full(4, 30)
    checked = check_columns(COLUMNS, data, 4)
    assert sorted(checked.errors) == [1, 2]


values = st.one_of(
    st.none(),
    st.integers(-10**12, 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=70),
    st.sampled_from(["", "NA", "null", " 42 ", "1e3", "-2", "9", "0", "1.5", "abc", "inf", "nan", "1e400"]),
    st.booleans(),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(COLUMNS), values)
def test_one_record_and_a_batch_agree(col, value) -> None:
    record = {**{k: v[0] for k, v in GOOD.items()}, col.name: value}
    one = check_record(COLUMNS, record)
    batch = check_columns(COLUMNS, {k: [v] for k, v in record.items()}, 1)
    assert [(e.field, e.reason) for e in one.errors.get(0, [])] == [(e.field, e.reason) for e in batch.errors.get(0, [])]
    assert one.warnings.get(0, []) == batch.warnings.get(0, [])
    if not one.errors:
        np.testing.assert_array_equal(one.feeds[col.name], batch.feeds[col.name])


def test_checking_a_chunk_leaves_its_columns_as_read(applicants, write_csv) -> None:
    """The bulk-parsed columns of a CSV chunk are the reader's own: checking them twice (a shadow model reads the
    chunk after the model in force) finds the same errors, not values blanked by the first check."""
    from loanscore.runtime.readers import open_reader
    from loanscore.runtime.validate import ParsedText

    rows = applicants(50, seed=3)
    rows[4]["AGE"], rows[7]["LIMIT_BAL"] = "500", "0"
    schema = Schema.default()
    reader = open_reader(write_csv(rows), schema.input_names, id_column="ID", numbers=schema.number_names)
    chunk = next(iter(reader))
    reader.close()
    assert isinstance(chunk.columns["AGE"], ParsedText)  # the bulk path, whose numbers could be written over
    first, second = (check_columns(COLUMNS, chunk.columns, chunk.n) for _ in range(2))
    assert {i: list(map(str, e)) for i, e in first.errors.items()} == \
        {i: list(map(str, e)) for i, e in second.errors.items()}
    assert "AGE must be between 18 and 120. Got '500' in row 5." in map(str, second.errors[4])


json_values = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**30, max_value=10**30),
                        st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0, 1, 2, 30, 50000, 10**400]),
                        st.text(max_size=6), st.lists(st.integers(), max_size=2))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(json_values, min_size=1, max_size=12), st.sampled_from(COLUMNS))
def test_a_json_column_of_numbers_is_checked_as_its_values_text_is(values, col) -> None:
    """JSON Lines keeps a column of numbers and nulls as numbers (``JsonNumbers``), sparing a text per value;
    the validator must find exactly what it finds in each value's text: the same inputs, errors and warnings."""
    from loanscore.runtime.jsonl_reader import _as_text, _json_column

    numeric = [v for v in values if v is None or type(v) in (int, float)]  # the column that takes the fast path
    for column in (values, numeric or [1]):
        n = len(column)
        others = {k: v * n for k, v in GOOD.items() if k != col.name}
        fast = check_columns(COLUMNS, {**others, col.name: _json_column(list(column))}, n)
        text = check_columns(COLUMNS, {**others, col.name: [_as_text(v) for v in column]}, n)
        assert {i: [(e.field, e.value, e.reason) for e in es] for i, es in fast.errors.items()} == \
            {i: [(e.field, e.value, e.reason) for e in es] for i, es in text.errors.items()}
        assert fast.warnings == text.warnings
        feed = fast.feeds[col.name]
        assert np.array_equal(feed, text.feeds[col.name], equal_nan=feed.dtype.kind == "f")
