"""The dashboard on 1,000,000 records (SQLite): first page of a search, and the charts.

The catalog (generated on first use under ``bench/data/dashboard/``, ignored by git;
an older schema is upgraded in place, and the upgrade timed): 20 missions over three
years, RA/Dec on 90% of the records, every processing status, 0.1% unreadable files.
A uvicorn server (one process) serves it on 127.0.0.1; a client makes the requests a
view makes, at the same time as the browser does, and the view's time is the wall time
until the last answer: the first time (from scratch: each view's first time follows a
status change, so nothing computed before is reused, as on a freshly ingested catalog)
and then the median of 5 (answers the service reuses until the catalog changes).
Answered from the chart summaries kept on write: unfiltered, one mission, a status, an
instrument (a third of the rows), a facility and an instrument. In part: one year of
every mission (whole days and months from the cells, the partial ones from the rows,
through the time index), a minimum quality of 0.5, on a bin edge, matching half the
rows (counts, status, quality and, schema 7, coverage from the cells), one mission
and one month and one month of every mission (coverage from the day cells; the rest
from the rows: no whole month); a minimum quality of 0.55, inside a bin (the bins from
0.6 up from the cells, the rows from 0.55 to 0.6 through the quality index), alone and
with an instrument (its coverage from the rows). From the rows: free text (the rows the
trigram index finds, schema 7; before, a scan of every row); text of one or two
characters (no trigram: a scan), held by every record ('n': counted as every record
less the rows without it), by 7% ('42') and by none ('q': the page sorts a scan's
matches instead of walking the catalog in time order; its charts share one scan).
``--only=TEXT`` (repeatable) measures the searches whose name holds one of the texts.
``--browser`` also times headless Chromium from navigation to the drawn table, charts
and sky and Earth maps (median of 5, after the requests): each run in a fresh browser
context (nothing cached, as a first visit), and again in one context whose HTTP cache
holds the page and its libraries (a later visit). The load average is printed with
each part.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import statistics
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench._harness import DATA, free_port

FOLDER = DATA / "dashboard"
DATABASE = FOLDER / "dashboard.db"
N_RECORDS = 1_000_000
MISSIONS = [f"MISSION-{i}" for i in range(20)]
STATUSES = ["raw"] * 50 + ["processed"] * 40 + ["archived"] * 7 + ["processing", "failed", "failed"]
T0 = datetime(2021, 1, 1)
STEP = timedelta(seconds=95)  # 1M records: three years
BATCH = 50_000
REPEAT = 5

VIEWS: dict[str, list[str]] = {
    "search (first page + total)": [
        "/datasets?sort=-observation_timestamp&limit=25{q}",
        "/dashboard/count?{q}",
    ],
    "coverage, quality, status charts": [
        "/dashboard/coverage/auto?{q}",
        "/dashboard/status?{q}",
    ],
    "sky and earth maps": ["/dashboard/sky?{q}", "/dashboard/earth?{q}"],
    "problems, pipeline": ["/dashboard/problems", "/dashboard/pipeline"],
}
SEARCHES = {
    "all records": "",
    "one mission": "&mission=MISSION-3",
    "status failed": "&status=failed",
    "instrument CAM": "&instrument=CAM",
    "facility + instrument": "&facility=Sat-3&instrument=CAM",
    "one mission, one month": (
        "&mission=MISSION-3&start=2022-05-01T00:00:00Z&end=2022-05-31T23:59:59Z"
    ),
    "one month": "&start=2022-05-01T00:00:00Z&end=2022-05-31T23:59:59Z",
    "one year": "&start=2022-01-01T00:00:00Z&end=2022-12-31T23:59:59Z",
    "min quality 0.5": "&min_quality=0.5",
    "min quality 0.55": "&min_quality=0.55",
    "min quality 0.55, CAM": "&min_quality=0.55&instrument=CAM",
    "text 'NGC 42'": "&q=NGC%2042",
    "text 'n' (every record)": "&q=n",
    "text '42' (7%)": "&q=42",
    "text 'q' (none)": "&q=q",
}


def _records() -> Iterator[list[dict[str, Any]]]:
    rng = random.Random(21)
    for first in range(0, N_RECORDS, BATCH):
        batch = []
        for i in range(first, min(first + BATCH, N_RECORDS)):
            when = T0 + STEP * i
            positioned = i % 10 != 0
            batch.append(
                {
                    "file_path": f"/archive/{i // 10000:04d}/obs{i:08d}.fits",
                    "mission_id": MISSIONS[i % len(MISSIONS)],
                    "satellite_name": f"Sat-{i % 7}",
                    "instrument_type": ("CAM", "SPEC", "RAD")[i % 3],
                    "observation_timestamp": when,
                    "observation_end": when + timedelta(seconds=60),
                    "target_object": f"NGC {rng.randrange(2000)}",
                    "data_quality_score": round(rng.random(), 3),
                    "calibration_status": "COMPLETE" if i % 3 else "PENDING",
                    "processing_status": rng.choice(STATUSES),
                    "file_size": 10_000_000 + i % 1000,
                    "format": "fits",
                    "ra": rng.uniform(0, 360) if positioned else None,
                    "dec": rng.uniform(-90, 90) if positioned else None,
                    "extraction_error": "not a FITS file" if i % 1000 == 999 else None,
                }
            )
        yield batch


def prepare() -> None:
    """Create the catalog of :data:`N_RECORDS` records unless it is there already."""
    from zarrlake.catalog import SCHEMA_VERSION, Catalog, count

    if DATABASE.exists():
        with Catalog(DATABASE, check_schema=False) as db:
            version = db.schema_version()
            if version is not None and version < SCHEMA_VERSION:
                began = time.perf_counter()
                db.upgrade()
                print(f"upgraded the catalog from schema {version} in {_since(began)}")
        with Catalog(DATABASE) as db:
            if count(db, include_missing=True) == N_RECORDS:
                return
    FOLDER.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DATABASE}{suffix}").unlink(missing_ok=True)
    began = time.perf_counter()
    with Catalog(DATABASE) as db, db.bulk_loading():
        for batch in _records():
            db.upsert_observations(batch)
    print(f"generated {N_RECORDS:,} records in {_since(began)}")


def _since(began: float) -> str:
    return f"{time.perf_counter() - began:.0f} s"


def _change_something() -> None:
    """Change one record's status (and back: the catalog keeps its shape between runs)."""
    from zarrlake.catalog import Catalog

    with Catalog(DATABASE) as db:
        record = db.get("/archive/0000/obs00000001.fits")
        db.set_status(record["id"], "failed", reason="bench")
        db.set_status(record["id"], record["processing_status"], reason="bench")


def _serve(port: int) -> None:
    import uvicorn

    from zarrlake.catalog.api import ServiceSettings, create_app

    app = create_app(ServiceSettings(catalog=f"sqlite:///{DATABASE}"))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _view_seconds(client: Any, paths: list[str]) -> float:
    """Wall time of the view's requests made together (as the browser makes them)."""

    def get(path: str) -> None:
        response = client.get(path)
        response.raise_for_status()

    began = time.perf_counter()
    with ThreadPoolExecutor(len(paths)) as pool:
        list(pool.map(get, paths))
    return time.perf_counter() - began


def _browser_seconds(base: str) -> dict[str, float]:
    """Seconds from navigation to the drawn results table and the drawn charts.

    First in a fresh browser context per run (nothing cached), then in one context
    whose HTTP cache holds the page and libraries from a visit before.
    """
    import shutil

    from playwright.sync_api import sync_playwright

    binary = shutil.which("chromium")
    if binary is None:
        return {}
    waits = {
        "browser: search page": ("/#/", "[data-testid=result-row]"),
        "browser: coverage page": ("/#/coverage", "[data-testid=status-bar]"),
        "browser: sky page": ("/#/sky", "[data-testid=sky-point]"),
    }
    times: dict[str, float] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=binary, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        cached = browser.new_context()
        for name, (path, selector) in waits.items():
            for fresh in (True, False):
                runs = []
                for attempt in range(REPEAT + (0 if fresh else 1)):
                    context = browser.new_context() if fresh else cached
                    page = context.new_page()
                    began = time.perf_counter()
                    page.goto(base + path)
                    page.wait_for_selector(selector, timeout=60_000)
                    if "coverage" in path:
                        page.wait_for_selector("[data-testid=coverage-bar]", timeout=60_000)
                    if "sky" in path:  # the Earth map's count is written after the sky
                        page.wait_for_selector(
                            "#earth-count:not(:empty)", state="attached", timeout=60_000
                        )
                    if fresh or attempt > 0:  # (the cached context's first visit fills it)
                        runs.append(time.perf_counter() - began)
                    page.close()
                    if fresh:
                        context.close()
                label = name if fresh else f"{name} (cached)"
                times[label] = statistics.median(runs)
        browser.close()
    return times


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    """Measure each view for each search and print a table."""
    import httpx2 as httpx

    prepare()
    port = free_port()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(port,))
    server.start()
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    client.get("/health").raise_for_status()
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            print(f"\n== dashboard views, {N_RECORDS:,} records, SQLite, load {_load()}")
            print(f"  {'search':<24} {'view':<34} {'first':>7}   then (median of {REPEAT})")
            only = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--only=")]
            for search, query in SEARCHES.items():
                if only and not any(part in search for part in only):
                    continue
                for view, templates in VIEWS.items():
                    paths = [t.format(q=query) for t in templates]
                    _change_something()  # nothing the service kept is reused: from scratch
                    first = _view_seconds(client, paths)
                    runs = [_view_seconds(client, paths) for _ in range(REPEAT)]
                    print(
                        f"  {search:<24} {view:<34} {first:7.3f} s {statistics.median(runs):7.3f} s"
                    )
        print(f"  (load {_load()})")
        if "--browser" in sys.argv:
            for name, seconds in _browser_seconds(base).items():
                print(f"  {'all records':<24} {name:<34} {seconds:7.3f} s")
    finally:
        server.terminate()
        server.join()


if __name__ == "__main__":
    main()
