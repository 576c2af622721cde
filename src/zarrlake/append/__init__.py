"""Transactional appends: grow an archive slice by slice, never torn, never locked forever.

The package is callable as its main function: ``zarrlake.append(slices, target)`` is
:func:`zarrlake.append.append` (``from zarrlake import append`` gives the same object
whether or not this package was imported before). zappend's ``zappend(slices, config,
**kwargs)`` is in :mod:`zarrlake.compat.zappend`.
"""

import inspect
import sys
import types
from typing import Any

from zarrlake.append._config import (
    AppendConfig,
    EncodingConfig,
    SlicePollingConfig,
    VariableConfig,
    load_append_config,
)
from zarrlake.append._core import AppendResult, SliceReport, append

__all__ = [
    "AppendConfig",
    "AppendResult",
    "EncodingConfig",
    "SlicePollingConfig",
    "SliceReport",
    "VariableConfig",
    "append",
    "load_append_config",
]


class _CallablePackage(types.ModuleType):
    """A package that is also its main function (its name and the function's are one)."""

    def __call__(self, *args: Any, **kwargs: Any) -> AppendResult:
        return append(*args, **kwargs)


# importing a submodule binds ``zarrlake.append`` to the package, never to the function:
# making the package callable keeps ``zarrlake.append(...)`` one thing either way
sys.modules[__name__].__class__ = _CallablePackage
__signature__ = inspect.signature(append)
