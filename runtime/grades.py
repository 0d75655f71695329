"""Rating grades: a master scale that turns P(default) into a grade a credit committee reads.

A bank reports, prices and sets limits by grade, not by a probability with six
decimals, and its master scale stays the same when the model changes: grade 5
means the same range of P(default) under this model and the next. So the
scale is the lender's, not the model's: a file (TOML or JSON) given when
scoring, or the built-in one.

The built-in scale has 10 grades, each doubling the odds of default of the one
before: grade 1 up to odds 1:64 (P 1.54 %), grade 2 up to 1:32 (3.03 %), …,
grade 9 up to 4:1 (80 %), grade 10 above. A grade holds the probabilities
above the previous grade's upper bound up to and including its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import SchemaError
from .schema import read_settings

ENV = "LOANSCORE_MASTER_SCALE"
"""The environment variable naming a lender's master-scale file, so every branch grades alike."""
BUILT_IN = "built-in (each grade doubles the odds of default)"


@dataclass(frozen=True)
class MasterScale:
    """Grade names, safest first, and each grade's upper bound on P(default); the last bound is 1."""

    names: tuple[str, ...]
    upper: tuple[float, ...]
    source: str = BUILT_IN

    @classmethod
    def built_in(cls) -> MasterScale:
        odds = [2.0**k for k in range(-6, 3)]
        return cls(tuple(str(g) for g in range(1, 11)), (*(o / (1 + o) for o in odds), 1.0))

    @classmethod
    def load(cls, path: str | Path | None) -> MasterScale:
        """The scale in ``path`` (TOML or JSON: ``[[grade]]`` tables of ``name`` and ``upper``), or the built-in one."""
        if path is None:
            return cls.built_in()
        path = Path(path)
        where = f"Master scale {path}"
        data = read_settings(path, "master scale")
        entries = data.get("grade") if isinstance(data, dict) else None
        if not isinstance(entries, list) or len(entries) < 2:
            raise SchemaError(f"{where}: expected at least two [[grade]] tables, each with a name and an upper "
                              "bound on P(default); `loanscore grades -o FILE` writes the built-in scale to edit.")
        names: list[str] = []
        upper: list[float] = []
        for k, entry in enumerate(entries, 1):
            if not isinstance(entry, dict) or set(entry) - {"name", "upper"}:
                raise SchemaError(f"{where}: grade {k} must be a table of name and upper, got {entry!r}.")
            name, bound = entry.get("name"), entry.get("upper")
            if not isinstance(name, str | int) or isinstance(name, bool) or not str(name).strip():
                raise SchemaError(f"{where}: grade {k} needs a name (text such as \"A\" or \"3\"), got {name!r}.")
            name = str(name).strip()
            if name in names:
                raise SchemaError(f"{where}: grade {k} is named {name!r} like grade {names.index(name) + 1}; "
                                  "each grade needs its own name.")
            if isinstance(bound, bool) or not isinstance(bound, int | float) or not 0 < bound <= 1:
                raise SchemaError(f"{where}: grade {k} ({name}): upper must be a probability above 0 and at most 1 "
                                  f"(0.05 for 5 %), got {bound!r}.")
            if upper and bound <= upper[-1]:
                raise SchemaError(f"{where}: grade {k} ({name}): upper {bound:g} is not above grade {k - 1}'s "
                                  f"{upper[-1]:g}; list the grades safest first, bounds increasing.")
            names.append(name)
            upper.append(float(bound))
        if upper[-1] != 1:
            raise SchemaError(f"{where}: the last grade ({names[-1]}) must reach P(default) 1 (upper = 1), so that "
                              f"every applicant has a grade; it stops at {upper[-1]:g}.")
        return cls(tuple(names), tuple(upper), str(path))

    @property
    def described(self) -> str:
        """The scale in words for a heading: the built-in one, or the file it came from."""
        return ("the built-in master scale (each grade doubles the odds of default)" if self.source == BUILT_IN
                else f"the master scale in {self.source}")

    def index(self, probability: Any) -> np.ndarray:
        """Each probability's grade, as a position in :attr:`names` (NaN, a rejected row, gives -1)."""
        p = np.asarray(probability, dtype=np.float64).reshape(-1)
        k = np.searchsorted(np.asarray(self.upper[:-1]), p, side="left")
        return np.where(np.isnan(p), -1, k)

    def grade(self, probability: Any) -> list[str]:
        """Each probability's grade name; ``""`` for NaN (a rejected row)."""
        names = (*self.names, "")
        return [names[k] for k in self.index(probability).tolist()]

    def ranges(self) -> list[tuple[str, float, float]]:
        """``(name, lower, upper)`` of every grade: it holds lower < P <= upper (grade 1 from 0)."""
        return [(n, lo, hi) for n, lo, hi in zip(self.names, (0.0, *self.upper[:-1]), self.upper, strict=True)]

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "grade": [{"name": n, "upper": u} for n, u in zip(self.names, self.upper,
                                                                                       strict=True)]}

    def to_toml(self) -> str:
        lines = ["# loanscore master scale: rating grades by P(default), safest first.",
                 "# A grade holds the probabilities above the previous grade's upper bound, up to and including",
                 "# its own; the last grade's upper bound is 1. Rename the grades, move the bounds, add or drop",
                 "# grades, then: loanscore score FILE --master-scale THIS_FILE (or set LOANSCORE_MASTER_SCALE).",
                 f"# This one: {self.source}.", ""]
        for name, lo, hi in self.ranges():
            odds = "" if hi >= 1 else f"; odds of default up to {_odds(hi)}"
            lines += ["[[grade]]", f"name = {_toml_string(name)}", f"upper = {hi!r}  # P(default) {_pct(lo)} to "
                      f"{_pct(hi)}{odds}", ""]
        return "\n".join(lines)


def _odds(p: float) -> str:
    o = p / (1 - p)
    return f"1:{1 / o:.3g}" if o < 1 else f"{o:.3g}:1"


def _pct(p: float) -> str:
    return f"{100 * p:.3g} %" if p < 1 else "100 %"


def _toml_string(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string


def describe(scale: MasterScale) -> list[tuple[str, str, str]]:
    """``(grade, P(default) range, odds of default at the upper bound)`` rows, for a table."""
    rows = []
    for name, lo, hi in scale.ranges():
        span = f"<= {_pct(hi)}" if lo == 0 else f"> {_pct(lo)}" if hi >= 1 else f"{_pct(lo)} - {_pct(hi)}"
        rows.append((name, span, "" if hi >= 1 else _odds(hi)))
    return rows
