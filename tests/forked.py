"""Worker processes that start in milliseconds: forked from a server with zarrlake imported.

A crash test starts dozens of writers and recoveries and kills each at a random
moment; a fresh interpreter spends seconds importing xarray and zarr before its work
begins. :class:`Forked` runs a function in a process forked from multiprocessing's
forkserver, which imported those modules once. The process is a real, separate OS
process: SIGKILL, exit codes and the store's view are exactly those of a fresh one.
"""

from __future__ import annotations

import importlib
import multiprocessing
import multiprocessing.connection
import traceback
from typing import Any

_PRELOAD = ["zarrlake.append", "zarrlake.txn", "zarrlake.storage", "xarray", "zarr", "s3fs"]
_context: Any = None


def _forkserver() -> Any:
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(_PRELOAD)
    return _context


def _run(function: str, args: tuple[Any, ...], channel: Any) -> None:
    module, _, name = function.partition(":")
    try:
        getattr(importlib.import_module(module), name)(*args, ready=lambda: channel.send("READY"))
    except SystemExit:
        raise
    except BaseException:
        channel.send(traceback.format_exc())
        raise


class Forked:
    """``module:function(*args, ready=callback)`` in a forked process, Popen-like."""

    def __init__(self, function: str, *args: Any) -> None:
        context = _forkserver()
        self._reader, writer = context.Pipe(duplex=False)
        self.process = context.Process(target=_run, args=(function, args, writer))
        self.process.start()
        writer.close()
        self.pid = self.process.pid
        self._said: list[str] = []

    def wait_ready(self, timeout: float = 120) -> None:
        """Wait until the function called ``ready()`` (its imports and set-up are done)."""
        if not self._reader.poll(timeout):
            raise TimeoutError(f"{self.pid} never became ready")
        message = self._reader.recv()
        assert message == "READY", message

    def poll(self) -> int | None:
        return self.process.exitcode

    @property
    def returncode(self) -> int | None:
        return self.process.exitcode

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """Wait for the end; return what the function sent (a traceback when it failed)."""
        self.process.join(timeout)
        while True:
            try:
                self._said.append(self._reader.recv())
            except (EOFError, OSError):
                break
        return "", "\n".join(self._said)
