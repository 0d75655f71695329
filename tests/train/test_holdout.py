"""benchmarks/holdout.py warns when the "held-back" file is mostly development rows."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from holdout import held_back_overlap  # noqa: E402


def test_overlap_warns_only_when_the_file_repeats_development_rows() -> None:
    rng = np.random.default_rng(0)
    dev = pd.DataFrame(rng.integers(0, 1000, (1000, 3)))
    fresh = pd.DataFrame(rng.integers(1000, 2000, (500, 3)))
    assert held_back_overlap(dev, fresh) == ("", 0)
    # A few coincidences are what distinct clients produce: counted, not flagged.
    assert held_back_overlap(dev, pd.concat([fresh, dev.iloc[:3]])) == ("", 3)
    warning, shared = held_back_overlap(dev, pd.concat([fresh, dev.iloc[:100]]))
    assert shared == 100 and warning.startswith("warning: 100 of 600 held-back rows equal a development row in all 3")
