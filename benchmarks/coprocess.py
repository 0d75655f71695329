"""One applicant at a time from another program: a running `score --line-buffered` against a process per applicant.

    python benchmarks/coprocess.py [--applicants 200] [--spawns 15] [--reasons 3]

A program in another language that has one applicant to score can start
`loanscore score --json RECORD` for it (a process each time: Python, imports,
the model's load and checks) or keep `loanscore score - --line-buffered` running
and write it each applicant, waiting for the answer before the next. This
prints the answer times of both, measured in the same run on the shipped
sample applicants (generated, not real people), as medians, 90th percentiles
and the ratio. Runtime-only install suffices.
"""

from __future__ import annotations

import argparse
import csv
import json
import selectors
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOANSCORE = [sys.executable, "-c", "import sys; from loanscore.cli.main import main; sys.argv[0] = 'loanscore'; main()"]


def coprocess(records: list[dict], reasons: int) -> tuple[list[float], float]:
    """Each applicant's answer time through one running process, and the time to its first answer from start."""
    started = time.perf_counter()
    with subprocess.Popen([*LOANSCORE, "score", "-", "--input-format", "jsonl", "--format", "jsonl",
                           "--line-buffered", "--reasons", str(reasons), "--quiet"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        ready = selectors.DefaultSelector()
        ready.register(proc.stdout, selectors.EVENT_READ)
        times, first = [], 0.0
        for record in records:
            t = time.perf_counter()
            proc.stdin.write(json.dumps(record) + "\n")
            proc.stdin.flush()
            if not ready.select(timeout=120):
                sys.exit("no answer within 120 s")
            answer = json.loads(proc.stdout.readline())
            assert answer["decision"] or answer["error"], answer
            times.append(time.perf_counter() - t)
            first = first or time.perf_counter() - started
        proc.stdin.close()
        ready.close()
    return times[1:], first  # the first answer pays for the model's warm-up: reported apart


def spawned(records: list[dict], reasons: int) -> list[float]:
    times = []
    for record in records:
        t = time.perf_counter()
        done = subprocess.run([*LOANSCORE, "score", "--json", json.dumps(record), "--format", "jsonl", "--reasons",
                               str(reasons), "--quiet"], capture_output=True, text=True, timeout=120)
        if done.returncode not in (0, 1):
            sys.exit(done.stderr)
        times.append(time.perf_counter() - t)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--applicants", type=int, default=200, help="applicants through the running process")
    parser.add_argument("--spawns", type=int, default=15, help="applicants scored by a process each")
    parser.add_argument("--reasons", type=int, default=3)
    args = parser.parse_args()
    with open(ROOT / "artifacts" / "sample_applicants.csv", newline="", encoding="utf-8") as fh:
        sample = list(csv.DictReader(fh))
    records = [sample[i % len(sample)] for i in range(args.applicants)]
    running, first = coprocess(records, args.reasons)
    each = spawned(records[: args.spawns], args.reasons)

    def line(what: str, times: list[float]) -> str:
        ms = sorted(1000 * t for t in times)
        return (f"{what:<40} {len(ms):>5} applicants  median {statistics.median(ms):8.1f} ms  "
                f"p90 {ms[int(0.9 * (len(ms) - 1))]:8.1f} ms")

    print(f"--reasons {args.reasons}; the running process's first answer, from its start: {1000 * first:.0f} ms")
    print(line("score - --line-buffered (one process)", running))
    print(line("score --json (a process each)", each))
    print(f"ratio of medians (a process each / one process): {statistics.median(each) / statistics.median(running):.0f}x")


if __name__ == "__main__":
    main()
