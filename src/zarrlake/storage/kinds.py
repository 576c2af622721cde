"""Pick the store-kind implementation for a store or a URL scheme, once.

The contract is :class:`zarrlake.storage.protocol.StoreKind`; its implementations are
the private modules ``_local``, ``_memory``, ``_fsspec`` and ``_generic``. A store is
matched by its class (subclasses included, nearest class first); a zarr store of any
other class gets the generic implementation over zarr's own ``Store`` API; anything
that is not a zarr store is refused with an error naming its type. Supporting another
store (obstore, a zip file with its own atomic writes) is one new module and one entry
in ``_KINDS``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zarr.abc.store import Store

from zarrlake.errors import InvalidInputError
from zarrlake.storage._fsspec import FsspecKind
from zarrlake.storage._generic import GenericKind
from zarrlake.storage._local import LocalKind
from zarrlake.storage._memory import MemoryKind
from zarrlake.storage.protocol import StoreKind

__all__ = ["is_object_store", "kind_for_scheme", "kind_of", "local_root"]

_KINDS: tuple[type[StoreKind[Any]], ...] = (LocalKind, MemoryKind, FsspecKind)
_BY_CLASS: dict[type[Store], type[StoreKind[Any]]] = {
    k.store_class: k for k in _KINDS if k.store_class is not None
}
_BY_SCHEME: dict[str, type[StoreKind[Any]]] = {s: k for k in _KINDS for s in k.schemes}
_FALLBACK_SCHEME: type[StoreKind[Any]] = FsspecKind  # any other protocol: try fsspec
_resolved: dict[type[Any], type[StoreKind[Any]]] = {}


def kind_of(store: Store) -> StoreKind[Any]:
    """Return the store-kind implementation wrapping ``store``.

    Parameters
    ----------
    store
        A zarr store.

    Returns
    -------
    StoreKind
        The implementation for the store's class (the generic one for zarr stores
        of other classes).

    Raises
    ------
    InvalidInputError
        When ``store`` is not a zarr store (the message names its type).
    """
    cls = type(store)
    kind = _resolved.get(cls)
    if kind is None:
        if not isinstance(store, Store):
            raise InvalidInputError(
                f"{cls.__module__}.{cls.__qualname__} is not a zarr store",
                subject=cls.__qualname__,
                hint="pass a store from zarrlake.storage.open_store(), or a zarr.abc.store.Store",
            )
        kind = next((_BY_CLASS[c] for c in cls.__mro__ if c in _BY_CLASS), GenericKind)
        _resolved[cls] = kind
    return kind(store)


def kind_for_scheme(scheme: str) -> type[StoreKind[Any]]:
    """Return the implementation that opens URLs of ``scheme`` (fsspec for unknown ones).

    Parameters
    ----------
    scheme
        A URL scheme in lower case (``file``, ``memory``, ``s3``, ...).

    Returns
    -------
    type of StoreKind
        The class whose ``open`` accepts the scheme.
    """
    return _BY_SCHEME.get(scheme, _FALLBACK_SCHEME)


def local_root(store: Store) -> Path | None:
    """Return the directory of a store on this machine, or ``None`` when it has none.

    Parameters
    ----------
    store
        A zarr store.

    Returns
    -------
    pathlib.Path or None
        The root directory of a local store.
    """
    return kind_of(store).local_root


def is_object_store(store: Store) -> bool:
    """Whether ``store`` keeps keys in a flat namespace listed by paged requests (S3, GCS).

    Parameters
    ----------
    store
        A zarr store.

    Returns
    -------
    bool
        True for object stores reached through fsspec.
    """
    return kind_of(store).object_store
