"""``zarrlake.convert.run`` called as a library, as a notebook or a service would.

Usage: python zarrlake_run.py [--tune] OUTPUT INPUT... (the same chunks and codec as
``bench/convert.py`` gives the command, 2 worker threads, default verify). ``--tune``
calls ``zarrlake.convert.tune_process_memory()`` first, as the command does.
"""

import os
import sys

from zarrlake.convert import run, tune_process_memory

args = sys.argv[1:]
if args[0] == "--tune":
    tune_process_memory()
    args = args[1:]
output, *inputs = args
run(
    inputs,
    output,
    chunks={"time": 30, "latitude": 361, "longitude": 720},
    compression="blosc:zstd:3:shuffle",
    workers=os.cpu_count() or 1,
)
