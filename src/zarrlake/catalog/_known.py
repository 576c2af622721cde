"""What the catalog knows about a source file, for incremental ingest and validation."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class KnownSource:
    """What the catalog knows about one source file (for incremental ingest).

    Attributes
    ----------
    size, mtime_ns
        The source file's size and modification time when it was last read.
    ids
        The records read from it (one, or one per row of an observation list).
    missing
        Whether its records are flagged missing.
    error
        The error of its last extraction, if it failed.
    incomplete
        Whether a record has issues (missing required fields, unreadable values).
    """

    size: int | None
    mtime_ns: int | None
    ids: list[int] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    missing: bool = False
    error: str | None = None
    incomplete: bool = False

    @property
    def failed(self) -> bool:
        """Whether the last extraction failed."""
        return self.error is not None

    def unchanged(self, size: int | None, mtime_ns: int | None) -> bool:
        """Return whether the file still has the size and mtime it had when read."""
        return (self.size, self.mtime_ns) == (size, mtime_ns)
