"""``loanscore report monitoring``: the model's periodic monitoring in one HTML file for a model-risk committee.

Each check is the command of its own name, run on the same file: population
stability (``monitor``), with outcomes the back-test (``backtest``), the
fair-lending review (``fairness``) and, where the file holds the lender's
final decisions, the overrides (``overrides``); each section is that
command's text and picture. Runtime only: no training extra.
"""

from __future__ import annotations

import html
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from .errors import reports_errors
from .inputs import header_has, open_labelled, stdin_as_file
from .options import audit_option, input_format_option, open_audit, record_run


Shown = Callable[..., Any]
"""A check's progress line on a terminal, or None: ``shown(total_bytes[, what])``, labelled with the check."""


@dataclass
class Section:
    """One check: its title, verdict (``alert`` raises the exit status), text and picture, or why it did not run."""

    title: str
    verdict: str
    text: str = ""
    svg: str = ""
    skipped: str = ""
    rejected: int = 0
    figures: dict[str, Any] | None = None

    @property
    def alert(self) -> bool:
        return self.verdict in ("alert", "shift")


@click.command(short_help="Monitoring in one HTML (or JSON) file: stability, back-test, fairness and overrides.")
@click.argument("input_path", metavar="INPUT")
@click.option("--output", type=click.Path(dir_okay=False), metavar="FILE.html",
              help="HTML file to write (atomically), figures inside it.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), metavar="FILE.json",
              help="Also (or instead) every check's verdict and figures as JSON, each as its command's -o writes "
                   "them: for a scheduler or a dashboard.")
@click.option("--outcome", metavar="COLUMN", help="Column holding the outcome (1 defaulted, 0 repaid, blank not known "
              "yet). Default: the schema's label, when the file has it.")
@click.option("--final", default="final_decision", show_default=True, metavar="COLUMN",
              help="Column holding the lender's final decision; the overrides are reviewed when the file has it.")
@click.option("--by", "by", multiple=True, metavar="COLUMN",
              help="Also review the overrides by COLUMN (a branch, an officer); repeatable.")
@click.option("--reference", "reference_path", metavar="FILE",
              help="Population stability against this file's applicants (last quarter's, say) instead of the "
                   "development population in the manifest.")
@click.option("--model", "model_dir", type=click.Path(file_okay=False), help="Model directory. Default: the shipped model.")
@input_format_option()
@click.option("-q", "--quiet", is_flag=True, help="No progress lines on stderr.")
@audit_option
@reports_errors
def monitoring(input_path: str, output: str | None, json_path: str | None, outcome: str | None, final: str,
               by: tuple[str, ...], reference_path: str | None, model_dir: str | None, input_format: str,
               sheet: str | None, quiet: bool, audit_log: str | None) -> None:
    """The model's periodic monitoring of INPUT in one HTML file: population
    stability against the model's development population (or --reference
    FILE, last quarter's applicants); with outcomes, the
    back-test of discrimination and calibration; the fair-lending review by
    the schema's protected fields; and, where INPUT holds the lender's final
    decisions (--final), the overrides. Each section is what the command of
    its name prints and draws, at the model's threshold; a summary at the top
    gives each check's verdict. --json FILE writes each check's verdict and
    figures (as its command's -o does) for a scheduler or a dashboard. Exit
    status 4 when any check alerts, else 0.

    \b
    Examples:
      loanscore report monitoring applications_2026q3.csv --output monitoring_2026q3.html
      loanscore report monitoring q3.csv --output m.html --reference q2.csv --by branch --final decision
      loanscore report monitoring q3.csv --json monitoring_q3.json -q
    """
    from loanscore.runtime.errors import EXIT_ALERT, EXIT_OK, InputError
    from loanscore.runtime.integrity import sha256_file
    from loanscore.runtime.model import Model
    from loanscore.runtime.scorer import ScoresOnce
    from loanscore.runtime.stream import Progress
    from loanscore.runtime.writers import open_output

    if input_path == reference_path == "-":
        raise click.UsageError("Only one of INPUT and --reference can be stdin (-).")
    if not output and not json_path:
        raise click.UsageError("Say where to write the report: --output FILE.html, --json FILE.json, or both.")
    if output and json_path and Path(output).resolve() == Path(json_path).resolve():
        raise click.UsageError(f"--output and --json both name {output}: the JSON would replace the HTML. Give "
                               "each a file of its own.")
    with stdin_as_file(input_path) as (path, described):  # each check reads INPUT: stdin is kept in a file
        audit = open_audit(audit_log)
        digest = sha256_file(path)  # and again at the end: every check must have read this file
        scorer = ScoresOnce(Model.load(model_dir))
        schema = scorer.schema
        read = dict(fmt=input_format, sheet=sheet, numbers=schema.number_names)
        if outcome is None and header_has(path, input_format, sheet, schema.label, schema.input_names):
            outcome = schema.label
        decided = header_has(path, input_format, sheet, final, schema.input_names)
        checks = [("Population stability", lambda shown: _stability(scorer, path, reference_path, read, shown)),
                  ("Back-test", lambda shown: _backtest(scorer, path, outcome, read, shown)),
                  ("Fair lending", lambda shown: _fairness(scorer, path, outcome, read, shown)),
                  ("Overrides", lambda shown: _overrides(scorer, path, final if decided else None, by, outcome, read,
                                                        shown))]
        sections, failures = [], []
        for k, (title, check) in enumerate(checks, 1):
            def shown(total: int | None, what: str = "", label: str = f"{title} ({k} of {len(checks)})") -> Any:
                return Progress.for_terminal(total, quiet=quiet, label=f"{label}, {what}" if what else label)

            try:
                sections.append(check(shown))
            except InputError as exc:  # this check cannot run on this file (no outcome known yet); the others can
                failures.append(exc)
                sections.append(Section(title, "not run", skipped=f"not run: {exc}"))
            scorer.full = scorer.full or bool(scorer.remembered)  # the file's rows are in: keep no counterfactual
        if sha256_file(path) != digest:
            raise InputError(f"{path} changed while the report was made (each check reads it), so its sections "
                             "could describe different files; make the report again once the file is complete.")
        if failures and all(s.skipped for s in sections):  # nothing could be checked: the file itself is at fault
            raise failures[0]
        name, when = "stdin" if input_path == "-" else path, datetime.now(UTC)
        written = [(output, _page(scorer, name, digest, sections, when)),
                   (json_path, _document(scorer, name, digest, sections, when))]
        for where, text in written:
            if where:
                with open_output(where) as stream:
                    stream.write(text)
        alerts = [s.title for s in sections if s.alert]
        for s in sections:
            click.echo(f"{s.title}: {s.skipped or s.verdict}", err=True)
        click.echo(f"wrote {' and '.join(w for w, _ in written if w)}", err=True)
        code = EXIT_ALERT if alerts else EXIT_OK
        record_run(audit, "report_monitoring", scorer, {"input": described,
                                                        "output": [w for w, _ in written if w],
                                                        **({"reference": reference_path} if reference_path else {})}, {
            "outcome": outcome, "final": final if decided else None,
            "checks": {s.title: s.skipped or s.verdict for s in sections}}, code, sheet=sheet)
    sys.exit(code)


def _stability(scorer, path: str, reference_path: str | None,  # type: ignore[no-untyped-def]
               read: dict[str, Any], shown: Shown) -> Section:
    from loanscore.runtime.backtest import something_left
    from loanscore.runtime.stability import Reference, collect, monitor
    from loanscore.runtime.stability_plot import render_svg
    from loanscore.runtime.readers import open_reader

    from .monitor import render

    title = "Population stability"

    def opened(where: str):  # type: ignore[no-untyped-def]
        return open_reader(where, scorer.schema.input_names, id_column=scorer.schema.id, numbers=read["numbers"],
                           **({} if where != path else {"fmt": read["fmt"], "sheet": read["sheet"]}))

    if reference_path is not None:
        reader = opened(reference_path)
        try:
            reference, _ = collect(scorer, reader, progress=shown(reader.total_bytes, "the reference file"))
        finally:
            reader.close()
    elif "population" in scorer.model.manifest:
        reference = Reference.from_manifest(scorer.model.manifest, "The model")
    else:
        return Section(title, "not run", skipped="not run: the model was exported without --data, so its manifest "
                                                 "holds no development population to compare with (--reference "
                                                 "FILE gives one)")
    reader = opened(path)
    try:
        report = monitor(scorer, reader, reference, progress=shown(reader.total_bytes))
    finally:
        reader.close()
    something_left(report.source, report.rows, report.scored, report.rejected, "compare")
    return Section(title, report.worst, render(report), render_svg(report), rejected=len(report.rejected),
                   figures=report.to_dict())


def _backtest(scorer, path: str, outcome: str | None, read: dict[str, Any],  # type: ignore[no-untyped-def]
              shown: Shown) -> Section:
    from loanscore.runtime.backtest import backtest
    from loanscore.runtime.backtest_plot import render_svg

    from .backtest import render

    title = "Back-test"
    if outcome is None:
        return Section(title, "not run", skipped=f"not run: the file has no outcome column ({scorer.schema.label}; "
                                                 "--outcome names another)")
    reader, _ = open_labelled(path, scorer.schema.input_names, outcome, (), who="A back-test", **read)
    try:
        result = backtest(scorer, reader, outcome, progress=shown(reader.total_bytes))
    finally:
        reader.close()
    return Section(title, result.verdict, render(result), render_svg(result), rejected=len(result.rejected),
                   figures=result.to_dict())


def _fairness(scorer, path: str, outcome: str | None, read: dict[str, Any],  # type: ignore[no-untyped-def]
              shown: Shown) -> Section:
    from loanscore.runtime.fairness import groupings, review
    from loanscore.runtime.fairness_plot import render_svg

    from .fairness import render

    title = "Fair lending"
    wanted = groupings(scorer.schema, ())
    if not wanted:
        return Section(title, "not run", skipped="not run: the model's schema marks no field protected")
    columns = tuple(c for g in wanted for c in g.columns)

    def opened():  # type: ignore[no-untyped-def]
        return open_labelled(path, scorer.schema.input_names, outcome, columns, who="A fairness review", **read)[0]

    reader = opened()
    try:
        result = review(scorer, reader, wanted, scorer.bands.decline_from, outcome=outcome, reopen=opened,
                        progress=shown(reader.total_bytes))
    finally:
        reader.close()
    return Section(title, result.verdict, render(result), render_svg(result), rejected=len(result.rejected),
                   figures=result.to_dict())


def _overrides(scorer, path: str, final: str | None, by: tuple[str, ...],  # type: ignore[no-untyped-def]
               outcome: str | None, read: dict[str, Any], shown: Shown) -> Section:
    from dataclasses import replace

    from loanscore.runtime.fairness import groupings
    from loanscore.runtime.grades import MasterScale
    from loanscore.runtime.overrides import review
    from loanscore.runtime.overrides_plot import render_svg

    from .overrides import MOST_GROUPS, render

    title = "Overrides"
    if final is None:
        return Section(title, "not run", skipped="not run: the file has no final decisions (--final names their "
                                                 "column)")
    wanted = [replace(g, most=MOST_GROUPS) for g in groupings(scorer.schema, by)] if by else []
    reader = open_labelled(path, scorer.schema.input_names, outcome, tuple(c for g in wanted for c in g.columns),
                           who="An override review", also=[(final, "the lender's final decision, named by --final")],
                           **read)[0]
    try:
        result = review(scorer, reader, final, grades=MasterScale.load(None), by=wanted, outcome=outcome,
                        progress=shown(reader.total_bytes))
    finally:
        reader.close()
    return Section(title, result.verdict, render(result), render_svg(result), rejected=len(result.rejected),
                   figures=result.to_dict())


def _document(scorer, path: str, digest: str, sections: list[Section],  # type: ignore[no-untyped-def]
              when: datetime) -> str:
    """The JSON: what was checked with what, the overall verdict, then each check's verdict and figures."""
    import json

    m = scorer.model
    checks = [{"check": s.title, "verdict": "not run" if s.skipped else s.verdict, "rows_left_out": s.rejected,
               **({"why_not_run": s.skipped.removeprefix("not run: ")} if s.skipped
                  else {"figures": {**(s.figures or {}), "source": path}})}  # stdin's, not its temporary file's
              for s in sections]
    return json.dumps({
        "file": {"path": path, "sha256": digest},
        "model": {"directory": str(m.directory), "sha256": m.manifest["sha256"], "threshold": m.threshold},
        "created": when.isoformat(timespec="seconds"),
        "verdict": "alert" if any(s.alert for s in sections) else "pass",
        "checks": checks}, indent=2) + "\n"


def _page(scorer, path: str, digest: str, sections: list[Section],  # type: ignore[no-untyped-def]
          when: datetime) -> str:
    """The HTML page: what was checked with what, the verdicts, then each section's text and picture."""
    m = scorer.model
    e = html.escape
    rows = "".join(
        f'<tr><td><a href="#s{k}">{e(s.title)}</a></td><td class="{"alert" if s.alert else ""}">'
        f"{e(s.skipped or s.verdict)}</td><td>{s.rejected:,}</td></tr>" for k, s in enumerate(sections))
    body = "".join(
        f'<section id="s{k}"><h2>{e(s.title)}: {e(s.skipped or s.verdict)}</h2>'
        + ("" if s.skipped else f"<pre>{e(s.text)}</pre><figure>{s.svg}</figure>") + "</section>"
        for k, s in enumerate(sections))
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Model monitoring: {e(path)}</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 4px 10px; text-align: left; }}
td.alert {{ color: #c0392b; font-weight: bold; }}
pre {{ font-size: 12px; background: #f7f7f7; padding: 1em; overflow-x: auto; }}
figure {{ margin: 1em 0; overflow-x: auto; }}
@media print {{ section {{ break-before: page; }} pre {{ white-space: pre-wrap; }} }}
</style></head><body>
<h1>Model monitoring</h1>
<p>File <code>{e(path)}</code> (SHA-256 {digest[:16]}…), scored by the model in <code>{e(str(m.directory))}</code>
(SHA-256 {m.manifest["sha256"][:16]}…, threshold {m.threshold:.4g}); {when:%Y-%m-%d %H:%M UTC}. Each section is what the
<code>loanscore</code> command of its name prints and draws on this file; rows it could not use are counted
here and listed by that command.</p>
<table><tr><th>check</th><th>verdict</th><th>rows left out</th></tr>{rows}</table>
{body}
</body></html>
"""
