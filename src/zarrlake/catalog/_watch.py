"""Keep the catalog in step with a folder as files arrive, change, move and vanish.

watchdog reports file-system events; a worker thread turns them into catalog writes.
A new or changed file is extracted only once it is complete: its size and mtime must
stay the same for ``settle`` seconds (a file being copied in is never catalogued half
written). A move keeps the record (its id, status history and lineage) and changes its
path; a deletion marks it missing. Files inside a ``*.zarr`` archive count as changes
of the archive. On start the watcher catches up with an incremental rescan, so nothing
that happened while it was down is lost.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from zarrlake._deps import require_dependency
from zarrlake.catalog._ingest import IngestSummary, ingest, ingest_sources, record_run
from zarrlake.catalog._repository import Catalog, KnownSource
from zarrlake.catalog._scan import archive_root, is_catalogued_name, local_source
from zarrlake.catalog._values import utcnow
from zarrlake.catalog.extractors import ExtractionConfig, Source
from zarrlake.errors import PathNotFoundError

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2


class CatalogWatcher:
    """A running watch of one folder (see the module docs).

    Parameters
    ----------
    catalog
        The catalog to keep current.
    root
        The folder to watch.
    config
        Attribute mapping and quality rules.
    settle
        Seconds a file's size and mtime must stay unchanged before it is extracted.
    recursive
        Watch sub-folders too.
    catch_up
        Rescan the folder on start (incremental: only what changed is extracted).
    """

    def __init__(
        self,
        catalog: Catalog,
        root: str | os.PathLike[str],
        *,
        config: ExtractionConfig | None = None,
        settle: float = 1.0,
        recursive: bool = True,
        catch_up: bool = True,
    ):
        self.catalog = catalog
        self.root = os.path.abspath(os.fspath(root))
        if not os.path.isdir(self.root):
            raise PathNotFoundError(
                f"cannot watch {self.root}: not a folder",
                subject=self.root,
                hint="create the folder first or check the path",
            )
        self.config = config or ExtractionConfig()
        self.settle = settle
        self.recursive = recursive
        self.catch_up = catch_up
        self.summary = IngestSummary()
        self.errors: list[str] = []
        self._pending: dict[str, tuple[float, tuple[int, int] | None]] = {}
        self._deleted: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._started = utcnow()
        self._observer: Any = None
        self._worker = threading.Thread(target=self._run, name="zarrlake-watch", daemon=True)

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> CatalogWatcher:
        """Start watching (events are queued before the catch-up rescan begins)."""
        observers = require_dependency("watchdog.observers", "catalog")
        self._observer = observers.Observer()
        self._observer.schedule(_Handler(self), self.root, recursive=self.recursive)
        self._observer.start()
        self._worker.start()
        return self

    def stop(self) -> None:
        """Stop watching; pending settled files are written first."""
        self._stop.set()
        if self._observer is not None:
            self._observer.stop()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the watcher to finish after :meth:`stop`."""
        if self._observer is not None:
            self._observer.join(timeout)
        if self._worker.is_alive():
            self._worker.join(timeout)

    def is_alive(self) -> bool:
        """Return whether the watcher is running."""
        return self._worker.is_alive()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until nothing is pending (for tests and scripts); return whether it was."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                empty = not self._pending and not self._deleted
            if empty and self._idle.is_set():
                return True
            time.sleep(POLL_SECONDS / 2)
        return False

    def __enter__(self) -> CatalogWatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.join()

    # -- events ---------------------------------------------------------------------------

    def _target(self, path: str) -> str | None:
        archive = archive_root(path)
        if archive is not None:
            return archive
        return path if is_catalogued_name(path) else None

    def note_changed(self, path: str) -> None:
        """Queue a path whose file appeared or changed."""
        target = self._target(path)
        if target is not None:
            with self._lock:
                self._pending[target] = (time.monotonic(), None)
                self._deleted.pop(target, None)  # replaced (e.g. rewritten), not gone
                self._idle.clear()

    def note_deleted(self, path: str) -> None:
        """Queue a vanished path (an archive member: recheck the archive instead).

        Deletions wait a little before records are marked missing: a move across
        folders can reach us as a creation plus a deletion, and a new file with the
        size and mtime of a deleted one is taken as that file moved (its record kept).
        """
        archive = archive_root(path)
        if archive is not None and archive != path:
            self.note_changed(archive)
            return
        with self._lock:
            self._deleted[path] = time.monotonic()
            self._idle.clear()

    def note_moved(self, source: str, destination: str) -> None:
        """Move records along with their files (ids and lineage kept)."""
        for old, entry in self._sources_at(source).items():
            new_source = destination + old[len(source) :]
            for path in entry.paths:
                new_path = destination + path[len(source) :] if path.startswith(source) else path
                self.catalog.rename(path, new_path, source_path=new_source)
        if os.path.isdir(destination) and archive_root(destination) is None:
            for folder, _dirs, files in os.walk(destination):
                for name in files:
                    self.note_changed(os.path.join(folder, name))
        else:
            self.note_changed(destination)

    # -- worker ---------------------------------------------------------------------------

    def _run(self) -> None:
        if self.catch_up:
            self._guard(self._catch_up)
        while True:
            stopping = self._stop.is_set()
            ready = self._settled(force=stopping)
            if ready:
                self._guard(self._ingest_ready, ready)
            self._guard(self._mark_deleted, stopping)
            with self._lock:
                if not self._pending and not self._deleted:
                    self._idle.set()
            if stopping:
                break
            self._stop.wait(POLL_SECONDS)
        self._guard(record_run, self.catalog, "watch", self.root, self._started, self.summary)

    def _catch_up(self) -> None:
        self._absorb(
            ingest(
                self.catalog, self.root, recursive=self.recursive, config=self.config, kind="watch"
            )
        )

    def _ingest_ready(self, paths: list[str]) -> None:
        sources = [s for s in (local_source(p) for p in paths) if s is not None]
        self._match_moves(sources)
        self._absorb(ingest_sources(self.catalog, sources, self.config))

    def _match_moves(self, sources: list[Source]) -> None:
        with self._lock:
            deleted = list(self._deleted)
        if not deleted:
            return
        gone = {
            (entry.size, entry.mtime_ns): path
            for path, entry in self.catalog.known_sources(paths=deleted).items()
            if len(entry.paths) == 1 and entry.paths[0] == path
        }
        fresh = {s.path for s in sources} - set(
            self.catalog.known_sources(paths=[s.path for s in sources])
        )
        for source in sources:
            if source.path not in fresh:
                continue  # already catalogued: a change, not a move
            old_path = gone.pop((source.size, source.mtime_ns), None)
            if old_path is not None:
                self.catalog.rename(old_path, source.path, source_path=source.path)
                with self._lock:
                    self._deleted.pop(old_path, None)

    def _mark_deleted(self, force: bool) -> None:
        now = time.monotonic()
        with self._lock:
            due = [p for p, t in self._deleted.items() if force or now - t >= 3 * self.settle]
        for path in due:
            if os.path.exists(path):  # it came back before we acted
                self.note_changed(path)
            else:
                paths = [p for entry in self._sources_at(path).values() for p in entry.paths]
                self.summary.missing += self.catalog.mark_missing(paths)
            with self._lock:
                self._deleted.pop(path, None)

    def _sources_at(self, path: str) -> dict[str, KnownSource]:
        """Return the catalogued sources that are ``path`` or lie inside it (a folder)."""
        return {
            source: entry
            for source, entry in self.catalog.known_sources(path).items()
            if source == path or source.startswith(path + "/")
        }

    def _settled(self, *, force: bool) -> list[str]:
        now = time.monotonic()
        ready: list[str] = []
        with self._lock:
            for path, (last_event, last_stat) in list(self._pending.items()):
                if now - last_event < self.settle and not force:
                    continue
                current = _stat(path)
                if current is None:
                    del self._pending[path]  # gone again before it settled
                elif current == last_stat or force:
                    ready.append(path)
                    del self._pending[path]
                else:
                    self._pending[path] = (now, current)  # still growing: wait again
        return ready

    def _absorb(self, part: IngestSummary) -> None:
        for name in ("seen", "new", "updated", "unchanged", "failed", "missing", "restored"):
            setattr(self.summary, name, getattr(self.summary, name) + getattr(part, name))
        self.summary.failures.extend(part.failures)

    def _guard(self, action: Any, *args: Any) -> None:
        try:
            action(*args)
        except Exception as exc:  # keep watching; the error is reported, not swallowed
            log.exception("catalog watch of %s: %s", self.root, exc)
            self.errors.append(f"{type(exc).__name__}: {exc}")


def _stat(path: str) -> tuple[int, int] | None:
    source = local_source(path)
    if source is None:
        return None
    return (source.size or 0, source.mtime_ns or 0)


def _handler_base() -> Any:
    events = require_dependency("watchdog.events", "catalog")
    return events.FileSystemEventHandler


class _Handler(_handler_base()):  # type: ignore[misc]
    def __init__(self, watcher: CatalogWatcher):
        super().__init__()
        self.watcher = watcher

    def on_any_event(self, event: Any) -> None:
        kind = event.event_type
        src = os.fsdecode(event.src_path)
        if kind in ("created", "modified", "closed"):
            if not event.is_directory or archive_root(src) == src:
                self.watcher.note_changed(src)
        elif kind == "deleted":
            self.watcher.note_deleted(src)
        elif kind == "moved":
            self.watcher.note_moved(src, os.fsdecode(event.dest_path))


def watch(catalog: Catalog, root: str | os.PathLike[str], **options: Any) -> CatalogWatcher:
    """Start watching ``root``; return the running :class:`CatalogWatcher`.

    Parameters
    ----------
    catalog
        The catalog.
    root
        The folder.
    **options
        :class:`CatalogWatcher` options (``settle``, ``recursive``, ``catch_up``, ``config``).

    Returns
    -------
    CatalogWatcher
        Call ``stop()`` and ``join()`` to end it.
    """
    return CatalogWatcher(catalog, root, **options).start()
