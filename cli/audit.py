"""``loanscore audit``: check an audit log's chain and list its latest runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .errors import reports_errors

_HELP = """Check the hash chain of an audit log and list its latest records.

\b
LOG is a file that `loanscore score --audit-log LOG` (or
$LOANSCORE_AUDIT_LOG) appends to: one JSON line per run, naming the model
and its SHA-256, the cut-offs, the input and output files with their
SHA-256, the counts of each decision, the user and the host. Each line holds
the SHA-256 of the line before it, so an edited, inserted or removed line
breaks the chain; this command names the first such line and exits 3. It
prints the head, the SHA-256 of the last line: keep a copy elsewhere, as a
chain cannot show a rewrite of every line after some point, or a cut tail.

--file FILE finds the runs that read or wrote FILE, by its SHA-256: is this
scores file what the model produced, unchanged, and which model, cut-offs
and user produced it? It exits 3 if no run in the log read or wrote it.

--daily sums the decisions of each day (UTC) and model instead: runs, rows,
the share approved, sent to review and declined, and rows rejected; a
shift in the approval rate shows here first.

--rotate renames LOG with the time (audit-20261206T053500Z.jsonl) and starts
LOG again with a record chained to the old file's head; checking LOG then
also checks that link while the old file lies beside it.

\b
Examples:
  loanscore audit /var/log/loanscore/audit.jsonl
  loanscore audit audit.jsonl --last 50
  loanscore audit audit.jsonl --file scores_2026-12-06.csv
  loanscore audit audit.jsonl --daily
  loanscore audit audit.jsonl --rotate
"""


@click.command(help=_HELP, short_help="Check an audit log's hash chain and list its latest runs.")
@click.argument("log", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--last", type=click.IntRange(0), default=10, show_default=True, help="Records to list, newest last.")
@click.option("--file", "files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Find the runs that read or wrote this file (by SHA-256), instead of listing the latest. "
                   "Repeatable.")
@click.option("--daily", is_flag=True, help="Each day's and model's decisions, instead of the latest records.")
@click.option("--rotate", is_flag=True, help="Rename LOG with the time and start it again, chained to the old file.")
@reports_errors
def audit(log: Path, last: int, files: tuple[Path, ...], daily: bool, rotate: bool) -> None:
    from loanscore.runtime.audit import AuditLog
    from loanscore.runtime.errors import VerificationError
    from loanscore.runtime.integrity import sha256_file

    if rotate:
        if files:
            raise click.UsageError("--rotate and --file do different things; run them one after the other.")
        old, first = AuditLog(log).rotate()
        continues = first["continues"]
        click.echo(f"Rotated {log} -> {old.name} ({continues['records']:,} records, head {continues['head']}); "
                   f"{log.name} starts again with a record chained to it.")
        return
    check = AuditLog(log).check()
    unknown = []
    for path in files:
        digest = sha256_file(path)
        found = [(role, r, f) for r in check.records for role in ("input", "output") for f in _files(r.get(role))
                 if f.get("sha256") == digest]
        if not found:
            unknown.append(path)
            click.echo(f"{path}: SHA-256 {digest[:12]}… was neither read nor written by any run in {log.name}.")
            continue
        click.echo(f"{path}: SHA-256 {digest[:12]}… is the {found[0][0]} of {len({id(r) for _, r, _ in found})} run(s):")
        for role, r, f in found:
            cut = r.get("cutoffs") or {}
            click.echo(f"  {role} of the run at {r.get('time')} by {r.get('user')} on {r.get('host')}: model "
                       f"{str((r.get('model') or {}).get('sha256'))[:12]}…, "
                       f"approve below {cut.get('approve_below')}, "
                       f"decline from {cut.get('decline_from')}; recorded as {f.get('path')}")
    if files:
        click.echo("")
    if daily:
        click.echo(_daily(check.records) + "\n")
    shown = check.records[-last:] if last and not files and not daily else []
    if shown:
        click.echo(_table(shown))
        click.echo("")
    n = len(check.records)
    if not check.intact:
        raise VerificationError(f"{log}: {check.problem}. The {n:,} records before line {check.broken_at} chain "
                                f"correctly (head of those: {check.head or 'none'}).")
    click.echo(f"OK  {log}: {n:,} records, the chain is intact. Head (SHA-256 of the last line): "
               f"{check.head or 'none, the log is empty'}")
    if check.continues is not None:
        earlier = check.continues.get("file")
        click.echo(f"    It continues {earlier} ({check.continues.get('records', 0):,} records): " + (
            "that file lies beside it, unchanged, and ends where this log begins." if check.link == "verified" else
            "that file is not beside it, so the link was not checked; put it there to check it."))
    if unknown:
        raise VerificationError(f"{len(unknown)} of {len(files)} files are in no run of {log}: "
                                f"{', '.join(str(p) for p in unknown)}. A file changed after its run hashes "
                                "differently.")


def _daily(records: list[dict[str, Any]]) -> str:
    """Scoring records summed by day (UTC) and model: what share of the scored rows each decision took."""
    days: dict[tuple[str, str], dict[str, int]] = {}
    for r in records:
        if r.get("event") not in ("score", "score_one") or not isinstance(r.get("decisions"), dict):
            continue
        key = (str(r.get("time", ""))[:10], str((r.get("model") or {}).get("sha256", "–"))[:12])
        day = days.setdefault(key, dict.fromkeys(("runs", "rows", "scored", "rejected", "approve", "review",
                                                  "decline"), 0))
        day["runs"] += 1
        for k in ("rows", "scored", "rejected"):
            day[k] += int(r.get(k) or 0)
        for k in ("approve", "review", "decline"):
            day[k] += int(r["decisions"].get(k) or 0)
    if not days:
        return "No scoring records in this log."
    header = ("day (UTC)", "model", "runs", "rows", "approved", "review", "declined", "rejected")
    shares = ("approve", "review", "decline")
    rows = [header] + [(d, m, f"{v['runs']:,}", f"{v['rows']:,}",
                        *(f"{v[k] / v['scored']:.1%}" if v["scored"] else "–" for k in shares),
                        f"{v['rejected']:,}") for (d, m), v in sorted(days.items())]
    return _aligned(rows, right=set(range(2, len(header))))


def _table(records: list[dict[str, Any]]) -> str:
    header = ("time (UTC)", "user", "event", "model", "input", "rows", "approve", "review", "decline", "rejected",
              "result", "exit")
    return _aligned([header] + [_row(r) for r in records], right={5, 6, 7, 8, 9, 11})


def _aligned(rows: list[tuple[str, ...]], right: set[int]) -> str:
    """A plain-text table: columns as wide as their widest cell, those in ``right`` aligned right."""
    widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
    return "\n".join("  ".join(c.rjust(w) if j in right else c.ljust(w) for j, (c, w) in
                               enumerate(zip(r, widths, strict=True))).rstrip() for r in rows)


def _files(entry: Any) -> list[dict[str, Any]]:
    """A record's input or output: one file, or a list of them (``monitor`` of several files)."""
    return [f for f in (entry if isinstance(entry, list) else [entry]) if isinstance(f, dict)]


def _row(r: dict[str, Any]) -> tuple[str, ...]:
    decisions = r.get("decisions") or {}
    model = r.get("model") or {}
    names = [str(s.get("path")) if s.get("path") in ("stdin", "--json", "record") else Path(str(s.get("path"))).name
             for s in _files(r.get("input") or r.get("data"))]
    name = (names[0] + (f" +{len(names) - 1}" if len(names) > 1 else "")) if names else "–"
    rows = r.get("rows", sum(f.get("rows", 0) for f in r.get("files", []) if isinstance(f, dict)) or None)

    def num(value: Any) -> str:
        return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else "–"

    if "verdict" in r:
        result = str(r["verdict"])
    elif isinstance(r.get("roc_auc_difference"), float):
        result = f"ΔAUC {r['roc_auc_difference']:+.4f}"
    elif "explained" in r:
        result = f"explained {r['explained']}"
    elif "from_sha256" in r:
        result = f"{r.get('method')} from {str(r['from_sha256'])[:12]}"
    elif r.get("event") == "train":
        result = f"run {Path(str(r.get('run'))).name}"
    elif "run" in r:
        result = f"from {Path(str(r['run'])).name}"
    elif "error" in r:
        result = "not read"
    elif isinstance(shadow := r.get("shadow"), dict) and shadow.get("rows_both_scored"):
        result = (f"shadow {str(shadow.get('sha256'))[:12]} same "
                  f"{shadow.get('same_decision', 0) / shadow['rows_both_scored']:.1%}")
    else:
        result = ""
    return (str(r.get("time", "–"))[:19].replace("T", " "), str(r.get("user", "–")), str(r.get("event", "–")),
            str(model.get("sha256", "–"))[:12], name, num(rows), num(decisions.get("approve")),
            num(decisions.get("review")), num(decisions.get("decline")), num(r.get("rejected")), result,
            num(r.get("exit")))
