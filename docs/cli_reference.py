"""Write docs/cli.md: every ``loanscore`` command's ``--help``, so that its options can be read without installing.

    python docs/cli_reference.py          # rewrite docs/cli.md
    python docs/cli_reference.py --check  # exit 1 if docs/cli.md is not what the commands say

``tests/test_docs.py`` runs the check, so a changed option fails the tests until the page is rewritten.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from loanscore.cli.main import main

PAGE = Path(__file__).with_name("cli.md")
WIDTH = 100  # fixed, so that the page does not depend on the terminal that wrote it


def _contexts(command: click.Command, ctx: click.Context) -> Iterator[click.Context]:
    yield ctx
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _contexts(sub, click.Context(sub, info_name=name, parent=ctx, terminal_width=WIDTH,
                                                    max_content_width=WIDTH))


def reference() -> str:
    """The page: a list of the commands, then each one's help as ``--help`` prints it."""
    root = click.Context(main, info_name="loanscore", terminal_width=WIDTH, max_content_width=WIDTH,
                         **main.context_settings)  # -h as well as --help, as the command line has them
    contexts = list(_contexts(main, root))
    anchor = {ctx.command_path: ctx.command_path.replace(" ", "-") for ctx in contexts}
    lines = ["# Command reference", "",
             "Each command's `--help`, as `loanscore` prints it. Written by `python docs/cli_reference.py`; "
             "`tests/test_docs.py` fails when it no longer matches the commands.", "",
             " · ".join(f"[{path.removeprefix('loanscore ') or 'loanscore'}](#{anchor[path]})" for path in anchor), ""]
    for ctx in contexts:
        lines += [f"## {ctx.command_path}", "", "```text", ctx.get_help().rstrip(), "```", ""]
    return "\n".join(lines)


def same(a: str, b: str) -> bool:
    """Equal but for how lines are wrapped and padded."""
    return re.sub(r"\s+", " ", a).strip() == re.sub(r"\s+", " ", b).strip()


if __name__ == "__main__":
    text = reference()
    if sys.argv[1:] == ["--check"]:
        if not (PAGE.exists() and same(PAGE.read_text("utf-8"), text)):
            sys.exit(f"{PAGE} is out of date: run python docs/cli_reference.py")
    else:
        PAGE.write_text(text, "utf-8")
