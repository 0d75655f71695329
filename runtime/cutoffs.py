"""``loanscore cutoffs``: what each cut-off would mean on the lender's own applicants, before one is chosen.

A credit committee sets the cut-off from a strategy table: approve through
grade k (or below a probability), and see the share approved, the default
rate to expect among them and the good payers turned away. With calibrated
probabilities, these are expected from the scores alone: the expected
defaults among the approved are the sum of their P(default), the good payers
declined the sum of the others' 1 - P(default). So the table needs no
outcomes, only recent applicants, and is right as far as the model is
calibrated to them (``backtest`` checks that; ``recalibrate`` mends it).
Where the outcomes are known, the observed figures stand beside the expected;
where some are blank (not known yet: the declined got no loan), the default
rate is among the approved that have one (with the share known), and a
count of defaults or good payers declined only where every applicant it
counts has an outcome, never guessed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backtest import read_scored
from .fairness import Grouping, evaluate as evaluate_fairness
from .grades import MasterScale
from .points import PointsScale
from .scorer import Scorer
from .stream import Progress
from .tabular import Reader


@dataclass(frozen=True)
class Cutoff:
    """Approve every applicant with P(default) below ``approve_below``: what follows, expected and observed."""

    label: str
    rule: str
    """Which P(default) it approves, as a person reads it (``< 16.7%``, ``≤ 5.88%``)."""
    approve_below: float
    approved: int
    expected_defaults: float
    """Among the approved: the sum of their P(default)."""
    expected_good_declined: float
    """Among the declined: the sum of their 1 - P(default)."""
    observed_defaults: int | None = None
    """Among the approved, where every one has an outcome (else ``None``: never guessed)."""
    observed_good_declined: int | None = None
    """Among the declined, likewise."""
    known: int | None = None
    """With outcomes: the approved that have one (all of them, unless some are blank: not known yet)."""
    known_defaults: int | None = None
    """The defaults among those :attr:`known`."""

    @property
    def observed_rate(self) -> float | None:
        """The default rate among the approved with an outcome (``None`` without outcomes or with none known)."""
        return self.known_defaults / self.known if self.known and self.known_defaults is not None else None


@dataclass(frozen=True)
class Curve:
    """Approving the lowest P(default) first: at each share approved, the default rate among them (expected and,
    with outcomes, observed) and the expected cost per applicant; what ``--plot`` draws."""

    approved: list[float]
    expected_rate: list[float]
    observed_rate: list[float] | None
    expected_cost: list[float] | None


@dataclass
class Strategy:
    """A strategy table: every cut-off's figures on the applicants of ``source``."""

    source: str
    rows: int
    applicants: int
    threshold: float
    costs: dict[str, float] | None
    cutoffs: list[Cutoff]
    master_scale: str | None
    rejected: list[tuple[int | None, str]] = field(default_factory=list)
    expected_default_rate: float = 0.0
    observed_default_rate: float | None = None
    curve: Curve | None = None
    fairness: list[dict[str, tuple[float, str, bool]]] = field(default_factory=list)
    """With groups (``--by``), per cut-off: each field's lowest approval ratio to its most-approved group, that
    group, and whether it is adverse impact (:mod:`.fairness`); empty without."""

    def cost(self, c: Cutoff, *, observed: bool = False) -> float | None:
        """Cost per applicant at the lender's costs (a default approved, a good payer declined)."""
        if self.costs is None:
            return None
        bad: float | None = c.observed_defaults if observed else c.expected_defaults
        good: float | None = c.observed_good_declined if observed else c.expected_good_declined
        if bad is None or good is None:
            return None
        return (self.costs["cost_default"] * bad + self.costs["cost_decline_good"] * good) / self.applicants

    @property
    def least_cost(self) -> Cutoff | None:
        """The cut-off of least expected cost; ``None`` without costs."""
        costs = [self.cost(c) for c in self.cutoffs]
        if self.costs is None or None in costs:
            return None
        return self.cutoffs[int(np.argmin(np.asarray(costs, dtype=np.float64)))]

    def to_dict(self) -> dict[str, Any]:
        def row(c: Cutoff) -> dict[str, Any]:
            n = c.approved
            out = {"approve": c.label, "rule": c.rule, "approve_below": c.approve_below, "approved": n,
                   "approval_rate": n / self.applicants, "expected_defaults": c.expected_defaults,
                   "expected_default_rate_of_approved": c.expected_defaults / n if n else None,
                   "expected_good_declined": c.expected_good_declined,
                   "expected_cost_per_applicant": self.cost(c)}
            if c.known is not None:
                out.update(approved_with_outcome=c.known, observed_default_rate_of_approved=c.observed_rate,
                           observed_defaults=c.observed_defaults, observed_good_declined=c.observed_good_declined,
                           observed_cost_per_applicant=self.cost(c, observed=True))
            return out

        def with_groups(k: int, out: dict[str, Any]) -> dict[str, Any]:
            if self.fairness:
                out["lowest_approval_ratio"] = {
                    name: {"ratio": None if math.isnan(ratio) else ratio, "group": group or None,
                           "adverse_impact": adverse}
                    for name, (ratio, group, adverse) in self.fairness[k].items()}
            return out

        least = self.least_cost
        return {"source": self.source, "rows": self.rows, "applicants": self.applicants,
                "rejected": [{"row": r, "error": m} for r, m in self.rejected],
                "expected_default_rate": self.expected_default_rate,
                "observed_default_rate": self.observed_default_rate, "threshold": self.threshold,
                "costs": self.costs, "master_scale": self.master_scale,
                "least_expected_cost": None if least is None else least.label,
                "cutoffs": [with_groups(k, row(c)) for k, c in enumerate(self.cutoffs)]}


def candidates(threshold: float, scale: MasterScale | None, bounds: Sequence[float] = (),
               points: PointsScale | None = None, from_points: Sequence[float] = ()) -> list[tuple[str, str, float]]:
    """The cut-offs to tabulate, as ``(label, rule, approve_below)`` in order: through each grade of ``scale`` (a
    grade holds its upper bound, so the cut is the next float up), below each of ``bounds``, from each of
    ``from_points`` up on the ``points`` scale, and below the model's threshold."""
    out = [(f"below {b:g}", f"< {_pct(b)}", float(b)) for b in bounds]
    if from_points:
        assert points is not None, "cut-offs in points need a points scale"
        out += [(f"from {n:g} points", f"< {_pct(cut)}", cut) for n in from_points for cut in [points.below(n)]]
    if scale is not None:
        out += [(f"through grade {name}", f"\u2264 {_pct(hi)}", float(np.nextafter(hi, 2.0)))
                for name, _, hi in scale.ranges()]
    out.append(("the model's threshold", f"< {_pct(threshold)}", float(threshold)))
    return sorted(out, key=lambda t: t[2])


def _pct(p: float) -> str:
    return f"{100 * p:.3g}%"


def _ranked(p: Any, y: Any | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """``p`` sorted, and the running sums of P(default), of outcomes and of outcomes known (a blank one, NaN, is
    not) in that order, each from 0."""
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    order = np.argsort(p, kind="mergesort")
    cum_p = np.concatenate([[0.0], np.cumsum(p[order])])
    if y is None:
        return p[order], cum_p, None, None
    ys = np.asarray(y, dtype=np.float64).reshape(-1)[order]
    known = ~np.isnan(ys)
    return (p[order], cum_p, np.concatenate([[0], np.cumsum(np.where(known, ys, 0.0)).astype(np.int64)]),
            np.concatenate([[0], np.cumsum(known)]))


def tabulate(p: Any, y: Any | None, cuts: Sequence[tuple[str, str, float]]) -> list[Cutoff]:
    """Each cut-off's figures on probabilities ``p`` (and outcomes ``y``, 0/1, NaN where not known yet): an
    observed figure only where every applicant it counts has an outcome."""
    ps, cum_p, cum_y, cum_known = _ranked(p, y)
    n, total_p = len(ps), cum_p[-1]
    out = []
    for label, rule, below in cuts:
        k = int(np.searchsorted(ps, below, side="left"))  # approved: P < below
        declined_good = (n - k) - (total_p - cum_p[k])
        observed = {} if cum_y is None or cum_known is None else {
            "observed_defaults": int(cum_y[k]) if cum_known[k] == k else None,
            "observed_good_declined": int((n - k) - (cum_y[-1] - cum_y[k]))
            if cum_known[-1] - cum_known[k] == n - k else None,
            "known": int(cum_known[k]), "known_defaults": int(cum_y[k])}
        out.append(Cutoff(label, rule, below, k, float(cum_p[k]), float(declined_good), **observed))
    return out


def curve(p: Any, y: Any | None, costs: Mapping[str, float] | None, points: int = 201) -> Curve:
    """The strategy curve of ``p`` at ``points`` evenly spaced shares approved (from the first applicant)."""
    ps, cum_p, cum_y, cum_known = _ranked(p, y)
    n = len(ps)
    k = np.unique(np.linspace(1, n, min(points, n)).round().astype(np.int64))
    cost = None if costs is None else (
        costs["cost_default"] * cum_p[k] + costs["cost_decline_good"] * ((n - k) - (cum_p[-1] - cum_p[k]))) / n
    observed = None if cum_y is None or cum_known is None else (  # among the approved with an outcome, as the table
        np.where(cum_known[k] > 0, cum_y[k] / np.maximum(cum_known[k], 1), np.nan))
    return Curve((k / n).tolist(), (cum_p[k] / k).tolist(), None if observed is None else observed.tolist(),
                 None if cost is None else cost.tolist())


def strategy(scorer: Scorer, reader: Reader, cuts: Sequence[tuple[str, str, float]], *, outcome: str | None = None,
             costs: Mapping[str, float] | None = None, master_scale: str | None = None,
             progress: Progress | None = None, by: Sequence[Grouping] = ()) -> Strategy:
    """Score ``reader`` and tabulate ``cuts`` on the rows scored (and, with ``outcome``, that have one); ``by``,
    groupings whose columns ``reader`` reads, adds each cut-off's lowest approval ratio among their groups."""

    got = read_scored(scorer, reader, outcome, [c for g in by for c in g.columns], progress, verb="tabulate",
                      blank=True)
    p, y, rows, rejected = got.p, got.y, got.rows, got.rejected
    table = tabulate(p, y, cuts)
    groups = [(g, g.of(got.columns)) for g in by]
    return Strategy(reader.name, rows, len(p), scorer.threshold, None if costs is None else dict(costs),
                    table, master_scale, rejected, float(p.mean()),
                    None if y is None or np.isnan(y).all() else float(np.nanmean(y)), curve(p, y, costs),
                    [lowest_ratios(p, groups, c.approve_below, scorer.model.manifest) for c in table] if by else [])


def lowest_ratios(p: np.ndarray, groups: Sequence[tuple[Grouping, Any]], approve_below: float,
                  manifest: Mapping[str, Any]) -> dict[str, tuple[float, str, bool]]:
    """Approving below ``approve_below``: each field's lowest approval ratio among the groups a fairness review
    tests, that group, and whether it is adverse impact (NaN and "" where no group is tested)."""
    out = {}
    for f in evaluate_fairness(p, groups, approve_below, manifest).fields:
        tested = [g for g in f.groups if f.tested(g)]
        worst = min(tested, key=f.ratio) if tested else None
        out[f.name] = (math.nan, "", False) if worst is None else (f.ratio(worst), worst.label, f.adverse(worst))
    return out
