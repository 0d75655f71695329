"""``loanscore notices``: a letter to each declined applicant, stating the principal reasons."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .errors import reports_errors
from .inputs import echo_rejects, echo_sheet_notes
from .options import (audit_option, decision_bands, FINITE, FiniteRange, input_format_option, load_points_scale,
                      open_audit, points_scale_option, record_run)

_HELP = """Write an adverse-action notice for each applicant in INPUT whom the
model declines: a letter stating the principal reasons (up to four, worded by
the model's statements or --statements FILE) and the applicant's score in
points, from a template you edit.

\b
The letters go into --out DIR (a new or empty folder), one file each,
notice_ID.txt, and all together into DIR/letters.html, to print from a
browser one letter to a page; DIR/notices.csv lists every input row: its
decision, P(default), score, letter and reasons (reason_1 .. reason_4: a
mail-merge source for a word processor too), or why it could not be scored. The
folder appears whole once every letter is written, or not at all. A declined
applicant whose principal reasons cannot all be stated (one is a field the
statements do not word, or there is none) gets no letter, since a notice must
not leave a reason out: the row is listed for a person to review, and the
exit status is 1, as for a row that cannot be scored. A principal reason on a
field the schema marks protected (sex, marital status, age) is named in
notices.csv's protected_reason column; --hold-protected holds those letters
for review too, as a letter should not tell an applicant they were declined
for, say, their sex.

\b
The template is plain text with {date}, {id}, {reasons}, {score} and
{score_range}; --write-template FILE writes the built-in one to edit:

\b
  loanscore notices --write-template letter.txt
  loanscore notices declined_today.csv --out letters/2026-12-06 --template letter.txt
  loanscore notices applicants.xlsx --out letters --statements words_es.toml --date "6 de diciembre de 2026"
"""


@click.command(help=_HELP, short_help="Adverse-action notices: a letter to each declined applicant, with the reasons.")
@click.argument("input_path", metavar="[INPUT]", required=False)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Folder for the letters and notices.csv: new, or empty.")
@click.option("--template", "template_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="The letter, as plain text with {date}, {id}, {reasons}, {score}, {score_range}. Default: the "
                   "built-in one (--write-template FILE writes it to edit).")
@click.option("--write-template", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the built-in template to FILE, to edit, and exit.")
@click.option("--statements", "statements_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Word the reasons with this statements file instead of the model's (see `loanscore statements`).")
@click.option("--date", "date_text", metavar="TEXT", help="The date the letters carry. Default: today, as YYYY-MM-DD.")
@click.option("--decline-from", type=FiniteRange(0, 1), help="Decline from this P(default) up. Default: the "
              "model's threshold.")
@click.option("--decline-below-points", type=FINITE, metavar="N",
              help="Decline scores below N points, instead of --decline-from.")
@points_scale_option
@click.option("--hold-protected", is_flag=True, help="No letter for a declined applicant whose principal reasons "
              "include a field the schema marks protected: listed for review instead (exit status 1).")
@click.option("--model", "model_dir", type=click.Path(file_okay=False), help="Model directory. Default: the shipped model.")
@input_format_option()
@audit_option
@click.option("-q", "--quiet", is_flag=True, help="No summary on stderr.")
@reports_errors
def notices(input_path: str | None, out_dir: Path | None, template_path: str | None, write_template: str | None,
            statements_path: str | None, date_text: str | None, decline_from: float | None,
            decline_below_points: float | None, points_scale: str | None, hold_protected: bool, model_dir: str | None,
            input_format: str, sheet: str | None, audit_log: str | None, quiet: bool) -> None:
    from loanscore.runtime.notices import BUILT_IN, Template
    from loanscore.runtime.writers import open_output

    if write_template:
        with open_output(write_template) as stream:
            stream.write(BUILT_IN)
        return
    if input_path is None or out_dir is None:
        raise click.UsageError("Give INPUT and --out DIR (or --write-template FILE).")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise click.UsageError(f"{out_dir} already holds files; give a new or empty folder, so that one batch's "
                               "letters stay together.")

    from datetime import date

    from loanscore.runtime.model import Model
    from loanscore.runtime.scorer import Bands, Scorer
    from loanscore.runtime.readers import open_reader

    template = Template.load(template_path)
    points = load_points_scale(points_scale, True)
    audit = open_audit(audit_log)
    model = Model.load(model_dir)
    scorer = Scorer(model, decision_bands(Bands, model.threshold, None, decline_from, points, None,
                                          decline_below_points), statements=statements_path)
    if not scorer.explainer.statements:
        from loanscore.runtime.errors import ModelError

        raise ModelError(f"The model in {model.directory} words no reasons, and a notice must state them: give "
                         "--statements FILE (`loanscore statements -o FILE` writes one to fill in).")
    schema = model.schema
    reader = open_reader(input_path, schema.input_names, fmt=input_format, sheet=sheet, id_column=schema.id,
                         numbers=schema.number_names)
    when = date_text or date.today().isoformat()
    protected = {f.name for f in schema.protected_fields}
    try:
        result = _write(scorer, reader, out_dir, template, points, when, protected, hold_protected)
    finally:
        reader.close()
    written, rows, rejected, unstated, stating, twice = result
    if not quiet:
        click.echo(f"wrote {written:,} notices for the declined of {rows:,} applicants -> {out_dir} "
                   f"(every row listed in {out_dir / 'notices.csv'}; to print: {out_dir / 'letters.html'})", err=True)
        echo_sheet_notes(reader, "given a letter if declined, like the others")
        if twice:
            shown = "; ".join(f"{ident}: rows {first} and {row}" for ident, first, row in twice[:5])
            click.echo(f"Note: {len(twice):,} letter{'s' if len(twice) > 1 else ''} went to an id that already had "
                       f"one in this file ({shown}{'; ...' if len(twice) > 5 else ''}): an application entered "
                       "twice?", err=True)
        if stating and not hold_protected:
            click.echo(f"{stating:,} of them state a protected characteristic ({', '.join(sorted(protected))}) "
                       "among the principal reasons (column protected_reason); --hold-protected holds such "
                       "letters for review", err=True)
    if rejected:
        echo_rejects(rejected, reader.name, "could not be scored and have no letter", str(out_dir / "notices.csv"))
    if unstated:
        echo_rejects(unstated, reader.name, "were declined without a reason a letter may state and have no letter: "
                     "review them", str(out_dir / "notices.csv"))
    code = 1 if rejected or unstated else 0
    from loanscore.runtime.audit import file_digest

    record_run(audit, "notices", scorer, {"input": input_path}, {
        "out": str(out_dir.resolve()), "template": "built-in" if template_path is None else file_digest(template_path),
        "date": when, "rows": rows, "notices": written, "rejected": len(rejected), "unstated": len(unstated),
        "protected_reasons": stating, "hold_protected": hold_protected}, code, sheet=sheet)
    sys.exit(code)


def _write(scorer, reader, out_dir: Path, template, points, when: str, protected: set[str],  # type: ignore[no-untyped-def]
           hold: bool) -> tuple[int, int, list, list, int, list]:
    """Score ``reader`` and write the letters and notices.csv into a hidden folder beside ``out_dir``, renamed to
    it at the end (all or nothing); the letters written, the rows, the rows rejected and those declined without a
    letter (reasons unworded, or ``hold`` and one on a ``protected`` field), the declined with such a reason, and
    the letters to an id that had one already (id, its first letter's row, this row)."""
    import html
    import os
    import shutil
    import tempfile

    from loanscore.runtime.notices import PRINT_HEAD, PRINT_TAIL, STATED, file_name, printable, unworded
    from loanscore.runtime.run_files import note_written
    from loanscore.runtime.scorer import DECLINE
    from loanscore.runtime.stream import rejections
    from loanscore.runtime.writers import CsvRows, formula_safe, refuse_failed_write

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}."))
    id_column = scorer.schema.id
    score_range = f"{points.lowest:g} to {points.highest:g}"
    written, rows, rejected, unstated, stating = 0, 0, [], [], 0
    lettered: dict[str, int] = {}  # id -> the row of its first letter
    twice: list[tuple[str, int, int]] = []
    taken: set[str] = {"notices.csv"}
    try:
        with (open(folder / "notices.csv", "w", newline="", encoding="utf-8") as fh,
              open(folder / "letters.html", "w", encoding="utf-8") as page):
            page.write(PRINT_HEAD.format(title=html.escape(f"Adverse-action notices, {when}")))
            index = CsvRows(fh)
            index.writerow(["row", id_column or "id", "decision", "probability_of_default", "score", "notice",
                            *(f"reason_{k}" for k in range(1, STATED + 1)), "protected_reason", "error"])
            for chunk in reader:
                batch = scorer.score_columns(chunk.columns, first_row=chunk.first_row, reasons=STATED)
                errors = rejections(batch.errors, chunk.row_errors, chunk.sheet_rows)
                ids = chunk.passthrough.get(id_column, [""] * chunk.n) if id_column else [""] * chunk.n
                scores = points.text(batch.probability)
                cells = formula_safe([str(v or "") for v in ids])  # the index is a mail-merge source opened in Excel
                for i in range(chunk.n):
                    row, ident = chunk.first_row + i, str(ids[i] or "")
                    if i in errors:
                        rejected.append((row, errors[i]))
                        index.writerow([row, cells[i], "", "", "", "", *[""] * STATED, "", errors[i]])
                        continue
                    decision, p = str(batch.decision[i]), f"{batch.probability[i]:.6f}"
                    reasons = batch.reasons[i][:STATED]
                    told = [r.statement for r in reasons]
                    name = why = flagged = ""
                    if decision == DECLINE:
                        flagged = "; ".join(r.field for r in reasons if r.field in protected)
                        stating += bool(flagged)
                        why = unworded(reasons) or (f"its principal reasons include {flagged}, a protected "
                                                     "characteristic (--hold-protected)" if hold and flagged else "")
                        if why:
                            unstated.append((row, f"row {row}: declined (P(default) {p}), but {why}"))
                        else:
                            name = file_name(ident, row, taken)
                            letter = template.render(date=when, applicant=ident or f"row {row}", reasons=told,
                                                     score=scores[i], score_range=score_range)
                            (folder / name).write_text(letter, "utf-8")
                            if ident and ident in lettered:
                                twice.append((ident, lettered[ident], row))
                            lettered.setdefault(ident, row)
                            page.write(printable(letter, name))
                            written += 1
                    stated = told if decision == DECLINE else []
                    index.writerow([row, cells[i], decision, p, scores[i], name,
                                    *stated, *[""] * (STATED - len(stated)), flagged, why])
                rows += chunk.n
            page.write(PRINT_TAIL)
            for done in (fh, page):
                done.flush()
                os.fsync(done.fileno())
        if out_dir.exists():
            out_dir.rmdir()  # empty, as checked: the finished folder takes its place
        os.replace(folder, out_dir)
        note_written(out_dir)
    except BaseException as exc:
        shutil.rmtree(folder, ignore_errors=True)
        if isinstance(exc, OSError):
            refuse_failed_write(exc, f"the letters in {out_dir}", "no folder was left half-written")
        raise
    return written, rows, rejected, unstated, stating, twice
