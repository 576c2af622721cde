"""The file-path storage contract every backend keeps, with the same errors everywhere.

A backend stores *files* (arrays, JSON, CSV, text, bytes) by path and *directories*
that hold them; it decides how. The contract, identical on every backend:

- ``save`` never replaces an existing file unless ``overwrite=True``
  (:class:`~zarrlake.errors.AlreadyExistsError`, a ``FileExistsError``); parent
  directories are created; a directory in the way is an ``IsADirectoryError``, a file
  in the way of a parent a ``NotADirectoryError``.
- ``load``, ``delete``, ``move``, ``copy``, ``list_dir``, ``list_files`` of a missing
  path raise :class:`~zarrlake.errors.PathNotFoundError` (a ``FileNotFoundError``).
- ``delete`` removes a file, a link or an *empty* directory; a non-empty directory is
  an ``IsADirectoryError``. ``delete_all`` removes anything recursively.
- ``is_file`` / ``is_dir`` answer True or raise (``FileNotFoundError``,
  ``IsADirectoryError`` / ``NotADirectoryError``), as polystore documents them;
  ``exists`` and ``stat`` never raise for a missing path.
- Symbolic links are followed by ``load``, ``copy``, ``is_file``, ``is_dir`` and
  ``exists``; ``move`` and ``delete`` act on the link itself. A chain that comes back
  to itself raises :class:`~zarrlake.errors.SymlinkLoopError`, and ``create_symlink``
  refuses to create one.
- Every error names the path at fault and changes nothing.
"""

from __future__ import annotations

import fnmatch
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from zarrlake.errors import (
    AlreadyExistsError,
    InvalidInputError,
    IsDirectoryError,
    NotDirectoryError,
    PathNotFoundError,
    StorageResolutionError,
    SymlinkLoopError,
)

__all__ = [
    "PathLike",
    "StorageBackend",
    "exists_error",
    "is_directory_error",
    "matches",
    "not_directory_error",
    "not_found_error",
    "symlink_loop_error",
]

PathLike = str | os.PathLike[str]

# how many links one resolution may follow before it is called a loop (as POSIX ELOOP)
MAX_LINK_DEPTH = 40


def not_found_error(path: PathLike, what: str = "path") -> PathNotFoundError:
    """Build the error for a missing path."""
    return PathNotFoundError(
        f"{what} does not exist: {os.fspath(path)}",
        subject=os.fspath(path),
        hint="check the path, or list its directory",
    )


def exists_error(path: PathLike) -> AlreadyExistsError:
    """Build the error for a save or move onto an existing path."""
    return AlreadyExistsError(
        f"refusing to replace {os.fspath(path)}: it already exists",
        subject=os.fspath(path),
        hint="pass overwrite=True to replace it, or choose another path",
    )


def is_directory_error(path: PathLike, reason: str = "is a directory") -> IsDirectoryError:
    """Build the error for a file operation that met a directory."""
    return IsDirectoryError(
        f"{os.fspath(path)} {reason}",
        subject=os.fspath(path),
        hint="use delete_all to remove a directory with everything in it"
        if "not empty" in reason
        else "give the path of a file",
    )


def not_directory_error(path: PathLike) -> NotDirectoryError:
    """Build the error for a directory operation that met a file."""
    return NotDirectoryError(
        f"{os.fspath(path)} is a file, not a directory",
        subject=os.fspath(path),
        hint="give the path of a directory",
    )


def symlink_loop_error(path: PathLike, chain: Sequence[str]) -> SymlinkLoopError:
    """Build the error for a chain of links that comes back to itself."""
    shown = " -> ".join([*chain, chain[0]] if chain else [os.fspath(path)])
    return SymlinkLoopError(
        f"symbolic link cycle at {os.fspath(path)}: {shown}",
        subject=os.fspath(path),
        hint="delete or re-point one of the links",
    )


def matches(name: str, pattern: str | None, extensions: Iterable[str] | None) -> bool:
    """Whether a file name passes ``list_files``'s filters.

    Parameters
    ----------
    name
        The file's name (not its directory).
    pattern
        A glob (``fnmatch``) the name must match, or None.
    extensions
        Endings (``".tif"``, case-insensitive; the dot is optional), or None for any.

    Returns
    -------
    bool
        True when the name passes both filters.
    """
    if pattern is not None and not fnmatch.fnmatch(name, pattern):
        return False
    if extensions:
        lowered = name.lower()
        return any(
            lowered.endswith(ext.lower() if ext.startswith(".") else "." + ext.lower())
            for ext in extensions
        )
    return True


class StorageBackend(ABC):
    """A place that stores files by path; see the module docstring for the contract.

    Subclasses set ``name`` (their registry name) and implement the abstract methods;
    ``save_batch``, ``load_batch`` and ``ensure_directory``'s return value are shared.
    """

    name: ClassVar[str] = ""

    @abstractmethod
    def save(
        self, data: Any, output_path: PathLike, *, overwrite: bool = False, **kwargs: Any
    ) -> None:
        """Store ``data`` as the file ``output_path``.

        Parameters
        ----------
        data
            An array (NumPy or a GPU array, copied to the host), a JSON value for
            ``.json``, a table, rows or text for ``.csv``, text for ``.txt``, or bytes.
        output_path
            Where; its extension chooses the format on backends that store files.
        overwrite
            Replace an existing file instead of refusing.
        **kwargs
            Backend options (the Zarr backend takes ``chunks`` and ``compressor``).
        """

    @abstractmethod
    def load(self, file_path: PathLike, **kwargs: Any) -> Any:
        """Return the content of the file ``file_path``.

        Parameters
        ----------
        file_path
            The file; links are followed.
        **kwargs
            Backend options.

        Returns
        -------
        Any
            What was saved (arrays as NumPy arrays, ``.csv`` as a pandas DataFrame).
        """

    def save_batch(
        self, data_list: Sequence[Any], output_paths: Sequence[PathLike], **kwargs: Any
    ) -> None:
        """Save several files; refuses all of them when any one would be refused.

        Parameters
        ----------
        data_list
            The contents, one per path.
        output_paths
            The paths.
        **kwargs
            Passed to :meth:`save` (``overwrite``, backend options).
        """
        if len(data_list) != len(output_paths):
            raise InvalidInputError(
                f"save_batch got {len(data_list)} items for {len(output_paths)} paths",
                subject="output_paths",
                hint="pass one path per item",
            )
        if not kwargs.get("overwrite", False):
            for path in output_paths:
                if self.exists(path) or self.is_symlink(path):
                    raise exists_error(path)
        for data, path in zip(data_list, output_paths, strict=True):
            self.save(data, path, **kwargs)

    def load_batch(self, file_paths: Sequence[PathLike], **kwargs: Any) -> list[Any]:
        """Load several files, in the order given.

        Parameters
        ----------
        file_paths
            The files.
        **kwargs
            Passed to :meth:`load`.

        Returns
        -------
        list
            One content per path.
        """
        return [self.load(path, **kwargs) for path in file_paths]

    @abstractmethod
    def list_files(
        self,
        directory: PathLike,
        pattern: str | None = None,
        extensions: Iterable[str] | None = None,
        recursive: bool = False,
    ) -> list[Path]:
        """List the files in ``directory``, sorted.

        Parameters
        ----------
        directory
            The directory.
        pattern
            A glob the file *name* must match.
        extensions
            File endings to keep (``{".tif", ".npy"}``).
        recursive
            Descend into subdirectories.

        Returns
        -------
        list of Path
            Full paths of the matching files (links to files included).
        """

    @abstractmethod
    def list_dir(self, path: PathLike) -> list[str]:
        """Return the sorted names of the entries (files, directories, links) in ``path``."""

    def exists(self, path: PathLike) -> bool:
        """Whether ``path`` exists (links followed: a dangling link or a cycle does not)."""
        try:
            return self._kind(path) != "missing"
        except StorageResolutionError:
            return False

    @abstractmethod
    def is_symlink(self, path: PathLike) -> bool:
        """Whether ``path`` is a symbolic link (dangling or not)."""

    @abstractmethod
    def stat(self, path: PathLike) -> dict[str, Any]:
        """Describe ``path`` without following links.

        Returns
        -------
        dict
            ``type`` (``file``, ``directory``, ``symlink`` or ``missing``), ``key``
            (the path or store key), ``target`` (links only), ``store`` (where the
            backend keeps it), ``exists``, and ``size`` in bytes for files.
        """

    @abstractmethod
    def _kind(self, path: PathLike) -> str:
        """``file``, ``directory`` or ``missing`` after following links."""

    def is_file(self, path: PathLike) -> bool:
        """Return True when ``path`` is a file (links followed).

        Raises
        ------
        PathNotFoundError
            When nothing is there (a ``FileNotFoundError``).
        IsDirectoryError
            When it is a directory (an ``IsADirectoryError``).
        """
        return self._expect(path, "file")

    def is_dir(self, path: PathLike) -> bool:
        """Return True when ``path`` is a directory (links followed).

        Raises
        ------
        PathNotFoundError
            When nothing is there (a ``FileNotFoundError``).
        NotDirectoryError
            When it is a file (a ``NotADirectoryError``).
        """
        return self._expect(path, "directory")

    def _expect(self, path: PathLike, wanted: str) -> bool:
        kind = self._kind(path)
        if kind == "missing":
            raise not_found_error(path)
        if kind != wanted:
            raise is_directory_error(path) if kind == "directory" else not_directory_error(path)
        return True

    @abstractmethod
    def move(self, src: PathLike, dst: PathLike) -> None:
        """Move a file, link or directory; ``dst`` must not exist."""

    @abstractmethod
    def copy(self, src: PathLike, dst: PathLike) -> None:
        """Copy a file or directory (links followed); ``dst`` must not exist."""

    @abstractmethod
    def delete(self, path: PathLike) -> None:
        """Delete a file, a link or an empty directory."""

    @abstractmethod
    def delete_all(self, path: PathLike) -> None:
        """Delete a file or a directory with everything in it."""

    @abstractmethod
    def create_symlink(
        self, source: PathLike, link_name: PathLike, overwrite: bool = False
    ) -> None:
        """Create ``link_name`` pointing at the existing ``source``.

        Raises
        ------
        PathNotFoundError
            When ``source`` does not exist.
        AlreadyExistsError
            When ``link_name`` exists and ``overwrite`` is False.
        SymlinkLoopError
            When the link would close a cycle.
        """

    @abstractmethod
    def ensure_directory(self, directory: PathLike) -> Path:
        """Create ``directory`` and its parents when missing; return it as a Path.

        Raises
        ------
        NotDirectoryError
            When a file is in the way.
        """
