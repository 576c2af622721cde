"""The ``zarrlake`` command line: one module per command group, errors printed plainly."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from zarrlake._version import __version__
from zarrlake._warnings import silence_known_zarr_warnings
from zarrlake.cli import append as _append
from zarrlake.cli import catalog as _catalog
from zarrlake.cli import convert as _convert
from zarrlake.cli import info as _info
from zarrlake.cli import meta as _meta
from zarrlake.cli._common import err_console
from zarrlake.errors import ConversionError, InvalidInputError, NotFoundError, ZarrlakeError

app = typer.Typer(
    name="zarrlake",
    help="Build, grow, repair and find Zarr archives.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("info")(_info.info)
app.command("append")(_append.append_command)
app.command("recover")(_append.recover_command)
app.add_typer(_meta.app, name="meta")
app.add_typer(_convert.app, name="convert")
app.add_typer(_catalog.app, name="catalog")


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


def exit_code(error: ZarrlakeError) -> int:
    """Exit status for an error: 2 for bad input or a missing thing, 1 otherwise."""
    if isinstance(error, ConversionError) and isinstance(error.__cause__, ZarrlakeError):
        error = error.__cause__  # zarrio's wrapper: the cause decides
    return 2 if isinstance(error, (InvalidInputError, NotFoundError)) else 1


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; zarrlake errors become one readable line and an exit status."""
    silence_known_zarr_warnings()
    try:
        app(args=argv)
    except ZarrlakeError as error:
        err_console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
        sys.exit(exit_code(error))
    except KeyboardInterrupt:
        err_console.print("[bold red]interrupted[/] (Ctrl-C)", highlight=False)
        sys.exit(130)
