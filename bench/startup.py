"""Start-up of the ``zarrlake`` command: ``--version``, ``--help`` of every command, import.

Each case is a whole process (``python -m zarrlake ...``), run ``--repeat`` times one
after the other; the figures are the median wall time, its spread (min-max) and the
median CPU time (user + system, which other processes on the machine disturb less than
wall time). Baseline: the interpreter's floor, ``python -c pass``, measured in the same
run; ``python -c "import typer, typer.rich_utils"`` shows what typer's rich help costs
before zarrlake does anything. Goal (issue 20): ``--version`` and every ``--help`` under
0.2 s wall, ``import zarrlake`` under 0.3 s.

``python -m bench startup`` or ``python -m bench.startup [--repeat N] [--before SRC]``;
``--before`` times another checkout's ``src`` too, alternating run by run with this one
(so a change of the machine's load hits both alike), and prints the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
GOAL_SECONDS = 0.2
IMPORT_GOAL_SECONDS = 0.3


@dataclass
class Figures:
    label: str
    wall: list[float]
    cpu: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


def run_once(label: str, argv: list[str], src: Path, figures: Figures) -> None:
    """Run ``python ARGV`` once with ``src`` importable; add its wall and CPU seconds."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(src)}
    env["COLUMNS"] = "200"  # help is laid out for a wide terminal, as a user's
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    _, status, usage = os.wait4(process.pid, 0)
    figures.wall.append(time.perf_counter() - start)
    figures.cpu.append(usage.ru_utime + usage.ru_stime)
    assert process.stderr is not None
    stderr = process.stderr.read()
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{label} failed: {stderr.decode(errors='replace')[-2000:]}")


def command_paths(src: Path) -> list[list[str]]:
    """Every command and sub-command of the CLI in ``src`` (asked in a child process)."""
    code = (
        "import json, typer\n"
        "from zarrlake.cli import app\n"
        "def walk(c, p):\n"
        "    out = [p]\n"
        "    for n in getattr(c, 'commands', {}):\n"
        "        out += walk(c.commands[n], p + [n])\n"
        "    return out\n"
        "print(json.dumps(walk(typer.main.get_command(app), [])[1:]))\n"
    )
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    import json

    return [list(p) for p in json.loads(out.stdout)]


def cases(src: Path, everything: bool) -> list[tuple[str, list[str]]]:
    """The processes to time: floors, import, --version, --help of the commands."""
    paths = command_paths(src)
    if not everything:  # the top-level commands and the sub-commands the issue names
        named = {("convert", "run"), ("meta", "validate"), ("catalog", "serve")}
        paths = [p for p in paths if len(p) == 1 or tuple(p) in named]
    return [
        ("python -c pass (floor)", ["-c", "pass"]),
        ("import typer + rich help (typer floor)", ["-c", "import typer, typer.rich_utils"]),
        ("python -c 'import zarrlake'", ["-c", "import zarrlake"]),
        ("zarrlake --version", ["-m", "zarrlake", "--version"]),
        ("zarrlake --help", ["-m", "zarrlake", "--help"]),
        *[(f"zarrlake {' '.join(p)} --help", ["-m", "zarrlake", *p, "--help"]) for p in paths],
    ]


def main(argv: list[str] | None = None) -> None:
    """Time each case and print median wall, spread, CPU and the goal verdict."""
    parser = argparse.ArgumentParser(prog="python -m bench.startup")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--src", type=Path, default=SRC, help="the zarrlake src to time")
    parser.add_argument("--before", type=Path, help="another src to time alongside")
    parser.add_argument("--all", action="store_true", help="every sub-command's --help")
    args = parser.parse_args(argv or [])
    print(f"\n== start-up: {args.repeat} runs each, one process at a time ({args.src})")
    before_head = f" {'before':>8} {'cpu':>7} {'ratio':>6}" if args.before else ""
    print(f"  {'case':<40} {'median':>8} {'min-max':>15} {'cpu':>7}{before_head}  goal")
    rows = []
    for label, case in cases(args.src, args.all):
        figures, before = Figures(label, [], []), Figures(label, [], [])
        for _ in range(args.repeat):
            run_once(label, case, args.src, figures)
            if args.before:
                run_once(label, case, args.before, before)
        goal = IMPORT_GOAL_SECONDS if "import zarrlake" in label else GOAL_SECONDS
        verdict = "" if "floor" in label else ("ok" if figures.median < goal else "over")
        compared = (
            f" {before.median:7.3f}s {before.cpu_median:6.3f}s "
            f"{before.median / figures.median:5.1f}x"
            if args.before
            else ""
        )
        rows.append(figures)
        print(
            f"  {label:<40} {figures.median:7.3f}s "
            f"{min(figures.wall):6.3f}-{max(figures.wall):6.3f}s "
            f"{figures.cpu_median:6.3f}s{compared}  {verdict}"
        )
    helps = [f.median for f in rows if f.label.endswith("--help")]
    print(
        f"  --help of {len(helps)} commands: median {statistics.median(helps):.3f} s, "
        f"slowest {max(helps):.3f} s (goal {GOAL_SECONDS} s)"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
