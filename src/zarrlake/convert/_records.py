"""Completion records of a conversion, and the fingerprints of what each unit stored.

Each finished work unit (or file) leaves a record under ``convert/done/`` in the archive's sidecar:
resume skips what is recorded and verify tells a never-written step from a written
all-NaN one. A unit's record also holds, for every stored object (chunk, or shard when
an array is sharded) it wrote, fingerprints taken while the data were in memory:

``size``, ``words``
    Length of the object's bytes as the store received them (captured by
    :class:`RecordingStore`, so no read-back), and their sum as little-endian 8-byte
    words modulo 2**64 (:func:`word_sum`). A later deletion, truncation or overwrite
    changes them. A word sum rather than a CRC: verify reads every local object back,
    and at memory speed (a mapped file summed by numpy) that costs a fifth of a CRC.
``bits``
    The sum, modulo 2**64, of the encoded values' bit patterns (the array handed to
    zarr, before compression). Order-free, so it is computed on views of the unit's
    block without copies, and equal to the same sum over the object decoded again: a
    region written to the wrong place, or another object's bytes, decode to another sum.
``nan``, ``min``, ``max``
    Only where encoding changes values (CF packing, a non-NaN ``_FillValue``): the
    missing count and range of the values as read from the sources (after the
    out-of-range policy), i.e. what the object must decode to. A stale packing, or a
    fill value mapped wrongly, decodes to other counts or ranges.

A record carries a ``digest`` of its own content: a record edited or truncated after the
fact no longer counts as written (resume rewrites the unit, verify reports it).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from zarr.abc.store import Store
from zarr.core.buffer import Buffer
from zarr.storage import WrapperStore

from zarrlake.convert._template import RECORD_PREFIX
from zarrlake.storage import run_sync
from zarrlake.storage.atomic import atomic_put, read_bytes
from zarrlake.storage.listing import alist_keys
from zarrlake.storage.sidecar import sidecar

__all__ = [
    "ObjectLedger",
    "RecordingStore",
    "bit_sum",
    "object_grid",
    "read_record_state",
    "read_records",
    "value_stats",
    "word_sum",
    "write_record",
]

_DIGEST = "digest"


def word_sum(data: Any) -> int:
    """Return the sum of ``data``'s bytes as little-endian 8-byte words, modulo 2**64.

    A last partial word counts as if padded with zero bytes.
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    whole = raw.size // 8 * 8
    total = int(raw[:whole].view("<u8").sum(dtype=np.uint64)) if whole else 0
    if whole < raw.size:
        total += int.from_bytes(raw[whole:].tobytes().ljust(8, b"\0"), "little")
    return total % 2**64


class RecordingStore(WrapperStore[Store]):
    """A store wrapper that notes the length and word sum of every object written.

    The writer's arrays are opened on it, so the fingerprints of the bytes that went to
    the store cost one pass over compressed data in memory and no read.
    """

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.written: dict[str, tuple[int, int]] = {}
        self.write_seconds = 0.0
        """Seconds spent in the wrapped store's ``set`` (summed over concurrent puts)."""

    async def set(self, key: str, value: Buffer) -> None:
        """Store ``value`` under ``key`` and note its size and word sum."""
        began = time.perf_counter()
        await self._store.set(key, value)
        self.write_seconds += time.perf_counter() - began
        data = value.as_numpy_array()
        self.written[key] = (int(data.nbytes), word_sum(data))


def object_grid(array: Any) -> tuple[int, ...]:
    """Return the shape of one stored object of ``array``: its shard, else its chunk."""
    shards = getattr(array, "shards", None)
    return tuple(shards) if shards else tuple(array.chunks)


def bit_sum(values: np.ndarray[Any, Any], offset: int = 0) -> int | None:
    """Return the sum of an object's encoded bits as 8-byte words, modulo 2**64.

    The object's rows are read as little-endian 8-byte words (elements of 1, 2 or 4
    bytes packed into each, a last partial word padded with zeros) and all words
    summed. The sum is additive over parts of an object: ``values`` may be a part whose
    rows start ``offset`` elements into the object's rows, and the parts' sums add up
    to the whole object's, however the writer split it. Aligned parts are summed as
    words in one native pass; others lane by lane. ``None`` for dtypes without
    fixed-size numeric bits (strings, objects).
    """
    size = values.dtype.itemsize
    if values.dtype.kind not in "biufmM" or size not in (1, 2, 4, 8):
        return None
    flat = values.reshape(1) if values.ndim == 0 else values
    if flat.size == 0:
        return 0
    lanes = 8 // size
    unsigned = flat.view(f"u{size}")
    if lanes == 1:
        return int(np.add.reduce(unsigned, axis=None, dtype=np.uint64))
    if offset % lanes == 0 and flat.shape[-1] % lanes == 0 and flat.strides[-1] == size:
        return int(np.add.reduce(flat.view(np.uint64), axis=None))
    total = 0
    for lane in range(lanes):  # element j of a word is worth 2**(8 * size * j)
        part = unsigned[..., (lane - offset) % lanes :: lanes]
        total += int(np.add.reduce(part, axis=None, dtype=np.uint64)) << (8 * size * lane)
    return total % 2**64


def value_stats(values: np.ndarray[Any, Any]) -> tuple[int, float | None, float | None]:
    """Return the missing count, minimum and maximum of float or integer values."""
    if values.dtype.kind == "f":
        missing = np.isnan(values)
        nan = int(np.count_nonzero(missing))
        if nan == values.size:
            return nan, None, None
        if nan:
            return nan, float(np.nanmin(values)), float(np.nanmax(values))
        return 0, float(values.min()), float(values.max())
    if values.size == 0:
        return 0, None, None
    return 0, float(values.min()), float(values.max())


def _merge(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    if old is None:
        return new
    merged = dict(old)
    if "bits" in new:
        merged["bits"] = (int(old.get("bits", 0)) + new["bits"]) % 2**64
    if "nan" in new:
        merged["nan"] = int(old.get("nan", 0)) + new["nan"]
        for name, pick in (("min", min), ("max", max)):
            values = [v for v in (old.get(name), new.get(name)) if v is not None]
            merged[name] = pick(values) if values else None
    return merged


@dataclass
class ObjectLedger:
    """Fingerprints of the stored objects one unit writes, per variable and object."""

    objects: dict[str, dict[tuple[int, ...], dict[str, Any]]] = field(default_factory=dict)

    def note(
        self,
        name: str,
        grid: tuple[int, ...],
        shape: tuple[int, ...],
        index: tuple[slice, ...],
        encoded: np.ndarray[Any, Any],
        values: np.ndarray[Any, Any] | None,
    ) -> None:
        """Add what one write of ``encoded`` at ``index`` puts into each object.

        Parameters
        ----------
        name
            The variable.
        grid, shape
            Its object shape (:func:`object_grid`) and array shape.
        index
            Where ``encoded`` goes (one slice per dim, steps of 1).
        encoded
            The values handed to zarr.
        values
            The values they must decode to, when encoding changes them (packing, a
            non-NaN fill value); ``None`` otherwise.
        """
        bounds = [part.indices(size)[:2] for part, size in zip(index, shape, strict=True)]
        ranges = [
            range(start // size, -(-stop // size)) if stop > start else range(0)
            for (start, stop), size in zip(bounds, grid, strict=True)
        ]
        per_var = self.objects.setdefault(name, {})
        for coords in itertools.product(*ranges):
            local = tuple(
                slice(max(c * g, a) - a, min((c + 1) * g, b) - a)
                for c, g, (a, b) in zip(coords, grid, bounds, strict=True)
            )
            part: dict[str, Any] = {}
            bits = bit_sum(
                encoded[local],
                offset=max(coords[-1] * grid[-1], bounds[-1][0]) - coords[-1] * grid[-1],
            )
            if bits is not None:
                part["bits"] = bits
            if values is not None:
                nan, low, high = value_stats(values[local])
                part.update(nan=nan, min=low, max=high)
            per_var[coords] = _merge(per_var.get(coords), part)

    def record(
        self, arrays: Mapping[str, Any], written: dict[str, tuple[int, int]]
    ) -> dict[str, dict[str, dict[str, Any]]]:
        """Return the ledger as record content: per variable, object key -> fingerprints.

        ``written`` maps store keys to (size, words) as :class:`RecordingStore` noted them;
        the unit's keys are taken out of it (units own their objects, so threads writing
        other units in the same process never share one).
        """
        result: dict[str, dict[str, dict[str, Any]]] = {}
        for name, objects in self.objects.items():
            metadata = arrays[name].metadata
            entries = {}
            for coords, stats in sorted(objects.items()):
                key = metadata.encode_chunk_key(coords)
                size, words = written.pop(f"{name}/{key}", (None, None))
                entries[key] = {"size": size, "words": words, **stats}
            result[name] = entries
        return result


def _digest(content: Mapping[str, Any]) -> str:
    body = {k: v for k, v in content.items() if k != _DIGEST}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def write_record(store: Store, name: str, content: dict[str, Any]) -> None:
    """Write a completion record (with its time and its own digest), atomically."""
    content["written_at"] = time.time()
    content[_DIGEST] = _digest(content)
    side = sidecar(store)
    atomic_put(side.store, side.key(f"{RECORD_PREFIX}{name}.json"), json.dumps(content).encode())


def read_record_state(store: Store) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Return the intact completion records by name, and the names of corrupt ones.

    The one reader of the records: resume (:func:`read_records`) and verify both use it.
    A record is corrupt when it is not a JSON object or its digest does not match its
    content (records written before digests existed have none and count as intact);
    resume rewrites a unit whose record is corrupt, verify reports it (ZL209). Keys
    that are not ``.json`` (an atomic put's temporary object) are no records.

    Returns
    -------
    tuple
        (records by name, sorted names of the corrupt records).
    """
    records: dict[str, dict[str, Any]] = {}
    corrupt: list[str] = []
    side = sidecar(store)
    prefix = side.key(RECORD_PREFIX)
    for key in run_sync(alist_keys(side.store, prefix.rstrip("/"))):
        if not key.endswith(".json"):
            continue  # an atomic put's temporary object
        name = key.removeprefix(prefix).removesuffix(".json")
        data = read_bytes(side.store, key)
        if data is None:
            continue
        content: Any = None
        with contextlib.suppress(ValueError):
            content = json.loads(data)
        if not isinstance(content, dict) or (
            _DIGEST in content and content[_DIGEST] != _digest(content)
        ):
            corrupt.append(name)
            continue
        records[name] = content
    return records, sorted(corrupt)


def read_records(store: Store) -> dict[str, dict[str, Any]]:
    """Return the intact completion records of an archive (units and files) by name.

    What resume skips: a corrupt record counts as not written (:func:`read_record_state`).
    """
    return read_record_state(store)[0]
