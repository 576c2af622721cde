"""Store URLs, zarr stores and the atomic primitives every writer builds on.

The contract every store kind fulfils is :class:`zarrlake.storage.protocol.StoreKind`
(atomic put, put-if-absent, sizes, has keys, clear, URL, local root); one private
module implements it per kind (``_local``, ``_memory``, ``_fsspec``, ``_generic``) and
:func:`kind_of` picks it. Remote globs and prefixes are expanded by
:func:`zarrlake.storage.remote.expand_url`. :func:`run_sync` runs a coroutine to completion
from synchronous code (on zarr's event loop).
"""

from zarrlake.storage._sync import run as run_sync
from zarrlake.storage.atomic import (
    aatomic_put,
    adelete_key,
    aput_if_absent,
    aread_bytes,
    atomic_put,
    delete_key,
    put_if_absent,
    read_bytes,
)
from zarrlake.storage.kinds import is_object_store, kind_of, local_root
from zarrlake.storage.protocol import StoreKind
from zarrlake.storage.remote import expand_url
from zarrlake.storage.urls import (
    Mode,
    StoreLocation,
    forget_memory_store,
    open_store,
    parse_url,
    store_url,
)

__all__ = [
    "Mode",
    "StoreKind",
    "StoreLocation",
    "aatomic_put",
    "adelete_key",
    "aput_if_absent",
    "aread_bytes",
    "atomic_put",
    "delete_key",
    "expand_url",
    "forget_memory_store",
    "is_object_store",
    "kind_of",
    "local_root",
    "open_store",
    "parse_url",
    "put_if_absent",
    "read_bytes",
    "run_sync",
    "store_url",
]
