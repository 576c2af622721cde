"""The documentation's examples run: every ```python block, and every `zarrlake` CLI line.

Python blocks of README.md and docs/*.md run in order, one test per block (its id is
``page:line`` of the opening fence). The blocks of one page share one namespace and one
working directory (a fresh temporary folder per page), as a reader at a prompt would:
a page's first block may make the small files the later ones use. Running one block
alone (``-k 'docs/append.md:120'``) first runs the page's earlier blocks.

Two HTML comments, on the line before a fence (blank lines between are allowed;
invisible in the rendered docs), mark blocks that are not plain runnable examples:

``<!-- no-run: REASON -->``
    the block is collected as a skip with that reason (it needs a server, a cluster,
    credentials...). Keep these few.
``<!-- file: NAME -->``
    the block's text is written to NAME in the page's folder when the page reaches it
    (a config file that later examples read); the block itself is shown as it is.

Bash blocks are not run, but each `zarrlake ...` line in them must name an existing
command and only options that command has.
"""

from __future__ import annotations

import re
import shlex
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import typer.main

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<kind>no-run|file):\s*(?P<value>.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: str  # relative to the repository root
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    skip: str | None = None  # the no-run reason
    file: str | None = None  # write the block to this file

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def read_blocks(path: Path) -> list[Block]:
    """Return the fenced blocks of a Markdown page, with their markers."""
    lines = path.read_text().splitlines()
    page = path.relative_to(ROOT).as_posix()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence = opening["fence"]
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        end = i + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        if end == len(lines):
            raise AssertionError(f"{page}:{i + 1}: code fence never closed")
        previous = i - 1
        while previous >= 0 and not lines[previous].strip():
            previous -= 1
        marker = _MARKER.match(lines[previous]) if previous >= 0 else None
        kind, value = (marker["kind"], marker["value"]) if marker else (None, None)
        if kind == "no-run" and not value:
            raise AssertionError(f"{page}:{previous + 1}: a no-run marker needs a reason")
        found.append(
            Block(
                page=page,
                line=i + 1,
                lang=(opening["info"].split() or [""])[0].lower(),
                code=textwrap.dedent("\n".join(lines[i + 1 : end])),
                skip=value if kind == "no-run" else None,
                file=value if kind == "file" else None,
            )
        )
        i = end + 1
    return found


BLOCKS = {page: read_blocks(page) for page in PAGES}
PYTHON = [b for blocks in BLOCKS.values() for b in blocks if b.lang == "python" and not b.file]


@dataclass
class PageSession:
    """The namespace and working directory a page's blocks share."""

    folder: Path
    namespace: dict[str, Any] = field(default_factory=lambda: {"__name__": "__main__"})
    done: set[int] = field(default_factory=set)


@pytest.fixture(scope="module")
def sessions() -> dict[str, PageSession]:
    return {}


def _run(block: Block, session: PageSession) -> None:
    session.done.add(block.line)
    if block.file:
        (session.folder / block.file).write_text(block.code + "\n")
        return
    # Pad with newlines so tracebacks point at the page's own line numbers.
    source = "\n" * block.line + block.code
    exec(compile(source, str(ROOT / block.page), "exec"), session.namespace)


def _param(block: Block) -> Any:
    marks = [pytest.mark.skip(reason=f"{block.id} no-run: {block.skip}")] if block.skip else []
    return pytest.param(block, id=block.id, marks=marks)


@pytest.mark.parametrize("block", [_param(b) for b in PYTHON])
def test_python_example(
    block: Block,
    sessions: dict[str, PageSession],
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if block.page not in sessions:
        folder = tmp_path_factory.mktemp(re.sub(r"\W+", "-", block.page))
        sessions[block.page] = PageSession(folder)
    session = sessions[block.page]
    monkeypatch.chdir(session.folder)
    for earlier in BLOCKS[ROOT / block.page]:
        if earlier.line >= block.line:
            break
        runs = earlier.file or (earlier.lang == "python" and not earlier.skip)
        if runs and earlier.line not in session.done:
            _run(earlier, session)
    _run(block, session)


def test_every_page_has_examples_that_run() -> None:
    """Skips stay the exception: no page runs none of its Python examples."""
    for blocks in BLOCKS.values():
        python = [b for b in blocks if b.lang == "python" and not b.file]
        if python:
            assert any(not b.skip for b in python), f"{python[0].page}: every example skipped"


# --- CLI lines in bash blocks -------------------------------------------------------------


def _command_lines(block: Block) -> list[tuple[int, list[str]]]:
    """Return (line, tokens) of each `zarrlake ...` command in a shell block."""
    found = []
    pending: list[str] = []
    start = 0
    for offset, raw in enumerate(block.code.splitlines(), start=1):
        if not pending:
            start = block.line + offset
        if raw.rstrip().endswith("\\"):
            pending.append(raw.rstrip()[:-1])
            continue
        text = " ".join([*pending, raw])
        pending = []
        tokens = shlex.split(text, comments=True)
        for stop in ("|", ">", ">>", "&&", ";", "||"):
            if stop in tokens:
                tokens = tokens[: tokens.index(stop)]
        while tokens and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", tokens[0]):
            tokens = tokens[1:]  # environment assignments
        if tokens and tokens[0] == "zarrlake":
            found.append((start, [t.strip("[]") for t in tokens[1:]]))
    return found


COMMANDS = [
    pytest.param(tokens, id=f"{b.page}:{line}")
    for blocks in BLOCKS.values()
    for b in blocks
    if b.lang in ("bash", "sh", "shell", "console")
    for line, tokens in _command_lines(b)
]


def _options(command: Any) -> dict[str, Any]:
    """Option name -> parameter of a (typer's vendored) click command."""
    names: dict[str, Any] = {"--help": None}
    for param in command.params:
        if param.param_type_name == "option":
            for name in [*param.opts, *param.secondary_opts]:
                names[name] = param
    return names


@pytest.mark.parametrize("tokens", COMMANDS)
def test_cli_example_names_a_real_command_and_its_options(tokens: list[str]) -> None:
    from zarrlake.cli import app

    command = typer.main.get_command(app)
    path = ["zarrlake"]
    rest = list(tokens)
    while hasattr(command, "commands") and rest:
        group_options = _options(command)
        while rest and rest[0].split("=", 1)[0] in group_options and rest[0] != "--help":
            token = rest.pop(0)  # the group's own option (--log-level info), and its value
            param = group_options[token.split("=", 1)[0]]
            if not param.is_flag and "=" not in token and rest:
                rest.pop(0)
        if not rest or rest[0].startswith("-"):
            break
        name = rest.pop(0)
        assert name in command.commands, f"`{' '.join(path)}` has no command {name!r}"
        command = command.commands[name]
        path.append(name)
    if hasattr(command, "commands"):
        assert rest[:1] == ["--help"], f"`{' '.join(path)}` needs a command"
    options = _options(command)
    i = 0
    while i < len(rest):
        token = rest[i]
        i += 1
        if not token.startswith("-") or token in ("-", "..."):
            continue
        name = token.split("=", 1)[0]
        assert name in options, f"`{' '.join(path)}` has no option {name}"
        param = options[name]
        takes_value = param is not None and not param.is_flag and not param.count
        if takes_value and "=" not in token:
            i += 1  # its value, which may start with '-' (--sort -time)
