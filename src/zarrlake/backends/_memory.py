"""The memory backend: the disk backend's behaviour, in one process's memory."""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

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
from zarrlake.backends._formats import ARRAY_EXTENSIONS, decode, encode, extension, to_host
from zarrlake.errors import StorageResolutionError

__all__ = ["MemoryBackend"]


@dataclass
class _Entry:
    kind: Literal["file", "directory", "symlink"]
    content: Any = None  # bytes, or a private array copy for array files
    target: str = ""

    def size(self) -> int:
        if isinstance(self.content, np.ndarray):
            return int(self.content.nbytes)
        return len(self.content or b"")


def _norm(path: PathLike) -> str:
    text = posixpath.normpath(Path(path).as_posix())
    return text


def _parent(path: str) -> str:
    return posixpath.dirname(path) or "."


def _is_root(path: str) -> bool:
    return path in ("/", ".", "")


class MemoryBackend(StorageBackend):
    """Files in memory, with the same formats, links and errors as the disk backend.

    Arrays are kept as private copies (so later changes to the caller's array do not
    leak in); everything else is kept as the bytes the disk backend would write, so a
    value loads back exactly as it would from disk. Thread-safe.
    """

    name = "memory"

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.RLock()

    # -- resolution -----------------------------------------------------------------

    def _entry(self, path: str) -> _Entry | None:
        if _is_root(path):
            return _Entry("directory")
        return self._entries.get(path)

    def _resolve(self, path: PathLike) -> tuple[str, list[str]]:
        """Follow links at ``path`` and in its parents; return the end and the links passed."""
        seen: list[str] = []
        current = _norm(path)
        for _ in range(MAX_LINK_DEPTH * 4):
            parent = _parent(current)
            if not _is_root(parent) and current != parent:
                real_parent, passed = self._resolve(parent)
                seen.extend(passed)
                current = posixpath.join(real_parent, posixpath.basename(current))
            entry = self._entries.get(current)
            if entry is None or entry.kind != "symlink":
                return current, seen
            if current in seen or len(seen) > MAX_LINK_DEPTH:
                raise symlink_loop_error(path, seen)
            seen.append(current)
            current = _norm(entry.target)
        raise symlink_loop_error(path, seen)

    def _kind(self, path: PathLike) -> str:
        with self._lock:
            entry = self._entry(self._resolve(path)[0])
            if entry is None:
                return "missing"
            return "directory" if entry.kind == "directory" else "file"

    def _place(self, path: PathLike) -> str:
        """Return the key of ``path`` with links in its parents followed, not in its name."""
        key = _norm(path)
        parent = _parent(key)
        if _is_root(parent) or parent == key:
            return key
        return posixpath.join(self._resolve(parent)[0], posixpath.basename(key))

    def _own(self, path: PathLike) -> tuple[str, _Entry]:
        """Return the entry at ``path`` itself (a link is not followed), parents resolved."""
        key = self._place(path)
        entry = self._entry(key)
        if entry is None:
            raise not_found_error(path)
        return key, entry

    def _make_parents(self, key: str) -> None:
        missing: list[str] = []
        parent = _parent(key)
        while not _is_root(parent):
            entry = self._entries.get(parent)
            if entry is not None:
                if entry.kind == "file":
                    raise not_directory_error(parent)
                break
            missing.append(parent)
            parent = _parent(parent)
        for folder in reversed(missing):
            self._entries[folder] = _Entry("directory")

    def _children(self, key: str) -> list[str]:
        prefix = "/" if key == "/" else ("" if key == "." else key + "/")
        return sorted(
            name[len(prefix) :]
            for name in self._entries
            if name.startswith(prefix) and "/" not in name[len(prefix) :] and name != key
        )

    def _subtree(self, key: str) -> list[str]:
        prefix = key.rstrip("/") + "/"
        return [name for name in self._entries if name == key or name.startswith(prefix)]

    # -- files ------------------------------------------------------------------------

    def save(
        self, data: Any, output_path: PathLike, *, overwrite: bool = False, **kwargs: Any
    ) -> None:
        """Keep ``data`` as the file ``output_path`` (see :meth:`StorageBackend.save`)."""
        with self._lock:
            key = self._place(output_path)
            existing = self._entries.get(key)
            if existing is not None:
                if existing.kind == "directory":
                    raise is_directory_error(output_path)
                if not overwrite:
                    raise exists_error(output_path)
            self._make_parents(key)
            content = encode(data, output_path)  # validates the value for this extension
            if extension(output_path) in ARRAY_EXTENSIONS:
                self._entries[key] = _Entry("file", np.array(to_host(data), copy=True))
            else:
                self._entries[key] = _Entry("file", content)

    def load(self, file_path: PathLike, **kwargs: Any) -> Any:
        """Return the file ``file_path`` (see :meth:`StorageBackend.load`)."""
        with self._lock:
            key, _ = self._resolve(file_path)
            entry = self._entry(key)
            if entry is None:
                raise not_found_error(file_path)
            if entry.kind == "directory":
                raise is_directory_error(file_path)
            content = entry.content
        if isinstance(content, np.ndarray):
            return content.copy()
        return decode(content, key)

    def list_files(
        self,
        directory: PathLike,
        pattern: str | None = None,
        extensions: Iterable[str] | None = None,
        recursive: bool = False,
    ) -> list[Path]:
        """List files in ``directory`` (see :meth:`StorageBackend.list_files`)."""
        with self._lock:
            self.is_dir(directory)
            shown = _norm(directory)
            real, _ = self._resolve(directory)
            found: list[Path] = []
            pending = [(real, shown)]
            while pending:
                folder, display = pending.pop()
                for name in self._children(folder):
                    entry = self._entries[posixpath.join(folder, name)]
                    path = posixpath.join(display, name)
                    if entry.kind == "directory":
                        if recursive:
                            pending.append((posixpath.join(folder, name), path))
                    elif self._kind(path) == "file" and matches(name, pattern, extensions):
                        found.append(Path(path))
            return sorted(found)

    def list_dir(self, path: PathLike) -> list[str]:
        """Return the entry names in ``path``."""
        with self._lock:
            self.is_dir(path)
            return self._children(self._resolve(path)[0])

    def is_symlink(self, path: PathLike) -> bool:
        """Whether ``path`` is a symbolic link."""
        with self._lock:
            try:
                return self._own(path)[1].kind == "symlink"
            except (FileNotFoundError, StorageResolutionError):
                return False

    def stat(self, path: PathLike) -> dict[str, Any]:
        """Describe ``path`` (see :meth:`StorageBackend.stat`)."""
        with self._lock:
            info: dict[str, Any] = {"key": _norm(path), "store": f"memory:{id(self):x}"}
            try:
                _, entry = self._own(path)
            except (FileNotFoundError, StorageResolutionError):
                return {**info, "type": "missing", "exists": False}
            if entry.kind == "symlink":
                return {
                    **info,
                    "type": "symlink",
                    "target": entry.target,
                    "exists": self.exists(path),
                }
            if entry.kind == "directory":
                return {**info, "type": "directory", "exists": True}
            return {**info, "type": "file", "exists": True, "size": entry.size()}

    def _free_destination(self, dst: PathLike) -> str:
        key = self._place(dst)
        if key in self._entries:
            raise exists_error(dst)
        self._make_parents(key)
        return key

    def move(self, src: PathLike, dst: PathLike) -> None:
        """Move ``src`` (the link itself for a link) to the new path ``dst``."""
        with self._lock:
            source, _ = self._own(src)
            target = self._free_destination(dst)
            if (target + "/").startswith(source + "/"):
                raise StorageResolutionError(
                    f"cannot move {src} into itself ({dst})", subject=str(src)
                )
            for name in self._subtree(source):
                self._entries[target + name[len(source) :]] = self._entries.pop(name)

    def copy(self, src: PathLike, dst: PathLike) -> None:
        """Copy a file or directory (links followed) to the new path ``dst``."""
        with self._lock:
            source, _ = self._resolve(src)
            if self._entry(source) is None:
                raise not_found_error(src)
            target = self._free_destination(dst)
            for name in self._subtree(source):
                entry = self._entries[name]
                content = (
                    entry.content.copy() if isinstance(entry.content, np.ndarray) else entry.content
                )
                self._entries[target + name[len(source) :]] = _Entry(
                    entry.kind, content, entry.target
                )

    def delete(self, path: PathLike) -> None:
        """Delete a file, link or empty directory."""
        with self._lock:
            key, entry = self._own(path)
            if entry.kind == "directory" and self._children(key):
                raise is_directory_error(path, "is a directory that is not empty")
            del self._entries[key]

    def delete_all(self, path: PathLike) -> None:
        """Delete a file or a directory with everything in it."""
        with self._lock:
            key, entry = self._own(path)
            names = [key] if entry.kind == "symlink" else self._subtree(key)
            for name in names:
                del self._entries[name]

    def create_symlink(
        self, source: PathLike, link_name: PathLike, overwrite: bool = False
    ) -> None:
        """Create ``link_name`` pointing at ``source`` (see the base class)."""
        with self._lock:
            if not self.exists(source):
                raise not_found_error(source, "link source")
            end, chain = self._resolve(source)
            key = self._place(link_name)
            if key in {*chain, end}:
                raise symlink_loop_error(link_name, [key, *chain])
            existing = self._entries.get(key)
            if existing is not None:
                if not overwrite:
                    raise exists_error(link_name)
                if existing.kind == "directory":
                    raise is_directory_error(link_name)
            self._make_parents(key)
            self._entries[key] = _Entry("symlink", target=_norm(source))

    def ensure_directory(self, directory: PathLike) -> Path:
        """Create ``directory`` with its parents; a file in the way is an error."""
        with self._lock:
            key = _norm(directory)
            if not _is_root(key):
                resolved, _ = self._resolve(key)
                entry = self._entries.get(resolved)
                if entry is not None and entry.kind != "directory":
                    raise not_directory_error(directory)
                if entry is None:
                    self._make_parents(resolved)
                    self._entries[resolved] = _Entry("directory")
            return Path(directory)
