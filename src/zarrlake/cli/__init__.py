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


def entry() -> None:
    """Run :func:`main` as the ``zarrlake`` command, and end the process promptly.

    After a command, tearing the interpreter down (freeing every module, array and
    thread state) takes 0.4-1 s of a conversion's wall time and does nothing the
    command needs. So once :func:`main` is done, the steps of a normal exit that matter
    run here — non-daemon threads joined, exit handlers, logs and output flushed —
    and the process ends with its status without the teardown.
    """
    import atexit
    import contextlib
    import logging
    import os
    import threading

    try:
        main()
        code = 0
    except SystemExit as exit:
        if exit.code is None or isinstance(exit.code, int):
            code = exit.code or 0
        else:
            print(exit.code, file=sys.stderr)
            code = 1
    shutdown_threads = getattr(threading, "_shutdown", None)
    if shutdown_threads is not None:
        shutdown_threads()  # what the interpreter does first on exit
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_handlers is None:  # not CPython: the ordinary exit
        sys.exit(code)
    run_exit_handlers()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing to say
            stream.flush()
    os._exit(code)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _print_error(markup: str) -> None:
    from zarrlake.cli._common import err_console

    err_console.print(markup, highlight=False)
