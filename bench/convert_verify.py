"""What the final verify of ``zarrlake convert run`` costs, as a user runs the command.

Data: four ERA5-like files of 30 daily steps (aligned with the 30-step chunks) of
721 x 1440 float32, two variables, about 1 GB; chunks (30, 361, 720), blosc zstd 3.

Each candidate is the whole command (``python -m zarrlake ... convert run --workers 2``,
process start to exit), alternated in one run: the default verify (fingerprints recorded
by the units), ``--no-verify``, and the former default (``--verify-sample 3``: three
inputs re-read). Printed: median wall time, the verify's own seconds (its
``convert.verify`` event) and share of the run, the parent's peak RSS and the whole
process tree's peak PSS; and where the parent's time goes (start-up, scan,
plan + template + pool, units, verify, exit) from the ``--log-level info`` events.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import psutil

from bench._harness import DATA

FOLDER = DATA / "convert_verify"
TARGET = FOLDER / "out.zarr"
MODES: dict[str, list[str]] = {
    "default verify": [],
    "--no-verify": ["--no-verify"],
    "--verify-sample 3": ["--verify-sample", "3"],
}


def inputs() -> list[str]:
    """Generate the four 30-step files once (kept under bench/data/convert_verify)."""
    from bench.convert import _month

    FOLDER.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(4):
        path = FOLDER / f"era5_{i}.nc"
        if not path.exists():
            ds = _month("2020-01", i).isel(time=slice(0, 30))
            first = pd.Timestamp("2020-01-01") + pd.Timedelta(days=30 * i)
            ds = ds.assign_coords(time=pd.date_range(first, periods=30, freq="D"))
            ds.to_netcdf(path, engine="netcdf4")
        paths.append(str(path))
    return paths


def _command(extra: list[str]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "zarrlake",
        "--log-level",
        "info",
        "--log-format",
        "json",
        "convert",
        "run",
        str(FOLDER / "era5_*.nc"),
        "-O",
        str(TARGET),
        *("--chunk", "time=30", "--chunk", "latitude=361", "--chunk", "longitude=720"),
        *("--compression", "blosc:zstd:3:shuffle", "--workers", "2", "--json"),
        *extra,
    ]


def _once(extra: list[str]) -> dict[str, float]:
    shutil.rmtree(TARGET, ignore_errors=True)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"))
    began_at = time.time()
    began = time.perf_counter()
    process = subprocess.Popen(
        _command(extra), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    me = psutil.Process(process.pid)
    peaks = {"tree": 0, "parent": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            total = 0
            try:
                tree = [me, *me.children(recursive=True)]
            except psutil.Error:
                continue
            for p in tree:
                try:
                    info = p.memory_full_info()
                except psutil.Error:
                    continue
                total += info.pss
                if p.pid == process.pid:
                    peaks["parent"] = max(peaks["parent"], info.rss)
            peaks["tree"] = max(peaks["tree"], total)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = process.communicate()
    wall = time.perf_counter() - began
    done.set()
    sampler.join()
    if process.returncode:
        raise RuntimeError(f"convert run failed ({process.returncode}): {err[-2000:]}")
    at: dict[str, float] = {}
    seconds: dict[str, float] = {}
    units: list[float] = []
    for line in err.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        name = entry.get("event")
        when = datetime.fromisoformat(entry["time"]).timestamp() - began_at
        if name == "convert.unit":
            units.append(when)
        elif name:
            at[name] = when
            seconds[name] = float(entry.get("seconds") or 0)
    scan_start = at["convert.scan"] - seconds["convert.scan"]
    return {
        "wall": wall,
        "start-up": scan_start,
        "scan": seconds["convert.scan"],
        "plan+template+pool": at["convert.plan"] - at["convert.scan"],
        "units": (max(units) if units else at["convert.plan"]) - at["convert.plan"],
        "verify": seconds.get("convert.verify", 0.0),
        "after run": wall - at["convert.run"],
        "parent MiB": peaks["parent"] / 2**20,
        "tree MiB": peaks["tree"] / 2**20,
    }


def main(repeat: int = 3) -> None:
    """Run the candidates alternated ``repeat`` times and print medians and spreads."""
    paths = inputs()
    size = sum(os.path.getsize(p) for p in paths)
    print(f"\n== convert run: the final verify's cost ({len(paths)} files, {size / 1e9:.2f} GB)")
    runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    for _ in range(repeat):
        for mode, extra in MODES.items():
            runs[mode].append(_once(extra))
    for mode, results in runs.items():
        walls = [r["wall"] for r in results]
        verify = statistics.median(r["verify"] for r in results)
        share = statistics.median(r["verify"] / r["wall"] for r in results)
        print(
            f"  {mode:<18} wall {statistics.median(walls):6.2f} s "
            f"[{min(walls):.2f}-{max(walls):.2f}]  verify {verify:5.2f} s ({share:5.1%})  "
            f"parent peak RSS {max(r['parent MiB'] for r in results):6.0f} MiB  "
            f"tree peak PSS {max(r['tree MiB'] for r in results):6.0f} MiB"
        )
        phases = ("start-up", "scan", "plan+template+pool", "units", "after run")
        print(
            "    "
            + ", ".join(f"{p} {statistics.median(r[p] for r in results):.2f} s" for p in phases)
        )
    shutil.rmtree(TARGET, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
