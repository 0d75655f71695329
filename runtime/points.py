"""Score points: P(default) as the number an applicant letter and a branch's policy quote.

A lender's staff and customers read a credit score in points, higher for safer,
not a probability. Scorecards fix the scale by three numbers: ``points`` at
good:bad ``odds`` (the odds of repaying), and ``pdo``, the points that double
those odds. So

    score = points + pdo / ln 2 * ln(good:bad odds / odds),  good:bad odds = (1 - P) / P

rounded to a whole point and kept within ``lowest`` .. ``highest`` (a P of 0 or
1 would otherwise be infinitely many points). The built-in scale is the
textbook one: 600 points at 50:1, 20 points to double the odds, 300 to 900.
Like the master scale it is the lender's (a file when scoring, or named once
in ``$LOANSCORE_POINTS_SCALE``), so a score of 560 means the same odds under
this model and the next.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import SchemaError
from .schema import read_settings

BUILT_IN = "built-in (600 points at odds 50:1, 20 points to double the odds)"
_KEYS = ("points", "odds", "pdo", "lowest", "highest")


@dataclass(frozen=True)
class PointsScale:
    """``points`` at good:bad ``odds``, ``pdo`` points per doubling of the odds, scores kept in ``lowest``..``highest``."""

    points: float = 600.0
    odds: float = 50.0
    pdo: float = 20.0
    lowest: float = 300.0
    highest: float = 900.0
    source: str = BUILT_IN

    @classmethod
    def load(cls, path: str | Path | None) -> PointsScale:
        """The scale in ``path`` (TOML or JSON with ``points``, ``odds``, ``pdo``, ``lowest``, ``highest``), or the
        built-in one."""
        if path is None:
            return cls()
        path = Path(path)
        where = f"Points scale {path}"
        data = read_settings(path, "points scale")
        if not isinstance(data, dict):
            raise SchemaError(f"{where}: expected {', '.join(_KEYS)}; `loanscore points -o FILE` writes the "
                              "built-in scale to edit.")
        unknown = sorted(set(data) - {*_KEYS, "source"})  # `loanscore points --format json` writes its source
        if unknown:
            raise SchemaError(f"{where}: unknown setting {', '.join(map(repr, unknown))}; a points scale has "
                              f"{', '.join(_KEYS)}.")
        missing = [k for k in _KEYS if k not in data]
        if missing:
            raise SchemaError(f"{where}: {', '.join(missing)} missing; a points scale needs all of "
                              f"{', '.join(_KEYS)}.")
        value = {}
        for key in _KEYS:
            v = data[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise SchemaError(f"{where}: {key} must be a number, got {v!r}.")
            value[key] = float(v)
        if value["odds"] <= 0:
            raise SchemaError(f"{where}: odds must be above 0 (good payers per default, e.g. 50 for 50:1), "
                              f"got {value['odds']:g}.")
        if value["pdo"] <= 0:
            raise SchemaError(f"{where}: pdo (points to double the odds) must be above 0, so that a safer applicant "
                              f"scores more, got {value['pdo']:g}.")
        if not value["lowest"] < value["highest"]:
            raise SchemaError(f"{where}: lowest ({value['lowest']:g}) must be below highest ({value['highest']:g}).")
        return cls(**value, source=str(path))

    @property
    def described(self) -> str:
        """The scale in words: its anchor and the file it came from."""
        where = "the built-in points scale" if self.source == BUILT_IN else f"the points scale in {self.source}"
        return (f"{where} ({_num(self.points)} points at odds {_num(self.odds)}:1, {_num(self.pdo)} points to double "
                f"the odds, {_num(self.lowest)} to {_num(self.highest)})")

    def exact(self, probability: Any) -> np.ndarray:
        """Each P(default)'s points before rounding and without the range (P 0 is +inf, P 1 -inf)."""
        p = np.asarray(probability, dtype=np.float64).reshape(-1)
        with np.errstate(divide="ignore"):
            log_odds = np.log1p(-p) - np.log(p)
        return self.points + self.pdo / math.log(2) * (log_odds - math.log(self.odds))

    def score(self, probability: Any) -> np.ndarray:
        """Each P(default)'s points, whole (halves up) and within lowest..highest (float; NaN for NaN, a
        rejected row)."""
        return np.clip(np.floor(self.exact(probability) + 0.5), self.lowest, self.highest)

    def probability(self, points: Any) -> np.ndarray:
        """The P(default) at which a score is exactly ``points`` (before rounding): cut-offs set in points."""
        s = np.asarray(points, dtype=np.float64)
        log_odds = math.log(self.odds) + (s - self.points) * math.log(2) / self.pdo
        return 1.0 / (1.0 + np.exp(log_odds))

    def below(self, points: float) -> float:
        """The least P(default) that scores under ``points``, so that a score is ``points`` or more exactly when
        P(default) < this: a cut-off set in points, as the scorer applies cut-offs. ``points`` must lie above
        ``lowest`` and at most ``highest``."""
        if not self.lowest < points <= self.highest:
            raise ValueError(f"a cut-off in points must lie above {_num(self.lowest)} and at most "
                             f"{_num(self.highest)}, got {points:g}")
        guess = float(self.probability(points - 0.5))  # where rounding crosses; found exactly by bisection
        lo, hi = guess * (1 - 1e-9), min(guess * (1 + 1e-9), 1.0)
        while self.score(lo)[0] < points:
            lo /= 2
        while self.score(hi)[0] >= points:
            hi = min(2 * hi, 1.0)
        while np.nextafter(lo, 1.0) < hi:  # score(lo) >= points > score(hi)
            mid = lo + (hi - lo) / 2
            if mid in (lo, hi):
                mid = float(np.nextafter(lo, 1.0))
            lo, hi = (mid, hi) if self.score(mid)[0] >= points else (lo, mid)
        return float(hi)

    def text(self, probability: Any) -> list[str]:
        """Each probability's points as text (``""`` for NaN), for a CSV cell."""
        return ["" if s != s else str(int(s)) for s in self.score(probability).tolist()]

    def values(self, probability: Any) -> list[int | None]:
        """Each probability's points as int (``None`` for NaN), for JSON."""
        return [None if s != s else int(s) for s in self.score(probability).tolist()]

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, **{k: _json_number(getattr(self, k)) for k in _KEYS}}

    def to_toml(self) -> str:
        p = float(self.probability(self.points))
        return "\n".join([
            "# loanscore points scale: P(default) as a score in points, higher for safer.",
            "#   score = points + pdo / ln 2 * ln(good:bad odds / odds),  good:bad odds = (1 - P) / P,",
            "# rounded to a whole point, then kept within lowest .. highest.",
            "# Edit, then: loanscore score FILE --points --points-scale THIS_FILE (or set LOANSCORE_POINTS_SCALE).",
            f"# This one: {self.source}.", "",
            f"points = {_num(self.points)}    # the score at the odds below",
            f"odds = {_num(self.odds)}       # good:bad odds at that score (P(default) {100 * p:.3g} %)",
            f"pdo = {_num(self.pdo)}        # points to double the odds",
            f"lowest = {_num(self.lowest)}    # no score below this",
            f"highest = {_num(self.highest)}   # nor above this", ""])


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _json_number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)
