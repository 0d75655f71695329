"""``loanscore watch``: score every applicant file that lands in a folder (a branch office's hot folder)."""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from .errors import crash_report, reports_errors
from .inputs import echo_sheet_notes
from .interrupts import Interrupts
from .options import (audit_option, decision_bands, encoding_option, FiniteRange, load_master_scale,
                      load_points_scale, master_scale_option, open_audit, output_format, points_options, record_run,
                      separator_option)
from .score import Layout, log_score, naming_shadow_columns, read_for, score_into, shadow_lines

_HELP = """Score each applicant file that appears in INBOX, into --out.

\b
A file (*.csv, *.jsonl, either .gz, or an Excel *.xlsx) is taken once its size and time
have stayed the same for one --interval, so a file still being copied is
left alone; hidden files, Excel's lock files (~$NAME.xlsx, there while a
workbook is open) and others are ignored (a writer that may pause
longer than the interval should copy to a hidden name, .NAME.csv, and
rename it when done). Each is scored as
`loanscore score` would (all rows kept, bad ones with their error) into
OUT/NAME.scored.csv (or .jsonl with --format jsonl), written atomically,
and then moved to INBOX/processed/. A file that cannot be read at all
(no header, missing columns, not UTF-8) is moved to INBOX/failed/ with
NAME.error.txt beside it saying why; so is one that meets a fault loanscore
did not foresee (a bug: the traceback is saved to a file that NAME.error.txt
names), and the watcher goes on. Names that exist already get the time
added, so nothing is overwritten. One line per file on stderr; with
--audit-log, one audit record per file.

\b
Runs until Ctrl-C or SIGTERM (exit 130; a file being scored then is left
in INBOX, whole, and no partial output is written); --once scores what is
there and exits: 0 if every row of every file was scored, 1 if some rows
were rejected, 2 if some file could not be read, 70 if one met a fault.

\b
Examples:
  loanscore watch /srv/branch/inbox --out /srv/branch/scored
  loanscore watch inbox --out scored --once --audit-log audit.jsonl    # from cron or Task Scheduler
"""

SUFFIXES = (".csv", ".jsonl", ".csv.gz", ".jsonl.gz", ".xlsx")


@click.command(help=_HELP, short_help="Score each applicant file that appears in a folder (a hot folder).")
@click.argument("inbox", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the scored files (created if missing).")
@click.option("--model", "model_dir", type=click.Path(file_okay=False),
              help="Model directory. Default: the shipped model.")
@click.option("--format", "out_format", type=click.Choice(["csv", "jsonl", "xlsx"]), default="csv", show_default=True,
              help="Output format: csv, jsonl or xlsx (an Excel workbook).")
@separator_option
@click.option("--approve-below", type=FiniteRange(0, 1), help="Approve below this probability. Default: the "
              "model's threshold.")
@click.option("--decline-from", type=FiniteRange(0, 1), help="Decline from this probability up. Default: the "
              "model's threshold.")
@click.option("--reasons", type=click.IntRange(0, 100), default=0, metavar="N", help="Add N reason codes per row.")
@click.option("--grade", is_flag=True, help="Add each row's rating grade (see `loanscore score`).")
@master_scale_option
@points_options
@click.option("--shadow", "shadow_dir", type=click.Path(file_okay=False), metavar="MODEL_DIR",
              help="Also score every row with this model, which decides nothing (see `loanscore score`).")
@click.option("--stamp", is_flag=True, help="Add model_id and scored_at to every row (see `loanscore score`).")
@click.option("--interval", type=FiniteRange(0.05), default=2.0, show_default=True,
              help="Seconds between looks at INBOX; a file must stay unchanged this long before it is taken.")
@click.option("--once", is_flag=True, help="Score the files there now and exit.")
@click.option("--sheet", metavar="NAME", help="In each workbook, read the sheet NAME (as `score --sheet`); CSV and "
              "JSON Lines files are read as they are. Default: the sheet that holds the model's fields.")
@encoding_option
@audit_option
@click.option("-q", "--quiet", is_flag=True, help="No line per file on stderr.")
@reports_errors
def watch(inbox: Path, out_dir: Path, model_dir: str | None, out_format: str, separator: str,
          approve_below: float | None, decline_from: float | None, reasons: int, grade: bool, master_scale: str | None,
          points: bool, approve_from_points: float | None, decline_below_points: float | None,
          points_scale: str | None, shadow_dir: str | None, stamp: bool, interval: float, once: bool,
          sheet: str | None, audit_log: str | None, quiet: bool) -> None:
    from loanscore.runtime.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
    from loanscore.runtime.model import Model
    from loanscore.runtime.scorer import Bands, Scorer
    from loanscore.runtime.run_files import RUN_FILES, RunFiles

    output_format(out_format, "", separator)
    if out_dir.resolve() == inbox.resolve():
        raise click.BadParameter(f"{out_dir} is the inbox: the watcher would take its own scored files for "
                                 "applicants. Give the scores a folder of their own (a subfolder such as "
                                 f"{inbox / 'scored'} will do).", param_hint="--out")
    grades = load_master_scale(master_scale, grade, "--grade")
    scale = load_points_scale(points_scale, points or approve_from_points is not None
                              or decline_below_points is not None)
    audit = open_audit(audit_log)
    model = Model.load(model_dir)
    scorer = Scorer(model, decision_bands(Bands, model.threshold, approve_below, decline_from, scale,
                                         approve_from_points, decline_below_points))
    if reasons:
        scorer.explainer  # noqa: B018 -- a model without a population fails here, before any file is taken
    shadow = Scorer(Model.load(shadow_dir)) if shadow_dir else None
    for folder in (out_dir, inbox / "processed", inbox / "failed"):
        folder.mkdir(parents=True, exist_ok=True)
    if not quiet:
        click.echo(f"Watching {inbox} every {interval:g} s -> {out_dir} (model {model.manifest['sha256'][:12]}); "
                   "Ctrl-C stops." if not once else f"Scoring the files in {inbox} -> {out_dir}", err=True)
    layout = Layout(reasons, grades, scale, shadow, stamp, separator)
    run = RUN_FILES.get() or RunFiles()  # the files of the run as a whole (its audit log)
    seen: dict[Path, tuple[int, int]] = {}
    worst, taken = EXIT_OK, 0
    try:
        with Interrupts() as interrupts:
            while True:
                for path in _ready(inbox, seen, once):
                    token = RUN_FILES.set(RunFiles(read=list(run.read), audit_log=run.audit_log))  # each file its own: a watcher runs for months
                    try:
                        code = _take(path, inbox, out_dir, scorer, out_format, layout, interrupts, audit, quiet, sheet)
                    finally:
                        RUN_FILES.reset(token)
                    worst = EXIT_USAGE if EXIT_USAGE in (worst, code) else max(worst, code)
                    taken += 1
                    interrupts.release()  # a signal during the file's move and record stops the watcher now
                if once:
                    break
                interrupts.check()
                time.sleep(interval)
    except KeyboardInterrupt:
        click.echo(f"Stopped after {taken:,} file{'' if taken == 1 else 's'}; a file being scored, if any, is "
                   f"still in {inbox}, whole, and has no output.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(worst)


def _ready(inbox: Path, seen: dict[Path, tuple[int, int]], once: bool) -> list[Path]:
    """Applicant files in ``inbox`` unchanged since the last look (all of them with ``once``), in name order;
    ``seen`` keeps the others' signatures for the next look, and forgets files no longer there."""
    ready, waiting = [], {}
    for path in sorted(inbox.iterdir()):
        if path.name.startswith((".", "~$")) or not path.name.lower().endswith(SUFFIXES) or not path.is_file():
            continue
        try:
            st = path.stat()
        except FileNotFoundError:  # taken away between the listing and now
            continue
        signature = (st.st_size, st.st_mtime_ns)
        if once or seen.get(path) == signature:
            ready.append(path)
        else:
            waiting[path] = signature
    seen.clear()
    seen.update(waiting)
    return ready


def _take(path: Path, inbox: Path, out_dir: Path, scorer: Any, out_format: str,
          layout: Layout, interrupts: Interrupts, audit: Any, quiet: bool, sheet: str | None = None) -> int:
    """Score one file, move it on, log it; its exit status (2: it could not be read, and went to failed/).
    ``layout``: the output's optional columns and its separator, as ``score`` takes them; ``sheet``: a workbook's
    sheet to read."""
    from loanscore.runtime.audit import file_digest
    from loanscore.runtime.errors import EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, LoanscoreError
    from loanscore.runtime.readers import is_workbook, open_reader

    schema = scorer.schema
    stem = path.name[: -len(next(s for s in SUFFIXES if path.name.lower().endswith(s)))]
    output = _free(out_dir / f"{stem}.scored.{out_format}")
    inputs, numbers = read_for(scorer, layout.shadow)
    try:
        with naming_shadow_columns(scorer, layout.shadow):
            sheet = sheet if sheet and is_workbook(path) else None
            reader = open_reader(path, inputs, id_column=schema.id, numbers=numbers, sheet=sheet)
        code, summary = score_into(scorer, reader, str(output), out_format, True, interrupts, layout)
    except Exception as exc:  # noqa: BLE001 - one file's fault, foreseen or not, must not stop the hot folder
        status, why = EXIT_USAGE, str(exc)
        if not isinstance(exc, LoanscoreError):
            if os.environ.get("LOANSCORE_DEBUG"):
                raise
            status = EXIT_INTERNAL
            why = (f"loanscore failed unexpectedly ({type(exc).__name__}: {exc}); the details are in "
                   f"{crash_report(exc)}, to send with a report")
        if not path.exists():  # taken away by someone else meanwhile: nothing to move, nothing was written
            if not quiet:
                click.echo(f"{path.name}: gone from {inbox} before it was scored; skipped.", err=True)
            return EXIT_OK
        failed = _move(path, inbox / "failed")
        if failed is None:
            return EXIT_OK
        failed.with_name(failed.name + ".error.txt").write_text(f"{why}\n", "utf-8")
        if not quiet:
            click.echo(f"{path.name}: not scored, moved to {failed.relative_to(inbox)}: {why}", err=True)
        record_run(audit, "score", scorer, {"input": failed}, {"error": why}, status)
        return status
    source = file_digest(path) if audit is not None and path.exists() else {"path": str(path.resolve())}
    done = _move(path, inbox / "processed")
    if not quiet:
        click.echo(f"{path.name}: scored {summary.n_scored:,} of {summary.n_rows:,} rows"
                   + (f", {summary.n_rejected:,} rejected" if summary.n_rejected else "")
                   + f" -> {output}; " + (f"moved to {done.relative_to(inbox)}" if done else
                                          "it was gone from the inbox before it could be moved"), err=True)
        echo_sheet_notes(reader)
        if layout.shadow is not None:
            click.echo(shadow_lines(summary.shadow, layout.shadow), err=True)
    log_score(audit, scorer, {**source, "moved_to": str(done.resolve()) if done else None}, str(output), out_format,
              summary, code, layout, sheet)
    return code


def _move(path: Path, folder: Path) -> Path | None:
    """Move ``path`` into ``folder`` under a free name (``None``: someone took it away first); a move that fails
    otherwise stops the watcher with a clear error, since it would fail again for every file."""
    from loanscore.runtime.errors import InputError

    target = _free(folder / path.name)
    try:
        path.rename(target)
    except FileNotFoundError:
        if not path.exists():
            return None
        raise InputError(f"Cannot move {path} to {target}: {folder} is missing.") from None
    except OSError as exc:
        raise InputError(f"Cannot move {path} to {target}: {exc.strerror or exc}. Check that {folder} is writable "
                         "and on the same drive as the inbox.") from None
    return target


def _free(path: Path) -> Path:
    """``path``, or ``path`` with the time added before its suffixes when that name is taken."""
    if not path.exists():
        return path
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    base, dot, rest = path.name.partition(".")
    return path.with_name(f"{base}-{stamp}{dot}{rest}")
