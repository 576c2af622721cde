"""Pausing Python's cycle collector around allocation-heavy bulk work."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run a block with the cyclic garbage collector off, restoring its state after.

    Turning tens of thousands of records into rows allocates millions of objects; each
    allocation burst triggers collections that traverse every live object, the caller's
    batch included, which halves the speed of bulk writes. Reference counting still
    frees everything meanwhile; only cycles wait for the collector, which runs again
    when the block ends. If the collector was already off (by the caller, or another
    thread inside such a block), it is left off.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
