"""The README and docs/ are what a new user reads first: their links must lead somewhere, the command lines they
show must run, and the README's command table, its exit codes and docs/cli.md must be the CLI's own."""

from __future__ import annotations

import difflib
import importlib.util
import re
import shlex
from pathlib import Path

import click
import pytest

from loanscore.cli.main import EPILOG, main

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation but hyphens dropped, spaces as hyphens."""
    anchors, fenced = set(), False
    for line in page.read_text("utf-8").splitlines():
        fenced ^= line.startswith("```")
        if not fenced and re.match(r"#+ ", line):
            anchors.add(re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-"))
    return anchors


def test_readme_links_every_page_of_docs() -> None:
    linked = {target.partition("#")[0] for target in LINK.findall(PAGES[0].read_text("utf-8"))}
    unlinked = [page.name for page in PAGES[1:] if f"docs/{page.name}" not in linked]
    assert PAGES[1:] and not unlinked, f"docs/ pages the README does not link to: {unlinked}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    broken = []
    for target in LINK.findall(page.read_text("utf-8")):
        if re.match(r"[a-z]+://", target):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
            broken.append(f"{target}: no heading with that anchor in {file.name}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def _command_lines(page: Path) -> list[tuple[int, str]]:
    """Each ``loanscore ...`` in the page's shell blocks (after ``$``, a pipe or ``&&`` too), with its line number."""
    found, fenced, shell = [], False, False
    for number, line in enumerate(page.read_text("utf-8").splitlines(), 1):
        if line.startswith("```"):
            fenced, shell = not fenced, line[3:].strip() in ("bash", "sh", "")
        elif fenced and shell:
            for part in re.split(r"\s(?:\||&&|;)\s", line.strip().removeprefix("$ ")):
                if re.match(r"(\S*/)?loanscore ", part.strip()):
                    found.append((number, re.sub(r"\s#.*$", "", part.strip())))
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_command_line_shown_parses(page: Path) -> None:
    """The options, values and arguments of every command the docs show are the commands' own: click parses each
    as the command would (files need not exist; a shell's redirections are left out)."""
    wrong = []
    for number, line in _command_lines(page):
        words = shlex.split(line)[1:]
        words = [w for i, w in enumerate(words) if not re.match(r"\d?[<>]", w) and not (i and re.fullmatch(
            r"\d?[<>]+", words[i - 1]))]
        # closed after each line: an option such as --sheet sets a value for its run until the root context closes
        with main.make_context("loanscore", [], resilient_parsing=True) as root:
            command: click.Command = main
            while isinstance(command, click.Group) and words:
                name, *words = words
                sub = command.get_command(root, name)
                if sub is None:
                    wrong.append(f"line {number}: no command {name!r}: {line}")
                    break
                command = sub
            else:
                try:
                    command.make_context(command.name, words, parent=root).close()
                except click.exceptions.Exit:
                    pass
                except click.ClickException as exc:
                    if "does not exist" not in exc.format_message():
                        wrong.append(f"line {number}: {exc.format_message()}: {line}")
    assert not wrong, f"{page.relative_to(ROOT)}: " + "; ".join(wrong)


def _command_paths(group: click.Group, prefix: str = "loanscore") -> list[str]:
    paths = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            paths += _command_paths(command, f"{prefix} {name}")
        else:
            paths.append(f"{prefix} {name}")
    return paths


def test_readme_command_table_names_every_subcommand() -> None:
    rows = [line for line in (ROOT / "README.md").read_text("utf-8").splitlines() if line.startswith("| `loanscore ")]
    table = " ".join(rows)
    # the table writes the report group's subcommands as "loanscore report eda / model"
    table = table.replace("loanscore report eda / model", "loanscore report eda loanscore report model")
    table = table.replace("`schema check", "`loanscore schema check")
    missing = [path for path in _command_paths(main) if not re.search(re.escape(path) + r"\b", table)]
    assert not missing, f"the README's command table lacks {missing}"


def test_readme_exit_codes_are_the_clis() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme[readme.index("### Exit codes"):readme.index("## Python API")]
    documented = re.findall(r"^\| (\d+) \|", section, flags=re.M)
    in_help = re.findall(r"^  (\d+) ", EPILOG, flags=re.M)
    assert documented == in_help and documented[:2] == ["0", "1"]


def test_command_reference_is_what_the_commands_say() -> None:
    spec = importlib.util.spec_from_file_location("cli_reference", ROOT / "docs" / "cli_reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page, now = module.PAGE.read_text("utf-8"), module.reference()
    if not module.same(page, now):
        diff = difflib.unified_diff(page.splitlines(), now.splitlines(), "docs/cli.md", "the commands now", n=1,
                                    lineterm="")
        pytest.fail("docs/cli.md is out of date: run python docs/cli_reference.py\n" + "\n".join(list(diff)[:40]))
