from __future__ import annotations

import numpy as np
import pytest
import zarr

from tests.conftest import StoreTarget
from zarrlake.errors import CorruptError, NotFoundError
from zarrlake.meta import ArrayInfo, GroupInfo, inspect_store
from zarrlake.storage import atomic_put


def _build(target: StoreTarget, zarr_format: int, consolidate: bool) -> None:
    store = target.open("a")
    root = zarr.open_group(store, mode="w", zarr_format=zarr_format, attributes={"title": "t"})
    obs = root.create_group("obs")
    temp = obs.create_array(
        "temp",
        shape=(10, 4),
        chunks=(5, 4),
        dtype="float32",
        fill_value=np.nan,
        compressors=None,
        **(
            {"dimension_names": ("time", "x")}
            if zarr_format == 3
            else {"attributes": {"_ARRAY_DIMENSIONS": ["time", "x"]}}
        ),
    )
    temp[:5] = 1.0  # one of two chunks written
    root.create_array("flags", shape=(3,), dtype="uint8", fill_value=0)
    if consolidate:
        zarr.consolidate_metadata(store)


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("consolidate", [True, False])
def test_tree_and_numbers(store_target: StoreTarget, zarr_format: int, consolidate: bool) -> None:
    _build(store_target, zarr_format, consolidate)
    info = inspect_store(store_target.url, storage_options=store_target.storage_options)
    assert info.url == store_target.url
    assert info.zarr_format == zarr_format
    assert info.consolidated is consolidate
    assert (info.n_groups, info.n_arrays) == (1, 2)
    assert isinstance(info.root, GroupInfo) and info.root.attributes == 1
    names = [child.path for child in info.root.children]
    assert names == ["flags", "obs"]
    obs = info.root.children[1]
    assert isinstance(obs, GroupInfo)
    temp = obs.children[0]
    assert isinstance(temp, ArrayInfo)
    assert temp.path == "obs/temp"
    assert temp.shape == (10, 4) and temp.chunks == (5, 4) and temp.dtype == "float32"
    assert temp.dimension_names == ("time", "x")
    assert temp.compression == "none"
    assert temp.fill_value == "nan"
    assert (temp.chunks_written, temp.chunks_total) == (1, 2)
    assert temp.stored_bytes == 5 * 4 * 4  # uncompressed chunk, metadata not counted
    assert temp.metadata_bytes > 0
    assert info.nbytes == 10 * 4 * 4 + 3


def test_root_array(store_target: StoreTarget) -> None:
    array = zarr.create_array(store_target.open("a"), shape=(4,), chunks=(2,), dtype="int16")
    array[:] = [1, 2, 3, 4]
    info = inspect_store(store_target.url, storage_options=store_target.storage_options)
    assert isinstance(info.root, ArrayInfo)
    assert info.root.chunks_written == 2 and info.n_groups == 0


def test_missing_store(store_target: StoreTarget) -> None:
    with pytest.raises(NotFoundError, match="no Zarr store"):
        inspect_store(store_target.url, storage_options=store_target.storage_options)


def test_store_without_zarr_documents(store_target: StoreTarget) -> None:
    atomic_put(store_target.open("a"), "readme.txt", b"hello")
    with pytest.raises(NotFoundError, match="neither zarr.json nor .zgroup"):
        inspect_store(store_target.url, storage_options=store_target.storage_options)


def test_corrupt_root_document(store_target: StoreTarget) -> None:
    atomic_put(store_target.open("a"), "zarr.json", b"{not json")
    with pytest.raises(CorruptError, match="zarr.json is not valid JSON"):
        inspect_store(store_target.url, storage_options=store_target.storage_options)


def test_cf_fill_value_written_by_xarray_is_decoded(tmp_path) -> None:
    import xarray as xr

    ds = xr.Dataset({"v": (("x",), np.array([1.0, np.nan], dtype="float32"))})
    ds["p"] = (("x",), np.array([1, 2], dtype="int16"), {}, {"_FillValue": -9})
    ds.to_zarr(tmp_path / "a.zarr", zarr_format=3, consolidated=True)
    info = inspect_store(tmp_path / "a.zarr")
    by_path = {child.path: child for child in info.root.children}
    assert by_path["v"].cf_fill_value == "nan"  # stored by xarray as base64 float64
    assert by_path["p"].cf_fill_value == -9
