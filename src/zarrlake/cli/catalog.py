"""``zarrlake catalog``: init, ingest, watch, validate, search, summary, lineage, pipelines."""

from __future__ import annotations

import csv
import io
import json
import signal
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from zarrlake.cli._common import (
    StorageOptionArg,
    console,
    human_bytes,
    parse_storage_options,
    progress_bar,
)
from zarrlake.cli._typer import ZarrlakeGroup
from zarrlake.errors import InvalidInputError

app = typer.Typer(
    cls=ZarrlakeGroup, help="The observation catalog: ingest, watch, validate, search, lineage."
)

CatalogOpt = Annotated[
    str | None,
    typer.Option(
        "--catalog",
        "-c",
        envvar="ZARRLAKE_CATALOG",
        help="SQLAlchemy URL (sqlite:///catalog.db, postgresql+psycopg://user@host/db) or an "
        "SQLite file. Default: $ZARRLAKE_CATALOG, else zarrlake-catalog.db here.",
    ),
]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="Output: table, json or csv.")]
MappingOpt = Annotated[
    Path | None,
    typer.Option("--mapping", help="YAML file with attribute mapping and quality rules."),
]
JobsOpt = Annotated[int, typer.Option("--jobs", "-j", help="Worker processes for extraction.")]

LIST_COLUMNS = (
    "id",
    "mission_id",
    "satellite_name",
    "instrument_type",
    "target_object",
    "observation_timestamp",
    "data_quality_score",
    "processing_status",
    "file_size",
    "file_path",
)


def _open(url: str | None, *, create: bool = True) -> Any:
    from zarrlake.catalog import Catalog

    return Catalog(url, create=create)


def _config(path: Path | None) -> Any:
    from zarrlake.catalog.extractors import ExtractionConfig

    return ExtractionConfig.load(path)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def emit(
    rows: list[dict[str, Any]],
    fmt: str,
    columns: tuple[str, ...] | None = None,
    *,
    title: str | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Print rows as a table, JSON or CSV."""
    if fmt not in ("table", "json", "csv"):
        raise InvalidInputError(f"--format {fmt!r} is not table, json or csv", subject="--format")
    names = list(columns or (rows[0].keys() if rows else ()))
    if fmt == "json":
        payload: Any = rows if extra is None else {**extra, "items": rows}
        typer.echo(json.dumps(payload, default=_json_default, indent=2))
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=names, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(row.get(k)) for k in names})
        typer.echo(buffer.getvalue(), nl=False)
    else:
        table = Table(title=title)
        for name in names:
            table.add_column(name, overflow="fold")
        for row in rows:
            table.add_row(*(escape(_cell(row.get(n))) for n in names))
        console.print(table)


def _json_object(text: str | None, option: str) -> dict[str, Any] | None:
    """Parse an option's JSON object (``None`` when not given)."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidInputError(f"{option} is not valid JSON: {exc}", subject=option) from exc
    if not isinstance(value, dict):
        raise InvalidInputError(f"{option} must be a JSON object", subject=option)
    return value


def _json_default(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


@app.command("init")
def init_command(
    catalog: CatalogOpt = None,
    promote: Annotated[
        list[str] | None,
        typer.Option(
            "--promote",
            metavar="KEY[:number]",
            help="Index a mission_specific key: KEY or KEY:number (repeatable).",
        ),
    ] = None,
) -> None:
    """Create the catalog's tables and indexes (safe to run again)."""
    from zarrlake.catalog import Catalog

    keys = dict(_promoted(p) for p in promote or [])
    with Catalog(catalog, promoted_keys=keys) as db:  # a new catalog is initialised here
        if keys:
            db.init()  # an existing one gets the promoted indexes it lacks
        console.print(f"catalog ready: {escape(db.display_url)} (schema {db.schema_version()})")


def _promoted(text: str) -> tuple[str, str]:
    key, _, kind = text.partition(":")
    return key, kind or "string"


@app.command("upgrade")
def upgrade_command(catalog: CatalogOpt = None) -> None:
    """Bring an existing catalog to this zarrlake's schema version."""
    from zarrlake.catalog import SCHEMA_VERSION, Catalog

    with Catalog(catalog, check_schema=False) as db:
        for step in db.upgrade():
            console.print(f"  {escape(step)}")
        console.print(f"catalog {escape(db.display_url)} is at schema {SCHEMA_VERSION}")


def _ticker(bar: Any, task: Any) -> Any:
    def tick(done: int, total: int, name: str) -> None:
        bar.update(task, completed=done, total=total, description=escape(name[-60:]))

    return tick


def _summary_out(summary: Any, fmt: str, title: str) -> None:
    data = summary.as_dict()
    if fmt == "json":
        typer.echo(json.dumps(data, indent=2))
        return
    known = f", {len(data['known_bad'])} known bad" if data.get("known_bad") else ""
    console.print(
        f"{title}: {data['seen']} seen, {data['new']} new, {data['updated']} updated, "
        f"{data['unchanged']} unchanged, {data['failed']} failed{known}, "
        f"{data['missing']} missing, {data['restored']} back, in {data['seconds']:.1f} s"
    )
    for failure in data["failures"]:
        console.print(f"  [red]failed[/] {escape(failure['path'])}: {escape(failure['error'])}")
    for bad in data.get("known_bad", []):  # exit 0: nothing new failed
        console.print(
            f"  [yellow]known bad[/] {escape(bad['path'])} (unchanged since it failed): "
            f"{escape(bad['error'])}"
        )


@app.command("ingest")
def ingest_command(
    paths: Annotated[list[str], typer.Argument(help="Files, folders or s3:// prefixes.")],
    catalog: CatalogOpt = None,
    jobs: JobsOpt = 2,
    recursive: Annotated[bool, typer.Option(help="Descend into sub-folders.")] = True,
    force: Annotated[bool, typer.Option("--force", help="Re-extract unchanged files.")] = False,
    mapping: MappingOpt = None,
    storage_option: StorageOptionArg = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """Catalogue files: new ones added, changed ones re-read, vanished ones marked missing."""
    from zarrlake.catalog import ingest

    config = _config(mapping)
    options = parse_storage_options(storage_option)
    failed = 0
    with _open(catalog) as db:
        for path in paths:
            with progress_bar("ingest", quiet=fmt == "json") as bar:
                task = bar.add_task("", total=None)

                summary = ingest(
                    db,
                    path,
                    recursive=recursive,
                    jobs=jobs,
                    config=config,
                    storage_options=options,
                    force=force,
                    progress=_ticker(bar, task),
                )
            _summary_out(summary, fmt, f"ingest {path}")
            failed += summary.failed
    if failed:
        raise typer.Exit(1)


@app.command("watch")
def watch_command(
    path: Annotated[Path, typer.Argument(help="The folder to watch.")],
    catalog: CatalogOpt = None,
    settle: Annotated[float, typer.Option(help="Seconds a file must stay unchanged.")] = 1.0,
    mapping: MappingOpt = None,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: until Ctrl-C).")
    ] = None,
    catch_up: Annotated[bool, typer.Option(help="Rescan on start.")] = True,
) -> None:
    """Keep the catalog current as files arrive, change, move and vanish."""
    from zarrlake.catalog import CatalogWatcher

    with _open(catalog) as db:
        watcher = CatalogWatcher(
            db, path, config=_config(mapping), settle=settle, catch_up=catch_up
        )
        signal.signal(signal.SIGTERM, lambda *_: watcher.stop())
        console.print(f"watching {escape(str(path))} into {escape(db.display_url)}")
        watcher.start()
        deadline = None if duration is None else time.monotonic() + duration
        try:
            while watcher.is_alive() and (deadline is None or time.monotonic() < deadline):
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        watcher.stop()
        watcher.join()
        _summary_out(watcher.summary, "table", "watch")
        for error in watcher.errors:
            console.print(f"  [red]error[/] {escape(error)}")


@app.command("validate")
def validate_command(
    prefix: Annotated[str, typer.Argument(help="Only paths starting with this.")] = "",
    catalog: CatalogOpt = None,
    jobs: JobsOpt = 1,
    mapping: MappingOpt = None,
    storage_option: StorageOptionArg = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """Re-check catalogued files: missing, changed, unreadable and incomplete ones."""
    from zarrlake.catalog import validate_catalog

    with _open(catalog, create=False) as db, progress_bar("validate", quiet=fmt == "json") as bar:
        task = bar.add_task("", total=None)
        summary = validate_catalog(
            db,
            prefix,
            config=_config(mapping),
            jobs=jobs,
            storage_options=parse_storage_options(storage_option),
            progress=_ticker(bar, task),
        )
    _summary_out(summary, fmt, "validate")


@app.command("search")
def search_command(
    catalog: CatalogOpt = None,
    mission: Annotated[
        str | None, typer.Option("--mission", "-m", help="Mission id (any case).")
    ] = None,
    facility: Annotated[str | None, typer.Option("--facility", help="Satellite/telescope.")] = None,
    instrument: Annotated[
        str | None, typer.Option("--instrument", help="Instrument type (any case).")
    ] = None,
    target: Annotated[str | None, typer.Option("--target", help="Target (any case).")] = None,
    start: Annotated[str | None, typer.Option(help="Overlapping from (ISO time).")] = None,
    end: Annotated[str | None, typer.Option(help="Overlapping until (ISO time).")] = None,
    min_quality: Annotated[
        float | None, typer.Option("--min-quality", help="Lowest data quality score (0 to 1).")
    ] = None,
    calibration: Annotated[
        str | None, typer.Option("--calibration", help="Calibration status (any case).")
    ] = None,
    status: Annotated[str | None, typer.Option("--status", help="Processing status.")] = None,
    data_format: Annotated[
        str | None, typer.Option("--data-format", help="fits, netcdf...")
    ] = None,
    text: Annotated[str | None, typer.Option("--text", help="In target or path.")] = None,
    where: Annotated[str | None, typer.Option("--where", help="Filter document (JSON).")] = None,
    sort: Annotated[
        str, typer.Option(help="Sort field; '-' for descending.")
    ] = "observation_timestamp",
    limit: Annotated[int, typer.Option(help="Page size.")] = 50,
    cursor: Annotated[str | None, typer.Option(help="Next-page cursor.")] = None,
    include_missing: Annotated[
        bool, typer.Option("--include-missing", help="Also list records whose files vanished.")
    ] = False,
    fmt: FormatOpt = "table",
) -> None:
    """Find observations; prints the next-page cursor when there are more."""
    from zarrlake.catalog import SearchQuery, search

    filters = _json_object(where, "--where")
    query = SearchQuery(
        mission_id=mission,
        satellite_name=facility,
        instrument_type=instrument,
        target_object=target,
        start=start,
        end=end,
        min_quality=min_quality,
        calibration_status=calibration,
        processing_status=status,
        format=data_format,
        text=text,
        where=filters,
        sort=sort,
        limit=limit,
        cursor=cursor,
        include_missing=include_missing,
    )
    with _open(catalog, create=False) as db:
        page = search(db, query)
    columns = None if fmt == "json" else LIST_COLUMNS
    emit(
        page.items,
        fmt,
        columns,
        title="observations",
        extra={"next_cursor": page.next_cursor} if fmt == "json" else None,
    )
    if page.next_cursor and fmt == "table":
        console.print(f"more: --cursor {page.next_cursor}")


@app.command("summary")
def summary_command(
    catalog: CatalogOpt = None,
    mission: Annotated[
        str | None, typer.Option("--mission", "-m", help="Only this mission (any case).")
    ] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Per mission: observations, bytes, mean quality, calibrated count, time coverage."""
    with _open(catalog, create=False) as db:
        rows = db.summary(mission)
    if fmt == "table":
        for row in rows:
            row["total_bytes"] = human_bytes(row["total_bytes"])
    emit(rows, fmt, title="missions")


@app.command("related")
def related_command(
    dataset: Annotated[str, typer.Argument(help="Dataset id or path.")],
    catalog: CatalogOpt = None,
    depth: Annotated[int, typer.Option(help="Links to follow.")] = 1,
    fmt: FormatOpt = "table",
) -> None:
    """Show lineage both ways: parents (inputs) and children (outputs), with each link.

    ``via`` is the dataset at the link's other end, ``link`` its id and ``metadata``
    what it was recorded with.
    """
    from zarrlake.catalog import related

    with _open(catalog, create=False) as db:
        entries = related(db, dataset, depth)
    rows = [
        {
            "direction": e["direction"],
            "depth": e["depth"],
            "relationship": e["relationship_type"],
            "id": (e["dataset"] or {}).get("id"),
            "via": e["via"],
            "link": e["relationship_id"],
            "metadata": e["relationship_metadata"],
            "file_path": (e["dataset"] or {}).get("file_path"),
        }
        for e in entries
    ]
    columns = ("direction", "depth", "relationship", "id", "via", "link", "metadata", "file_path")
    emit(rows, fmt, columns, title="related")


@app.command("show")
def show_command(
    dataset: Annotated[str, typer.Argument(help="Dataset id or path.")],
    catalog: CatalogOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """Show one dataset with all its metadata and its status history."""
    with _open(catalog, create=False) as db:
        record = db.get(dataset)
        history = db.status_history(record["id"])
    if fmt == "json":
        typer.echo(
            json.dumps({**record, "status_history": history}, default=_json_default, indent=2)
        )
        return
    emit(
        [{"field": k, "value": v} for k, v in record.items()],
        "table",
        title=f"dataset {record['id']}",
    )
    if history:
        emit(
            history,
            "table",
            ("at", "old_status", "new_status", "actor", "reason"),
            title="status history",
        )


@app.command("register")
def register_command(
    path: Annotated[str, typer.Argument(help="Path or URL of the dataset.")],
    catalog: CatalogOpt = None,
    field: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="FIELD=VALUE", help="Set a field (repeatable)."),
    ] = None,
    extract: Annotated[bool, typer.Option(help="Read the file's metadata first.")] = True,
    mapping: MappingOpt = None,
) -> None:
    """Register (or update) a dataset, e.g. a pipeline's output."""
    from zarrlake.catalog.pipeline import register

    values: dict[str, Any] = {}
    for item in field or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInputError(f"--set {item!r} is not FIELD=VALUE", subject="--set")
        values[key] = value
    with _open(catalog) as db:
        record_id = register(db, path, extract=extract, config=_config(mapping), **values)
    console.print(f"registered {escape(path)} as {record_id}")


@app.command("link")
def link_command(
    parent: Annotated[str, typer.Argument(help="Parent (input) id or path.")],
    child: Annotated[str, typer.Argument(help="Child (output) id or path.")],
    catalog: CatalogOpt = None,
    kind: Annotated[str, typer.Option("--type", help="Relationship type.")] = "derived_from",
    meta: Annotated[str | None, typer.Option("--meta", help="Metadata (JSON object).")] = None,
) -> None:
    """Record that CHILD derives from (or otherwise relates to) PARENT."""
    metadata = _json_object(meta, "--meta")
    with _open(catalog, create=False) as db:
        link_id = db.link(parent, child, kind, metadata)
    console.print(f"linked {escape(parent)} -> {escape(child)} ({escape(kind)}, link {link_id})")


@app.command("status")
def status_command(
    dataset: Annotated[str, typer.Argument(help="Dataset id or path.")],
    status: Annotated[str, typer.Argument(help="raw, processing, processed, failed, archived.")],
    catalog: CatalogOpt = None,
    reason: Annotated[str | None, typer.Option(help="Why (kept in the audit trail).")] = None,
    actor: Annotated[str | None, typer.Option(help="Who or what changed it.")] = None,
) -> None:
    """Change a dataset's processing status (recorded in its status history)."""
    with _open(catalog, create=False) as db:
        event = db.set_status(dataset, status, reason=reason, actor=actor)
    console.print(f"{escape(dataset)}: {event['old_status']} -> {event['new_status']}")


@app.command("serve")
def serve_command(
    catalog: CatalogOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="ZARRLAKE_API_TOKEN",
            help="Bearer token that allows writes (read-only without one).",
        ),
    ] = None,
    root: Annotated[
        list[str] | None,
        typer.Option("--root", help="A folder or URL prefix the service may read (repeatable)."),
    ] = None,
    max_page_size: Annotated[int, typer.Option(help="Largest page a request gets.")] = 500,
) -> None:
    """Serve the REST API, the STAC API (/stac) and the dashboard (/); docs at /docs."""
    import uvicorn

    from zarrlake.catalog.api import ServiceSettings, create_app

    settings = ServiceSettings.from_env(
        catalog=catalog, token=token, roots=root or [], max_page_size=max_page_size
    )
    application = create_app(settings)
    mode = "read-write (token set)" if settings.token else "read-only"
    console.print(f"zarrlake catalog on http://{host}:{port}/ ({mode}); API docs at /docs")
    uvicorn.run(application, host=host, port=port, log_level="info")
