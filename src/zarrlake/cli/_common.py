"""Options and helpers shared by the CLI command groups.

Command modules import only typer, rich and this module at import time; each command
imports the parts it uses when it runs, so ``zarrlake --version`` and ``--help`` start
fast.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import json
import sys
import typing
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import typer
from rich.console import Console

from zarrlake.errors import InvalidInputError, ZarrlakeError

if TYPE_CHECKING:
    from rich.progress import Progress

# Lines are not wrapped when the output is a file or a pipe (logs, CI, grep): a message
# or path cut at 80 columns cannot be searched for or copied.
console = Console(soft_wrap=not sys.stdout.isatty())
err_console = Console(stderr=True, soft_wrap=not sys.stderr.isatty())

StorageOptionArg = Annotated[
    list[str] | None,
    typer.Option(
        "--storage-option",
        "-o",
        metavar="KEY=VALUE",
        help="Storage option KEY=VALUE for remote stores (repeatable), e.g. "
        "-o endpoint_url=http://127.0.0.1:9000 -o anon=true. Values are parsed as JSON "
        "when they can be.",
    ),
]


InputOptionArg = Annotated[
    list[str] | None,
    typer.Option(
        "--input-option",
        metavar="KEY=VALUE",
        help="Storage option KEY=VALUE for the inputs only (repeatable), when they need "
        "other options than the target; default: the -o options.",
    ),
]


def config_default(value: object) -> str:
    """Return the ``show_default`` text of an option whose default lives in a config model.

    The option's own default is ``None`` (a config file's value must win over it), so
    help states the model's default as text: ``[default: (config file, else 3)]``. The
    value is written out in the command module rather than read from the model, which
    would import pydantic for ``--help``; ``tests/cli/test_help.py`` compares the two.
    """
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return f"config file, else {text}"


def option_sets(
    storage_option: list[str] | None,
    input_option: list[str] | None = None,
    *,
    target: str | None = None,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Return the storage options of the inputs and of the target.

    ``-o`` reaches both (inputs and target usually live on one object store);
    ``--input-option`` replaces it for the inputs when they live elsewhere. A local
    target takes no options: ``-o`` then serves the remote inputs only.

    Parameters
    ----------
    storage_option
        The ``-o`` values.
    input_option
        The ``--input-option`` values.
    target
        The target's path or URL, when known.

    Returns
    -------
    tuple
        The inputs' options and the target's (``None`` where none were given).
    """
    options = parse_storage_options(storage_option)
    inputs = parse_storage_options(input_option) if input_option else options
    from zarrlake.storage.remote import is_remote

    if target is not None and not is_remote(target):
        return inputs, None
    return inputs, options


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
    # imported here: a command's --help shows no progress bar
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

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


def help_config_option(model: str) -> Any:
    """Return the ``--help-config json|md`` option that prints a config model's options.

    Parameters
    ----------
    model
        ``"module:Model"``, imported only when the option is given.

    Use as ``Annotated[str | None, help_config_option("zarrlake.append:AppendConfig")]``.
    """

    def show(value: str | None) -> None:
        if value:
            from zarrlake.config import config_help

            module, _, name = model.partition(":")
            typer.echo(config_help(getattr(importlib.import_module(module), name), value))
            raise typer.Exit()

    return typer.Option(
        "--help-config",
        callback=show,
        is_eager=True,
        help="Show every config option (json or md) and exit.",
    )


def recorded(
    catalog: str | None,
    target: str,
    inputs: list[str],
    *,
    actor: str,
    storage_options: dict[str, Any] | None,
) -> AbstractContextManager[object]:
    """Record a run's lineage in ``catalog`` (nothing when ``None``): inputs -> target."""
    if catalog is None:
        return nullcontext()
    from zarrlake.catalog.pipeline import tracked

    return tracked(catalog, target, inputs, actor=actor, storage_options=storage_options)


def error_payload(error: BaseException) -> dict[str, Any]:
    """Describe an error for a ``--json`` report: its kind, message, subject and hint."""
    if isinstance(error, KeyboardInterrupt):
        return {"type": "Interrupted", "message": "interrupted (Ctrl-C)"}
    if isinstance(error, ZarrlakeError):
        return {
            "type": type(error).__name__,
            "message": error.message,
            "subject": error.subject,
            "hint": error.hint,
        }
    return {"type": type(error).__name__, "message": str(error)}


@contextmanager
def json_failure(
    as_json: bool, done: Callable[[BaseException], dict[str, Any]] | None = None
) -> Iterator[None]:
    """Print the ``--json`` report also when the command fails, then fail as before.

    On a zarrlake error or Ctrl-C, with ``as_json``, stdout gets ``{"ok": false,
    "error": {...}}`` plus what ``done(error)`` says was done before the failure; the
    error then propagates, so stderr and the exit status are those of every failure.
    """
    try:
        yield
    except (ZarrlakeError, KeyboardInterrupt) as error:
        if as_json:
            payload = {"ok": False, **(done(error) if done is not None else {})}
            payload["error"] = error_payload(error)
            console.print_json(json.dumps(payload, default=str))
        raise


CommandT = TypeVar("CommandT", bound=Callable[..., Any])


def option_group(group: type[Any], argument: str) -> Callable[[CommandT], CommandT]:
    """Give a command the options declared as fields of the dataclass ``group``.

    Each field (``Annotated[type, typer.Option(...)]`` with a default) becomes an option
    of the decorated command, which receives them together as one ``group`` instance in
    its parameter ``argument``: options shared by several commands are declared once.
    """
    hints = typing.get_type_hints(group, include_extras=True)
    fields = dataclasses.fields(group)

    def decorate(command: CommandT) -> CommandT:
        signature = inspect.signature(command, eval_str=True)  # typer reads the Annotated
        kept = [p for p in signature.parameters.values() if p.name != argument]
        added = [
            inspect.Parameter(
                field.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=field.default,
                annotation=hints[field.name],
            )
            for field in fields
        ]

        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            values = {field.name: kwargs.pop(field.name) for field in fields}
            return command(*args, **kwargs, **{argument: group(**values)})

        wrapper.__signature__ = signature.replace(parameters=[*kept, *added])  # type: ignore[attr-defined]
        return cast(CommandT, wrapper)

    return decorate
