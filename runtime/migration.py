"""Rating migration: how the same borrowers' grades moved between two scorings of a portfolio.

A lender rescores its book every month or quarter. The rating migration
matrix, each borrower's grade before (down) against after (across), shows
whether the portfolio is drifting into riskier grades, and the borrowers
downgraded by several grades are the first candidates for review (under
IFRS 9, for a significant increase in credit risk). Borrowers are matched
by the schema's id column; one in only one file is counted, not matched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InputError
from .grades import MasterScale
from .scorer import Scorer
from .stream import Progress, scored_batches
from .tabular import Reader


@dataclass
class Scored:
    """One file's borrowers by id: P(default) and data row of each scored one, and the rows not scored."""

    source: str
    rows: int = 0
    probability: dict[str, float] = field(default_factory=dict)
    row_of: dict[str, int] = field(default_factory=dict)
    rejected: list[tuple[int | None, str]] = field(default_factory=list)


def score_by_id(scorer: Scorer, reader: Reader, id_column: str, progress: Progress | None = None) -> Scored:
    """Score every row of ``reader``; a row without an id, or with an id seen before in the file, is rejected
    (named with its row), as is a row that cannot be scored."""
    out = Scored(reader.name)
    if id_column not in reader.passthrough:
        raise InputError(f"{reader.name} has no {id_column} column; a migration matches borrowers by it.")
    for batch in scored_batches(scorer, reader, progress):
        first = batch.chunk.first_row or 1
        ids = batch.chunk.passthrough[id_column]
        out.rows += batch.chunk.n
        out.rejected += batch.rejected
        for i, p in zip(np.flatnonzero(batch.keep).tolist(), batch.probability.tolist(), strict=True):
            key = str(ids[i] if ids[i] is not None else "").strip()
            if not key:
                out.rejected.append((first + i, f"{id_column} is missing in row {first + i}; a migration matches "
                                                 "borrowers by it."))
            elif key in out.probability:
                out.rejected.append((first + i, f"{id_column} {key} in row {first + i} appears again (first in row "
                                                 f"{out.row_of[key]}); each borrower once per file."))
            else:
                out.probability[key], out.row_of[key] = float(p), first + i
    out.rejected.sort(key=lambda r: r[0] or 0)
    return out


@dataclass(frozen=True)
class Migration:
    """The matched borrowers' grades before and after on ``scale``, and who was in only one file."""

    scale: MasterScale
    before: Scored
    after: Scored
    ids: list[str]
    grade_before: np.ndarray
    grade_after: np.ndarray

    @property
    def matrix(self) -> np.ndarray:
        n = len(self.scale.names)
        counts = np.zeros((n, n), dtype=np.int64)
        np.add.at(counts, (self.grade_before, self.grade_after), 1)
        return counts

    @property
    def notches(self) -> np.ndarray:
        """Grades moved per borrower: positive riskier (a downgrade), negative safer."""
        return self.grade_after - self.grade_before

    @property
    def only_before(self) -> int:
        return len(self.before.probability) - len(self.ids)

    @property
    def only_after(self) -> int:
        return len(self.after.probability) - len(self.ids)

    @property
    def moves(self) -> dict[str, float]:
        """Shares of the matched borrowers kept in their grade, downgraded and upgraded, and the mean grades moved."""
        moved = self.notches
        if not len(moved):
            return {"same_grade": 0.0, "downgraded": 0.0, "upgraded": 0.0, "mean_notches": 0.0}
        return {"same_grade": float(np.mean(moved == 0)), "downgraded": float(np.mean(moved > 0)),
                "upgraded": float(np.mean(moved < 0)), "mean_notches": float(moved.mean())}

    def downgraded(self, notches: int) -> list[int]:
        """Positions in :attr:`ids` of the borrowers downgraded by ``notches`` grades or more, most first."""
        moved = self.notches
        where = np.flatnonzero(moved >= notches)
        return where[np.argsort(-moved[where], kind="stable")].tolist()

    def to_dict(self, notches: int) -> dict[str, Any]:
        return {
            "before": {"source": self.before.source, "rows": self.before.rows, "scored": len(self.before.probability),
                       "rejected": [{"row": r, "error": e} for r, e in self.before.rejected]},
            "after": {"source": self.after.source, "rows": self.after.rows, "scored": len(self.after.probability),
                      "rejected": [{"row": r, "error": e} for r, e in self.after.rejected]},
            "matched": len(self.ids), "only_before": self.only_before, "only_after": self.only_after,
            "master_scale": self.scale.to_dict(), "grades": list(self.scale.names),
            "matrix": self.matrix.tolist(),
            **self.moves, "flag_notches": notches, "flagged": len(self.downgraded(notches)),
        }


def migrate(before: Scored, after: Scored, scale: MasterScale) -> Migration:
    """Match the borrowers scored in both files and grade them on ``scale``, in the order of the first file."""
    ids = [key for key in before.probability if key in after.probability]
    return Migration(scale, before, after, ids, scale.index([before.probability[k] for k in ids]),
                     scale.index([after.probability[k] for k in ids]))


__all__ = ["Migration", "Scored", "migrate", "score_by_id"]
