"""Input files: expand lists and globs (local or ``s3://``), retry transient read errors.

Opening them is :func:`zarrlake.storage.files.open_file_dataset`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from zarrlake.errors import InvalidInputError, NotFoundError, RetryLimitExceededError
from zarrlake.storage.remote import glob_matches, has_magic, is_remote

__all__ = ["expand_inputs", "with_retries"]

log = logging.getLogger(__name__)
T = TypeVar("T")


def expand_inputs(
    inputs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    storage_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """Expand paths, URLs and globs into a sorted list of input files without duplicates.

    Parameters
    ----------
    inputs
        One path or glob, or several; ``s3://bucket/data/*.nc`` globs work too, and
        ``s3://bucket/data/`` (a remote prefix) stands for the files directly in it
        (:func:`zarrlake.storage.remote.expand_url`).
    storage_options
        fsspec options for remote globs and prefixes.

    Returns
    -------
    list of str
        The files, in sorted order.

    Raises
    ------
    NotFoundError
        When a glob matches nothing or a named file does not exist.
    """
    items = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    found: list[str] = []
    for item in items:
        pattern = os.fspath(item)
        if is_remote(pattern) or has_magic(pattern):
            matches = glob_matches(pattern, storage_options)
        else:
            local = pattern.removeprefix("file://")
            matches = [local] if os.path.isfile(local) else []
        if not matches:
            raise NotFoundError(
                f"no input file matches {pattern!r}",
                subject=pattern,
                hint="check the path or glob (quote globs so the shell leaves them alone)",
            )
        found.extend(matches)
    return sorted(dict.fromkeys(found))


def _transient(exc: BaseException) -> bool:
    """Whether an error may pass on a retry (I/O trouble, not a missing or bad file)."""
    if isinstance(exc, (FileNotFoundError, PermissionError, NotFoundError, InvalidInputError)):
        return False
    return isinstance(exc, (OSError, TimeoutError, ConnectionError))


def with_retries(
    action: Callable[[], T],
    *,
    what: str,
    retries: int,
    backoff: float,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``action``, retrying transient I/O errors with exponential backoff.

    Parameters
    ----------
    action
        The work to do.
    what
        The thing being read, for the error message (an input file's path).
    retries
        How many times to retry after the first failure.
    backoff
        Seconds before the first retry; doubles each time.
    sleep
        The sleeping function.

    Returns
    -------
    object
        What ``action`` returned.

    Raises
    ------
    RetryLimitExceededError
        When every attempt failed with a transient error.
    """
    delay = backoff
    for attempt in range(retries + 1):
        try:
            return action()
        except Exception as exc:
            if not _transient(exc):
                raise
            if attempt == retries:
                raise RetryLimitExceededError(
                    f"reading {what} failed {retries + 1} times; last error: {exc}",
                    subject=what,
                    hint="check the storage, then run again: finished work is kept",
                ) from exc
            log.warning("reading %s failed (%s); retry %d in %.1f s", what, exc, attempt + 1, delay)
            sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")
