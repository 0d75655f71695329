"""Adverse-action notices: a letter to each declined applicant, with the principal reasons.

A lender who declines an applicant must, in most jurisdictions, tell them why:
the principal reasons (usually no more than four) and, where a credit score
was used, the score and its range. The reasons are the model's own (reason
codes, worded by the model's or the lender's statements, :mod:`.statements`);
the letter is the lender's, a plain-text template with placeholders:

``{date}`` the notice's date, ``{id}`` the applicant's id (or row),
``{reasons}`` the principal reasons as a numbered list, ``{score}`` the
applicant's score in points and ``{score_range}`` the scale's range
(:mod:`.points`). ``{{`` and ``}}`` write a brace. A declined applicant without
a worded reason gets no letter: a notice must state reasons, so that case is
named for a person to review. Besides a text file for each letter, every
letter goes into one printable page (:data:`PRINT_HEAD`), one to a sheet of
paper, for a branch that posts them.
"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SchemaError

FIELDS = ("date", "id", "reasons", "score", "score_range")
STATED = 4
"""Reasons a notice gives: the principal ones, usually no more than four."""
BUILT_IN = """\
{date}

Applicant: {id}

Dear applicant,

Thank you for your application for credit. We are sorry that we cannot
approve it at this time.

The principal reasons for our decision:
{reasons}

Our decision used a credit score: yours is {score}, on a scale from
{score_range} where a higher score is better.

You may ask us for the information we used and for a fuller explanation of
these reasons; please contact the branch where you applied.

[The lender's name and address, and any statement your jurisdiction requires]
"""


@dataclass(frozen=True)
class Template:
    """A notice's text with its placeholders (:data:`FIELDS`), checked when read."""

    text: str = BUILT_IN
    source: str = "built-in"

    @classmethod
    def load(cls, path: str | Path | None) -> Template:
        """The template in ``path`` (UTF-8 text), or the built-in one."""
        if path is None:
            return cls()
        try:
            text = Path(path).read_bytes().decode("utf-8-sig")
        except OSError as exc:
            raise SchemaError(f"Cannot read the notice template {path}: {exc.strerror or exc}.") from None
        except UnicodeDecodeError:
            raise SchemaError(f"The notice template {path} is not UTF-8 text; save it as UTF-8.") from None
        try:
            names = [name for _, name, spec, conv in string.Formatter().parse(text) if name is not None]
        except ValueError as exc:
            raise SchemaError(f"The notice template {path}: {exc} (write {{{{ and }}}} for a brace).") from None
        unknown = sorted({n for n in names if n not in FIELDS})
        if unknown:
            raise SchemaError(f"The notice template {path} has the placeholder {{{unknown[0]}}}, which loanscore does "
                              f"not fill; it fills {', '.join('{' + f + '}' for f in FIELDS)}.")
        if "reasons" not in names:
            raise SchemaError(f"The notice template {path} has no {{reasons}}: a notice must state the reasons.")
        return cls(text, str(path))

    def render(self, *, date: str, applicant: str, reasons: list[str], score: str, score_range: str) -> str:
        numbered = "\n".join(f"  {k}. {r}" for k, r in enumerate(reasons, 1))
        return self.text.format(date=date, id=applicant, reasons=numbered, score=score, score_range=score_range)


PRINT_HEAD = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ margin: 0; background: #e8e8e8; }}
article {{ white-space: pre-wrap; font: 11pt/1.5 Georgia, "Times New Roman", serif; color: #000; background: #fff;
  max-width: 160mm; margin: 10mm auto; padding: 20mm 22mm; box-shadow: 0 1px 4px rgba(0, 0, 0, .25); }}
@page {{ margin: 22mm 20mm; }}
@media print {{
  body {{ background: none; }}
  article {{ max-width: none; margin: 0; padding: 0; box-shadow: none; break-after: page; }}
  article:last-of-type {{ break-after: auto; }}
}}
</style></head><body>
"""
"""The printable letters' page: each letter an <article>, one to a printed page (CSS page breaks)."""
PRINT_TAIL = "</body></html>\n"


def printable(letter: str, name: str) -> str:
    """One letter as the printable page's <article>, its text as written (escaped, line breaks kept)."""
    return f'<article id="{html.escape(name.removesuffix(".txt"))}">{html.escape(letter)}</article>\n'


def file_name(applicant: str, row: int, taken: set[str]) -> str:
    """A notice's file name: the id made safe for any file system (the row where there is none), unique."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", applicant).strip("._")[:80] or f"row-{row}"
    name = f"notice_{stem}.txt"
    if name.lower() in taken:
        name = f"notice_{stem}_row-{row}.txt"
    taken.add(name.lower())
    return name


def unworded(reasons: Sequence[Any]) -> str:
    """Why a declined applicant's reasons cannot be stated in a letter ('' when they can): none was found, or a
    principal one has no statement (the field's own name stands in), and a notice must not leave it out."""
    if not reasons:
        return "no field raises P(default) above the typical applicant's by 0.001 or more"
    bare = [r.field for r in reasons if not r.statement or r.statement == r.field]
    if bare:
        many = len(bare) > 1
        return (f"its principal reason{'s' if many else ''} {', '.join(bare)} {'have' if many else 'has'} no "
                "statement: word them in a statements file (--statements; `loanscore statements -o FILE` writes the "
                "model's to edit)")
    return ""
