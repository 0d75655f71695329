"""Where the data behind a report or model card came from, and how to credit it.

The attribution is a constant, not something read from a data file: the
development data carries no metadata, and a credit line must not depend on
which copy of the file happens to be at hand.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DataSource:
    """A published data set and the credit its license asks for."""

    title: str
    authors: str
    year: int
    paper: str
    journal: str
    repository: str
    url: str
    license: str
    license_url: str

    @property
    def citation(self) -> str:
        return f"{self.authors} ({self.year}). {self.paper}. {self.journal}."

    @property
    def credit(self) -> str:
        """One line for a report footer."""
        where = self.url.split("://", 1)[-1]  # shown as text: a report links to nothing remote
        return (f'Data: "{self.title}" ({self.authors}, {self.year}, {self.journal}), '
                f"{self.repository}, {where}. License: {self.license}.")


UCI_TAIWAN = DataSource(
    title="default of credit card clients",
    authors="Yeh, I. C. and Lien, C. H.",
    year=2009,
    paper=("The comparisons of data mining techniques for the predictive accuracy of probability "
           "of default of credit card clients"),
    journal="Expert Systems with Applications 36(2), 2473-2480",
    repository="UCI Machine Learning Repository",
    url="https://archive.ics.uci.edu/dataset/350/default+of+credit+card+clients",
    license="CC BY 4.0",
    license_url="https://creativecommons.org/licenses/by/4.0/",
)

SOURCES = {"taiwan-credit-card": UCI_TAIWAN}
"""Schema name -> the public data set that schema describes."""


def source_for(schema_name: str) -> DataSource | None:
    """The data set behind a schema, or ``None`` for a lender's own schema (nothing to credit)."""
    return SOURCES.get(schema_name)
