"""The disk backend: files on the local filesystem, one file per path."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from zarrlake.backends._base import (
    MAX_LINK_DEPTH,
    PathLike,
    StorageBackend,
    exists_error,
    is_directory_error,
    matches,
    not_directory_error,
    not_found_error,
    symlink_loop_error,
)
from zarrlake.backends._formats import decode, encode
from zarrlake.storage.atomic import write_local_file

__all__ = ["DiskBackend"]


def _walk(path: Path) -> tuple[Path, list[str]]:
    """Follow ``path``'s own link chain; return where it ends and the links passed."""
    seen: list[str] = []
    current = path
    while current.is_symlink():
        here = os.path.abspath(current)
        if here in seen or len(seen) > MAX_LINK_DEPTH:
            raise symlink_loop_error(path, seen)
        seen.append(here)
        target = Path(os.readlink(current))
        current = target if target.is_absolute() else current.parent / target
    return current, seen


def _follow(path: Path) -> Path:
    """Resolve ``path``'s own link chain; a cycle is an error, a dangling end is returned."""
    return _walk(path)[0]


class DiskBackend(StorageBackend):
    """Files on the local filesystem.

    Arrays are ``.npy`` or ``.tif``/``.tiff`` files, values ``.json``, tables ``.csv``,
    text and bytes anything else (see :mod:`zarrlake.backends._formats`). Every write
    is atomic (a temporary file renamed into place), so a reader or a crash never
    leaves half a file.
    """

    name = "disk"

    def _kind(self, path: PathLike) -> str:
        resolved = _follow(Path(path))
        if resolved.is_dir():
            return "directory"
        return "file" if resolved.exists() else "missing"

    def _existing(self, path: PathLike) -> Path:
        target = Path(path)
        if not target.exists() and not target.is_symlink():
            raise not_found_error(path)
        return target

    def _check_parent(self, path: Path) -> None:
        for parent in reversed(path.parents):
            if parent.exists() and not parent.is_dir():
                raise not_directory_error(parent)

    def save(
        self, data: Any, output_path: PathLike, *, overwrite: bool = False, **kwargs: Any
    ) -> None:
        """Write ``data`` to ``output_path`` (see :meth:`StorageBackend.save`)."""
        path = Path(output_path)
        if path.is_dir() and not path.is_symlink():
            raise is_directory_error(path)
        self._check_parent(path)
        if not overwrite and (path.exists() or path.is_symlink()):
            raise exists_error(path)
        content = encode(data, path)
        if overwrite and path.is_symlink():
            path.unlink()  # replace the link itself, never the file it points at
        if not write_local_file(path, content, overwrite=overwrite):
            raise exists_error(path)  # another writer got there first

    def load(self, file_path: PathLike, **kwargs: Any) -> Any:
        """Read ``file_path`` (see :meth:`StorageBackend.load`)."""
        path = _follow(Path(file_path))
        if path.is_dir():
            raise is_directory_error(file_path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError as error:
            raise not_found_error(file_path) from error
        return decode(raw, path)

    def list_files(
        self,
        directory: PathLike,
        pattern: str | None = None,
        extensions: Iterable[str] | None = None,
        recursive: bool = False,
    ) -> list[Path]:
        """List files in ``directory`` (see :meth:`StorageBackend.list_files`)."""
        root = Path(directory)
        self.is_dir(root)
        found: list[Path] = []
        if recursive:
            for folder, _, names in os.walk(root, followlinks=False):
                found.extend(Path(folder) / name for name in names)
        else:
            found = [entry for entry in root.iterdir() if entry.is_file()]
        return sorted(p for p in found if p.is_file() and matches(p.name, pattern, extensions))

    def list_dir(self, path: PathLike) -> list[str]:
        """Return the entry names in ``path``."""
        self.is_dir(path)
        return sorted(os.listdir(path))

    def is_symlink(self, path: PathLike) -> bool:
        """Whether ``path`` is a symbolic link."""
        return Path(path).is_symlink()

    def stat(self, path: PathLike) -> dict[str, Any]:
        """Describe ``path`` (see :meth:`StorageBackend.stat`)."""
        target = Path(path)
        info: dict[str, Any] = {"key": str(target), "store": "disk"}
        if target.is_symlink():
            link = os.readlink(target)
            return {**info, "type": "symlink", "target": link, "exists": self.exists(target)}
        if target.is_dir():
            return {**info, "type": "directory", "exists": True}
        if target.exists():
            return {**info, "type": "file", "exists": True, "size": target.stat().st_size}
        return {**info, "type": "missing", "exists": False}

    def move(self, src: PathLike, dst: PathLike) -> None:
        """Move ``src`` (the link itself for a link) to the new path ``dst``."""
        source = self._existing(src)
        target = Path(dst)
        if target.exists() or target.is_symlink():
            raise exists_error(dst)
        self._check_parent(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(source, target)
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise
            shutil.move(os.fspath(source), os.fspath(target))

    def copy(self, src: PathLike, dst: PathLike) -> None:
        """Copy a file or directory (links followed) to the new path ``dst``."""
        kind = self._kind(src)
        if kind == "missing":
            raise not_found_error(src)
        target = Path(dst)
        if target.exists() or target.is_symlink():
            raise exists_error(dst)
        self._check_parent(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        if kind == "directory":
            shutil.copytree(_follow(Path(src)), target, symlinks=True)
        else:
            write_local_file(target, _follow(Path(src)).read_bytes(), overwrite=False)

    def delete(self, path: PathLike) -> None:
        """Delete a file, link or empty directory."""
        target = self._existing(path)
        if target.is_dir() and not target.is_symlink():
            if any(target.iterdir()):
                raise is_directory_error(path, "is a directory that is not empty")
            target.rmdir()
        else:
            target.unlink()

    def delete_all(self, path: PathLike) -> None:
        """Delete a file or a directory with everything in it."""
        target = self._existing(path)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink()

    def create_symlink(
        self, source: PathLike, link_name: PathLike, overwrite: bool = False
    ) -> None:
        """Create ``link_name`` pointing at ``source`` (see the base class)."""
        link = Path(link_name)
        if not self.exists(source):
            raise not_found_error(source, "link source")
        end, chain = _walk(Path(source))
        if os.path.abspath(link) in {*chain, os.path.abspath(end)}:
            raise symlink_loop_error(link, [os.path.abspath(link), *chain])
        if link.exists() or link.is_symlink():
            if not overwrite:
                raise exists_error(link)
            if link.is_dir() and not link.is_symlink():
                raise is_directory_error(link)
        self._check_parent(link)
        link.parent.mkdir(parents=True, exist_ok=True)
        temporary = link.parent / f".{link.name}.{os.getpid()}.link"
        os.symlink(os.path.abspath(source), temporary)
        os.replace(temporary, link)  # atomic: the old link or file until the new one is there

    def ensure_directory(self, directory: PathLike) -> Path:
        """Create ``directory`` with its parents; a file in the way is an error."""
        path = Path(directory)
        self._check_parent(path)
        if path.exists() and not path.is_dir():
            raise not_directory_error(path)
        path.mkdir(parents=True, exist_ok=True)
        return path
