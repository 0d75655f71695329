"""``loanscore compare`` with the shipped model as champion: figures, swap set, rejected rows, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from loanscore.cli.main import main

LABEL = "default.payment.next.month"


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["compare", *args])


@pytest.fixture(scope="module")
def stricter(model_dir: Path, edit_manifest, tmp_path_factory) -> Path:
    """The shipped model with a higher threshold (0.3): the same scores, other decisions."""
    copy = tmp_path_factory.mktemp("stricter") / "model"
    shutil.copytree(model_dir, copy)
    return edit_manifest(copy, lambda manifest: manifest["threshold"].update(value=0.3))


@pytest.fixture(scope="module")
def book(scorer, schema, applicants) -> tuple[list[dict[str, str]], np.ndarray, np.ndarray]:
    """1,000 generated applicants with outcomes drawn from the shipped model's own probabilities."""
    rows = applicants(1000, seed=11)
    p = scorer.score_columns({c: [r[c] for r in rows] for c in schema.input_names}).probability
    y = np.random.default_rng(11).random(len(p)) < p
    return [dict(r, **{LABEL: str(int(d))}) for r, d in zip(rows, y)], p, y


def test_a_higher_threshold_swaps_in_exactly_the_applicants_between_the_two(book, stricter, model_dir, write_csv,
                                                                            tmp_path) -> None:
    rows, p, y = book
    out = tmp_path / "compare.json"
    result = run(str(write_csv(rows)), "--model", str(model_dir), "--challenger", str(stricter), "-o", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    low = float(json.loads((model_dir / "manifest.json").read_text())["threshold"]["value"])
    between = (p >= low) & (p < 0.3)
    swaps = {s["group"]: (s["rows"], s["defaults"]) for s in report["swap_set"]}
    assert swaps["approved by the challenger only"] == (between.sum(), y[between].sum()) and between.sum() > 0
    assert swaps["approved by the champion only"] == (0, 0)
    assert swaps["approved by both"][0] == (p < low).sum() and swaps["declined by both"][0] == (p >= 0.3).sum()
    assert report["roc_auc_difference"]["challenger_minus_champion"] == 0.0 and report["compared"] == 1000
    assert report["roc_auc_difference"]["p_value"] == 1.0 and report["brier_difference"]["p_value"] == 1.0
    approved = (p < 0.3).mean() - (p < low).mean()
    assert f"+{100 * approved:.1f} points" in result.output
    assert "The challenger swaps in" not in result.output  # it swaps none out
    assert "no difference in ranking shown at the 5% level" in result.output


def test_the_plot_draws_both_models_and_their_operating_points(book, stricter, write_csv, tmp_path) -> None:
    import xml.etree.ElementTree as ET

    from loanscore.runtime.compare_plot import strategy_points

    rows, p, y = book
    plot = tmp_path / "compare.svg"
    result = run(str(write_csv(rows)), "--challenger", str(stricter), "--plot", str(plot))
    assert result.exit_code == 0, result.output
    svg = ET.parse(plot).getroot()  # well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    assert len(svg.findall(f"{ns}polyline")) == 4  # two ROC curves, two strategy curves
    tips = [c.find(f"{ns}title").text for c in svg.findall(f"{ns}circle")]
    assert len(tips) == 2 and "approves" in tips[1] and "threshold 0.3" in tips[1]
    curve = strategy_points(y.astype(float), p)
    assert curve[-1] == (1.0, y.mean())  # approving everyone: the file's default rate
    at = np.searchsorted(np.sort(p), 0.3)  # the challenger's dot lies on its curve
    share, rate = at / len(p), y[np.argsort(p, kind="mergesort")][:at].mean()
    assert f"approves {share:.1%}, of whom {rate:.1%} defaulted" in tips[1]


def test_the_plot_draws_each_groups_approval_rates_under_both_models(book, stricter, model_dir, write_csv,
                                                                    tmp_path) -> None:
    import xml.etree.ElementTree as ET

    rows, p, _ = book
    plot = tmp_path / "compare.svg"
    result = run(str(write_csv(rows)), "--challenger", str(stricter), "--by", "SEX", "--plot", str(plot))
    assert result.exit_code == 0, result.output
    svg = ET.parse(plot).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    tips = [r.find(f"{ns}title").text for r in svg.findall(f"{ns}rect") if r.find(f"{ns}title") is not None]
    assert len(tips) == 4  # two groups, two models
    low = float(json.loads((model_dir / "manifest.json").read_text())["threshold"]["value"])
    sex = np.array([r["SEX"] for r in rows])
    for code, name in (("1", "male"), ("2", "female")):
        group = sex == code
        assert f"SEX {code} {name}: champion (model) approves {(p[group] < low).mean():.1%} of {group.sum():,}" \
            in tips
        assert f"SEX {code} {name}: challenger (model) approves {(p[group] < 0.3).mean():.1%} of {group.sum():,}" \
            in tips
    texts = [t.text for t in svg.findall(f"{ns}text")]
    assert "Approval rate by SEX" in texts and "switches" in texts


def test_a_model_against_itself_decides_alike(book, model_dir, write_csv) -> None:
    rows, _, _ = book
    result = run(str(write_csv(rows)), "--challenger", str(model_dir))
    assert result.exit_code == 0, result.output
    assert "The two models decide every compared applicant alike." in result.output
    assert result.output.startswith("champion (model) against challenger (model) on ")


def test_rejected_rows_are_listed_with_the_model_and_the_rest_compared(book, stricter, write_csv, tmp_path) -> None:
    rows, _, _ = book
    bad = [dict(r) for r in rows[:20]]
    bad[3]["LIMIT_BAL"] = "-5"
    bad[7][LABEL] = ""  # not known yet: counted, not compared
    bad[9][LABEL] = "2"
    out = tmp_path / "compare.json"
    result = run(str(write_csv(bad)), "--challenger", str(stricter), "-o", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert (report["rows"], report["compared"], report["without_outcome"]) == (20, 17, 1)
    errors = {r["row"]: r["error"] for r in report["rejected"]}
    assert sorted(errors) == [4, 10]
    assert errors[4].startswith("champion (model): LIMIT_BAL") and "; challenger (model): LIMIT_BAL" in errors[4]
    assert "default.payment.next.month must be 0 (repaid), 1 (defaulted) or blank" in errors[10]
    assert "2 rows of" in result.output and "could not be scored by both models or hold an outcome other than 0, 1 " \
        "or blank" in result.output and "17 compared, 1 without an outcome yet" in result.output


def test_a_file_without_the_outcome_says_which_column_it_needs(applicants, stricter, write_csv) -> None:
    result = run(str(write_csv(applicants(5))), "--challenger", str(stricter))
    assert result.exit_code == 2
    assert "default.payment.next.month" in result.output and "--outcome" in result.output


def test_a_missing_challenger_is_a_clear_error(book, write_csv, tmp_path) -> None:
    rows, _, _ = book
    result = run(str(write_csv(rows[:5])), "--challenger", str(tmp_path / "nowhere"))
    assert result.exit_code == 2 and "nowhere" in result.output and "Traceback" not in result.output


def test_by_a_field_and_by_another_column_the_decisions_are_split_by_group(book, stricter, write_csv,
                                                                           tmp_path) -> None:
    rows, p, y = book
    with_branch = [dict(r, branch=f"b{i % 3}") for i, r in enumerate(rows)]
    out = tmp_path / "compare.json"
    result = run(str(write_csv(with_branch)), "--challenger", str(stricter), "--by", "SEX", "--by", "branch",
                 "-o", str(out))
    assert result.exit_code == 0, result.output
    segments = json.loads(out.read_text())["segments"]
    sex = np.array([r["SEX"] for r in rows])
    women = next(s for s in segments["SEX"] if s["segment"] == "2 female")
    assert women["rows"] == (sex == "2").sum() and women["defaults"] == y[sex == "2"].sum()
    assert women["challenger_approval_rate"] == pytest.approx((p[sex == "2"] < 0.3).mean())
    assert women["approved_by_champion_only"] == 0
    assert [s["segment"] for s in segments["branch"]] == ["b0", "b1", "b2"]
    assert sum(s["rows"] for s in segments["branch"]) == 1000
    assert "By SEX: approval rates at each model's threshold" in result.output and "2 female" in result.output


def test_a_by_column_the_file_lacks_is_named(book, stricter, write_csv) -> None:
    rows, _, _ = book
    result = run(str(write_csv(rows[:5])), "--challenger", str(stricter), "--by", "region")
    assert result.exit_code == 2 and "region: named by --by" in result.output


def test_the_training_file_is_recognised(model_dir, stricter, dev_data) -> None:
    result = run(str(dev_data), "--model", str(model_dir), "--challenger", str(stricter), "-q")
    assert result.exit_code == 0, result.output
    assert ("Note: this is the file the champion and the challenger were trained on, so their figures are in-sample "
            "and flatter them") in result.output
