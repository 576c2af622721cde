"""Local worker processes end with the process that started them.

A command killed with SIGKILL (a scheduler's time limit, the OOM killer, ``kill -9``)
cannot tell its workers to stop; left alone they go on writing and then block forever,
holding memory, while a re-run races with them. Each worker therefore calls
:func:`follow_parent` with its parent's pid first thing:

- on Linux the kernel sends the worker SIGKILL when the parent dies
  (``prctl(PR_SET_PDEATHSIG)``), which is immediate and costs nothing;
- elsewhere a daemon thread checks once a second whether the parent is still the
  same process and ends the worker when it is not.

Either way, a parent that died before the worker got this far is noticed at once. Work
a killed worker leaves half done is what the transaction engine already recovers: a
commit either happened or it did not.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

__all__ = ["follow_parent"]

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_POLL_SECONDS = 1.0


def _kernel_watch() -> bool:
    """Ask the Linux kernel to SIGKILL this process when its parent dies."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _poll(parent_pid: int) -> None:
    while True:
        time.sleep(_POLL_SECONDS)
        if os.getppid() != parent_pid:
            os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def follow_parent(command_pid: int) -> None:
    """End this worker process when the command that started it ends.

    Parameters
    ----------
    command_pid
        The pid of the command's process, read there. It is this worker's parent, or
        (with a forkserver) its grandparent, whose death ends the forkserver too.
    """
    parent = os.getppid()
    if not _kernel_watch():
        threading.Thread(target=_poll, args=(parent,), daemon=True, name="follow-parent").start()
    # The command may have died before the watch was set: the kernel would not tell.
    if parent != command_pid and not _alive(command_pid):
        os._exit(1)
