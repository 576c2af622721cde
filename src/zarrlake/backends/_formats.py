"""File contents by extension: how a value becomes bytes and back, on every backend.

Round-trip law: for a value ``v`` accepted by :func:`encode` for a path ``p``,
``decode(encode(v, p), p)`` equals ``v`` up to the format's types (a tuple saved as
JSON loads as a list, rows saved as CSV load as a DataFrame).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from zarrlake._deps import require_dependency
from zarrlake.errors import CorruptError, InvalidInputError, MissingDependencyError

__all__ = [
    "ARRAY_EXTENSIONS",
    "TEXT_EXTENSIONS",
    "decode",
    "encode",
    "extension",
    "is_array_like",
    "to_host",
]

ARRAY_EXTENSIONS = (".npy", ".tif", ".tiff")
TEXT_EXTENSIONS = (".txt", ".md", ".log", ".yaml", ".yml", ".xml", ".html")


def extension(path: str | os.PathLike[str]) -> str:
    """Return the lower-case extension of ``path`` (``".tif"``), or ``""``."""
    name = os.fspath(path).rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def to_host(data: Any) -> Any:
    """Copy a GPU array (CuPy, PyTorch, JAX) to a NumPy array; return others as they are.

    The libraries are recognised by the array's module, so none of them is imported
    unless the caller already passes one of its arrays.
    """
    module = type(data).__module__.split(".", 1)[0]
    if module == "cupy":
        return data.get()
    if module == "torch":
        return data.detach().cpu().numpy()
    if module in ("jax", "jaxlib"):
        import jax  # type: ignore[import-not-found]

        return np.asarray(jax.device_get(data))
    return data


def is_array_like(data: Any) -> bool:
    """Whether ``data`` is an array (NumPy, or a GPU array that :func:`to_host` copies)."""
    return isinstance(data, np.ndarray) or type(data).__module__.split(".", 1)[0] in (
        "cupy",
        "torch",
        "jax",
        "jaxlib",
    )


def _tifffile() -> Any:
    return require_dependency("tifffile", "hcs")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _csv_bytes(data: Any, where: str) -> bytes:
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, bytes):
        return data
    if hasattr(data, "to_csv"):  # a pandas DataFrame or Series
        return str(data.to_csv(index=False)).encode()
    rows = list(data)
    buffer = io.StringIO()
    if rows and isinstance(rows[0], Mapping):
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    elif all(isinstance(row, (list, tuple)) for row in rows):
        csv.writer(buffer).writerows(rows)
    else:
        raise InvalidInputError(
            f"cannot write {type(data).__name__} as CSV to {where}",
            subject=where,
            hint="pass a DataFrame, a list of dicts, a list of rows or CSV text",
        )
    return buffer.getvalue().encode()


def encode(data: Any, path: str | os.PathLike[str]) -> bytes:
    """Return the bytes a file at ``path`` holds for ``data``.

    Parameters
    ----------
    data
        The value; see :meth:`StorageBackend.save` for what each extension takes.
    path
        The file's path; only its extension matters.

    Returns
    -------
    bytes
        The file's content.

    Raises
    ------
    InvalidInputError
        When the value does not fit the extension (an array for ``.json``, ...).
    """
    where = os.fspath(path)
    ext = extension(path)
    data = to_host(data)
    if ext == ".npy":
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(data), allow_pickle=False)
        return buffer.getvalue()
    if ext in (".tif", ".tiff"):
        buffer = io.BytesIO()
        _tifffile().imwrite(buffer, np.asarray(data))
        return buffer.getvalue()
    if is_array_like(data):
        raise InvalidInputError(
            f"cannot store an array as {where!r}: arrays are files ending in .npy, .tif or .tiff",
            subject=where,
            hint="name the file .npy or .tif, or use the zarr backend (arrays by any name)",
        )
    if ext == ".json":
        try:
            return json.dumps(data, indent=2, default=_json_default).encode()
        except (TypeError, ValueError) as error:
            raise InvalidInputError(
                f"cannot write {type(data).__name__} as JSON to {where}: {error}",
                subject=where,
                hint="pass dicts, lists, strings, numbers, booleans or None",
            ) from error
    if ext == ".csv":
        return _csv_bytes(data, where)
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        return data.encode()
    raise InvalidInputError(
        f"cannot store {type(data).__name__} as {where!r}",
        subject=where,
        hint="save arrays as .npy/.tif, values as .json, tables as .csv, text or bytes otherwise",
    )


def decode(raw: bytes, path: str | os.PathLike[str]) -> Any:
    """Return the value a file's bytes hold; the inverse of :func:`encode`.

    Parameters
    ----------
    raw
        The file's content.
    path
        The file's path; only its extension matters.

    Returns
    -------
    Any
        An array (``.npy``, ``.tif``), a JSON value, a pandas DataFrame (``.csv``), a
        string (text extensions) or the bytes.

    Raises
    ------
    CorruptError
        When the bytes are not what the extension promises.
    """
    ext = extension(path)
    where = os.fspath(path)
    try:
        if ext == ".npy":
            return np.load(io.BytesIO(raw), allow_pickle=False)
        if ext in (".tif", ".tiff"):
            return _tifffile().imread(io.BytesIO(raw))
        if ext == ".json":
            return json.loads(raw)
        if ext == ".csv":
            import pandas as pd

            return pd.read_csv(io.BytesIO(raw))
        if ext in TEXT_EXTENSIONS:
            return raw.decode()
    except MissingDependencyError:
        raise
    except Exception as error:
        raise CorruptError(
            f"{where} is not a readable {ext} file: {error}",
            subject=where,
            hint="the file is damaged or was written by another program; save it again",
        ) from error
    return raw
