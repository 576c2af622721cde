"""The store-kind dispatch, and the whole StoreKind contract on every kind."""

from __future__ import annotations

from pathlib import Path

import pytest
from zarr.storage import LocalStore, MemoryStore, ZipStore

from tests.conftest import StoreTarget
from zarrlake.errors import InvalidInputError, StorageError
from zarrlake.storage import run_sync
from zarrlake.storage.kinds import is_object_store, kind_for_scheme, kind_of, local_root
from zarrlake.storage.protocol import StoreKind

_EXPECTED = {"local": "LocalKind", "memory": "MemoryKind", "s3": "FsspecKind"}


def test_something_that_is_not_a_store_is_refused_by_type() -> None:
    class Bucket:
        pass

    with pytest.raises(InvalidInputError, match=r"test_kinds\.test_.*Bucket is not a zarr store"):
        kind_of(Bucket())  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="builtins.dict is not a zarr store"):
        kind_of({})  # type: ignore[arg-type]


def test_subclasses_get_their_base_class_kind(tmp_path: Path) -> None:
    class Mine(MemoryStore):
        pass

    assert type(kind_of(Mine())).__name__ == "MemoryKind"
    assert type(kind_of(LocalStore(tmp_path))).__name__ == "LocalKind"


def test_other_zarr_stores_use_the_generic_kind(tmp_path: Path) -> None:
    store = run_sync(ZipStore.open(tmp_path / "a.zip", mode="w"))
    try:
        kind = kind_of(store)
        assert type(kind).__name__ == "GenericKind"
        assert kind.url == str(store) and kind.local_root is None
        run_sync(kind.atomic_put("a/b", b"xyz"))
        assert run_sync(kind.key_sizes("a/")) == {"a/b": 3}
        with pytest.raises(StorageError, match="no atomic create-if-absent"):
            run_sync(kind.put_if_absent("lock", b"1"))
    finally:
        store.close()


@pytest.mark.parametrize(
    ("scheme", "name"),
    [("file", "LocalKind"), ("memory", "MemoryKind"), ("s3", "FsspecKind"), ("gs", "FsspecKind")],
)
def test_schemes_pick_their_kind(scheme: str, name: str) -> None:
    assert kind_for_scheme(scheme).__name__ == name


def test_each_kind_implements_the_whole_contract(store_target: StoreTarget) -> None:
    store = store_target.open("a")
    kind = kind_of(store)
    assert isinstance(kind, StoreKind)
    assert type(kind).__name__ == _EXPECTED[store_target.kind]
    assert kind.url == store_target.url
    assert is_object_store(store) is (store_target.kind == "s3")
    root = local_root(store)
    assert (root == Path(store_target.url)) if store_target.kind == "local" else root is None

    assert kind.is_empty() and not run_sync(kind.has_keys(""))
    run_sync(kind.atomic_put("g/a/0", b"12345"))
    run_sync(kind.atomic_put("g/a/1", b"1", durable=False))
    run_sync(kind.make_durable(["g/a/1"]))
    run_sync(kind.atomic_put("g/.zarr.json.0123456789abcdef0123456789abcdef.tmp", b"half"))
    assert run_sync(kind.put_if_absent("g/lock", b"me")) is True
    assert run_sync(kind.put_if_absent("g/lock", b"you")) is False
    assert run_sync(kind.key_sizes("g/")) == {"g/a/0": 5, "g/a/1": 1, "g/lock": 2}
    assert run_sync(kind.key_sizes("")).keys() >= {"g/a/0", "g/lock"}
    assert run_sync(kind.has_keys("g/a")) and not run_sync(kind.has_keys("g/b"))
    assert not kind.is_empty()

    run_sync(kind.delete_keys(["g/a/0", "g/a/1"]))
    kind.prune_empty_dirs("g/a")
    assert run_sync(kind.key_sizes("g/")) == {"g/lock": 2}
    assert not run_sync(kind.has_keys("g/a"))
    if root is not None:
        assert not (root / "g" / "a").exists()  # the emptied folder is gone

    scheme = store_target.url.split("://")[0] if "://" in store_target.url else "file"
    store_class = kind_for_scheme(scheme).store_class
    assert store_class is not None and isinstance(store_target.open("r"), store_class)
