"""``zarrlake convert run|plan|create-template|write-region|verify``."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from zarrlake.cli._common import (
    InputOptionArg,
    StorageOptionArg,
    config_default,
    console,
    help_config_option,
    human_bytes,
    json_failure,
    option_group,
    option_sets,
    print_findings,
    progress_bar,
)
from zarrlake.cli._typer import ZarrlakeGroup
from zarrlake.errors import InvalidInputError

if TYPE_CHECKING:
    from zarrlake.compat.zarrio import ZarrConverter
    from zarrlake.convert import ConvertConfig, ConvertPlan, FileScan, WorkUnit, WriteStats

app = typer.Typer(
    cls=ZarrlakeGroup,
    help="Convert many NetCDF/HDF5 files into one Zarr archive.",
    no_args_is_help=True,
)


Inputs = Annotated[list[str], typer.Argument(help="Input files, globs or s3:// URLs.")]
ConfigArg = Annotated[
    list[str] | None,
    typer.Option("--config", "-c", help="Config JSON/YAML file; several are merged in order."),
]
ChunkArg = Annotated[
    list[str] | None,
    typer.Option(
        "--chunk",
        metavar="DIM=SIZE",
        help="Chunk size DIM=SIZE (repeatable); other dims are planned.",
    ),
]
CompressionArg = Annotated[
    str | None, typer.Option("--compression", help="Compression spec, e.g. blosc:zstd:3.")
]
PackingArg = Annotated[
    bool, typer.Option("--packing", help="Pack every float variable into 16-bit integers.")
]
StartArg = Annotated[str | None, typer.Option("--global-start", help="First label of the archive.")]
EndArg = Annotated[str | None, typer.Option("--global-end", help="Last label of the archive.")]
FreqArg = Annotated[str | None, typer.Option("--freq", help="Step, e.g. 1D or 6h.")]
FormatArg = Annotated[int | None, typer.Option("--zarr-format", help="Zarr format, 2 or 3.")]
# ConvertConfig's defaults of the options below (checked against the model by the tests)
CONFIG_DEFAULTS: dict[str, object] = {
    "concat_dim": "time",
    "access_pattern": "balanced",
    "compression": "blosc:zstd:3",
    "zarr_format": 3,
}
HelpConfigArg = Annotated[str | None, help_config_option("zarrlake.convert:ConvertConfig")]
ZarrioConfigArg = Annotated[
    list[str] | None,
    typer.Option(
        "--config",
        "-c",
        help="zarrio converter config JSON/YAML (chunking, compression, packing, time_dim, "
        "...); several are merged in order.",
    ),
]


def _zarrio_converter(
    target: str,
    config: list[str] | None,
    storage_option: list[str] | None,
    input_option: list[str] | None,
    **overrides: Any,
) -> ZarrConverter:
    """Build zarrio's converter from config files, then options (``None``: not given)."""
    from pydantic import ValidationError

    from zarrlake.compat.zarrio import ZarrConverter, ZarrConverterConfig
    from zarrlake.config import merge_configs, validation_error

    inputs, options = option_sets(storage_option, input_option, target=target)
    overrides |= {"storage_options": inputs, "target_storage_options": options}
    merged = merge_configs(config or None, overrides)
    try:
        return ZarrConverter(config=ZarrConverterConfig.model_validate(merged))
    except ValidationError as exc:
        raise validation_error(exc, where="converter config") from None


def _chunks(pairs: list[str] | None) -> dict[str, int] | None:
    if not pairs:
        return None
    chunks = {}
    for pair in pairs:
        dim, sep, size = pair.partition("=")
        if not sep or not size.strip().isdigit():
            raise InvalidInputError(
                f"--chunk {pair!r} is not DIM=SIZE", subject="--chunk", hint="e.g. --chunk time=30"
            )
        chunks[dim] = int(size)
    return chunks


@dataclasses.dataclass
class ConvertFlags:
    """The options ``convert plan`` and ``convert run`` share (config files + overrides)."""

    config: ConfigArg = None
    concat_dim: Annotated[
        str | None,
        typer.Option(
            "--concat-dim",
            help="The dimension the files are joined along.",
            show_default=config_default(CONFIG_DEFAULTS["concat_dim"]),
        ),
    ] = None
    chunk: ChunkArg = None
    access_pattern: Annotated[
        str | None,
        typer.Option(
            "--access-pattern",
            help="Plan chunks for temporal, spatial or balanced reads.",
            show_default=config_default(CONFIG_DEFAULTS["access_pattern"]),
        ),
    ] = None
    compression: Annotated[
        str | None,
        typer.Option(
            "--compression",
            help="Compression spec, e.g. blosc:zstd:3.",
            show_default=config_default(CONFIG_DEFAULTS["compression"]),
        ),
    ] = None
    packing: PackingArg = False
    global_start: StartArg = None
    global_end: EndArg = None
    freq: FreqArg = None
    zarr_format: Annotated[
        int | None,
        typer.Option(
            "--zarr-format",
            help="Zarr format, 2 or 3.",
            show_default=config_default(CONFIG_DEFAULTS["zarr_format"]),
        ),
    ] = None

    def settings(
        self,
        storage_option: list[str] | None = None,
        input_option: list[str] | None = None,
        *,
        target: str | None = None,
    ) -> ConvertConfig:
        """Return the conversion settings: the config files, then these options."""
        from zarrlake.convert import load_convert_config

        inputs, target_options = option_sets(storage_option, input_option, target=target)
        return load_convert_config(
            self.config or None,
            concat_dim=self.concat_dim,
            chunks=_chunks(self.chunk),
            access_pattern=self.access_pattern,
            compression=self.compression,
            packing=self.packing or None,
            global_start=self.global_start,
            global_end=self.global_end,
            freq=self.freq,
            zarr_format=self.zarr_format,
            storage_options=inputs,
            target_storage_options=target_options,
        )


def _print_plan(description: dict[str, Any]) -> None:
    table = Table(title=f"{description['inputs']} input(s) -> {description['steps']} steps")
    sharded = any(var.get("shards") for var in description["variables"].values())
    columns = ("variable", "dims", "shape", "chunks", "shards", "dtype", "packing", "raw")
    for column in columns if sharded else (c for c in columns if c != "shards"):
        table.add_column(column)
    for name, var in description["variables"].items():
        pack = var["packing"]
        shards = ["x".join(map(str, var["shards"] or ()))] if sharded else []
        table.add_row(
            name,
            ",".join(var["dims"]),
            "x".join(map(str, var["shape"])),
            "x".join(map(str, var["chunks"])),
            *shards,
            var["dtype"],
            ""
            if pack is None
            else f"{pack['dtype']} [{pack['valid_min']:g}, {pack['valid_max']:g}]",
            human_bytes(var["raw_bytes"]),
        )
    console.print(table)
    estimate = description["estimated_bytes"]
    console.print(
        f"{description['concat_dim']}: {description['first']} .. {description['last']} "
        f"by {description['freq']}; codecs {description['codecs']}; "
        f"{description['work_units']} work unit(s); "
        f"inputs {human_bytes(description['input_bytes'])}"
        f"; raw output {human_bytes(description['raw_bytes'])}"
        + (f"; estimated output {human_bytes(estimate)}" if estimate is not None else "")
    )
    for note in description["notes"]:
        console.print(f"note: {note}")


@app.command("plan")
@option_group(ConvertFlags, "flags")
def plan_command(
    inputs: Inputs,
    flags: ConvertFlags,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    target: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-O",
            help="The archive it would write (an object store plans shards); default: a local one.",
        ),
    ] = None,
    storage_option: StorageOptionArg = None,
    input_option: InputOptionArg = None,
    help_config: HelpConfigArg = None,
) -> None:
    """Show what a conversion would write (dims, chunks, bytes, codecs, units); write nothing."""
    from zarrlake.convert import estimate_ratio
    from zarrlake.convert import plan as plan_conversion

    with json_failure(as_json, lambda _: {"inputs": inputs}):
        settings = flags.settings(storage_option, input_option, target=target)
        the_plan = plan_conversion(inputs, settings, target=target)
        description = the_plan.describe(estimate_ratio(the_plan, settings))
    if as_json:
        console.print_json(json.dumps(description, default=str))
    else:
        _print_plan(description)


class _RunProgress:
    """Progress for ``convert run``: files scanned, then bytes converted with rate and ETA."""

    def __init__(self, quiet: bool) -> None:
        from rich.progress import (  # only a run shows it; --help need not import it
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.bar = Progress(
            TextColumn("[bold]{task.fields[stage]}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            disable=quiet,
            transient=True,
        )
        self.scanned = 0
        self.task = self.bar.add_task("", total=None, stage="scan")
        self.units = 0
        self.total_units = 0

    def scanned_file(self, scanned: FileScan) -> None:
        self.scanned += 1
        self.bar.update(self.task, advance=scanned.size, description=f"{self.scanned} file(s)")

    def planned(self, the_plan: ConvertPlan, todo: list[WorkUnit]) -> None:
        total = sum(u.input_bytes for u in todo)
        self.total_units = len(todo)
        self.bar.reset(self.task, total=total or None, stage="convert")
        self.bar.update(self.task, description=f"0/{len(todo)} unit(s)")

    def unit(self, stats: WriteStats) -> None:
        self.units += 1
        self.bar.update(
            self.task,
            advance=stats.input_bytes,
            description=f"{self.units}/{self.total_units} unit(s)",
        )


@app.command("run")
@option_group(ConvertFlags, "flags")
def run_command(
    inputs: Inputs,
    target: Annotated[str, typer.Option("--output", "-O", help="The archive to write.")],
    flags: ConvertFlags,
    workers: Annotated[
        int | None,
        typer.Option("--workers", "-w", help="Local workers (threads; default: the CPU count)."),
    ] = None,
    processes: Annotated[
        bool,
        typer.Option("--processes", help="Run the local workers as processes instead of threads."),
    ] = False,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask distributed scheduler, tcp://HOST:PORT."),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an archive that is not this conversion's.")
    ] = False,
    no_verify: Annotated[bool, typer.Option("--no-verify", help="Skip the final verify.")] = False,
    verify_sample: Annotated[
        int | None,
        typer.Option(
            "--verify-sample",
            min=0,
            help="Inputs the final verify re-reads and compares (default: none; it checks "
            "the fingerprints each unit recorded while writing).",
        ),
    ] = None,
    storage_option: StorageOptionArg = None,
    input_option: InputOptionArg = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    catalog: Annotated[
        str | None,
        typer.Option(
            "--catalog",
            help="Record the run in this catalog (URL): the archive's status and metadata, "
            "and every input file linked to it (derived_from).",
        ),
    ] = None,
    help_config: HelpConfigArg = None,
) -> None:
    """Convert files into one archive in parallel; a re-run resumes what is missing."""
    import os

    from zarrlake.convert import run as run_conversion
    from zarrlake.convert import tune_process_memory

    if not processes and scheduler is None and (workers or os.cpu_count() or 1) > 1:
        # This process is the command's and its threads write the units: its
        # allocator gets the settings run() leaves to the owner of the process.
        tune_process_memory()
    progress = _RunProgress(quiet=as_json)

    def done(_: BaseException) -> dict[str, object]:
        return {
            "target": target,
            "units_total": progress.total_units,
            "units_written": progress.units,
            "hint": "a re-run resumes: units written are kept",
        }

    with json_failure(as_json, done):
        settings = flags.settings(storage_option, input_option, target=target)
        if verify_sample is not None:
            settings = settings.model_copy(update={"verify_sample": verify_sample})
        with progress.bar:
            result = run_conversion(
                inputs,
                target,
                settings,
                workers=workers,
                scheduler=scheduler,
                executor="processes" if processes else "threads",
                overwrite=overwrite,
                verify=not no_verify,
                on_scan=progress.scanned_file,
                on_plan=progress.planned,
                on_unit=progress.unit,
                catalog=catalog,
            )
    report = result.report
    if as_json:
        payload = {
            "ok": report is None or report.valid,
            "target": result.target,
            "units_total": result.units_total,
            "units_written": result.units_written,
            "units_skipped": result.units_skipped,
            "steps_written": result.steps_written,
            "input_bytes": result.input_bytes,
            "seconds": result.seconds,
            "template_created": result.template_created,
            "valid": None if report is None else report.valid,
            "issues": [] if report is None else [f.to_dict() for f in report.issues],
        }
        console.print_json(json.dumps(payload, default=str))
    else:
        console.print(
            f"{target}: wrote {result.units_written} of {result.units_total} work unit(s) "
            f"({result.units_skipped} already done), {result.steps_written} step(s), "
            f"{human_bytes(result.input_bytes)} of input in {result.seconds:.1f} s "
            f"({human_bytes(result.throughput)}/s)"
        )
        if report is not None:
            print_findings(report)
    if report is not None and not report.valid:
        raise typer.Exit(1)


@app.command("create-template")
def create_template_command(
    template: Annotated[
        str,
        typer.Argument(
            help="A file with the inputs' variables and grid; or a quoted glob of every "
            "input: the axis is then the union of their labels (monthly, irregular axes)."
        ),
    ],
    target: Annotated[str, typer.Argument(help="The archive to create.")],
    global_start: StartArg = None,
    global_end: EndArg = None,
    freq: FreqArg = None,
    intelligent_chunking: Annotated[
        bool,
        typer.Option("--intelligent-chunking", help="Plan chunks for the whole archive."),
    ] = False,
    access_pattern: Annotated[
        str, typer.Option("--access-pattern", help="temporal, spatial or balanced.")
    ] = "temporal",
    chunk: ChunkArg = None,
    compression: CompressionArg = None,
    packing: PackingArg = False,
    zarr_format: FormatArg = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an archive.")] = False,
    config: ZarrioConfigArg = None,
    storage_option: StorageOptionArg = None,
    input_option: InputOptionArg = None,
) -> None:
    """Create a metadata-only archive over the whole range (coordinates, no data chunks)."""
    converter = _zarrio_converter(
        target,
        config,
        storage_option,
        input_option,
        chunking=_chunks(chunk),
        compression={"method": compression} if compression else None,
        packing={"enabled": True} if packing else None,
        zarr_format=zarr_format,
    )
    converter.create_template(
        template,
        target,
        global_start=global_start,
        global_end=global_end,
        freq=freq,
        intelligent_chunking=intelligent_chunking,
        access_pattern=access_pattern,  # type: ignore[arg-type]
        overwrite=overwrite,
    )
    console.print(f"{target}: template created")


@app.command("write-region")
def write_region_command(
    data: Annotated[str, typer.Argument(help="The input file.")],
    target: Annotated[str, typer.Argument(help="The archive (with its template).")],
    region: Annotated[
        str | None,
        typer.Option(
            "--region", metavar="START:STOP", help="Explicit steps START:STOP of the concat dim."
        ),
    ] = None,
    config: ZarrioConfigArg = None,
    storage_option: StorageOptionArg = None,
    input_option: InputOptionArg = None,
) -> None:
    """Write one file into its region of a template (exact label matching; safe in parallel)."""
    converter = _zarrio_converter(target, config, storage_option, input_option)
    explicit = None
    if region:
        start, sep, stop = region.partition(":")
        if not sep or not (start.isdigit() and stop.isdigit()):
            raise InvalidInputError(
                f"--region {region!r} is not START:STOP", subject="--region", hint="e.g. 0:31"
            )
        explicit = {"time": slice(int(start), int(stop))}
    stats = converter.write_region(data, target, region=explicit)
    console.print(f"{target}: wrote {stats.steps} step(s) from {data} in {stats.seconds:.2f} s")


@app.command("verify")
def verify_command(
    target: Annotated[str, typer.Argument(help="The archive.")],
    inputs: Annotated[
        list[str] | None, typer.Argument(help="Inputs to compare values with (optional).")
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Compare every input, not a sample.")
    ] = False,
    sample: Annotated[int, typer.Option("--sample", help="Inputs compared by default.")] = 3,
    storage_option: StorageOptionArg = None,
    input_option: InputOptionArg = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check every step was written, coordinates are sound, and values match the inputs."""
    from zarrlake.convert import load_convert_config
    from zarrlake.convert import verify as verify_archive

    with (
        json_failure(as_json, lambda _: {"target": target}),
        progress_bar("verify", quiet=as_json) as progress,
    ):
        input_options, options = option_sets(storage_option, input_option, target=target)
        progress.add_task(target, total=None)
        report = verify_archive(
            target,
            inputs or None,
            full=full,
            sample=sample,
            storage_options=options,
            config=load_convert_config(storage_options=input_options),
        )
    if as_json:
        console.print_json(json.dumps(report.to_json_dict(), default=str))
    else:
        print_findings(report)
        console.print(
            f"{report['written_steps']} of {report['steps']} step(s) written; "
            + ("valid" if report.valid else "INVALID")
        )
    if not report.valid:
        raise typer.Exit(1)
