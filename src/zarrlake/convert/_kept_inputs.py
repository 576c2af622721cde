"""Inputs kept open between the work units of one run, in the command's own process.

Protocol: a run on local threads gives its :class:`~zarrlake.convert._blocks.ReadOptions`
a ``keep_open`` token (one per run). :func:`kept_open` hands a unit the dataset of an
input already opened for that run, or opens it (with the run's retries) and keeps it;
a unit holds it for the ``with`` block. At most ``KEPT_INPUTS`` unused inputs stay
open per process (the least recently used is closed first; one in use is never
closed). The run calls :func:`close_kept_inputs` with its token when its units are
done, which closes everything that run opened. Processes and Dask workers do not keep
inputs (nothing would close them): they open an input per unit.

Why: when files and chunks do not line up, a unit reads several files and the next
unit the same ones again; opening a NetCDF-4 file costs 15-100 ms of CPU (h5netcdf
resolves every dimension scale), 0.2-0.5 s a unit on 3 files of 83 MB.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import xarray as xr

__all__ = ["KEPT_INPUTS", "close_kept_inputs", "kept_open"]

KEPT_INPUTS = 16
"""Unused inputs kept open per process at most (a few units' worth for each thread)."""


@dataclass
class _Kept:
    dataset: xr.Dataset
    closer: contextlib.ExitStack
    users: int = 0


_LOCK = threading.Lock()
_KEPT: OrderedDict[tuple[str, str], _Kept] = OrderedDict()


@contextlib.contextmanager
def kept_open(
    token: str, path: str, open_input: Callable[[contextlib.ExitStack], xr.Dataset]
) -> Iterator[xr.Dataset]:
    """Yield the run's open dataset of ``path``, opening it with ``open_input`` once.

    Parameters
    ----------
    token
        The run's ``keep_open`` token.
    path
        The input.
    open_input
        Opens the input and registers its closing on the given exit stack.

    Yields
    ------
    xarray.Dataset
        The dataset, shared with the run's other units.
    """
    key = (token, path)
    with _LOCK:  # opening under the lock: two units never open one input twice
        kept = _KEPT.get(key)
        if kept is None:
            closer = contextlib.ExitStack()
            try:
                kept = _Kept(open_input(closer), closer)
            except BaseException:
                closer.close()
                raise
            _KEPT[key] = kept
        kept.users += 1
        _KEPT.move_to_end(key)
    try:
        yield kept.dataset
    finally:
        with _LOCK:
            kept.users -= 1
            _close_unused_beyond(KEPT_INPUTS)


def _close_unused_beyond(limit: int) -> None:
    unused = [key for key, kept in _KEPT.items() if kept.users == 0]
    for key in unused[: max(0, len(_KEPT) - limit)]:  # oldest first
        _KEPT.pop(key).closer.close()


def close_kept_inputs(token: str) -> None:
    """Close every input the run with this token kept open.

    Parameters
    ----------
    token
        The run's ``keep_open`` token.
    """
    with _LOCK:
        for key in [key for key in _KEPT if key[0] == token]:
            _KEPT.pop(key).closer.close()
