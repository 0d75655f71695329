"""``loanscore ask``: one applicant at the desk, asked for field by field, each value checked as it is typed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .errors import reports_errors
from .interrupts import Interrupts
from .options import (audit_option, decision_bands, FiniteRange, load_master_scale, load_points_scale,
                      master_scale_option, open_audit, points_scale_option)

_HELP = """Score applicants at the desk without a file: asks for each field in
turn (a history channel's months on one line, oldest to latest), checks
each value as it is typed and asks again, saying why, when it breaks the
model's input contract. Then prints the decision, P(default), the score in
points, the rating grade and the principal reasons, and asks whether
another applicant follows. Enter leaves a value missing where the model
fills it in. With --letters DIR, a declined applicant's adverse-action
notice is written there at once (notice_ID.txt, and notice_ID.html to print),
as `loanscore notices` writes it. Nothing else is written unless --audit-log
records each decision (by the SHA-256 of the answers, not the answers).

\b
Examples:
  loanscore ask
  loanscore ask --reasons 2 --audit-log desk_audit.jsonl
  loanscore ask --letters letters/today --template letter.txt
  loanscore ask < answers.txt        (the answers, one a line, as typed)
"""


@click.command(help=_HELP, short_help="One applicant at the desk: asked for field by field, then scored.")
@click.option("--reasons", type=click.IntRange(0, 10), default=4, show_default=True,
              help="Principal reasons to give for each decision.")
@click.option("--approve-below", type=FiniteRange(0, 1), help="Approve below this P(default). Default: the "
              "model's threshold.")
@click.option("--decline-from", type=FiniteRange(0, 1), help="Decline from this P(default) up. Default: the "
              "model's threshold.")
@points_scale_option
@master_scale_option
@click.option("--statements", "statements_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Word the reasons with this statements file instead of the model's.")
@click.option("--letters", "letters_dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Write each declined applicant's notice into DIR (created if need be), as `loanscore notices` does.")
@click.option("--template", "template_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="The letter for --letters (see `loanscore notices --write-template`). Default: the built-in one.")
@click.option("--date", "date_text", metavar="TEXT", help="The date the letters carry. Default: today, as YYYY-MM-DD.")
@click.option("--model", "model_dir", type=click.Path(file_okay=False), help="Model directory. Default: the shipped model.")
@audit_option
@reports_errors
def ask(reasons: int, approve_below: float | None, decline_from: float | None, points_scale: str | None,
        master_scale: str | None, statements_path: str | None, letters_dir: Path | None,
        template_path: str | None, date_text: str | None, model_dir: str | None, audit_log: str | None) -> None:
    from datetime import date

    from loanscore.runtime.model import Model
    from loanscore.runtime.notices import STATED, Template
    from loanscore.runtime.scorer import DECLINE, Bands, Scorer

    if (template_path or date_text) and letters_dir is None:
        raise click.UsageError("--template and --date are for the letters: add --letters DIR.")
    template = Template.load(template_path)

    points = load_points_scale(points_scale, True)
    grades = load_master_scale(master_scale, True, "")
    audit = open_audit(audit_log)
    model = Model.load(model_dir)
    scorer = Scorer(model, decision_bands(Bands, model.threshold, approve_below, decline_from),
                    statements=statements_path)
    if reasons:
        scorer.explainer  # noqa: B018 -- a model without a population fails here, before any question
    click.echo(f"Scoring with the model in {model.directory}. Enter leaves a value missing where the model fills it "
               "in; Ctrl-D or Ctrl-C stops.", err=True)
    count = 0
    when = date_text or date.today().isoformat()
    with Interrupts() as interrupts:
        while True:
            record = _answers(scorer)
            if record is None:
                break
            result = scorer.score(record, reasons=max(reasons, STATED if letters_dir else 0))
            count += 1
            click.echo(_verdict(result, points, grades, reasons))
            if letters_dir is not None and result.decision == DECLINE:
                ident = str(record.get(scorer.schema.id) or "") if scorer.schema.id else ""
                click.echo(_letter(letters_dir, template, result, ident, count, when, points,
                                   {f.name for f in scorer.schema.protected_fields}))
            if audit is not None:
                applicant = record.get(scorer.schema.id) if scorer.schema.id else None
                audit.append_score(scorer, record, result, source="loanscore ask",
                                   **({"applicant": applicant} if applicant else {}))
            interrupts.check()  # Ctrl-C while the letter was recorded waited for the record; it stops here
            if not _yes("\nAnother applicant?"):
                break
    click.echo(f"{count:,} applicant{'s' if count != 1 else ''} scored.", err=True)
    sys.exit(0)


def _answers(scorer) -> dict[str, Any] | None:  # type: ignore[no-untyped-def]
    """One applicant's answers, each field (or history channel, on one line) asked until it is valid; ``None`` when
    the input ends."""
    from loanscore.runtime.fields import blocks, contract, values

    schema = scorer.schema
    said = {f.name: f", {f.description}" if f.description else "" for f in schema.entries}
    record: dict[str, Any] = {}
    for block in blocks([r for r in contract(schema) if r.role != "outcome"]):
        r = block[0]
        optional = r.source is not None and r.source.missing == "impute"
        if r.channel:
            question = (f"{r.channel}{said[r.channel]}: {len(block)} months oldest to latest "
                        f"({' '.join(m.column for m in block)}; {values(r.source)}"
                        + ("; Enter: all missing)" if optional else ")"))
        else:
            hint = ("the applicant's id" if r.role == "id"
                    else values(r.source) + ("; Enter: missing" if optional else ""))
            question = f"{r.column}{said.get(r.column, '')} ({hint})"
        answered = _ask(scorer, block, question)
        if answered is None:
            return None
        record.update(zip((m.column for m in block), answered))
    return record


def _ask(scorer, block, question: str) -> list[str] | None:  # type: ignore[no-untyped-def]
    """A block's values (a field's one, a channel's months on one line), asked until valid; ``None`` at the end."""
    while True:
        text = _read(question)
        if text is None:
            return None
        values = [text] if len(block) == 1 else text.replace(",", " ").split() if text else [""] * len(block)
        if len(values) != len(block):
            click.echo(f"  {len(block)} months are needed, oldest to latest; got {len(values)}. Try again.",
                       err=True)
            continue
        problems = [p for m, v in zip(block, values) if m.role != "id" and (p := _problem(scorer, m.column, v))]
        if not problems:
            return values
        click.echo(f"  {problems[0]} Try again.", err=True)


def _problem(scorer, column: str, text: str) -> str:  # type: ignore[no-untyped-def]
    """Why ``text`` cannot be ``column``'s value ('' when it can), by the validator ``score`` uses."""
    from loanscore.runtime.validate import check_record

    checked = check_record([c for c in scorer.schema.columns() if c.name == column], {column: text})
    return str(checked.errors[0][0]) if checked.errors else ""


def _read(question: str) -> str | None:
    """One answer (stripped), or ``None`` at the end of the input."""
    try:
        return click.prompt(question, default="", show_default=False, prompt_suffix=": ", err=True).strip()
    except (EOFError, click.Abort):
        return None


def _yes(question: str) -> bool:
    try:
        return click.confirm(question, default=False, err=True)
    except (EOFError, click.Abort):
        return False


def _letter(folder: Path, template, result, ident: str, count: int, when: str, points,  # type: ignore[no-untyped-def]
            protected: set[str]) -> str:
    """Write a declined applicant's notice into ``folder`` (the text, and a page to print), as ``notices`` writes
    it; what was written, or why no letter could be."""
    from loanscore.runtime.notices import PRINT_HEAD, PRINT_TAIL, STATED, file_name, printable, unworded
    from loanscore.runtime.writers import open_output

    reasons = result.reasons[:STATED]
    why = unworded(reasons)
    if why:
        return f"No letter: {why}; this applicant's notice needs a person."
    folder.mkdir(parents=True, exist_ok=True)
    name = file_name(ident, count, set())
    stem, k = name.removesuffix(".txt"), 2
    while (folder / name).exists() or (folder / name.replace(".txt", ".html")).exists():  # never over a letter
        name, k = f"{stem}_{k}.txt", k + 1
    letter = template.render(date=when, applicant=ident or f"applicant {count}", reasons=[r.statement for r in reasons],
                             score=points.text([result.probability])[0],
                             score_range=f"{points.lowest:g} to {points.highest:g}")
    for path, text in ((folder / name, letter), (folder / name.replace(".txt", ".html"),
                                                 PRINT_HEAD.format(title=name) + printable(letter, name) + PRINT_TAIL)):
        with open_output(path) as stream:
            stream.write(text)
    named = sorted({r.field for r in reasons if r.field in protected})
    return (f"Letter: {folder / name} (to print: {name.replace('.txt', '.html')})"
            + (f"; its reasons name a protected characteristic ({', '.join(named)}): review it before it goes"
               if named else ""))


def _verdict(result, points, grades, shown: int) -> str:  # type: ignore[no-untyped-def]
    """The decision as the officer reads it: decision, P(default), points, grade, warnings and up to ``shown``
    reasons."""
    p = result.probability
    lines = [f"\nDecision: {result.decision}   P(default) {p:.4f}   score {points.text([p])[0]} points   "
             f"grade {grades.grade([p])[0]}"]
    lines += [f"  note: {w}" for w in result.warnings]
    if shown and result.reasons:
        lines.append("Principal reasons (what raises P(default) above the typical applicant's most):")
        lines += [f"  {k}. {r.statement or r.field}" for k, r in enumerate(result.reasons[:shown], 1)]
    return "\n".join(lines)
