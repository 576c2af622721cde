"""``python -m bench [NAME...]`` runs the named benchmarks (default: all)."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = [
    "info",
    "append",
    "meta",
    "convert",
    "convert_verify",
    "shards",
    "backends",
    "plate",
    "catalog",
    "service",
    "dashboard",
    "startup",
]


def main() -> None:
    names = sys.argv[1:] or BENCHMARKS
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        sys.exit(f"unknown benchmark(s) {unknown}; choose from {BENCHMARKS}")
    for name in names:
        importlib.import_module(f"bench.{name}").main()


if __name__ == "__main__":
    main()
