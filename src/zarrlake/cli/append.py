"""``zarrlake append`` and ``zarrlake recover``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from zarrlake.cli._common import (
    InputOptionArg,
    StorageOptionArg,
    config_default,
    console,
    err_console,
    help_config_option,
    human_bytes,
    json_failure,
    option_sets,
    parse_storage_options,
    progress_bar,
    recorded,
)
from zarrlake.errors import InvalidInputError, ZarrlakeError

if TYPE_CHECKING:
    from zarrlake.append import SliceReport

HelpConfigArg = Annotated[str | None, help_config_option("zarrlake.append:AppendConfig")]
# the lock defaults of AppendConfig (LockOptions), checked against the model by the tests
LOCK_DEFAULTS: dict[str, object] = {"wait": True, "timeout": 60.0}
APPEND_DIM_DEFAULT = "time"  # AppendConfig's, checked by the tests


def _recorded(
    catalog: str | None,
    target: str | None,
    config: list[str] | None,
    items: list[str],
    overrides: dict[str, object],
    dry_run: bool,
) -> AbstractContextManager[object]:
    if catalog is None or dry_run:
        return nullcontext()
    from zarrlake.append import load_append_config

    settings = load_append_config(config or None, target_dir=target, **overrides)
    if not settings.target_dir:
        raise InvalidInputError(
            "no target given", subject="target_dir", hint="pass --target or set target_dir"
        )
    return recorded(
        catalog,
        settings.target_dir,
        items,
        actor="zarrlake append",
        storage_options=settings.target_storage_options,
    )


def append_command(
    slices: Annotated[
        list[str] | None, typer.Argument(help="Slice files or URLs (NetCDF, HDF5, Zarr), in order.")
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", "-t", help="Target archive path or URL (target_dir).")
    ] = None,
    config: Annotated[
        list[str] | None,
        typer.Option("--config", "-c", help="Config JSON/YAML file; several are merged in order."),
    ] = None,
    append_dim: Annotated[
        str | None,
        typer.Option(
            "--append-dim",
            help="The dimension slices are appended along.",
            show_default=config_default(APPEND_DIM_DEFAULT),
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate only; write nothing.")
    ] = False,
    force_new: Annotated[
        bool, typer.Option("--force-new", help="Replace an existing target.")
    ] = False,
    wait_lock: Annotated[
        bool | None,
        typer.Option(
            "--wait-lock/--no-wait-lock",
            help="Wait for a locked target, or fail at once.",
            show_default=config_default("wait-lock" if LOCK_DEFAULTS["wait"] else "no-wait-lock"),
        ),
    ] = None,
    lock_timeout: Annotated[
        float | None,
        typer.Option(
            "--lock-timeout",
            help="Seconds to wait for the lock.",
            show_default=config_default(LOCK_DEFAULTS["timeout"]),
        ),
    ] = None,
    break_lock: Annotated[
        bool, typer.Option("--break-lock", help="Break a stale lock left by a writer elsewhere.")
    ] = False,
    storage_option: StorageOptionArg = None,
    input_option: InputOptionArg = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    catalog: Annotated[
        str | None,
        typer.Option(
            "--catalog",
            help="Record the run in this catalog (URL): the target's status and metadata, "
            "and every slice file linked to it (derived_from).",
        ),
    ] = None,
    help_config: HelpConfigArg = None,
) -> None:
    """Append slices to a Zarr archive; each slice is one transaction."""
    from zarrlake.append import append

    lock: dict[str, object] = {}
    if wait_lock is not None:
        lock["wait"] = wait_lock
    if lock_timeout is not None:
        lock["timeout"] = lock_timeout
    if break_lock:
        lock["break_stale"] = True
    overrides: dict[str, Any] = {
        "append_dim": append_dim,
        "dry_run": dry_run or None,
        "force_new": force_new or None,
    }
    slice_options, options = option_sets(storage_option, input_option, target=target)
    if options:
        overrides["target_storage_options"] = options
    if slice_options:
        overrides["slice_storage_options"] = slice_options
    if lock:
        overrides["lock"] = lock
    items = slices or []
    reports: list[SliceReport] = []

    def done(error: BaseException) -> dict[str, object]:
        return _payload(target, dry_run, reports, _untried(error, reports, items))

    with (
        json_failure(as_json, done),
        _told_what_was_done(reports, items, dry_run, quiet=as_json),
        _recorded(catalog, target, config, items, overrides, dry_run),
        progress_bar("append", quiet=as_json) as progress,
    ):
        task = progress.add_task("", total=len(items) or None)

        def advance(report: SliceReport) -> None:
            reports.append(report)
            progress.update(task, advance=1, description=f"{report.name}: {report.status}")

        result = append(items, target, config or None, on_slice=advance, **overrides)
    if as_json:
        payload = {"ok": True, **asdict(result)}
        payload |= {"appended": result.appended, "skipped": result.skipped}
        console.print_json(json.dumps(payload, default=str))
        return
    _print_slices(result.slices, f"{result.target} (zarr v{result.zarr_format})")
    verb = "would append" if result.dry_run else "appended"
    console.print(
        f"{verb} {result.appended} slice(s), skipped {result.skipped}; "
        f"length along the append dimension: {result.length}; recovery: {result.recovered}"
    )


_COMMITTED = ("created", "appended", "replaced")


def _payload(
    target: str | None, dry_run: bool, reports: list[SliceReport], untried: list[str]
) -> dict[str, object]:
    """Describe what a failed run did: each slice's report, and the slices not reached."""
    return {
        "target": target,
        "dry_run": dry_run,
        "slices": [asdict(r) for r in reports],
        "appended": sum(r.status in _COMMITTED for r in reports),
        "not_attempted": untried,
    }


def _untried(error: BaseException, reports: list[SliceReport], items: list[str]) -> list[str]:
    """Return the slices a stopped run never tried (globs expanded, when append knew them)."""
    from zarrlake.append import AppendResult

    done = getattr(error, "partial_result", None)
    if isinstance(done, AppendResult):
        return done.not_attempted
    return items[len(reports) :]


@contextmanager
def _told_what_was_done(
    reports: list[SliceReport], items: list[str], dry_run: bool, *, quiet: bool
) -> Iterator[None]:
    """On failure or Ctrl-C, say which slices are in the archive and which were not tried."""
    try:
        yield
    except (ZarrlakeError, KeyboardInterrupt) as error:
        if not quiet and reports:
            _print_slices(reports, "before the run stopped", err=True)
            if not dry_run:
                committed = [r.name for r in reports if r.status in _COMMITTED]
                err_console.print(
                    f"committed: {len(committed)} slice(s)"
                    + (f" ({', '.join(committed)})" if committed else "")
                    + "; a slice in progress was not committed",
                    highlight=False,
                )
        untried = _untried(error, reports, items)
        if not quiet and untried:
            err_console.print(f"not attempted: {', '.join(untried)}", highlight=False)
        raise


def _print_slices(reports: list[SliceReport], title: str, *, err: bool = False) -> None:
    table = Table(title=title)
    reasons = any(r.reason for r in reports)
    columns = ["slice", "status", "steps", "labels", "bytes", "seconds"]
    for column in columns + (["reason"] if reasons else []):
        table.add_column(column, overflow="fold")
    for report in reports:
        labels = f"{report.first_label} .. {report.last_label}" if report.first_label else ""
        cells = [
            escape(report.name),
            report.status,
            str(report.steps),
            labels,
            human_bytes(report.bytes_written),
            f"{report.seconds:.2f}",
        ]
        table.add_row(*cells, *([escape(report.reason)] if reasons else []))
    (err_console if err else console).print(table)
    for report in reports:
        if report.warning:
            (err_console if err else console).print(
                f"warning: {escape(report.name)} {escape(report.warning)}", highlight=False
            )


def recover_command(
    url: Annotated[str, typer.Argument(help="Archive path or URL.")],
    break_lock: Annotated[
        bool, typer.Option("--break-lock", help="Break a stale lock left by a writer elsewhere.")
    ] = False,
    storage_option: StorageOptionArg = None,
) -> None:
    """Finish or roll back an interrupted write, so the archive is whole again."""
    from zarrlake.storage import open_store
    from zarrlake.txn import LockOptions, recover

    store = open_store(url, mode="r+", storage_options=parse_storage_options(storage_option))
    outcome = recover(store, LockOptions(break_stale=break_lock, wait=False))
    messages = {
        "clean": "nothing to recover",
        "rolled_back": "an interrupted write was rolled back",
        "rolled_forward": "an interrupted write had committed; its clean-up was finished",
    }
    console.print(f"{url}: {messages[outcome]}")
