"""zappend's API: ``zappend(slices, config=None, **kwargs)`` on zarrlake's append engine.

zappend's configuration keys, its ``{{ expressions }}`` and ``slice_source`` callables
are read by :class:`zarrlake.append.AppendConfig`; this module only keeps zappend's call
shape (config first, overrides as keywords).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from zarrlake.append import AppendConfig, AppendResult, append
from zarrlake.config import ConfigSource

__all__ = ["AppendConfig", "AppendResult", "zappend"]


def zappend(
    slices: Iterable[Any] | Any,
    config: ConfigSource | Sequence[ConfigSource] | None = None,
    **kwargs: Any,
) -> AppendResult:
    """Create or update a Zarr dataset from slices: zappend's API, on zarrlake's engine.

    Parameters
    ----------
    slices
        An iterable of paths/URLs or Datasets (or items for ``slice_source``).
    config
        A path/URI, a dict, ``None``, or a sequence of them merged in order.
    **kwargs
        Config values overriding ``config`` (``target_dir``, ``append_dim``, ...).

    Returns
    -------
    AppendResult
        What was appended.
    """
    return append(slices, None, config, **kwargs)
