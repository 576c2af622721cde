"""The ``zarrlake`` command line: one module per command group, errors printed plainly.

This package imports neither typer nor rich: :func:`main` answers ``zarrlake --version``
at once and imports the typer app (``zarrlake.cli._app``, also ``zarrlake.cli.app``) for
everything else; the app imports each command's module only when that command is used.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from zarrlake.errors import ConversionError, InvalidInputError, NotFoundError, ZarrlakeError

if TYPE_CHECKING:
    from zarrlake.cli._app import app as app


def __getattr__(name: str) -> Any:
    """Import the typer app on first use of ``zarrlake.cli.app`` (PEP 562)."""
    if name == "app":
        from zarrlake.cli._app import app

        return app
    raise AttributeError(f"module 'zarrlake.cli' has no attribute {name!r}")


def exit_code(error: ZarrlakeError) -> int:
    """Exit status for an error: 2 for bad input or a missing thing, 1 otherwise."""
    if isinstance(error, ConversionError) and isinstance(error.__cause__, ZarrlakeError):
        error = error.__cause__  # zarrio's wrapper: the cause decides
    return 2 if isinstance(error, (InvalidInputError, NotFoundError)) else 1


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; zarrlake errors become one readable line and an exit status."""
    if (sys.argv[1:] if argv is None else argv) == ["--version"]:
        # what scripts and installers probe most: answered without building the CLI
        # (typer and rich cost ~0.2 s); same output and exit status as the option
        from zarrlake._version import __version__

        print(f"zarrlake {__version__}")
        sys.exit(0)
    from zarrlake._warnings import silence_known_zarr_warnings

    silence_known_zarr_warnings()
    from zarrlake.cli._app import app

    try:
        app(args=argv)
    except ZarrlakeError as error:
        _print_error(f"[bold red]error:[/] {_escape(str(error))}")
        sys.exit(exit_code(error))
    except KeyboardInterrupt:
        _print_error("[bold red]interrupted[/] (Ctrl-C)")
        sys.exit(130)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _print_error(markup: str) -> None:
    from zarrlake.cli._common import err_console

    err_console.print(markup, highlight=False)
