"""The ``zarrlake`` typer app: the root options and the commands, imported when used.

Each command lives in its own module (``info``, ``append``, ``meta``, ``convert``,
``catalog``) and is imported only when it runs or shows its own ``--help``; this root
``--help`` lists them from the one-line help below (``tests/cli/test_help.py`` checks it
against each command's docstring).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zarrlake._version import __version__
from zarrlake.cli._typer import LazyCommand, lazy_group
from zarrlake.errors import InvalidInputError

COMMANDS = {
    "info": LazyCommand(
        "zarrlake.cli.info:info",
        "Show the tree of a Zarr store: groups, arrays, chunks, codecs and stored bytes.",
    ),
    "append": LazyCommand(
        "zarrlake.cli.append:append_command",
        "Append slices to a Zarr archive; each slice is one transaction.",
    ),
    "recover": LazyCommand(
        "zarrlake.cli.append:recover_command",
        "Finish or roll back an interrupted write, so the archive is whole again.",
    ),
    "meta": LazyCommand(
        "zarrlake.cli.meta:app", "Metadata health: validate, consolidate, repair, back up, restore."
    ),
    "convert": LazyCommand(
        "zarrlake.cli.convert:app", "Convert many NetCDF/HDF5 files into one Zarr archive."
    ),
    "catalog": LazyCommand(
        "zarrlake.cli.catalog:app",
        "The observation catalog: ingest, watch, validate, search, lineage.",
    ),
}

app = typer.Typer(
    name="zarrlake",
    cls=lazy_group("ZarrlakeRoot", COMMANDS),
    help="Build, grow, repair and find Zarr archives.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version_callback(value: bool) -> None:
    if value:
        print(f"zarrlake {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version."
        ),
    ] = False,
    log_level: Annotated[
        str | None,
        typer.Option(
            "--log-level",
            envvar="ZARRLAKE_LOG_LEVEL",
            help="Log zarrlake's events at this level and above: debug, info, warning, "
            "error (default: warnings only).",
        ),
    ] = None,
    log_file: Annotated[
        Path | None,
        typer.Option("--log-file", envvar="ZARRLAKE_LOG_FILE", help="Append the log to this file."),
    ] = None,
    log_format: Annotated[
        str,
        typer.Option(
            "--log-format",
            envvar="ZARRLAKE_LOG_FORMAT",
            help="text, or json (one object per line, with each event's figures).",
        ),
    ] = "text",
) -> None:
    """Build, grow, repair and find Zarr archives."""
    if log_level is None and log_file is None and log_format == "text":
        return  # nothing asked: warnings reach stderr as Python prints them
    from zarrlake._logging import configure

    try:
        configure(log_level or "info", log_file, log_format)  # type: ignore[arg-type]
    except ValueError as exc:
        raise InvalidInputError(str(exc), subject="--log-level/--log-format") from None
