"""A case's explanation on the shipped model: every effect, the months included, is a real rescoring."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from loanscore.runtime import Scorer, ValidationError
from loanscore.runtime.explain import STATED, explain_feeds, render_text, signed, stated
from loanscore.runtime.explain_plot import render_svg
from loanscore.runtime.reasons import MIN_EFFECT
from loanscore.runtime.scorer import Bands
from loanscore.runtime.svg import BLUE, RED
from loanscore.runtime.validate import check_columns

TOLERANCE = 1e-6
"""The same float32 graph run on the same inputs in batches of other sizes."""


@pytest.fixture(scope="module")
def golden(model_dir) -> list[dict]:
    return [c["record"] for c in json.loads((model_dir / "golden.json").read_text())["cases"]]


@pytest.fixture(scope="module")
def typical(scorer: Scorer) -> dict:
    return dict(scorer.explainer.typical)


def test_every_effect_is_a_rescoring_with_that_field_or_month_made_typical(scorer: Scorer, golden, typical) -> None:
    for record in golden[:8]:
        case = scorer.explain(record)
        base = scorer.score(record)
        assert case.probability == pytest.approx(base.probability, abs=TOLERANCE)
        assert case.decision == base.decision
        assert case.typical_probability == pytest.approx(scorer.score(typical).probability, abs=TOLERANCE)
        assert [e.field for e in case.effects] != [] and len(case.effects) == len(scorer.explainer.groups)
        assert [e.effect for e in case.effects] == sorted((e.effect for e in case.effects), reverse=True)
        for effect in case.effects:
            made_typical = scorer.score({**record, **{c: typical[c] for c in effect.columns}})
            assert effect.effect == pytest.approx(base.probability - made_typical.probability, abs=TOLERANCE), effect.field
            assert effect.if_typical == pytest.approx(made_typical.probability, abs=TOLERANCE)
            assert effect.decision_if_typical == made_typical.decision
            for column, month in zip(effect.columns, effect.months):
                alone = scorer.score({**record, column: typical[column]}).probability
                assert month == pytest.approx(base.probability - alone, abs=TOLERANCE), column
        history = {h.name for h in scorer.schema.history}
        assert {e.field for e in case.effects if e.months} == history


def test_the_explanation_agrees_with_the_reason_codes(scorer: Scorer, golden) -> None:
    for record in golden[:20]:
        case = scorer.explain(record)
        reasons = scorer.score(record, reasons=3).reasons
        expected = [(e.field, e.effect) for e in case.effects if e.effect >= MIN_EFFECT][:3]
        assert [r.field for r in reasons] == [f for f, _ in expected]
        np.testing.assert_allclose([r.effect for r in reasons], [e for _, e in expected], atol=TOLERANCE)


def test_a_late_payers_months_point_at_the_late_months(scorer: Scorer, typical) -> None:
    status = scorer.schema.history[0]
    late = {**typical, status.columns[-1]: 3, status.columns[-2]: 2}
    case = scorer.explain(late)
    first = case.effects[0]
    assert first.field == status.name and first.effect > 0.1
    assert first.values[-2:] == (2, 3) and first.typical == (0,) * len(status.columns)
    months = dict(zip(first.columns, first.months))
    assert months[status.columns[-1]] > 0.05 and months[status.columns[-2]] > 0
    assert all(months[c] == 0.0 for c in status.columns[:-2])  # at the typical value: not rescored, exactly 0
    assert all(e.is_typical and e.effect == 0.0 for e in case.effects[1:])
    assert scorer.explain(typical).effects == tuple(
        e for e in scorer.explain(typical).effects if e.is_typical and e.effect == 0.0)


def test_rows_explained_together_equal_rows_explained_alone(scorer: Scorer, golden) -> None:
    records = golden[:25]
    checked = check_columns(scorer.schema.columns(), {c.name: [r.get(c.name) for r in records]
                                                      for c in scorer.schema.columns()}, len(records))
    assert not checked.errors
    together = explain_feeds(scorer, checked.feeds)
    for record, case in zip(records, together):
        alone = scorer.explain(record)
        assert [e.field for e in case.effects] == [e.field for e in alone.effects]
        np.testing.assert_allclose([e.effect for e in case.effects], [e.effect for e in alone.effects], atol=TOLERANCE)
        np.testing.assert_allclose([m for e in case.effects for m in e.months],
                                   [m for e in alone.effects for m in e.months], atol=TOLERANCE)


def test_a_bad_record_raises_and_an_unknown_code_is_explained_with_its_warning(scorer: Scorer, golden) -> None:
    with pytest.raises(ValidationError, match="AGE"):
        scorer.explain({**golden[0], "AGE": 500})
    case = scorer.explain({**golden[0], "SEX": 9})
    assert case.warnings and "SEX code 9" in case.warnings[0]
    assert next(e for e in case.effects if e.field == "SEX").values == (9,)


def test_the_decision_bands_decide_the_what_if_decisions(model_dir, golden) -> None:
    scorer = Scorer.load(model_dir, bands=Bands(0.05, 0.5))
    for record in golden[:10]:
        case = scorer.explain(record)
        assert case.cutoffs == (0.05, 0.5)
        for e in case.effects:
            want = "approve" if e.if_typical < 0.05 else "decline" if e.if_typical >= 0.5 else "review"
            assert e.decision_if_typical == want


def test_text_names_values_with_their_labels_and_months_under_their_channel(scorer: Scorer, golden) -> None:
    record = {**golden[0], "EDUCATION": None, "SEX": 1}
    case = scorer.explain(record)
    text = render_text(case, scorer.schema, "Applicant 7")
    lines = text.splitlines()
    assert lines[0] == "Applicant 7"
    assert lines[1].startswith(f"P(default) {case.probability:.4f}: {case.decision} (the model declines from ")
    table = lines[5:lines.index("", 5)]
    body = {line.split()[0]: line for line in table if not line.startswith("  ")}
    assert list(body) == [e.field for e in case.effects]  # largest effect first
    assert "1 (male)" in body["SEX"] and "2 (female)" in body["SEX"]
    assert "missing" in body["EDUCATION"]
    for effect in case.effects:
        if effect.months and not effect.is_typical:
            at = lines.index(body[effect.field])
            assert lines[at + 1].lstrip().startswith("by month")
            assert all(c in text for c in effect.columns)
    assert json.loads(json.dumps(case.to_dict()))["effects"][0]["field"] == case.effects[0].field


def test_the_picture_has_a_bar_per_field_and_a_cell_per_month(scorer: Scorer, golden) -> None:
    case = scorer.explain(golden[1])
    svg = render_svg(case, scorer.schema, "Applicant 2")
    root = ET.fromstring(svg)
    rects = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.find("{http://www.w3.org/2000/svg}title") is not None]
    moved = [e for e in case.effects if not e.is_typical]
    months = sum(len(e.columns) for e in case.effects if e.months)
    assert len(rects) == len(moved) + months
    bars = rects[:len(moved)]
    assert [r.get("fill") for r in bars] == [RED if e.effect > 0 else BLUE for e in moved]
    assert all(r.find("{http://www.w3.org/2000/svg}title").text.startswith(e.field) for r, e in zip(bars, moved))
    assert "Applicant 2: P(default)" in svg
    told = stated(case)
    assert told and len(told) <= STATED
    lines = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    at = lines.index("Reasons as stated to the applicant:")
    assert lines[at + 1:at + 1 + len(told)] == [f"{k}. {e.statement} ({e.field} {signed(e.effect)})"
                                                for k, e in enumerate(told, 1)]


def _field(col):  # type: ignore[no-untyped-def]
    """Any valid value of a column, missing ones and codes never seen in training included."""
    missing = st.just(None) if col.missing == "impute" else st.nothing()
    if col.kind == "code":
        return st.one_of(st.sampled_from(col.codes), st.just(9 if not col.is_string else "zz"), missing)
    low = -10**6 if col.min is None else col.min + (1 if col.min_exclusive else 0)
    high = 10**7 if col.max is None else min(col.max, 10**7)
    return st.one_of(st.integers(int(low), int(high)), missing)


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_any_valid_applicants_effects_are_rescorings(scorer: Scorer, data) -> None:
    typical = scorer.explainer.typical
    record = {col.name: data.draw(_field(col), label=col.name) for col in scorer.schema.columns()}
    case = scorer.explain(record)
    p = scorer.score(record).probability
    assert case.probability == pytest.approx(p, abs=TOLERANCE)
    for effect in case.effects:
        made_typical = scorer.score({**record, **{c: typical[c] for c in effect.columns}}).probability
        assert effect.effect == pytest.approx(p - made_typical, abs=TOLERANCE), effect.field
        for column, month in zip(effect.columns, effect.months):
            assert month == pytest.approx(p - scorer.score({**record, column: typical[column]}).probability,
                                          abs=TOLERANCE), column
