"""Transactional appends: grow an archive slice by slice, never torn, never locked forever."""

from zarrlake.append.config import (
    AppendConfig,
    EncodingConfig,
    PackingConfig,
    SlicePollingConfig,
    VariableConfig,
    load_append_config,
)
from zarrlake.append.core import AppendResult, SliceReport, append, zappend

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
    "zappend",
]
