"""The store contract, as a test suite plugin authors subclass.

Every store kind zarrlake opens (local folders, ``memory://``, fsspec URLs such as
``s3://``) keeps one contract: Zarr round trips in both formats, URLs that round trip,
read-only modes that refuse writes, atomic replacement that readers never see half
done, put-if-absent with exactly one winner among racing processes, listings with sizes
that see keys other processes wrote, and the open modes ``r``, ``r+``, ``a``, ``w``,
``w-``. Subclass :class:`StoreTests` and return a fresh location of your kind from
:meth:`~StoreTests.make_location`; pytest runs the whole contract on it (as zarr ships
``StoreTests``)::

    from zarrlake.testing.stores import StoreLocation, StoreTests

    class TestMyStore(StoreTests):
        def make_location(self, request, tmp_path):
            return StoreLocation(f"mystore://{tmp_path.name}/archive.zarr")

Needs pytest (the ``dev`` extra).
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pytest
import zarr
from zarr.abc.store import Store

from zarrlake.errors import AlreadyExistsError, NotFoundError, StorageError
from zarrlake.storage import (
    atomic_put,
    delete_key,
    open_store,
    put_if_absent,
    read_bytes,
    run_sync,
    store_url,
)
from zarrlake.storage.listing import alist_keys, astored_bytes
from zarrlake.storage.urls import Mode

__all__ = ["StoreLocation", "StoreTests"]


@dataclass(frozen=True)
class StoreLocation:
    """Where one test's store lives: its URL and fsspec options."""

    url: str
    storage_options: dict[str, Any] | None = None

    def open(self, mode: Mode = "a") -> Store:
        """Open the store at this location with zarrlake's :func:`~zarrlake.storage.open_store`."""
        return open_store(self.url, mode=mode, storage_options=self.storage_options)


def _race_create(
    url: str,
    options: dict[str, Any] | None,
    key: str,
    payload: bytes,
    start: Any,
    results: Any,
) -> None:
    store = open_store(url, mode="a", storage_options=options)
    start.wait()
    results.put((payload, put_if_absent(store, key, payload)))


async def _list_dir(store: Store, prefix: str) -> list[str]:
    return sorted([name async for name in store.list_dir(prefix)])


def _write_key(url: str, options: dict[str, Any] | None, key: str) -> None:
    atomic_put(open_store(url, mode="a", storage_options=options), key, b"elsewhere")


class StoreTests:
    """Every store kind keeps this contract; subclass and define :meth:`make_location`."""

    shared_between_processes: ClassVar[bool] = True
    """Whether another process opening the same URL sees the same keys (not memory://)."""

    def make_location(self, request: pytest.FixtureRequest, tmp_path: Path) -> StoreLocation:
        """Return a fresh, empty location of the store kind under test."""
        raise NotImplementedError("subclasses of StoreTests define make_location")

    @pytest.fixture
    def target(self, request: pytest.FixtureRequest, tmp_path: Path) -> StoreLocation:
        """Return a fresh, empty location for one test."""
        return self.make_location(request, tmp_path)

    @pytest.mark.parametrize("zarr_format", [2, 3])
    def test_zarr_round_trip(self, target: StoreLocation, zarr_format: Literal[2, 3]) -> None:
        """Zarr groups and arrays of both formats read back as written."""
        store = target.open("a")
        group = zarr.open_group(store, mode="w", zarr_format=zarr_format)
        array = group.create_array("sub/x", shape=(6, 4), chunks=(3, 2), dtype="float32")
        array[:] = np.arange(24, dtype="float32").reshape(6, 4)
        zarr.consolidate_metadata(store)

        reopened = zarr.open_group(target.open("r"), mode="r", zarr_format=zarr_format)
        stored = zarr.open_array(target.open("r"), path="sub/x", mode="r")
        np.testing.assert_array_equal(stored[:], np.arange(24).reshape(6, 4))
        assert reopened.metadata.zarr_format == zarr_format

    def test_url_round_trip(self, target: StoreLocation) -> None:
        """The store's URL is the one it was opened from."""
        assert store_url(target.open("a")) == target.url

    def test_read_only_refuses_writes(self, target: StoreLocation) -> None:
        """A store opened read-only refuses writes and keeps its keys."""
        atomic_put(target.open("a"), "k", b"1")
        with pytest.raises(StorageError, match="read-only"):
            atomic_put(target.open("r"), "k", b"2")
        assert read_bytes(target.open("r"), "k") == b"1"

    def test_atomic_put_replaces(self, target: StoreLocation) -> None:
        """Atomic puts replace a key and leave no temporary keys behind."""
        store = target.open("a")
        atomic_put(store, "dir/key.json", b"old")
        atomic_put(store, "dir/key.json", b"new")
        assert read_bytes(store, "dir/key.json") == b"new"
        assert set(run_sync(alist_keys(store))) == {"dir/key.json"}  # no temporary files left

    def test_read_missing_is_none_and_delete_missing_is_quiet(self, target: StoreLocation) -> None:
        """A missing key reads as None; deleting one is not an error."""
        store = target.open("a")
        assert read_bytes(store, "nope") is None
        delete_key(store, "nope")
        atomic_put(store, "yes", b"1")
        delete_key(store, "yes")
        assert read_bytes(store, "yes") is None

    def test_put_if_absent_once(self, target: StoreLocation) -> None:
        """Put-if-absent writes once and never overwrites."""
        store = target.open("a")
        assert put_if_absent(store, "lock", b"first") is True
        assert put_if_absent(store, "lock", b"second") is False
        assert read_bytes(store, "lock") == b"first"

    def test_put_if_absent_race_has_one_winner(self, target: StoreLocation) -> None:
        """Of writers racing to create one key, exactly one wins."""
        # Memory stores live in one process, so they race in threads; the others race
        # in separate processes, as real writers do.
        contenders = 6
        workers: list[Any]  # threads or processes, started and joined alike
        if not self.shared_between_processes:
            start: threading.Barrier | object = threading.Barrier(contenders)
            results: queue.Queue[tuple[bytes, bool]] = queue.Queue()
            workers = [
                threading.Thread(
                    target=_race_create,
                    args=(target.url, None, "lock", f"w{i}".encode(), start, results),
                )
                for i in range(contenders)
            ]
        else:
            context = multiprocessing.get_context("spawn")
            start = context.Barrier(contenders)
            results = context.Queue()  # type: ignore[assignment]
            workers = [
                context.Process(
                    target=_race_create,
                    args=(
                        target.url,
                        target.storage_options,
                        "lock",
                        f"w{i}".encode(),
                        start,
                        results,
                    ),
                )
                for i in range(contenders)
            ]
        for worker in workers:
            worker.start()
        outcomes = [results.get(timeout=60) for _ in range(contenders)]
        for worker in workers:
            worker.join(timeout=60)
        winners = [payload for payload, won in outcomes if won]
        assert len(winners) == 1
        assert read_bytes(target.open("r"), "lock") == winners[0]

    def test_readers_never_see_a_partial_put(self, target: StoreLocation) -> None:
        """A reader sees the old or the new value, never a torn one."""
        store = target.open("a")
        versions = [bytes([i]) * 300_000 for i in (1, 2)]
        atomic_put(store, "doc", versions[0])
        seen: set[bytes] = set()
        torn: list[int] = []
        stop = threading.Event()

        def reader() -> None:
            while not stop.is_set():
                data = read_bytes(store, "doc")
                if data not in versions:
                    torn.append(len(data or b""))
                else:
                    seen.add(data[:1])

        thread = threading.Thread(target=reader)
        thread.start()
        for i in range(40):
            atomic_put(store, "doc", versions[i % 2])
        stop.set()
        thread.join()
        assert torn == []
        assert seen  # the reader really read

    def test_listing_sizes(self, target: StoreLocation) -> None:
        """Listings give each key's size, below a prefix and in total."""
        store = target.open("a")
        atomic_put(store, "a/x", b"12345")
        atomic_put(store, "a/y/z", b"12")
        atomic_put(store, "ab/x", b"123")
        assert run_sync(alist_keys(store, "a")) == {"a/x": 5, "a/y/z": 2}
        assert run_sync(astored_bytes(store)) == 10

    def test_modes(self, target: StoreLocation) -> None:
        """The open modes r, r+, a, w and w- mean what zarr says they mean."""
        with pytest.raises(NotFoundError, match="no Zarr store"):
            target.open("r")
        with pytest.raises(NotFoundError):
            target.open("r+")
        atomic_put(target.open("w-"), "k", b"1")
        with pytest.raises(AlreadyExistsError, match="already exists"):
            target.open("w-")
        assert read_bytes(target.open("r+"), "k") == b"1"
        for key in ("a/b/c", "a/b/d", "a/e", "f/g", "zarr.json"):
            atomic_put(target.open("a"), key, b"x")
        store = target.open("w")  # zarr's FsspecStore.clear() leaves keys behind here
        assert run_sync(alist_keys(store)) == {}

    def test_listing_sees_keys_written_elsewhere_later(self, target: StoreLocation) -> None:
        """Listings are not stale: they see keys another writer added later."""
        store = target.open("a")
        atomic_put(store, "a/first", b"1")
        assert set(run_sync(alist_keys(store))) == {"a/first"}  # listings now, maybe cached
        assert run_sync(_list_dir(store, "a")) == ["first"]
        if not self.shared_between_processes:
            atomic_put(open_store(target.url, mode="a"), "a/second", b"2")
        else:
            context = multiprocessing.get_context("spawn")
            process = context.Process(
                target=_write_key, args=(target.url, target.storage_options, "a/second")
            )
            process.start()
            process.join(60)
        assert set(run_sync(alist_keys(store))) == {"a/first", "a/second"}
        assert set(run_sync(alist_keys(store, "a"))) == {"a/first", "a/second"}
        assert run_sync(_list_dir(store, "a")) == ["first", "second"]
