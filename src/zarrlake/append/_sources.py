"""Slice sources: what ``append`` accepts as slices and how each becomes a Dataset.

A slice item may be

* an ``xarray.Dataset``;
* a glob of paths or URLs (``s3://bucket/days/*.nc``, quoted ``days/*.nc``): the
  files and ``.zarr`` stores it matches, in sorted order (:func:`expand_slice_globs`);
* a path or URL of a NetCDF/HDF5 file or a Zarr store (``slice_engine`` and
  ``slice_storage_options`` apply; with ``slice_polling`` the item is waited for until
  it exists and is complete);
* a context manager whose ``__enter__`` returns one of these;
* an object with ``get_dataset()`` and optionally ``close()`` (zappend's ``SliceSource``);
* with ``slice_source`` set, any value: it is passed to that function (a tuple as
  positional arguments, a dict as keyword arguments), like ``map``.

Each slice is loaded into memory before it is validated, so a slice is read once and
its file is closed before the target changes. While one slice is checked and written,
:class:`ReadAhead` reads the next path of a list in a background thread (reading and
decoding a file is mostly waiting for the disk and HDF5, which the write does not need):
slices are still opened one at a time, in order, and an error opening a slice is raised
when the caller takes that slice, as without read-ahead.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import xarray as xr

from zarrlake._deps import import_callable
from zarrlake.append._config import AppendConfig, SlicePollingConfig
from zarrlake.errors import InvalidInputError, NotFoundError, ZarrlakeError
from zarrlake.hierarchy import V2_GROUP, V3_DOCUMENT
from zarrlake.storage.files import open_file_dataset
from zarrlake.storage.remote import (
    glob_matches,
    has_magic,
    is_remote,
    remote_errors,
    remote_filesystem,
)

__all__ = ["expand_slice_globs", "open_slice", "resolve_slice_source"]

_MISSING_HINT = "check the path, or enable slice_polling to wait for it"


def resolve_slice_source(source: str | Callable[..., Any] | None) -> Callable[..., Any] | None:
    """Import ``module:function`` (or ``module.function``) or return the callable as is.

    Raises
    ------
    InvalidInputError
        When the name cannot be imported or is not callable.
    """
    if source is None or callable(source):
        return source
    return import_callable(source, what="slice_source", subject="slice_source")


def expand_slice_globs(items: list[Any], options: dict[str, Any] | None) -> list[Any]:
    """Replace each glob among ``items`` by what it matches, sorted; keep the rest.

    A name that exists as written is not a glob, even with ``*`` or ``[`` in it.

    Raises
    ------
    NotFoundError
        When a glob matches nothing (before anything is appended).
    """
    expanded: list[Any] = []
    for item in items:
        pattern = os.fspath(item) if isinstance(item, (str, os.PathLike)) else None
        if pattern is None or not has_magic(pattern) or _exists(pattern, options):
            expanded.append(item)
            continue
        matches = glob_matches(pattern, options, folders=_is_zarr)
        if not matches:
            raise NotFoundError(
                f"no slice matches {pattern!r}",
                subject=pattern,
                hint="check the glob; nothing was appended",
            )
        expanded.extend(matches)
    return expanded


def _is_zarr(path: str) -> bool:
    if path.rstrip("/").endswith(".zarr"):
        return True
    local = Path(path)
    return local.is_dir() and any((local / n).exists() for n in (V3_DOCUMENT, V2_GROUP))


def _exists(path: str, options: dict[str, Any] | None) -> bool:
    if is_remote(path):
        fs, inner = remote_filesystem(path, options)
        with remote_errors(path, options):
            return bool(fs.exists(inner))
    return Path(path.removeprefix("file://")).exists()


def _size(path: str) -> int:
    local = Path(path.removeprefix("file://"))
    if local.is_dir():
        return sum(p.stat().st_size for p in local.rglob("*") if p.is_file())
    return local.stat().st_size if local.exists() else -1


def _open_path(path: str, config: AppendConfig) -> xr.Dataset:
    options = config.slice_storage_options
    try:
        if not _is_zarr(path):
            with open_file_dataset(
                path,
                engine=config.slice_engine,
                storage_options=options,
                role="slice",
                missing_hint=_MISSING_HINT,
            ) as ds:
                loaded: xr.Dataset = ds.load()
                return loaded
        with (
            remote_errors(path, options),
            xr.open_zarr(path, storage_options=options, consolidated=None) as ds,
        ):
            stored: xr.Dataset = ds.load()
            return stored
    except ZarrlakeError:
        raise
    except FileNotFoundError:
        raise NotFoundError(
            f"slice {path} does not exist",
            subject=path,
            hint=_MISSING_HINT,
        ) from None
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise InvalidInputError(
            f"slice {path} cannot be read: {exc}",
            subject=path,
            hint="check that the file is a complete NetCDF/HDF5 file or Zarr store",
        ) from exc


def _poll(path: str, config: AppendConfig, polling: SlicePollingConfig) -> xr.Dataset:
    deadline = time.monotonic() + polling.timeout
    last_size = None
    last_error: Exception | None = None
    while True:
        if _exists(path, config.slice_storage_options):
            size = _size(path) if "://" not in path else None
            if size is None or size == last_size:
                try:
                    return _open_path(path, config)
                except (InvalidInputError, NotFoundError) as exc:
                    last_error = exc  # still being written
            last_size = size
        if time.monotonic() >= deadline:
            state = "is still incomplete" if last_error else "did not appear"
            raise NotFoundError(
                f"slice {path} {state} after waiting {polling.timeout:g} s"
                + (f" (last error: {last_error})" if last_error else ""),
                subject=path,
                hint="raise slice_polling.timeout, or check the producer of this slice",
            )
        time.sleep(polling.interval)


@contextlib.contextmanager
def open_slice(
    item: Any, index: int, config: AppendConfig, source: Callable[..., Any] | None
) -> Iterator[tuple[xr.Dataset, str]]:
    """Turn a slice item into a loaded Dataset and a name for messages.

    Parameters
    ----------
    item
        The slice item (see the module docstring).
    index
        Its position, for names of in-memory slices.
    config
        The append configuration.
    source
        The resolved ``slice_source`` function, if any.

    Yields
    ------
    tuple
        The dataset (loaded) and the slice's name.
    """
    with contextlib.ExitStack() as stack:
        if source is not None:
            kwargs = dict(config.slice_source_kwargs or {})
            if isinstance(item, tuple):
                item = source(*item, **kwargs)
            elif isinstance(item, dict):
                item = source(**item, **kwargs)
            else:
                item = source(item, **kwargs)
        name = f"slice #{index}"
        for _ in range(3):  # a context manager or slice source may yield a path
            if isinstance(item, xr.Dataset):
                break
            if isinstance(item, (str, os.PathLike)):
                name = os.fspath(item)
                polling = config.polling
                item = _poll(name, config, polling) if polling else _open_path(name, config)
                break
            if isinstance(item, AbstractContextManager) or hasattr(item, "__enter__"):
                item = stack.enter_context(item)
                continue
            if hasattr(item, "get_dataset"):
                if hasattr(item, "close"):
                    stack.callback(item.close)
                item = item.get_dataset()
                continue
            break
        if not isinstance(item, xr.Dataset):
            raise InvalidInputError(
                f"{name} is a {type(item).__name__}, not a Dataset, path or slice source",
                subject=name,
                hint="pass xarray Datasets, paths/URLs, or set slice_source to a function",
            )
        yield item.load(), name


_Opened = tuple[AbstractContextManager[tuple[xr.Dataset, str]], tuple[xr.Dataset, str]]

# A slice this large in memory is not read ahead: two of them at once would double the
# peak memory of the run for a gain that is small next to writing such a slice.
READ_AHEAD_MAX_BYTES = 512 * 2**20


class ReadAhead:
    """Open the slices of a list in order, the next one while the caller writes this one.

    Only paths and URLs without a ``slice_source`` are read ahead (a slice source or a
    context manager is the caller's code, opened in the caller's thread), and only after
    a slice smaller than :data:`READ_AHEAD_MAX_BYTES`.

    Parameters
    ----------
    items
        The slice items.
    config
        The append configuration.
    source
        The resolved ``slice_source`` function, if any.
    """

    def __init__(self, items: list[Any], config: AppendConfig, source: Callable[..., Any] | None):
        self.items = items
        self.config = config
        self.source = source
        self._pool: ThreadPoolExecutor | None = None
        self._ahead: tuple[int, Future[_Opened]] | None = None

    def _open(self, index: int) -> _Opened:
        opener = open_slice(self.items[index], index, self.config, self.source)
        return opener, opener.__enter__()

    def _readable_ahead(self, index: int) -> bool:
        return (
            self.source is None
            and index < len(self.items)
            and isinstance(self.items[index], (str, os.PathLike))
        )

    @contextlib.contextmanager
    def take(self, index: int) -> Iterator[tuple[xr.Dataset, str]]:
        """Yield slice ``index`` (loaded) and its name, and start reading the next one.

        Parameters
        ----------
        index
            The position of the slice in ``items``; call in order.

        Yields
        ------
        tuple
            The dataset (loaded) and the slice's name.
        """
        ahead, self._ahead = self._ahead, None
        opener, (ds, name) = (
            ahead[1].result() if ahead is not None and ahead[0] == index else self._open(index)
        )
        with contextlib.ExitStack() as stack:
            stack.push(opener)
            if self._readable_ahead(index + 1) and ds.nbytes <= READ_AHEAD_MAX_BYTES:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(1, thread_name_prefix="zarrlake-read-ahead")
                self._ahead = (index + 1, self._pool.submit(self._open, index + 1))
            yield ds, name

    def close(self) -> None:
        """Wait for a slice being read ahead and close it (when the run stops early)."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and not ahead[1].cancel():
            with contextlib.suppress(Exception):
                opener, _ = ahead[1].result()
                opener.__exit__(None, None, None)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
