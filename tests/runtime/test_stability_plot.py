"""``monitor --plot``: the picture shows every variable's PSI to scale, coloured by its verdict, and the bins that moved."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from loanscore.runtime.stability import SHIFT, STABLE, TOO_FEW, WATCH, Reference, Report, Stability, collect, monitor
from loanscore.runtime.stability_plot import VERDICT_COLOUR, _nice, render_svg, render_trend_svg
from loanscore.runtime.readers import open_reader

NS = "{http://www.w3.org/2000/svg}"


def bars(svg: str) -> dict[str, ET.Element]:
    """Every bar of the picture by its tooltip."""
    root = ET.fromstring(svg)  # well-formed XML: labels such as "<= 0.050" are escaped
    return {r.find(f"{NS}title").text: r for r in root.iter(f"{NS}rect") if r.find(f"{NS}title") is not None}


def width(rect: ET.Element) -> float:
    return float(rect.get("width"))


@pytest.fixture(scope="module")
def shifted(scorer, tmp_path_factory, applicants, to_csv) -> Report:  # type: ignore[no-untyped-def]
    """Generated applicants against generated applicants in which everyone is eight months late in the latest month."""
    folder = tmp_path_factory.mktemp("plot")
    base, moved = folder / "base.csv", folder / "moved.csv"
    base.write_text(to_csv(applicants(3000, seed=1)))
    rows = applicants(3000, seed=2)
    for row in rows:
        row["PAY_0"] = "8"
    moved.write_text(to_csv(rows))

    def reader(path):  # type: ignore[no-untyped-def]
        return open_reader(str(path), scorer.schema.input_names, id_column="ID", numbers=scorer.schema.number_names)

    reference, _ = collect(scorer, reader(base))
    return monitor(scorer, reader(moved), reference)


def test_one_bar_per_variable_to_scale_and_coloured_by_its_verdict(shifted: Report) -> None:
    found = bars(render_svg(shifted))
    variables = [shifted.score, *shifted.fields]
    psi_bars = {s.name: next(r for tip, r in found.items() if tip.startswith(f"{s.name}: PSI ")) for s in variables}
    assert len([tip for tip in found if ": PSI " in tip]) == len(variables) == 24
    for s in variables:
        assert psi_bars[s.name].get("fill") == VERDICT_COLOUR[s.verdict], s.name
    assert psi_bars["PAY_0"].get("fill") == VERDICT_COLOUR[SHIFT] and psi_bars["AGE"].get("fill") == VERDICT_COLOUR[STABLE]
    scale = width(psi_bars["PAY_0"]) / shifted.fields[[s.name for s in shifted.fields].index("PAY_0")].psi
    for s in variables:  # drawn lengths are rounded to 0.1 px
        assert width(psi_bars[s.name]) == pytest.approx(s.psi * scale, abs=0.06), s.name


def test_the_score_and_the_field_that_moved_most_are_drawn_bin_by_bin(shifted: Report) -> None:
    svg = render_svg(shifted)
    text = "".join(ET.fromstring(svg).itertext())
    assert "PAY_0, the field that moved most" in text and "probability_of_default, the score" in text
    pay_0 = next(s for s in shifted.fields if s.name == "PAY_0")
    found = bars(svg)
    now = {tip.split(": now ")[0]: r for tip, r in found.items() if ": now " in tip}
    reference = {tip.split(": reference ")[0]: r for tip, r in found.items() if ": reference " in tip}
    shown = [label for k, label in enumerate(pay_0.labels) if pay_0.reference[k] or pay_0.actual[k]]
    assert "8" in shown and "missing" not in shown  # bins empty in both are left out
    assert set(shown) <= set(now) and set(shown) <= set(reference)
    eight = pay_0.labels.index("8")
    assert pay_0.actual[eight] == 1.0 and "8: now 100.00% (3,000 rows)" in found
    scale = width(now["8"])  # the axis ends at 100 %: everyone is in that bin
    for k, label in enumerate(pay_0.labels):
        if label in shown:
            assert width(reference[label]) == pytest.approx(pay_0.reference[k] * scale, abs=0.06), label


def test_every_verdict_has_its_colour(scorer) -> None:  # type: ignore[no-untyped-def]
    reference = Reference.from_manifest(scorer.model.manifest, "the shipped model")
    report = Report("made_up.csv", reference, rows=100)
    share = [0.5, 0.5]
    report.score, report.fields = (Stability("probability_of_default", ["a", "b"], share, share, [50, 50], 0.0, 0.01, STABLE),
                                   [Stability(name, ["a", "b"], share, [0.2, 0.8], [20, 80], psi, chance, verdict)
                                    for name, psi, chance, verdict in [("W", 0.15, 0.05, WATCH), ("S", 0.6, 0.05, SHIFT),
                                                                       ("T", 0.2, 0.3, TOO_FEW)]])
    found = bars(render_svg(report))
    for name, verdict in [("probability_of_default", STABLE), ("W", WATCH), ("S", SHIFT), ("T", TOO_FEW)]:
        assert next(r for tip, r in found.items() if tip.startswith(f"{name}: PSI ")).get("fill") == VERDICT_COLOUR[verdict]
    assert len(set(VERDICT_COLOUR.values())) == 4
    assert "S, the field that moved most" in "".join(ET.fromstring(render_svg(report)).itertext())
    trend = ET.fromstring(render_trend_svg([report, report]))
    strokes = {p.find(f"{NS}title").text.split(":")[0]: p.get("stroke") for p in trend.iter(f"{NS}polyline")}
    assert strokes["T"] == "#cccccc" and "#cccccc" not in (strokes["W"], strokes["S"])  # watch is named, too few is not


@pytest.mark.parametrize("value, end", [(0.3, 0.3), (0.31, 0.4), (1.197, 1.5), (0.853, 1.0), (0.0042, 0.005), (1.0, 1.0),
                                        (8.01, 10.0), (0.06, 0.06)])
def test_axis_ends_are_round_numbers_just_above_the_largest_value(value: float, end: float) -> None:
    assert _nice(value) == pytest.approx(end)
    assert value <= _nice(value) <= 1.5 * value


def points(polyline: ET.Element) -> list[tuple[float, float]]:
    return [tuple(map(float, p.split(","))) for p in polyline.get("points").split()]  # type: ignore[misc]


def test_the_trend_draws_each_variable_file_by_file_and_names_the_ones_that_drift(scorer, shifted: Report,
                                                                                  tmp_path, applicants, to_csv) -> None:
    same = tmp_path / "same.csv"
    same.write_text(to_csv(applicants(3000, seed=3)))
    stable = monitor(scorer, open_reader(str(same), scorer.schema.input_names, id_column="ID",
                                         numbers=scorer.schema.number_names), shifted.reference)
    reports = [stable, shifted, stable]
    root = ET.fromstring(render_trend_svg(reports))
    lines = {p.find(f"{NS}title").text.split(":")[0]: p for p in root.iter(f"{NS}polyline")}
    variables = [shifted.score.name, *[s.name for s in shifted.fields]]
    assert set(variables) <= set(lines) and len(lines) == len(variables) + 2  # + mean P(default) and declined

    def psi(name: str) -> list[float]:
        return [next(s for s in [r.score, *r.fields] if s.name == name).psi for r in reports]

    (_, high), (_, low) = points(lines["PAY_0"])[1], points(lines["PAY_0"])[0]
    per_psi = (low - high) / (psi("PAY_0")[1] - psi("PAY_0")[0])  # pixels per unit of PSI, y growing downwards
    for name in variables:
        drawn = points(lines[name])
        assert [x for x, _ in drawn] == [x for x, _ in points(lines["PAY_0"])]  # one x per file, in order
        for (_, y), value in zip(drawn, psi(name)):  # drawn to scale, to the 0.1 px the SVG is written in
            assert y == pytest.approx(low - (value - psi("PAY_0")[0]) * per_psi, abs=0.11), name
    assert lines["PAY_0"].get("stroke") not in ("#cccccc", None) and lines["AGE"].get("stroke") == "#cccccc"
    assert lines[shifted.score.name].get("stroke") == "black"
    words = [t.text for t in root.iter(f"{NS}text")]
    assert "PAY_0" in words and "AGE" not in words  # a drifting field is named at its line's end; a quiet one is not
    assert f"grey: the {len(variables) - 2} variables never at watch or shift" in words
    assert "2  " + shifted.source + f": {shifted.scored:,} rows scored, overall shift" in words
