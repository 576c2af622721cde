"""Every store kind behaves the same: one conformance class, subclassed per kind."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import numpy as np
import pytest
import zarr

from tests.conftest import StoreTarget, make_target
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


def _race_create(url: str, options: dict | None, key: str, payload: bytes, start, results) -> None:
    store = open_store(url, mode="a", storage_options=options)
    start.wait()
    results.put((payload, put_if_absent(store, key, payload)))


async def _list_dir(store, prefix: str) -> list[str]:
    return sorted([name async for name in store.list_dir(prefix)])


def _write_key(url: str, options: dict | None, key: str) -> None:
    atomic_put(open_store(url, mode="a", storage_options=options), key, b"elsewhere")


class StoreConformance:
    """Tests every store kind must pass; subclasses set ``kind``."""

    kind: str

    @pytest.fixture
    def target(self, request: pytest.FixtureRequest, tmp_path: Path) -> StoreTarget:
        return make_target(self.kind, request, tmp_path)

    @pytest.mark.parametrize("zarr_format", [2, 3])
    def test_zarr_round_trip(self, target: StoreTarget, zarr_format: int) -> None:
        store = target.open("a")
        group = zarr.open_group(store, mode="w", zarr_format=zarr_format)
        array = group.create_array("sub/x", shape=(6, 4), chunks=(3, 2), dtype="float32")
        array[:] = np.arange(24, dtype="float32").reshape(6, 4)
        zarr.consolidate_metadata(store)

        reopened = zarr.open_group(target.open("r"), mode="r", zarr_format=zarr_format)
        np.testing.assert_array_equal(reopened["sub/x"][:], np.arange(24).reshape(6, 4))
        assert reopened.metadata.zarr_format == zarr_format

    def test_url_round_trip(self, target: StoreTarget) -> None:
        assert store_url(target.open("a")) == target.url

    def test_read_only_refuses_writes(self, target: StoreTarget) -> None:
        atomic_put(target.open("a"), "k", b"1")
        with pytest.raises(StorageError, match="read-only"):
            atomic_put(target.open("r"), "k", b"2")
        assert read_bytes(target.open("r"), "k") == b"1"

    def test_atomic_put_replaces(self, target: StoreTarget) -> None:
        store = target.open("a")
        atomic_put(store, "dir/key.json", b"old")
        atomic_put(store, "dir/key.json", b"new")
        assert read_bytes(store, "dir/key.json") == b"new"
        assert set(run_sync(alist_keys(store))) == {"dir/key.json"}  # no temporary files left

    def test_read_missing_is_none_and_delete_missing_is_quiet(self, target: StoreTarget) -> None:
        store = target.open("a")
        assert read_bytes(store, "nope") is None
        delete_key(store, "nope")
        atomic_put(store, "yes", b"1")
        delete_key(store, "yes")
        assert read_bytes(store, "yes") is None

    def test_put_if_absent_once(self, target: StoreTarget) -> None:
        store = target.open("a")
        assert put_if_absent(store, "lock", b"first") is True
        assert put_if_absent(store, "lock", b"second") is False
        assert read_bytes(store, "lock") == b"first"

    def test_put_if_absent_race_has_one_winner(self, target: StoreTarget) -> None:
        # Memory stores live in one process, so they race in threads; the others race
        # in separate processes, as real writers do.
        contenders = 6
        if self.kind == "memory":
            start: threading.Barrier | object = threading.Barrier(contenders)
            import queue

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

    def test_readers_never_see_a_partial_put(self, target: StoreTarget) -> None:
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

    def test_listing_sizes(self, target: StoreTarget) -> None:
        store = target.open("a")
        atomic_put(store, "a/x", b"12345")
        atomic_put(store, "a/y/z", b"12")
        atomic_put(store, "ab/x", b"123")
        assert run_sync(alist_keys(store, "a")) == {"a/x": 5, "a/y/z": 2}
        assert run_sync(astored_bytes(store)) == 10

    def test_modes(self, target: StoreTarget) -> None:
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

    def test_listing_sees_keys_written_elsewhere_later(self, target: StoreTarget) -> None:
        store = target.open("a")
        atomic_put(store, "a/first", b"1")
        assert set(run_sync(alist_keys(store))) == {"a/first"}  # listings now, maybe cached
        assert run_sync(_list_dir(store, "a")) == ["first"]
        if self.kind == "memory":
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


class TestLocalStore(StoreConformance):
    kind = "local"


class TestMemoryStore(StoreConformance):
    kind = "memory"


class TestS3Store(StoreConformance):
    kind = "s3"
