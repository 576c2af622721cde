"""Optional dependencies: import them or say how to install them."""

from __future__ import annotations

import importlib
from types import ModuleType

from zarrlake.errors import MissingDependencyError


def require_dependency(module: str, extra: str) -> ModuleType:
    """Import an optional dependency or raise with the install command.

    Parameters
    ----------
    module
        The module to import.
    extra
        The zarrlake extra that provides it.

    Returns
    -------
    module
        The imported module.

    Raises
    ------
    MissingDependencyError
        When the module cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{module} is needed here but is not installed",
            subject=module,
            hint=f"pip install 'zarrlake[{extra}]'",
        ) from exc
