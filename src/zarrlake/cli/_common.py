"""Options and helpers shared by the CLI command groups."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from zarrlake.config import config_help
from zarrlake.errors import InvalidInputError

console = Console()
err_console = Console(stderr=True)

StorageOptionArg = Annotated[
    list[str] | None,
    typer.Option(
        "--storage-option",
        "-o",
        help="Storage option KEY=VALUE for remote stores (repeatable), e.g. "
        "-o endpoint_url=http://127.0.0.1:9000 -o anon=true. Values are parsed as JSON "
        "when they can be.",
    ),
]


def parse_storage_options(pairs: list[str] | None) -> dict[str, Any] | None:
    """Turn repeated ``KEY=VALUE`` options into a dict (JSON values where they parse).

    Parameters
    ----------
    pairs
        The ``-o`` option values.

    Returns
    -------
    dict or None
        ``None`` when no option was given.

    Raises
    ------
    InvalidInputError
        For an entry without ``=``.
    """
    if not pairs:
        return None
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInputError(
                f"storage option {pair!r} is not KEY=VALUE",
                subject="--storage-option",
                hint="write it as -o key=value",
            )
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    return options


def human_bytes(size: float) -> str:
    """Format a byte count with binary units (``12.3 MiB``)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} PiB"


def progress_bar(title: str, *, quiet: bool = False) -> Progress:
    """Return the progress bar long CLI operations show (hidden with ``quiet``)."""
    return Progress(
        TextColumn(f"[bold]{title}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
        transient=True,
    )


def print_findings(report: Any, *, show_info: bool = False) -> None:
    """Print a report's findings, errors first (infos only with ``show_info``)."""
    from rich.markup import escape

    order = {"error": 0, "warning": 1, "info": 2}
    colours = {"error": "red", "warning": "yellow", "info": "blue"}
    for finding in sorted(report.issues, key=lambda f: order[f.severity]):
        if finding.severity == "info" and not show_info:
            continue
        colour = colours[finding.severity]
        console.print(
            f"[{colour}]{finding.severity}[/] {finding.code} {escape(finding.message)}"
            + (f" [dim](fix: {escape(finding.fix)})[/]" if finding.fix else ""),
            highlight=False,
        )


def help_config_callback(model: type[BaseModel]) -> Callable[[str | None], None]:
    """Return the eager callback of ``--help-config json|md`` that prints ``model``'s options."""

    def show(value: str | None) -> None:
        if value:
            typer.echo(config_help(model, value))
            raise typer.Exit()

    return show
