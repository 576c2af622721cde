"""Transactional appends: grow an archive slice by slice, never torn, never locked forever.

zappend's ``zappend(slices, config, **kwargs)`` is in :mod:`zarrlake.compat.zappend`.
"""

from zarrlake.append.config import (
    AppendConfig,
    EncodingConfig,
    PackingConfig,
    SlicePollingConfig,
    VariableConfig,
    load_append_config,
)
from zarrlake.append.core import AppendResult, SliceReport, append

__all__ = [
    "AppendConfig",
    "AppendResult",
    "EncodingConfig",
    "PackingConfig",
    "SlicePollingConfig",
    "SliceReport",
    "VariableConfig",
    "append",
    "load_append_config",
]
