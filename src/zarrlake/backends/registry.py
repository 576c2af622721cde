"""Backends by name: the built-in ones, those registered at run time, and plugins.

Plugins declare an entry point in the ``zarrlake.backends`` group whose value is a
:class:`~zarrlake.backends.StorageBackend` subclass; they are loaded the first time a
name is not found among the registered ones.
"""

from __future__ import annotations

import threading
from importlib.metadata import entry_points
from typing import Any

from zarrlake.backends.base import StorageBackend
from zarrlake.backends.disk import DiskBackend
from zarrlake.backends.memory import MemoryBackend
from zarrlake.backends.zarr_ import ZarrBackend
from zarrlake.errors import AlreadyExistsError, InvalidInputError, NotFoundError

__all__ = [
    "ENTRY_POINT_GROUP",
    "available_backends",
    "get_backend",
    "get_backend_instance",
    "register_backend",
]

ENTRY_POINT_GROUP = "zarrlake.backends"

_lock = threading.Lock()
_registry: dict[str, type[StorageBackend]] = {
    "disk": DiskBackend,
    "memory": MemoryBackend,
    "zarr": ZarrBackend,
}
_instances: dict[str, StorageBackend] = {}
_plugins_loaded = False


def register_backend(name: str, backend: type[StorageBackend], *, replace: bool = False) -> None:
    """Make ``backend`` available as ``name``.

    Parameters
    ----------
    name
        The registry name.
    backend
        A :class:`StorageBackend` subclass.
    replace
        Replace a backend already registered under ``name`` (refused otherwise).
    """
    if not (isinstance(backend, type) and issubclass(backend, StorageBackend)):
        raise InvalidInputError(
            f"backend {name!r} must be a StorageBackend subclass, got {backend!r}",
            subject=name,
            hint="subclass zarrlake.backends.StorageBackend",
        )
    with _lock:
        if name in _registry and _registry[name] is not backend and not replace:
            raise AlreadyExistsError(
                f"a storage backend named {name!r} is already registered "
                f"({_registry[name].__qualname__})",
                subject=name,
                hint="choose another name, or pass replace=True",
            )
        _registry[name] = backend
        _instances.pop(name, None)


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in _registry:
            continue
        try:
            backend = entry.load()
        except Exception as error:
            raise InvalidInputError(
                f"storage backend plugin {entry.name!r} ({entry.value}) failed to load: {error}",
                subject=entry.name,
                hint="reinstall the package that provides it, or uninstall it",
            ) from error
        register_backend(entry.name, backend)


def available_backends() -> list[str]:
    """Return the names of every backend, plugins included, sorted."""
    _load_plugins()
    return sorted(_registry)


def _backend_class(name: str) -> type[StorageBackend]:
    if name not in _registry:
        _load_plugins()
    if name not in _registry:
        raise NotFoundError(
            f"no storage backend named {name!r}; available: {', '.join(available_backends())}",
            subject=name,
            hint=f"install the plugin that provides it (entry point group {ENTRY_POINT_GROUP!r})",
        )
    return _registry[name]


def get_backend(name: str, **options: Any) -> StorageBackend:
    """Return a new backend ``name`` configured with ``options``.

    Parameters
    ----------
    name
        ``disk``, ``memory``, ``zarr`` or a plugin's name.
    **options
        Passed to the backend (``config=ZarrConfig(...)`` for ``zarr``).

    Returns
    -------
    StorageBackend
        A new instance.
    """
    return _backend_class(name)(**options)


def get_backend_instance(name: str) -> StorageBackend:
    """Return the shared default instance of backend ``name`` (polystore's function).

    Parameters
    ----------
    name
        The registry name.

    Returns
    -------
    StorageBackend
        The same instance on every call in this process.
    """
    backend = _backend_class(name)
    with _lock:
        if name not in _instances:
            _instances[name] = backend()
        return _instances[name]
