"""The catalog service under load: 20 concurrent clients on 127.0.0.1, 1,000,000 records.

The server (uvicorn, one process, no access log) serves ``GET /datasets`` with a one-day
time range and a mission, first page of 50. The load: ``wrk`` (Debian's package; 20
connections, random missions and days from a Lua script) when installed, and 20 Python
client threads (httpx2) in another process, which on two cores take CPU from the
server. The baseline is the same search called in-process (no HTTP), one caller, so the
ratio shows what HTTP, JSON and concurrency cost.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import statistics
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench._harness import free_port
from bench.catalog import FOLDER, MISSIONS, N_RECORDS, T0, _records

CLIENTS = 20
SECONDS = float(os.environ.get("ZARRLAKE_BENCH_SECONDS", "20"))
DATABASE = FOLDER / "service.db"


def _prepare() -> None:
    from zarrlake.catalog import Catalog, count

    if DATABASE.exists():
        with Catalog(DATABASE) as db:
            if count(db) == N_RECORDS:
                return
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DATABASE}{suffix}").unlink(missing_ok=True)
    with Catalog(DATABASE) as db, db.bulk_loading():
        for batch in _records(N_RECORDS):
            db.upsert_observations(batch)


def _window(rng: random.Random) -> dict[str, str]:
    span = timedelta(seconds=97 * N_RECORDS)
    start = T0 + span * rng.random()
    end = start + timedelta(days=1)
    return {
        "mission": rng.choice(MISSIONS),
        "start": start.isoformat() + "Z",
        "end": end.isoformat() + "Z",
        "limit": "50",
    }


def _serve(port: int) -> None:
    import uvicorn

    from zarrlake.catalog.api import ServiceSettings, create_app

    app = create_app(ServiceSettings(catalog=f"sqlite:///{DATABASE}"))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _load(base: str) -> tuple[list[float], int]:
    import httpx2 as httpx

    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + SECONDS

    def client(seed: int) -> None:
        nonlocal errors
        rng = random.Random(seed)
        with httpx.Client(base_url=base, timeout=30) as http:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                response = http.get("/datasets", params=_window(rng))
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    errors += response.status_code != 200

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


WRK_SCRIPT = """
math.randomseed(1)
local missions = {}
for i = 0, %(missions)d - 1 do missions[#missions + 1] = "MISSION-" .. i end
local t0 = os.time{year=2020, month=1, day=1, hour=0}
request = function()
  local start = t0 + math.random(0, %(span)d)
  local s = os.date("!%%Y-%%m-%%dT%%H:%%M:%%SZ", start)
  local e = os.date("!%%Y-%%m-%%dT%%H:%%M:%%SZ", start + 86400)
  return wrk.format("GET", "/datasets?mission=" .. missions[math.random(#missions)]
    .. "&start=" .. s .. "&end=" .. e .. "&limit=50")
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%.3f %%.3f %%.3f\\n", summary.requests,
    e.status + e.connect + e.read + e.write + e.timeout, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, summary.duration / 1e6))
end
"""


def _wrk(base: str) -> dict[str, Any] | None:
    import shutil
    import subprocess

    binary = shutil.which("wrk")
    if binary is None:
        return None
    script = FOLDER / "service.lua"
    script.write_text(WRK_SCRIPT % {"missions": len(MISSIONS), "span": 97 * N_RECORDS})
    done = subprocess.run(
        [binary, "-t1", f"-c{CLIENTS}", f"-d{int(SECONDS)}s", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(row for row in done.stdout.splitlines() if row.startswith("RESULT"))
    requests, errors, p50, p95, seconds = line.split()[1:]
    return {
        "name": f"GET /datasets, wrk, {CLIENTS} connections",
        "requests": int(requests),
        "rate": int(requests) / float(seconds),
        "p50": float(p50),
        "p95": float(p95),
        "errors": int(errors),
    }


def _in_process() -> list[float]:
    from zarrlake.catalog import Catalog, search

    rng = random.Random(0)
    times = []
    with Catalog(DATABASE) as db:
        deadline = time.monotonic() + min(SECONDS, 5)
        while time.monotonic() < deadline:
            window = _window(rng)
            started = time.perf_counter()
            search(
                db, mission_id=window["mission"], start=window["start"], end=window["end"], limit=50
            )
            times.append((time.perf_counter() - started) * 1000)
    return times


def _summary(name: str, times: list[float], seconds: float) -> dict[str, Any]:
    times = sorted(times)
    return {
        "name": name,
        "requests": len(times),
        "rate": len(times) / seconds,
        "p50": statistics.median(times),
        "p95": times[int(0.95 * len(times)) - 1],
    }


def main() -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    _prepare()
    baseline = _summary("search() in-process, 1 caller", _in_process(), min(SECONDS, 5))
    port = free_port()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(port,))
    server.start()
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx2 as httpx

        for _ in range(200):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        with_wrk = _wrk(base)
        latencies, errors = _load(base)
    finally:
        server.terminate()
        server.join()
    ours = _summary(f"GET /datasets, {CLIENTS} clients over HTTP", latencies, SECONDS)
    print(f"\n== catalog service, {N_RECORDS:,} records (SQLite), time range + mission, page 1")
    rows = [baseline, *([with_wrk] if with_wrk else []), ours]
    for row in rows:
        print(
            f"  {row['name']:<42} {row['requests']:7d} requests  {row['rate']:8.1f}/s  "
            f"p50 {row['p50']:7.2f} ms  p95 {row['p95']:7.2f} ms"
        )
    if with_wrk is None:
        print(
            "  (wrk is not installed: apt-get install wrk for a load that leaves the CPU "
            "to the server)"
        )
    wrk_errors = with_wrk["errors"] if with_wrk else 0
    best = with_wrk or ours
    print(
        f"  errors: {errors + wrk_errors}; p95 over HTTP is {best['p95'] / baseline['p95']:.1f}x "
        f"the in-process p95 (goal: p95 < 100 ms)"
    )


if __name__ == "__main__":
    main()
