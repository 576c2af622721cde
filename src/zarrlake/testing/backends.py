"""The file-path storage backend contract, as a test suite plugin authors subclass.

Subclass :class:`BackendTests`, set ``backend_class`` (and, for a backend whose paths are
not on the local file system, ``virtual_root``), and pytest runs every test of the
contract on it: values by extension, no silent overwrite, errors that name the path,
listing, delete, move/copy, symlinks and their cycles, stat and batches::

    from zarrlake.testing.backends import BackendTests

    class TestTapeBackend(BackendTests):
        backend_class = TapeBackend

Needs pytest and pandas (the ``dev`` extra).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from zarrlake.backends import StorageBackend
from zarrlake.errors import (
    AlreadyExistsError,
    InvalidInputError,
    StorageResolutionError,
    SymlinkLoopError,
)

__all__ = ["BackendTests"]

Fixture = tuple[StorageBackend, Path]

IMAGE = np.arange(12, dtype=np.uint16).reshape(3, 4)


class BackendTests:
    """Every backend keeps this contract; subclass and set ``backend_class``."""

    backend_class: ClassVar[type[StorageBackend]]
    virtual_root: ClassVar[Path | None] = None
    """Where the backend's files live when not under a real folder (``/virtual``)."""

    def make_backend(self) -> StorageBackend:
        """Return the backend under test (override to pass options)."""
        return self.backend_class()

    @pytest.fixture
    def fs(self, tmp_path: Path) -> Fixture:
        """Return the backend and an existing, empty folder in it."""
        backend = self.make_backend()
        root = (self.virtual_root or tmp_path) / "data"
        backend.ensure_directory(root)
        return backend, root

    def test_values_round_trip_by_extension(self, fs: Fixture) -> None:
        """Check: values round trip by extension."""
        backend, root = fs
        backend.save(IMAGE, root / "a.npy")
        backend.save(IMAGE, root / "a.tif")
        backend.save({"k": [1, 2], "n": None}, root / "meta.json")
        backend.save([{"x": 1, "y": "a"}, {"x": 2, "y": "b"}], root / "table.csv")
        backend.save("hello\n", root / "notes.txt")
        backend.save(b"\x00\x01raw", root / "blob.bin")
        np.testing.assert_array_equal(backend.load(root / "a.npy"), IMAGE)
        loaded_tif = backend.load(root / "a.tif")
        assert loaded_tif.dtype == np.uint16
        np.testing.assert_array_equal(loaded_tif, IMAGE)
        assert backend.load(root / "meta.json") == {"k": [1, 2], "n": None}
        pd.testing.assert_frame_equal(
            backend.load(root / "table.csv"), pd.DataFrame({"x": [1, 2], "y": ["a", "b"]})
        )
        assert backend.load(root / "notes.txt") == "hello\n"
        assert backend.load(root / "blob.bin") == b"\x00\x01raw"

    def test_saved_arrays_are_copies(self, fs: Fixture) -> None:
        """Check: saved arrays are copies."""
        backend, root = fs
        data = IMAGE.copy()
        backend.save(data, root / "a.npy")
        data[0, 0] = 999
        assert backend.load(root / "a.npy")[0, 0] == 0

    def test_save_never_overwrites_unless_asked(self, fs: Fixture) -> None:
        """Check: save never overwrites unless asked."""
        backend, root = fs
        backend.save(IMAGE, root / "a.npy")
        with pytest.raises(FileExistsError, match=r"a\.npy"):
            backend.save(IMAGE + 1, root / "a.npy")
        np.testing.assert_array_equal(backend.load(root / "a.npy"), IMAGE)
        backend.save(IMAGE + 1, root / "a.npy", overwrite=True)
        np.testing.assert_array_equal(backend.load(root / "a.npy"), IMAGE + 1)
        with pytest.raises(AlreadyExistsError):
            backend.save({"a": 1}, root / "a.npy")  # also a zarrlake error

    def test_missing_and_wrong_kind_errors(self, fs: Fixture) -> None:
        """Check: missing and wrong kind errors."""
        backend, root = fs
        backend.save(IMAGE, root / "a.npy")
        backend.ensure_directory(root / "sub")
        with pytest.raises(FileNotFoundError, match=r"missing\.npy"):
            backend.load(root / "missing.npy")
        with pytest.raises(IsADirectoryError):
            backend.load(root / "sub")
        with pytest.raises(IsADirectoryError):
            backend.save(IMAGE, root / "sub")
        with pytest.raises(NotADirectoryError):
            backend.save(IMAGE, root / "a.npy" / "inner.npy")
        with pytest.raises(NotADirectoryError):
            backend.list_dir(root / "a.npy")
        with pytest.raises(FileNotFoundError):
            backend.list_dir(root / "nowhere")
        with pytest.raises(FileNotFoundError):
            backend.list_files(root / "nowhere")
        with pytest.raises(NotADirectoryError):
            backend.ensure_directory(root / "a.npy")
        assert backend.exists(root / "a.npy") and backend.exists(root / "sub")
        assert not backend.exists(root / "missing.npy")
        assert backend.is_file(root / "a.npy") and backend.is_dir(root / "sub")
        with pytest.raises(IsADirectoryError):
            backend.is_file(root / "sub")
        with pytest.raises(NotADirectoryError):
            backend.is_dir(root / "a.npy")
        with pytest.raises(FileNotFoundError):
            backend.is_file(root / "missing.npy")

    def test_bad_values_are_refused_and_change_nothing(self, fs: Fixture) -> None:
        """Check: bad values are refused and change nothing."""
        backend, root = fs
        with pytest.raises(InvalidInputError, match="JSON"):
            backend.save({"bad": object()}, root / "x.json")
        with pytest.raises(InvalidInputError):
            backend.save(object(), root / "x.bin")
        assert backend.list_dir(root) == []

    def test_listing(self, fs: Fixture) -> None:
        """Check: listing."""
        backend, root = fs
        backend.save(IMAGE, root / "b.npy")
        backend.save(IMAGE, root / "a.tif")
        backend.save("x", root / "c.txt")
        backend.save(IMAGE, root / "sub" / "deep" / "d.tif")
        assert backend.list_dir(root) == ["a.tif", "b.npy", "c.txt", "sub"]
        assert backend.list_files(root) == [root / "a.tif", root / "b.npy", root / "c.txt"]
        assert backend.list_files(root, extensions={".tif"}) == [root / "a.tif"]
        assert backend.list_files(root, extensions={"TIF"}, recursive=True) == [
            root / "a.tif",
            root / "sub" / "deep" / "d.tif",
        ]
        assert backend.list_files(root, pattern="b*") == [root / "b.npy"]
        assert backend.list_dir(root / "sub") == ["deep"]

    def test_delete(self, fs: Fixture) -> None:
        """Check: delete."""
        backend, root = fs
        backend.save(IMAGE, root / "sub" / "a.npy")
        backend.ensure_directory(root / "empty")
        with pytest.raises(IsADirectoryError, match="not empty"):
            backend.delete(root / "sub")
        np.testing.assert_array_equal(backend.load(root / "sub" / "a.npy"), IMAGE)
        backend.delete(root / "empty")
        assert not backend.exists(root / "empty")
        backend.delete(root / "sub" / "a.npy")
        assert not backend.exists(root / "sub" / "a.npy")
        backend.delete(root / "sub")
        with pytest.raises(FileNotFoundError):
            backend.delete(root / "sub")
        backend.save("t", root / "tree" / "x" / "y.txt")
        backend.delete_all(root / "tree")
        assert backend.list_dir(root) == []
        with pytest.raises(FileNotFoundError):
            backend.delete_all(root / "tree")

    def test_move_and_copy(self, fs: Fixture) -> None:
        """Check: move and copy."""
        backend, root = fs
        backend.save(IMAGE, root / "a.npy")
        backend.save({"v": 1}, root / "d" / "m.json")
        backend.copy(root / "a.npy", root / "b.npy")
        backend.move(root / "a.npy", root / "moved" / "c.npy")
        assert not backend.exists(root / "a.npy")
        np.testing.assert_array_equal(backend.load(root / "b.npy"), IMAGE)
        np.testing.assert_array_equal(backend.load(root / "moved" / "c.npy"), IMAGE)
        backend.copy(root / "d", root / "d2")
        backend.move(root / "d", root / "d3")
        assert backend.load(root / "d2" / "m.json") == {"v": 1}
        assert backend.load(root / "d3" / "m.json") == {"v": 1}
        assert not backend.exists(root / "d")
        with pytest.raises(FileExistsError):
            backend.copy(root / "b.npy", root / "moved" / "c.npy")
        with pytest.raises(FileExistsError):
            backend.move(root / "b.npy", root / "moved" / "c.npy")
        with pytest.raises(FileNotFoundError):
            backend.move(root / "nothing.npy", root / "x.npy")
        with pytest.raises(FileNotFoundError):
            backend.copy(root / "nothing.npy", root / "x.npy")
        np.testing.assert_array_equal(backend.load(root / "b.npy"), IMAGE)

    def test_symlinks(self, fs: Fixture) -> None:
        """Check: symlinks."""
        backend, root = fs
        backend.save(IMAGE, root / "a.npy")
        backend.create_symlink(root / "a.npy", root / "link.npy")
        assert backend.is_symlink(root / "link.npy")
        assert not backend.is_symlink(root / "a.npy")
        np.testing.assert_array_equal(backend.load(root / "link.npy"), IMAGE)
        assert backend.is_file(root / "link.npy")
        assert backend.stat(root / "link.npy")["type"] == "symlink"
        with pytest.raises(FileExistsError):
            backend.create_symlink(root / "a.npy", root / "link.npy")
        with pytest.raises(FileNotFoundError):
            backend.create_symlink(root / "absent.npy", root / "other.npy")
        backend.save(IMAGE + 5, root / "b.npy")
        backend.create_symlink(root / "b.npy", root / "link.npy", overwrite=True)
        np.testing.assert_array_equal(backend.load(root / "link.npy"), IMAGE + 5)
        # a link to a directory lists the directory
        backend.save("x", root / "folder" / "f.txt")
        backend.create_symlink(root / "folder", root / "folder-link")
        assert backend.list_dir(root / "folder-link") == ["f.txt"]
        # deleting a link leaves its target
        backend.delete(root / "link.npy")
        np.testing.assert_array_equal(backend.load(root / "b.npy"), IMAGE + 5)

    def test_symlink_cycles_are_refused(self, fs: Fixture) -> None:
        """Check: symlink cycles are refused."""
        backend, root = fs
        backend.save(IMAGE, root / "f.npy")
        backend.create_symlink(root / "f.npy", root / "a")
        backend.create_symlink(root / "a", root / "b")
        with pytest.raises(SymlinkLoopError, match="cycle"):
            backend.create_symlink(root / "b", root / "a", overwrite=True)
        with pytest.raises(StorageResolutionError):  # the documented polystore error
            backend.create_symlink(root / "b", root / "b", overwrite=True)
        np.testing.assert_array_equal(backend.load(root / "a"), IMAGE)  # nothing changed
        np.testing.assert_array_equal(backend.load(root / "b"), IMAGE)

    def test_stat(self, fs: Fixture) -> None:
        """Check: stat."""
        backend, root = fs
        backend.save(IMAGE, root / "a.npy")
        info = backend.stat(root / "a.npy")
        assert info["type"] == "file" and info["exists"] and info["size"] > 0
        assert {"key", "store"} <= set(info)
        assert backend.stat(root)["type"] == "directory"
        assert backend.stat(root / "none") == {**backend.stat(root / "none"), "type": "missing"}
        assert backend.stat(root / "none")["exists"] is False

    def test_batches(self, fs: Fixture) -> None:
        """Check: batches."""
        backend, root = fs
        paths = [root / f"img{i}.npy" for i in range(3)]
        backend.save_batch([IMAGE + i for i in range(3)], paths)
        loaded = backend.load_batch(paths)
        for i, image in enumerate(loaded):
            np.testing.assert_array_equal(image, IMAGE + i)
        with pytest.raises(FileExistsError):
            backend.save_batch([IMAGE, IMAGE], [root / "new.npy", paths[0]])
        assert not backend.exists(root / "new.npy")  # all or nothing is refused
        with pytest.raises(InvalidInputError, match="2 items for 1 paths"):
            backend.save_batch([IMAGE, IMAGE], [root / "x.npy"])
