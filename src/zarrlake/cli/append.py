"""``zarrlake append`` and ``zarrlake recover``."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from zarrlake.cli._common import (
    StorageOptionArg,
    console,
    help_config_option,
    human_bytes,
    parse_storage_options,
    progress_bar,
    recorded,
)
from zarrlake.errors import InvalidInputError

if TYPE_CHECKING:
    from zarrlake.append import SliceReport

HelpConfigArg = Annotated[str | None, help_config_option("zarrlake.append:AppendConfig")]


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
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate only; write nothing.")
    ] = False,
    force_new: Annotated[
        bool, typer.Option("--force-new", help="Replace an existing target.")
    ] = False,
    wait_lock: Annotated[
        bool | None,
        typer.Option(
            "--wait-lock/--no-wait-lock", help="Wait for a locked target, or fail at once."
        ),
    ] = None,
    lock_timeout: Annotated[
        float | None, typer.Option("--lock-timeout", help="Seconds to wait for the lock.")
    ] = None,
    break_lock: Annotated[
        bool, typer.Option("--break-lock", help="Break a stale lock left by a writer elsewhere.")
    ] = False,
    storage_option: StorageOptionArg = None,
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
    overrides: dict[str, Any] = {"dry_run": dry_run or None, "force_new": force_new or None}
    options = parse_storage_options(storage_option)
    if options:
        overrides["target_storage_options"] = options
    if lock:
        overrides["lock"] = lock
    items = slices or []
    with (
        _recorded(catalog, target, config, items, overrides, dry_run),
        progress_bar("append", quiet=as_json) as progress,
    ):
        task = progress.add_task("", total=len(items) or None)

        def advance(report: SliceReport) -> None:
            progress.update(task, advance=1, description=f"{report.name}: {report.status}")

        result = append(items, target, config or None, on_slice=advance, **overrides)
    if as_json:
        payload = asdict(result) | {"appended": result.appended, "skipped": result.skipped}
        console.print_json(json.dumps(payload, default=str))
        return
    table = Table(title=f"{result.target} (zarr v{result.zarr_format})")
    for column in ("slice", "status", "steps", "labels", "bytes", "seconds"):
        table.add_column(column)
    for report in result.slices:
        labels = f"{report.first_label} .. {report.last_label}" if report.first_label else ""
        table.add_row(
            report.name,
            report.status,
            str(report.steps),
            labels,
            human_bytes(report.bytes_written),
            f"{report.seconds:.2f}",
        )
    console.print(table)
    for report in result.slices:
        if report.warning:
            console.print(f"warning: {report.name} {report.warning}")
    verb = "would append" if result.dry_run else "appended"
    console.print(
        f"{verb} {result.appended} slice(s), skipped {result.skipped}; "
        f"length along the append dimension: {result.length}; recovery: {result.recovered}"
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
