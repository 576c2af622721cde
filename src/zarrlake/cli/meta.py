"""``zarrlake meta``: validate, consolidate, repair, back up, restore and list, at scale."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from zarrlake.cli._common import (
    StorageOptionArg,
    console,
    json_failure,
    parse_storage_options,
    progress_bar,
)
from zarrlake.cli._typer import ZarrlakeGroup

if TYPE_CHECKING:
    from zarrlake.meta import StoreOutcome

app = typer.Typer(
    cls=ZarrlakeGroup, help="Metadata health: validate, consolidate, repair, back up, restore."
)

UrlsArg = Annotated[
    list[str],
    typer.Argument(help="Stores: paths, globs like 'data/*.zarr', URLs, or s3://bucket/prefix/"),
]
JobsOpt = Annotated[int, typer.Option("--jobs", "-j", help="Stores processed at once.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print results as JSON.")]
JunitOpt = Annotated[Path | None, typer.Option("--junit", help="Write a JUnit XML report here.")]


def _run(
    urls: list[str],
    operation: Callable[[str], StoreOutcome],
    jobs: int,
    as_json: bool,
    junit: Path | None,
    title: str,
    options: dict[str, Any] | None,
) -> None:
    from zarrlake.meta import discover, junit_xml, run_many

    with json_failure(as_json, lambda _: {"urls": urls}):
        targets = discover(urls, options)
    with progress_bar(title, quiet=as_json) as progress:
        task = progress.add_task("", total=len(targets))
        outcomes = run_many(
            targets,
            operation,
            jobs=jobs,
            on_done=lambda o: progress.update(task, advance=1, description=escape(o.url)),
        )
    if junit is not None:
        junit.write_bytes(junit_xml(outcomes, f"zarrlake.meta.{title}"))
    if as_json:
        payload = [
            {
                "url": o.url,
                "ok": o.ok,
                "summary": o.summary,
                "error": o.error,
                "details": o.details,
                "report": o.report.to_json_dict() if o.report is not None else None,
            }
            for o in outcomes
        ]
        console.print_json(json.dumps(payload, default=str))
    else:
        table = Table(title=f"zarrlake meta {title}")
        for column in ("store", "result", "errors", "warnings"):
            table.add_column(column, overflow="fold")
        for o in outcomes:
            findings = o.findings
            table.add_row(
                escape(o.url),
                f"[green]{escape(o.summary)}[/]" if o.ok else f"[red]{escape(o.summary)}[/]",
                str(sum(f.severity == "error" for f in findings)),
                str(sum(f.severity == "warning" for f in findings)),
            )
        console.print(table)
        for o in outcomes:  # every finding in full: a fix command is never cut
            if o.error:
                console.print(f"{escape(o.url)}: [red]failed[/] {escape(o.error)}", highlight=False)
            for finding in sorted(o.findings, key=lambda f: f.severity != "error"):
                if finding.severity == "info":
                    continue
                colour = "red" if finding.severity == "error" else "yellow"
                console.print(
                    f"{escape(o.url)}: [{colour}]{finding.severity}[/] {finding.code} "
                    f"{escape(finding.message)}"
                    + (f" (fix: {escape(finding.fix)})" if finding.fix else ""),
                    highlight=False,
                )
        bad = sum(not o.ok for o in outcomes)
        console.print(f"{len(outcomes) - bad} of {len(outcomes)} store(s) ok")
    if any(not o.ok for o in outcomes):
        raise typer.Exit(1)


@app.command("validate")
def validate_command(
    urls: UrlsArg,
    deep: Annotated[bool, typer.Option("--deep", help="Also check every chunk.")] = False,
    jobs: JobsOpt = 4,
    as_json: JsonOpt = False,
    junit: JunitOpt = None,
    storage_option: StorageOptionArg = None,
) -> None:
    """Validate stores; exit 1 when any store is invalid."""
    from zarrlake.meta import StoreOutcome, validate

    options = parse_storage_options(storage_option)

    def one(url: str) -> StoreOutcome:
        report = validate(url, deep=deep, storage_options=options)
        summary = "valid" if report["valid"] else "invalid"
        return StoreOutcome(url=url, ok=report["valid"], summary=summary, report=report)

    _run(urls, one, jobs, as_json, junit, "validate", options)


@app.command("consolidate")
def consolidate_command(
    urls: UrlsArg,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the document; write nothing.")
    ] = False,
    jobs: JobsOpt = 4,
    as_json: JsonOpt = False,
    junit: JunitOpt = None,
    storage_option: StorageOptionArg = None,
) -> None:
    """Consolidate the metadata of stores (format 2 and 3)."""
    from zarrlake.meta import StoreOutcome, consolidate

    options = parse_storage_options(storage_option)

    def one(url: str) -> StoreOutcome:
        document = consolidate(url, storage_options=options, dry_run=dry_run)
        entries = (
            document.get("metadata")
            or (document.get("consolidated_metadata") or {}).get("metadata")
            or {}
        )
        details = {"document": document} if dry_run else {"entries": len(entries)}
        verb = "would consolidate" if dry_run else "consolidated"
        return StoreOutcome(
            url=url, ok=True, summary=f"{verb} {len(entries)} entries", details=details
        )

    _run(urls, one, jobs, as_json, junit, "consolidate", options)


@app.command("repair")
def repair_command(
    urls: UrlsArg,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; change nothing.")
    ] = False,
    add_missing_attrs: Annotated[
        bool,
        typer.Option(
            "--add-missing-attrs",
            help="Give a root group without attributes a title and a description.",
        ),
    ] = False,
    prune_orphans: Annotated[
        bool,
        typer.Option("--prune-orphans", help="Delete chunk keys outside their array's chunk grid."),
    ] = False,
    break_lock: Annotated[bool, typer.Option("--break-lock", help="Break a stale lock.")] = False,
    jobs: JobsOpt = 4,
    as_json: JsonOpt = False,
    junit: JunitOpt = None,
    storage_option: StorageOptionArg = None,
) -> None:
    """Repair stores (each change backed up first and applied as a transaction)."""
    from zarrlake.meta import StoreOutcome, discover, repair, validate

    options = parse_storage_options(storage_option)

    def one(url: str) -> StoreOutcome:
        result = repair(
            url,
            dry_run=dry_run,
            add_missing_attrs=add_missing_attrs,
            prune_orphans=prune_orphans,
            break_stale_lock=break_lock,
            storage_options=options,
        )
        if not dry_run:
            report = validate(url, storage_options=options)
            summary = "repaired" if report["valid"] else "still invalid"
            if result.backup:
                summary += f"; backup: {result.backup}"
            return StoreOutcome(
                url,
                report["valid"],
                summary,
                report,
                details={"actions": result.actions, "backup": result.backup},
            )
        return StoreOutcome(url, True, "plan", details={"actions": result.actions})

    if dry_run and not as_json:
        for url in discover(urls, options):
            console.print(
                str(
                    repair(
                        url,
                        dry_run=True,
                        add_missing_attrs=add_missing_attrs,
                        prune_orphans=prune_orphans,
                        storage_options=options,
                    )
                )
            )
        return
    _run(urls, one, jobs, as_json, junit, "repair", options)


@app.command("backup")
def backup_command(
    url: Annotated[str, typer.Argument(help="The archive.")],
    dest: Annotated[
        str | None, typer.Argument(help="Backup file (default: inside the archive).")
    ] = None,
    storage_option: StorageOptionArg = None,
) -> None:
    """Back up every metadata document of an archive, byte for byte."""
    from zarrlake.meta import backup

    console.print(backup(url, dest, storage_options=parse_storage_options(storage_option)))


@app.command("restore")
def restore_command(
    backup_file: Annotated[str, typer.Argument(help="A backup written by 'zarrlake meta backup'.")],
    url: Annotated[
        str | None, typer.Argument(help="The archive (default: where it came from).")
    ] = None,
    storage_option: StorageOptionArg = None,
) -> None:
    """Restore the metadata documents of a backup exactly."""
    from zarrlake.meta import restore

    changed = restore(backup_file, url, storage_options=parse_storage_options(storage_option))
    console.print(f"restored {len(changed)} document(s)")


@app.command("list")
def list_command(
    url: Annotated[str, typer.Argument(help="The archive.")],
    storage_option: StorageOptionArg = None,
) -> None:
    """List the arrays of an archive (one read with consolidated metadata)."""
    from zarrlake.meta import list_arrays

    for path in list_arrays(url, storage_options=parse_storage_options(storage_option)):
        console.print(path, markup=False, highlight=False)
