"""Every command's ``--help``: plain types, help text on every option, defaults shown.

The help is printed as a user's pipe gets it: not a terminal, 200 columns. Each option's
row of the options table is found by its name and checked against the option itself
(type label, help text, default).
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from typing import Any

import pytest
import typer

from tests.subprocesses import ROOT, run_zarrlake
from zarrlake.cli import app, main
from zarrlake.cli._app import COMMANDS
from zarrlake.cli._typer import plain_type

# typer's own type labels: <str>, <bool>, <list[str]>, <path>, <int>...
TYPER_LABEL = re.compile(r"<[a-z_]+(\[[^\]]*\])?>")


def _commands() -> dict[str, Any]:
    """``"meta validate"`` -> its click command, for the root and every (sub-)command."""
    found: dict[str, Any] = {}

    def walk(command: Any, path: list[str]) -> None:
        found[" ".join(path)] = command
        for name in getattr(command, "commands", {}):
            walk(command.commands[name], [*path, name])

    walk(typer.main.get_command(app), [])
    return found


COMMAND_PATHS = sorted(_commands())


def _help(path: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as exit_info:
        main([*path.split(), "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "Usage:" in out
    return out


def _name(param: Any) -> str:
    """The name a parameter's row starts with: its first option, or the argument's name."""
    if param.param_type_name == "option":
        return str(param.opts[0])
    return str(param.metavar or param.name)


def _rows(out: str, names: set[str]) -> dict[str, str]:
    """Parameter name -> its row of the options/arguments tables (wrapped lines joined)."""
    rows: dict[str, str] = {}
    current = None
    for line in out.splitlines():
        if not line.lstrip().startswith("│"):
            current = None  # a panel's border, usage or description
            continue
        tokens = line.strip().strip("│").split()
        if tokens and tokens[0] == "*":
            tokens = tokens[1:]  # the required marker
        if tokens and tokens[0].rstrip(".") in names:
            current = tokens[0].rstrip(".")
            rows[current] = " ".join(tokens)
        elif current is not None:
            rows[current] += " " + " ".join(tokens)
    return rows


def _default_text(param: Any) -> str | None:
    """What ``[default: ...]`` should say for a parameter, or ``None`` when nothing."""
    if isinstance(getattr(param, "show_default", None), str):
        return f"({param.show_default})"  # a default described, e.g. a config model's
    default = param.default
    if default is None or default == "" or isinstance(default, (list, tuple)):
        return None
    if getattr(param, "is_flag", False):
        if not default:
            return None  # a flag that is off unless given: nothing to show
        return param.opts[0].lstrip("-") if param.secondary_opts else str(default)
    return str(default)


@pytest.mark.parametrize("path", COMMAND_PATHS)
def test_help_shows_plain_types_help_and_defaults(
    path: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _help(path, capsys, monkeypatch)
    assert not TYPER_LABEL.search(out), TYPER_LABEL.search(out)
    command = _commands()[path]
    rows = _rows(out, {_name(p) for p in command.params})
    for param in command.params:
        name = _name(param)
        row = rows.get(name)
        assert row is not None, f"{path}: no row for {name} in\n{out}"
        assert param.help, f"zarrlake {path}: {name} has no help text"
        assert " ".join(param.help.split())[:40] in row, f"{path} {name}: {row}"
        label = param.metavar if param.param_type_name == "option" and param.metavar else None
        label = label or plain_type(param)
        if label is not None:
            assert f" {label} " in f" {row} ", f"{path} {name}: type {label!r} not in {row}"
        default = _default_text(param)
        if default is not None:
            assert f"[default: {default}]" in row, f"{path} {name}: no default in {row}"


def test_types_are_click_names(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _rows(
        _help("catalog search", capsys, monkeypatch), {"--limit", "--min-quality", "--catalog"}
    )
    assert "--limit INTEGER Page size. [default: 50]" in rows["--limit"]
    assert "--min-quality FLOAT" in rows["--min-quality"]
    assert "--catalog -c TEXT" in rows["--catalog"]
    rows = _rows(_help("append", capsys, monkeypatch), {"--storage-option", "--dry-run", "slices"})
    assert "--storage-option -o KEY=VALUE" in rows["--storage-option"]
    assert rows["--dry-run"].startswith("--dry-run Validate only")  # a flag: no type
    assert rows["slices"].startswith("slices... TEXT")  # an argument: its type, not <list[str]>
    rows = _rows(_help("", capsys, monkeypatch), {"--log-file", "--log-format"})
    assert "--log-file PATH" in rows["--log-file"]
    assert "[default: text]" in rows["--log-format"]


def test_root_help_lists_each_command_with_its_own_first_paragraph(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The root lists lazy commands from ``COMMANDS``; that text is the command's own."""
    commands = _commands()
    for name, lazy in COMMANDS.items():
        command = commands[name]
        own = inspect.cleandoc(command.short_help or command.help or "").split("\n\n")[0]
        assert lazy.help == " ".join(own.split()), name
    out = _help("", capsys, monkeypatch)
    listed = [line.strip("│ ").split(" ", 1)[0] for line in out.splitlines() if "  " in line]
    assert [n for n in listed if n in COMMANDS] == list(COMMANDS)


def test_config_defaults_in_help_are_the_models() -> None:
    """Options whose default a config model holds state it without importing the model."""
    from zarrlake.append import AppendConfig
    from zarrlake.cli.append import APPEND_DIM_DEFAULT, LOCK_DEFAULTS
    from zarrlake.cli.convert import CONFIG_DEFAULTS
    from zarrlake.convert import ConvertConfig
    from zarrlake.txn import LockOptions

    for name, value in CONFIG_DEFAULTS.items():
        assert ConvertConfig.model_fields[name].default == value, name
    for name, value in LOCK_DEFAULTS.items():
        assert LockOptions.model_fields[name].default == value, name
    assert AppendConfig.model_fields["append_dim"].default == APPEND_DIM_DEFAULT


def test_described_defaults_are_shown(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _rows(_help("convert run", capsys, monkeypatch), {"--zarr-format", "--compression"})
    assert "[default: (config file, else 3)]" in rows["--zarr-format"]
    assert "[default: (config file, else blosc:zstd:3)]" in rows["--compression"]
    rows = _rows(_help("append", capsys, monkeypatch), {"--lock-timeout", "--wait-lock"})
    assert "[default: (config file, else 60.0)]" in rows["--lock-timeout"]
    assert "[default: (config file, else wait-lock)]" in rows["--wait-lock"]


@pytest.mark.parametrize("args", [["--help"], ["catalog", "search", "--help"]])
def test_help_in_a_pipe(args: list[str]) -> None:
    """The real command, output to a pipe (no terminal), as scripts and CI read it."""
    result = run_zarrlake(*args)
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
    assert not TYPER_LABEL.search(result.stdout)
    assert "\x1b[" not in result.stdout  # no colour codes in a pipe


def test_plain_help_without_rich() -> None:
    """typer's plain (click) layout, ``TYPER_USE_RICH=0``, shows the same plain types."""
    result = subprocess.run(
        [sys.executable, "-m", "zarrlake", "append", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={
            "COLUMNS": "200",
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
            "TYPER_USE_RICH": "0",
        },
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert not TYPER_LABEL.search(result.stdout)
    assert "slices... TEXT" in result.stdout
    assert "-o, --storage-option KEY=VALUE" in result.stdout
    assert "--lock-timeout FLOAT" in result.stdout
