"""Optional dependencies: import them or say how to install them."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from zarrlake.errors import InvalidInputError, MissingDependencyError


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


def import_callable(spec: str, *, what: str, subject: str) -> Callable[..., Any]:
    """Import a configured function written ``module:function`` (or ``module.function``).

    Parameters
    ----------
    spec
        The name to import.
    what
        What it is, for messages (``slice_source``, ``quality function``).
    subject
        The option or value the error names.

    Returns
    -------
    callable
        The function.

    Raises
    ------
    InvalidInputError
        When the name cannot be imported or is not callable.
    """
    module_name, sep, attribute = spec.partition(":")
    if not sep:
        module_name, _, attribute = spec.rpartition(".")
    try:
        target = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as exc:
        raise InvalidInputError(
            f"{what} {spec!r} cannot be imported: {exc}",
            subject=subject,
            hint="write it as 'package.module:function'",
        ) from exc
    if not callable(target):
        raise InvalidInputError(f"{what} {spec!r} is not callable", subject=subject)
    return target  # type: ignore[no-any-return]
