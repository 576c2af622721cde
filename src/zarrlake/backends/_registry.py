"""Backends by name: the built-in ones, those registered at run time, and plugins.

Plugins declare an entry point in the ``zarrlake.backends`` group whose value is a
:class:`~zarrlake.backends.StorageBackend` subclass (``"package.module:Class"``); it is
imported the first time its name is asked for. Names are never silently replaced.
"""

from __future__ import annotations

import threading
from typing import Any

from zarrlake.backends._base import StorageBackend
from zarrlake.config import Registry
from zarrlake.errors import InvalidInputError

__all__ = [
    "BACKENDS",
    "ENTRY_POINT_GROUP",
    "available_backends",
    "get_backend",
    "get_backend_instance",
    "register_backend",
]

ENTRY_POINT_GROUP = "zarrlake.backends"


def _storage_backend(name: str, backend: Any) -> type[StorageBackend]:
    if not (isinstance(backend, type) and issubclass(backend, StorageBackend)):
        raise InvalidInputError(
            f"backend {name!r} must be a StorageBackend subclass, got {backend!r}",
            subject=name,
            hint="subclass zarrlake.backends.StorageBackend",
        )
    return backend


BACKENDS: Registry[type[StorageBackend]] = Registry(
    "storage backend",
    ENTRY_POINT_GROUP,
    check=_storage_backend,
    builtins={
        "disk": "zarrlake.backends._disk:DiskBackend",
        "memory": "zarrlake.backends._memory:MemoryBackend",
        "zarr": "zarrlake.backends._zarr_:ZarrBackend",
    },
)
_lock = threading.Lock()
_instances: dict[str, StorageBackend] = {}


def register_backend(
    name: str, backend: type[StorageBackend] | str, *, replace: bool = False
) -> None:
    """Make ``backend`` available as ``name``.

    Parameters
    ----------
    name
        The registry name.
    backend
        A :class:`StorageBackend` subclass, or ``"module:Class"`` imported on first use.
    replace
        Replace a backend already registered under ``name`` (refused otherwise).

    Raises
    ------
    AlreadyExistsError
        When another backend has the name and ``replace`` is false.
    InvalidInputError
        When ``backend`` is not a :class:`StorageBackend` subclass.
    """
    BACKENDS.register(name, backend, replace=replace)
    with _lock:
        _instances.pop(name, None)


def available_backends() -> list[str]:
    """Return the names of every backend, plugins included, sorted."""
    return BACKENDS.names()


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
    return BACKENDS.get(name)(**options)


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
    backend = BACKENDS.get(name)
    with _lock:
        if name not in _instances:
            _instances[name] = backend()
        return _instances[name]
