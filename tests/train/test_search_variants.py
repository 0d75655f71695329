"""benchmarks/search.py checks each variant before any worker starts training."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from search import make_config  # noqa: E402


def test_a_derived_channel_this_commit_lacks_is_refused_up_front() -> None:
    # Variant files of earlier rounds name channels that were screened and removed again.
    with pytest.raises(ValueError, match=r"Unknown derived history channels \['headroom'\]"):
        make_config({"derived": ["spending", "headroom"]})
    assert make_config({"derived": ["spending"]}).derived == ("spending",)
