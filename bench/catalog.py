"""The catalog: extraction + ingest throughput, bulk load, and query latency.

1. 5,000 small generated files (FITS and NetCDF, half each): ``ingest(jobs=2)`` against
   the original document's loop (extract one file, insert one record, repeat), both on
   zarrlake's extractors and a fresh SQLite catalog.
2. 1,000,000 generated records: bulk load through ``upsert_observations`` against
   ``pandas.DataFrame.to_sql`` into a bare table, both end to end and counting only the
   time inside the loader (generating the records is the bench's own cost, the same for
   every candidate); then p50/p95 of the first page of
   time-range + mission, target and quality-threshold searches, of ``related`` to depth
   3, and of ``summary`` against the document's aggregation pipeline (a full scan).
   The same on PostgreSQL when its server binaries are installed.
3. What the dashboard's chart cells cost writers: 20,000 of those records upserted in
   batches of 1,000 into a fresh SQLite catalog (not a bulk load: the cells move by
   deltas in each write), with the cells and with their updates left out, with the
   free text index left out (FTS5 trigram table and triggers, schema 7), and the same
   records upserted again with another target name (updates); two runs each, both
   printed, each in a fresh process. ``--cells`` runs this part alone.

Data is generated under ``bench/data/catalog`` (ignored by git).
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench._harness import DATA, Measurement, isolated, report

FOLDER = DATA / "catalog"
FILES = FOLDER / "files"
N_FILES = int(os.environ.get("ZARRLAKE_BENCH_FILES", "5000"))
N_RECORDS = int(os.environ.get("ZARRLAKE_BENCH_RECORDS", "1000000"))
MISSIONS = [f"MISSION-{i}" for i in range(20)]
TARGETS = [f"NGC {i}" for i in range(2000)]
T0 = datetime(2020, 1, 1)
BATCH = 50_000


def _write_files() -> None:
    if FILES.exists() and len(list(FILES.rglob("*.*"))) >= N_FILES:
        return
    import netCDF4
    import numpy as np
    from astropy.io import fits

    shutil.rmtree(FILES, ignore_errors=True)
    rng = random.Random(0)
    for i in range(N_FILES):
        folder = FILES / f"night{i // 250:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        when = T0 + timedelta(minutes=17 * i)
        if i % 2 == 0:
            header = fits.Header()
            header.update(
                {
                    "MISSION": rng.choice(MISSIONS),
                    "TELESCOP": "Sat-A",
                    "INSTRUME": "CAM",
                    "DATE-OBS": when.isoformat(),
                    "OBJECT": rng.choice(TARGETS),
                    "CALIB": "COMPLETE",
                    "EXPTIME": 30.0,
                }
            )
            fits.PrimaryHDU(np.zeros((8, 8), "f4"), header=header).writeto(folder / f"f{i}.fits")
        else:
            with netCDF4.Dataset(folder / f"f{i}.nc", "w") as ds:
                ds.createDimension("time", 4)
                time_var = ds.createVariable("time", "f8", ("time",))
                time_var.units = f"hours since {when.isoformat()}"
                time_var[:] = [0, 1, 2, 3]
                ds.project = rng.choice(MISSIONS)
                ds.platform = "Sat-C"
                ds.instrument = "RAD"


def _document_loop(url: str) -> int:
    from zarrlake.compat.catalog import CatalogClient, MetadataExtractor

    client = CatalogClient(url)
    extractor = MetadataExtractor(client)
    done = 0
    for path in sorted(FILES.rglob("*.*")):
        record = extractor.extract_from_file(path)
        if record:
            client.insert_record("observations", record)
            done += 1
    return done


def _ingest(url: str) -> int:
    from zarrlake.catalog import Catalog
    from zarrlake.catalog._ingest import ingest

    with Catalog(url) as db:
        summary = ingest(db, FILES, jobs=2)
    return summary.new


def _fresh_sqlite(name: str) -> str:
    path = FOLDER / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def bench_ingest() -> None:
    _write_files()
    baseline = isolated(
        "document loop (1 process, 1 insert/file)",
        _document_loop,
        _fresh_sqlite("loop.db"),
        repeat=1,
    )
    ours = isolated("zarrlake ingest --jobs 2", _ingest, _fresh_sqlite("ingest.db"), repeat=1)
    report(f"extract + ingest {N_FILES} FITS/NetCDF files", baseline, ours)
    for m in (baseline, ours):
        print(f"  {m.name:<40} {m.result / m.seconds:8.0f} files/s")


def _records(count: int, start: int = 0) -> Iterator[list[dict[str, Any]]]:
    rng = random.Random(start)
    for first in range(start, start + count, BATCH):
        batch = []
        for i in range(first, min(first + BATCH, start + count)):
            when = T0 + timedelta(seconds=97 * i)
            batch.append(
                {
                    "file_path": f"/archive/{i // 10000:04d}/obs{i:08d}.fits",
                    "mission_id": MISSIONS[i % len(MISSIONS)],
                    "satellite_name": f"Sat-{i % 7}",
                    "instrument_type": ("CAM", "SPEC", "RAD")[i % 3],
                    "observation_timestamp": when,
                    "observation_end": when + timedelta(seconds=60),
                    "target_object": rng.choice(TARGETS),
                    "data_quality_score": round(rng.random(), 3),
                    "calibration_status": "COMPLETE" if i % 3 else "PENDING",
                    "file_size": 10_000_000 + i % 1000,
                    "format": "fits",
                    "mission_specific": {"EXPTIME": 30.0},
                }
            )
        yield batch


class _Timed:
    """Batches from :func:`_records`, counting the seconds spent generating them."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._batches = _records(N_RECORDS)

    def __iter__(self) -> Iterator[list[dict[str, Any]]]:
        while True:
            began = time.perf_counter()
            batch = next(self._batches, None)
            self.seconds += time.perf_counter() - began
            if batch is None:
                return
            yield batch


def _load(url: str, bulk: bool) -> tuple[int, float]:
    """Load the records; return their count and the seconds spent inside zarrlake."""
    from contextlib import nullcontext

    from zarrlake.catalog import Catalog

    began = time.perf_counter()
    batches = _Timed()
    with Catalog(url) as db, db.bulk_loading() if bulk else nullcontext():
        for batch in batches:
            db.upsert_observations(batch)
    return N_RECORDS, time.perf_counter() - began - batches.seconds


def _load_pandas(url: str) -> tuple[int, float]:
    import pandas as pd
    import sqlalchemy as sa

    began = time.perf_counter()
    batches = _Timed()
    engine = sa.create_engine(url)
    for batch in batches:
        frame = pd.DataFrame(batch).drop(columns=["mission_specific"])
        frame.to_sql(
            "plain_observations", engine, if_exists="append", index=False, chunksize=10_000
        )
    engine.dispose()
    return N_RECORDS, time.perf_counter() - began - batches.seconds


def _link_chains(url: str) -> None:
    """Lineage: every 4 consecutive records of one mission form raw -> cal -> mosaic -> cat."""
    from sqlalchemy import insert

    from zarrlake.catalog import Catalog
    from zarrlake.catalog._engine import write_transaction
    from zarrlake.catalog._values import utcnow
    from zarrlake.catalog.schema import dataset_relationships

    now = utcnow()
    rows = []
    for first in range(1, min(N_RECORDS, 200_000), 4):
        for step in range(3):
            rows.append(
                {
                    "parent_dataset_id": first + step,
                    "child_dataset_id": first + step + 1,
                    "relationship_type": "derived_from",
                    "relationship_metadata": {},
                    "created_at": now,
                }
            )
    with Catalog(url) as db:
        with write_transaction(db.engine) as connection:
            connection.execute(insert(dataset_relationships), rows)
        db.analyze()  # what autovacuum / PRAGMA optimize would do on a catalog in use


def _latency(name: str, call: Callable[[], Any], repeat: int = 200) -> tuple[str, float, float]:
    call()  # warm the cache: the figures are for a catalog in use
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return name, statistics.median(times), times[int(0.95 * len(times)) - 1]


def _queries(url: str) -> list[tuple[str, float, float]]:
    from zarrlake.catalog import Catalog, related, search
    from zarrlake.compat.catalog import CatalogClient, CatalogQueryInterface

    rng = random.Random(1)
    span = timedelta(seconds=97 * N_RECORDS)
    db = Catalog(url)

    def window() -> Any:
        start = T0 + span * rng.random()
        return search(
            db,
            mission_id=rng.choice(MISSIONS),
            start=start,
            end=start + timedelta(days=1),
            limit=50,
        )

    results = [
        _latency("time range (1 day) + mission, page 1", window),
        _latency("target, page 1", lambda: search(db, target_object=rng.choice(TARGETS), limit=50)),
        _latency(
            "quality >= q, page 1",
            lambda: search(db, min_quality=0.5 + rng.random() * 0.45, limit=50),
        ),
        _latency(
            "related, depth 3",
            lambda: related(db, 1 + 4 * rng.randrange(min(N_RECORDS, 200_000) // 4), 3),
        ),
        _latency("summary (all missions, incremental)", db.summary),
    ]
    legacy = CatalogQueryInterface(CatalogClient(db))
    results.append(
        _latency(
            "document summary pipeline (full scan)",
            lambda: legacy.get_mission_summary(rng.choice(MISSIONS)),
            repeat=5,
        )
    )
    db.close()
    return results


def _print_latencies(rows: list[tuple[str, float, float]]) -> None:
    for name, p50, p95 in rows:
        print(f"  {name:<42} p50 {p50:8.2f} ms   p95 {p95:8.2f} ms")


def bench_records(kind: str, make_url: Callable[[str], str]) -> None:
    baseline = isolated(
        f"pandas to_sql, bare table ({kind})", _load_pandas, make_url("pandas"), repeat=1
    )
    rowwise = isolated(f"upsert_observations ({kind})", _load, make_url("rowwise"), False, repeat=1)
    url = make_url("records")
    ours = isolated(f"upsert in bulk_loading() ({kind})", _load, url, True, repeat=1)
    report(f"bulk load {N_RECORDS:,} records ({kind})", baseline, ours)
    print("  rows/s                                     end to end   inside the loader")
    for m in (baseline, rowwise, ours):
        count, inside = m.result
        print(f"  {m.name:<40} {count / m.seconds:10,.0f}   {count / inside:10,.0f}")
    _link_chains(url)
    latencies: Measurement = isolated(f"queries ({kind})", _queries, url, repeat=1)
    print(f"\n== first-page latency on {N_RECORDS:,} records ({kind}), 200 runs each")
    _print_latencies(latencies.result)


N_CELL_RECORDS = 20_000
CELL_BATCH = 1_000


def _upsert_in_batches(url: str, cells: bool, text: bool = True, again: bool = False) -> float:
    """Seconds to upsert :data:`N_CELL_RECORDS` records, :data:`CELL_BATCH` at a time.

    ``text=False`` drops the free text index first (FTS5 and its triggers, if the
    zarrlake measured has them); ``again`` times upserting the same records a second
    time, each with another target name (updates instead of inserts).
    """
    import zarrlake.catalog._summary as summary
    from zarrlake.catalog import Catalog
    from zarrlake.catalog._engine import write_transaction

    if not cells:  # the mission summaries still move; the chart cells do not
        summary.apply_cell_changes = lambda *args, **kwargs: None  # type: ignore[assignment]
    records = [r for batch in _records(N_CELL_RECORDS) for r in batch]
    with Catalog(url) as db:
        if not text:
            try:
                from zarrlake.catalog._text import drop_text_index
            except ImportError:  # a zarrlake without one
                pass
            else:
                with write_transaction(db.engine) as connection:
                    drop_text_index(connection)
        if again:
            for first in range(0, len(records), CELL_BATCH):
                db.upsert_observations(records[first : first + CELL_BATCH])
            records = [{**r, "target_object": f"{r['target_object']} b"} for r in records]
        began = time.perf_counter()
        for first in range(0, len(records), CELL_BATCH):
            db.upsert_observations(records[first : first + CELL_BATCH])
        return time.perf_counter() - began


def bench_cell_writes() -> None:
    runs = {}
    modes = {  # label: cells, text index, updates
        "chart cells left out": (False, True, False),
        "with the chart cells": (True, True, False),
        "text index left out": (True, False, False),
        "updates, all kept": (True, True, True),
        "updates, no text index": (True, False, True),
    }
    for label, (cells, text, again) in modes.items():
        measured = [
            isolated(
                label,
                _upsert_in_batches,
                _fresh_sqlite(f"cells{i}.db"),
                cells,
                text,
                again,
                repeat=1,
            )
            for i in range(2)
        ]
        runs[label] = sorted(m.result for m in measured)
    print(f"\n== {N_CELL_RECORDS:,} records upserted in batches of {CELL_BATCH:,} (SQLite)")
    for label, seconds in runs.items():
        per_batch = [s / (N_CELL_RECORDS / CELL_BATCH) * 1000 for s in seconds]
        print(
            f"  {label:<28} {' / '.join(f'{s:.2f}' for s in seconds)} s   "
            f"{' / '.join(f'{b:.0f}' for b in per_batch)} ms a batch"
        )


def main() -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    if "--cells" in sys.argv:
        bench_cell_writes()
        return
    bench_ingest()
    bench_records("SQLite", _fresh_sqlite)
    bench_cell_writes()
    from zarrlake.testing import LocalPostgresServer, postgres_binaries

    if postgres_binaries() is None:
        print("\n(PostgreSQL server binaries not installed: PostgreSQL figures skipped)")
        return
    with LocalPostgresServer() as server:
        bench_records("PostgreSQL", lambda _name: server.create_database())


if __name__ == "__main__":
    main()
