"""One error tree for everything zarrlake raises on purpose.

Every error derives from :class:`ZarrlakeError` and, where it fits, also from the
builtin a caller would naturally catch (``NotFoundError`` is a ``KeyError``,
``InvalidInputError`` a ``ValueError``, ``StorageError`` an ``OSError``), so code
written against plain Python keeps working.

Every message names the thing at fault (a URL, key, variable, dimension or option)
in ``subject`` and, when there is one, what to do about it in ``hint``.
"""

from __future__ import annotations

__all__ = [
    "AlreadyExistsError",
    "CatalogSchemaError",
    "ConflictError",
    "ConversionError",
    "CorruptError",
    "ExtractionError",
    "InsufficientStorageError",
    "InvalidInputError",
    "IsDirectoryError",
    "LockedError",
    "MissingDependencyError",
    "NotDirectoryError",
    "NotFoundError",
    "OutOfRangeError",
    "PathNotFoundError",
    "RetryLimitExceededError",
    "StorageError",
    "StorageResolutionError",
    "SymlinkLoopError",
    "UnsupportedSchemeError",
    "ZarrlakeError",
]


class ZarrlakeError(Exception):
    """Root of the zarrlake error tree.

    Parameters
    ----------
    message
        What went wrong, naming the thing at fault.
    subject
        The URL, key, variable, dimension or option the error is about.
    hint
        What the user can do about it.

    Attributes
    ----------
    partial_result
        What a batch operation completed before it failed (e.g. the
        :class:`~zarrlake.append.AppendResult` of the slices committed before a bad
        one), so a caller can report it; ``None`` when nothing was done or it does not
        apply.
    """

    partial_result: object | None = None

    def __init__(self, message: str, *, subject: str | None = None, hint: str | None = None):
        self.message = message
        self.subject = subject
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} — {self.hint}"
        return self.message

    def __reduce__(self) -> tuple[object, ...]:
        # Errors cross process boundaries (worker pools, Dask); keep keyword fields.
        return (_rebuild, (type(self), self.message, self.subject, self.hint, self.__dict__))


def _rebuild(
    cls: type[ZarrlakeError],
    message: str,
    subject: str | None,
    hint: str | None,
    state: dict[str, object],
) -> ZarrlakeError:
    error = cls.__new__(cls)
    ZarrlakeError.__init__(error, message, subject=subject, hint=hint)
    error.__dict__.update(state)
    return error


class NotFoundError(ZarrlakeError, KeyError):
    """A store, key, array, variable or record does not exist."""


class AlreadyExistsError(ZarrlakeError, FileExistsError):
    """Something that must not exist yet already does."""


class LockedError(ZarrlakeError):
    """Another writer holds the lock of an archive.

    Parameters
    ----------
    message
        What is locked and by whom.
    owner
        The lock owner's record (host, pid, start time, command), if known.
    """

    def __init__(
        self,
        message: str,
        *,
        subject: str | None = None,
        hint: str | None = None,
        owner: dict[str, object] | None = None,
    ):
        super().__init__(message, subject=subject, hint=hint)
        self.owner = owner


class ConflictError(ZarrlakeError):
    """A change conflicts with the current state (for example a concurrent write)."""


class InvalidInputError(ZarrlakeError, ValueError):
    """Bad input: an option, spec, file, dimension or value that cannot be used."""


class OutOfRangeError(InvalidInputError):
    """Values fall outside a fixed range (for example a CF packing range)."""


class UnsupportedSchemeError(InvalidInputError):
    """A URL scheme that zarrlake cannot open (or cannot open without an extra)."""


class CorruptError(ZarrlakeError):
    """Stored data or metadata cannot be decoded."""


class StorageError(ZarrlakeError, OSError):
    """The storage layer failed (I/O, permissions, an unreachable server)."""


class MissingDependencyError(ZarrlakeError, ImportError):
    """An optional dependency is needed but not installed."""


class ConversionError(ZarrlakeError):
    """Converting files into an archive failed (zarrio's name for this error)."""


class RetryLimitExceededError(ConversionError):
    """A transient failure outlived its retries (zarrio's name for this error)."""


class StorageResolutionError(StorageError):
    """A storage backend cannot resolve or complete a file operation (polystore's name)."""


class SymlinkLoopError(StorageResolutionError):
    """Following a chain of symbolic links leads back to a link already followed."""


class PathNotFoundError(NotFoundError, FileNotFoundError):
    """A file or directory path of a storage backend does not exist."""


class IsDirectoryError(ZarrlakeError, IsADirectoryError):
    """A file operation met a directory (or a directory that is not empty)."""


class NotDirectoryError(ZarrlakeError, NotADirectoryError):
    """A directory operation met a file."""


class CatalogSchemaError(ZarrlakeError):
    """A catalog database is missing, uninitialised, or at another schema version."""


class ExtractionError(CorruptError):
    """A catalog extractor cannot read a file's metadata (corrupt, truncated, unknown)."""


class InsufficientStorageError(StorageError):
    """The output location has less free space than a pipeline needs (``ResourceError``)."""
