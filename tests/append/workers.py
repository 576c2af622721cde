"""Subprocess entry points for crash, race and isolation tests.

    python -m tests.append.workers append TARGET N [--no-wait] [--slow S] [--options JSON]
    python -m tests.append.workers slow-recover TARGET [--options JSON]

Each prints READY once its imports are done, so a test can time a SIGKILL against the
work itself rather than against interpreter start-up.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from tests.subprocesses import spawn_module

CHUNKED = {
    "*": {"encoding": {"chunks": [3, None, None]}},
    "time": {"encoding": {"chunks": [3]}},
}


def spawn(*args: str, wait_ready: bool = False) -> subprocess.Popen[str]:
    """Start ``python -m tests.append.workers ARGS`` (optionally until it prints READY)."""
    return spawn_module("tests.append.workers", *args, wait_ready=wait_ready)


def _options(argv: list[str]) -> dict | None:
    if "--options" in argv:
        return json.loads(argv[argv.index("--options") + 1]) or None
    return None


def _slow_down(module, delay: float) -> None:
    """Make a module's store writes slower, so a kill can land inside them."""
    for name in ("aatomic_put", "adelete_key", "aatomic_put_many"):
        if not hasattr(module, name):
            continue
        original = getattr(module, name)

        async def slow(*args, _original=original, **kwargs):
            await asyncio.sleep(delay)
            return await _original(*args, **kwargs)

        setattr(module, name, slow)


def _say_ready() -> None:
    print("READY", flush=True)


def forked_append(
    target: str, count: int, slow: float, options: dict | None, ready=_say_ready
) -> None:
    """``run_append`` for :class:`tests.forked.Forked` (positional arguments)."""
    run_append(target, count, wait=True, options=options, slow=slow, ready=ready)


def run_append(
    target: str,
    count: int,
    *,
    wait: bool,
    options: dict | None,
    slow: float = 0.0,
    ready=_say_ready,
) -> None:
    from zarrlake.append import append
    from zarrlake.errors import LockedError
    from zarrlake.txn import _transaction as transaction

    if slow:
        _slow_down(transaction, slow)

    ready()
    try:
        result = append(
            range(count),
            target,
            slice_source="tests.append.slices:make_slice",
            variables=CHUNKED,
            target_storage_options=options,
            lock={"wait": wait, "timeout": 120, "poll_interval": 0.02},
        )
    except LockedError as error:
        print(json.dumps({"locked": str(error)}), flush=True)
        sys.exit(3)
    print(json.dumps({"appended": result.appended, "skipped": result.skipped}), flush=True)


def run_slow_recover(target: str, options: dict | None, ready=_say_ready) -> None:
    """Recover with every store write slowed down, so a kill can land inside it."""
    from zarrlake.storage import open_store
    from zarrlake.txn import _journal as journal
    from zarrlake.txn import recover

    _slow_down(journal, 0.03)
    store = open_store(target, mode="a", storage_options=options)
    ready()
    print(recover(store), flush=True)


if __name__ == "__main__":
    command, target = sys.argv[1], sys.argv[2]
    if command == "append":
        run_append(
            target,
            int(sys.argv[3]),
            wait="--no-wait" not in sys.argv,
            options=_options(sys.argv),
            slow=float(sys.argv[sys.argv.index("--slow") + 1]) if "--slow" in sys.argv else 0.0,
        )
    elif command == "slow-recover":
        run_slow_recover(target, _options(sys.argv))
    else:
        sys.exit(f"unknown command {command}")
