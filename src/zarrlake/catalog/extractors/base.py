"""The extractor contract, the file being read, and the extractor registry.

An extractor reads one source (a file, or a Zarr archive's root) and returns raw
observations: the attributes as the file spells them plus the fields it determined
itself. :func:`extract_source` turns them into catalog records with the configured
mapping, and turns any failure into a record that carries the error, so no file is
ever dropped silently.
"""

from __future__ import annotations

import os
import posixpath
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from zarrlake.catalog.extractors.mapping import ExtractionConfig, map_attributes
from zarrlake.config import Registry
from zarrlake.errors import ExtractionError, InvalidInputError

ENTRY_POINT_GROUP = "zarrlake.extractors"


@dataclass(frozen=True)
class Source:
    """A file (or archive root) to extract, with what the file system says about it.

    Attributes
    ----------
    path
        Local path or URL (``s3://bucket/key``).
    size
        Size in bytes (for an archive: all its files).
    mtime_ns
        Modification time in nanoseconds since the epoch.
    storage_options
        fsspec options for remote URLs.
    """

    path: str
    size: int | None = None
    mtime_ns: int | None = None
    storage_options: dict[str, Any] | None = None

    @property
    def is_local(self) -> bool:
        """Whether the path is on the local file system."""
        return "://" not in self.path or self.path.startswith("file://")

    @property
    def local_path(self) -> str:
        """The local path (``file://`` removed)."""
        return self.path[len("file://") :] if self.path.startswith("file://") else self.path

    @property
    def name(self) -> str:
        """The last path component."""
        return posixpath.basename(self.path.rstrip("/"))

    @contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        """Open the source for binary reading (fsspec for URLs)."""
        if self.is_local:
            with open(self.local_path, "rb") as handle:
                yield handle
            return
        import fsspec

        with fsspec.open(self.path, "rb", **(self.storage_options or {})) as handle:
            yield handle


@dataclass
class RawObservation:
    """One observation as an extractor read it.

    Attributes
    ----------
    attributes
        Attribute or column name to value, as in the file.
    known
        Catalog fields the extractor determined (time coverage, file path of a row).
    extra
        Structured facts kept in ``mission_specific`` (variables, HDUs, shapes).
    """

    attributes: dict[str, Any] = field(default_factory=dict)
    known: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


class Extractor(ABC):
    """Reads metadata of one file format.

    Subclasses set ``name``, ``version`` and ``suffixes`` and implement :meth:`read`.
    """

    name: str = ""
    version: str = "1"
    suffixes: tuple[str, ...] = ()
    format: str = ""
    is_directory_format = False

    def matches(self, path: str) -> bool:
        """Return whether this extractor reads ``path`` (by suffix, case-insensitive)."""
        return path.rstrip("/").lower().endswith(self.suffixes)

    @abstractmethod
    def read(self, source: Source) -> list[RawObservation]:
        """Read the source's observations.

        Raises
        ------
        ExtractionError
            When the file cannot be read as this format.
        """


def _extractor_class(name: str, extractor: Any) -> type[Extractor]:
    if not (isinstance(extractor, type) and issubclass(extractor, Extractor)):
        raise InvalidInputError(
            f"extractor {name!r} must be an Extractor subclass, got {extractor!r}",
            subject=name,
            hint="subclass zarrlake.catalog.extractors.Extractor",
        )
    if not extractor.name or not extractor.suffixes:
        raise InvalidInputError(
            f"extractor {extractor.__name__} needs a name and suffixes", subject=extractor.__name__
        )
    return extractor


EXTRACTORS: Registry[type[Extractor]] = Registry(
    "catalog extractor",
    ENTRY_POINT_GROUP,
    check=_extractor_class,
    install_hints={"fits": "pip install 'zarrlake[fits]'"},
)


def register_extractor(extractor: type[Extractor], *, replace: bool = False) -> None:
    """Make an extractor class available to ingest, by its ``name``.

    Raises
    ------
    AlreadyExistsError
        When another extractor has the name and ``replace`` is false.
    InvalidInputError
        When the class has no name or suffixes.
    """
    EXTRACTORS.register(
        _extractor_class(extractor.__name__, extractor).name, extractor, replace=replace
    )


def available_extractors() -> dict[str, type[Extractor]]:
    """Return the registered extractors (built-in and entry points) by name."""
    return EXTRACTORS.loaded()


def extractor_for(path: str) -> Extractor | None:
    """Return an extractor instance for ``path``, or ``None`` when no format matches."""
    for cls in available_extractors().values():
        extractor = cls()
        if extractor.matches(path):
            return extractor
    return None


def supported_suffixes() -> list[str]:
    """Return every suffix some extractor reads."""
    return sorted({s for cls in available_extractors().values() for s in cls.suffixes})


def extract_source(source: Source, config: ExtractionConfig | None = None) -> list[dict[str, Any]]:
    """Extract catalog records from one source; failures become error records.

    Parameters
    ----------
    source
        The file to read.
    config
        The attribute mapping and quality rules (defaults when ``None``).

    Returns
    -------
    list of dict
        Observation records ready for :meth:`~zarrlake.catalog.Catalog.upsert_observations`.
        A file that cannot be read yields one record with ``extraction_error`` set.
    """
    config = config or ExtractionConfig()
    extractor = extractor_for(source.path)
    base = {
        "source_path": source.path,
        "source_size": source.size,
        "source_mtime_ns": source.mtime_ns,
    }
    if extractor is None:
        return [_failure(source, base, "", "", f"no extractor reads {source.name!r}")]
    try:
        raws = extractor.read(source)
        records = []
        for raw in raws:
            known = {
                "file_path": source.path,
                "file_size": source.size,
                "mtime_ns": source.mtime_ns,
                **raw.known,
            }
            record = map_attributes(raw.attributes, known, config, extra=raw.extra)
            record.update(
                base,
                format=extractor.format,
                extractor=extractor.name,
                extractor_version=extractor.version,
                extraction_error=None,
            )
            records.append(record)
        if not records:
            raise ExtractionError(f"{source.path} holds no observations", subject=source.path)
        return records
    except Exception as exc:  # a bad file must be recorded, whatever the library raised
        message = (
            f"{type(exc).__name__}: {exc}" if not isinstance(exc, ExtractionError) else str(exc)
        )
        return [
            _failure(source, base, extractor.name, extractor.format, message, extractor.version)
        ]


def _failure(
    source: Source, base: dict[str, Any], name: str, fmt: str, message: str, version: str = ""
) -> dict[str, Any]:
    return {
        **base,
        "file_path": source.path,
        "file_size": source.size,
        "mtime_ns": source.mtime_ns,
        "format": fmt or os.path.splitext(source.name)[1].lstrip(".").lower() or None,
        "extractor": name or None,
        "extractor_version": version or None,
        "extraction_error": message[:2000],
        "issues": [{"code": "unreadable", "message": message[:500]}],
    }
