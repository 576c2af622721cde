"""Store URLs, zarr stores and the atomic primitives every writer builds on."""

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
    "StoreLocation",
    "aatomic_put",
    "adelete_key",
    "aput_if_absent",
    "aread_bytes",
    "atomic_put",
    "delete_key",
    "forget_memory_store",
    "open_store",
    "parse_url",
    "put_if_absent",
    "read_bytes",
    "store_url",
]
