"""Zarr-backend specifics: compressors, reserved names, plugins, GPU arrays."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import numcodecs
import numpy as np
import pytest
import zarr

from zarrlake.backends import ZarrBackend, ZarrCompressor, ZarrConfig
from zarrlake.backends import _registry as registry
from zarrlake.backends._formats import to_host
from zarrlake.encoding._compression import describe_codecs, parse_compression
from zarrlake.errors import InvalidInputError

IMAGE = np.arange(64, dtype=np.uint16).reshape(8, 8)


@pytest.mark.parametrize("ngff", ["0.5", "0.4"])
def test_save_takes_the_documented_chunks_and_compressor(tmp_path: Path, ngff: str) -> None:
    backend = ZarrBackend(ZarrConfig(ngff_version=ngff))
    backend.save(IMAGE, tmp_path / "d" / "a.tif", chunks=(4, 4), compressor=numcodecs.Zstd(level=7))
    backend.save(IMAGE, tmp_path / "d" / "b.tif", compressor="gzip:2")
    backend.save(IMAGE, tmp_path / "d" / "c.tif", compressor=None)
    backend.save(IMAGE, tmp_path / "d" / "e.tif")
    a = zarr.open_array(tmp_path / "d", path="a.tif", mode="r")
    assert a.chunks == (4, 4)
    assert describe_codecs(a.compressors) == parse_compression("zstd:7")
    b = zarr.open_array(tmp_path / "d", path="b.tif", mode="r")
    assert describe_codecs(b.compressors) == parse_compression("gzip:2")
    assert zarr.open_array(tmp_path / "d", path="c.tif", mode="r").compressors == ()
    e = zarr.open_array(tmp_path / "d", path="e.tif", mode="r")
    assert describe_codecs(e.compressors) == ZarrCompressor.BLOSC.spec()
    assert a.metadata.zarr_format == (3 if ngff == "0.5" else 2)
    np.testing.assert_array_equal(backend.load(tmp_path / "d" / "a.tif"), IMAGE)
    with pytest.raises(InvalidInputError, match="compressor"):
        backend.save(IMAGE, tmp_path / "d" / "f.tif", compressor=numcodecs.Delta(dtype="u2"))


def test_compressor_names_of_the_original_config() -> None:
    assert str(ZarrCompressor.ZSTD.spec(5)) == "zstd:5"
    assert str(ZarrCompressor.BLOSC.spec(3)) == "blosc:lz4:3:shuffle"
    assert ZarrCompressor.NONE.create_compressor() is None
    assert isinstance(ZarrCompressor.ZLIB.create_compressor(4), numcodecs.GZip)
    assert ZarrConfig(compressor="lz4").compressor is ZarrCompressor.LZ4
    with pytest.raises(ValueError, match="compression"):
        ZarrConfig(compression="snappy:9")


@pytest.mark.filterwarnings("ignore:Object at meta.json is not recognized")
def test_zarr_documents_are_never_files(tmp_path: Path) -> None:
    backend = ZarrBackend()
    backend.save(IMAGE, tmp_path / "d" / "a.npy")
    for name in ("zarr.json", ".zattrs", ".zgroup", ".zmetadata", ".zarray"):
        with pytest.raises(InvalidInputError, match="Zarr or zarrlake uses"):
            backend.save({"x": 1}, tmp_path / "d" / name)
    assert backend.list_dir(tmp_path / "d") == ["a.npy"]
    backend.save({"note": "beside"}, tmp_path / "d" / "meta.json")
    group = zarr.open_group(tmp_path / "d", mode="r")
    assert sorted(group.array_keys()) == ["a.npy"]  # zarr still reads the hierarchy
    assert backend.load(tmp_path / "d" / "meta.json") == {"note": "beside"}


def test_links_stay_inside_their_hierarchy(tmp_path: Path) -> None:
    backend = ZarrBackend()
    backend.save(IMAGE, tmp_path / "one" / "a.npy")
    backend.save(IMAGE, tmp_path / "two" / "b.npy")
    with pytest.raises(InvalidInputError, match="inside its own hierarchy"):
        backend.create_symlink(tmp_path / "one" / "a.npy", tmp_path / "two" / "link")
    assert not backend.exists(tmp_path / "two" / "link")


def test_gpu_arrays_are_copied_to_the_host() -> None:
    # stand-ins with the libraries' module names: CuPy and PyTorch are not installed here
    namespace: dict[str, object] = {"np": np}
    exec(
        textwrap.dedent(
            """
            class CupyArray:
                def __init__(self, data): self.data = data
                def get(self): return self.data.copy()
            class Tensor:
                def __init__(self, data): self.data = data
                def detach(self): return self
                def cpu(self): return self
                def numpy(self): return self.data.copy()
            """
        ),
        namespace,
    )
    cupy_like, torch_like = namespace["CupyArray"], namespace["Tensor"]
    cupy_like.__module__ = "cupy._core"  # type: ignore[attr-defined]
    torch_like.__module__ = "torch"  # type: ignore[attr-defined]
    for wrapped in (cupy_like(IMAGE), torch_like(IMAGE)):  # type: ignore[operator]
        host = to_host(wrapped)
        assert isinstance(host, np.ndarray)
        np.testing.assert_array_equal(host, IMAGE)
    assert to_host(IMAGE) is IMAGE


def test_plugins_come_from_entry_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tape_backend.py").write_text(
        "from zarrlake.backends import MemoryBackend\n"
        "class TapeBackend(MemoryBackend):\n"
        "    name = 'tape'\n"
    )
    info = tmp_path / "tape_backend-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tape-backend\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[zarrlake.backends]\ntape = tape_backend:TapeBackend\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "BACKENDS", registry.BACKENDS.copy())
    assert "tape" in registry.available_backends()
    backend = registry.get_backend("tape")
    assert type(backend).__name__ == "TapeBackend"
    backend.save(IMAGE, "/t/a.npy")
    np.testing.assert_array_equal(backend.load("/t/a.npy"), IMAGE)
    sys.modules.pop("tape_backend", None)
