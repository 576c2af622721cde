"""The archive lock: one writer at a time, kept in the archive's sidecar.

The lock is ``lock`` in the archive's sidecar (:mod:`zarrlake.storage.sidecar`, the
sibling ``NAME.zarrlake``), created with put-if-absent (so two creators cannot both
win, on local disks and on S3 alike) and holding its owner: host, pid, process start
time, command, and a heartbeat a background thread refreshes. A lock whose heartbeat is
older than ``stale_after`` seconds is stale.

Breaking a lock must not let two breakers both win either: a breaker first creates
``broken-<owner id>`` beside the lock with put-if-absent; only the one that created it
replaces the lock. A breaker that died before replacing the lock is itself broken the
same way (``broken-<owner id>.<breaker id>``), so a crash mid-break blocks nobody.

A lock is broken automatically when its owner is provably dead (same host, that pid no
longer runs the process that took the lock), and otherwise only when asked
(``break_stale=True``, ``--break-lock``). Like any lease without fencing, breaking the
lock of a writer that is alive but missed its heartbeats for ``stale_after`` seconds
can overlap with it for a moment; each writer re-checks ownership right before its
commit point, so set ``stale_after`` well above the heartbeat interval.

A holder checks on every heartbeat that the lock is still its own; a transaction
checks again right before its commit point and aborts if the lock was taken from it.
Whoever takes an archive's lock moves bookkeeping an older zarrlake left inside the
archive into the sidecar.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import psutil
from pydantic import BaseModel, Field
from zarr.abc.store import Store

from zarrlake._logging import event
from zarrlake.errors import ConflictError, InvalidInputError, LockedError
from zarrlake.storage import run_sync
from zarrlake.storage.atomic import aatomic_put, adelete_key, aput_if_absent, aread_bytes
from zarrlake.storage.listing import alist_keys
from zarrlake.storage.sidecar import adopt_inside_bookkeeping, prune_sidecar, sidecar
from zarrlake.storage.urls import store_url

_log = logging.getLogger(__name__)

__all__ = ["LOCK_KEY", "ArchiveLock", "LockOptions", "LockOwner", "read_lock"]

LOCK_KEY = "lock"
"""The archive lock's name in the sidecar."""
_BROKEN_PREFIX = "broken-"


class LockOptions(BaseModel):
    """How a writer takes the archive lock."""

    wait: bool = Field(
        True, description="wait for a held lock (else fail at once with LockedError)"
    )
    timeout: float = Field(60.0, ge=0, description="seconds to wait for a held lock")
    stale_after: float = Field(
        120.0, gt=0, description="seconds without heartbeat after which a lock is stale"
    )
    heartbeat_interval: float | None = Field(
        None, gt=0, description="seconds between heartbeats (default stale_after / 4)"
    )
    break_stale: bool = Field(False, description="break a stale lock held by another host")
    poll_interval: float = Field(0.2, gt=0, description="seconds between attempts while waiting")

    model_config = {"extra": "forbid"}


@dataclass
class LockOwner:
    """Who holds a lock."""

    owner_id: str
    host: str
    pid: int
    pid_started: float
    command: str
    acquired: str
    heartbeat: float

    @classmethod
    def current(cls) -> LockOwner:
        """Return the owner record for this process."""
        now = time.time()
        return cls(
            owner_id=uuid.uuid4().hex,
            host=socket.gethostname(),
            pid=os.getpid(),
            pid_started=psutil.Process().create_time(),
            command=" ".join(sys.argv)[:500],
            acquired=datetime.now(UTC).isoformat(timespec="seconds"),
            heartbeat=now,
        )

    def to_bytes(self) -> bytes:
        """Serialize as JSON."""
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> LockOwner | None:
        """Parse a lock record; ``None`` when it is unreadable (being written or corrupt)."""
        try:
            fields = json.loads(data)
            return cls(**{k: fields[k] for k in cls.__dataclass_fields__})
        except (ValueError, KeyError, TypeError):
            return None

    def age(self) -> float:
        """Seconds since the last heartbeat."""
        return time.time() - self.heartbeat

    def is_provably_dead(self) -> bool:
        """Whether the owner ran on this host and its process is gone."""
        if self.host != socket.gethostname():
            return False
        try:
            process = psutil.Process(self.pid)
            return abs(process.create_time() - self.pid_started) > 1.0  # pid was reused
        except psutil.NoSuchProcess:
            return True
        except psutil.AccessDenied:
            return False

    def describe(self) -> str:
        """Return a sentence naming the owner."""
        return (
            f"pid {self.pid} on {self.host} since {self.acquired} "
            f"(last heartbeat {self.age():.0f} s ago; command: {self.command or '?'})"
        )


async def read_lock(store: Store, key: str = LOCK_KEY) -> LockOwner | None:
    """Return the current lock owner, or ``None`` when the archive is not locked.

    Parameters
    ----------
    store
        The archive's store.
    key
        The lock's name in the archive's sidecar.
    """
    side = sidecar(store)
    data = await aread_bytes(side.store, side.key(key))
    return None if data is None else LockOwner.from_bytes(data)


class ArchiveLock:
    """The lock of one archive; use as a context manager.

    Parameters
    ----------
    store
        The archive's store (writable).
    options
        Waiting, staleness and breaking behaviour.
    key
        The lock's name in the archive's sidecar: the archive lock by default; other
        names lock a part of the archive (for example one chunk) with the same protocol.
    """

    def __init__(
        self, store: Store, options: LockOptions | None = None, *, key: str = LOCK_KEY
    ) -> None:
        self.store = store
        self.key = key
        self.sidecar = sidecar(store)
        self._side = self.sidecar.store
        self._key = self.sidecar.key(key)
        self._broken_prefix = self.sidecar.key(
            _BROKEN_PREFIX if key == LOCK_KEY else f"{key}.broken-"
        )
        self.options = options or LockOptions()
        self.owner: LockOwner | None = None
        self.lost = False
        self._broke = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The archive's URL."""
        return store_url(self.store)

    def acquire(self) -> LockOwner:
        """Take the lock, waiting or breaking a dead owner's lock as the options say.

        Returns
        -------
        LockOwner
            This process's owner record.

        Raises
        ------
        LockedError
            When another live writer holds the lock (at once, or after the timeout).
        """
        if self.owner is not None:
            raise InvalidInputError(f"the lock of {self.url} is already held by this object")
        owner = LockOwner.current()
        deadline = time.monotonic() + self.options.timeout
        waited = False
        while True:
            owner.heartbeat = time.time()
            if run_sync(aput_if_absent(self._side, self._key, owner.to_bytes())):
                break
            holder = run_sync(self._holder())
            if holder is not None and self._may_break(holder) and self._break(holder, owner):
                event(
                    _log,
                    logging.WARNING,
                    "lock.break",
                    "%s: broke the lock of %s",
                    self.url,
                    holder.describe(),
                    url=self.url,
                    holder=holder.describe(),
                )
                break
            if not self.options.wait or time.monotonic() >= deadline:
                raise self._locked_error(holder)
            if not waited:
                waited = True
                event(
                    _log,
                    logging.INFO,
                    "lock.wait",
                    "%s: waiting up to %.0f s for the lock held by %s",
                    self.url,
                    self.options.timeout,
                    holder.describe() if holder else "an unreadable owner",
                    url=self.url,
                    timeout=self.options.timeout,
                )
            time.sleep(self.options.poll_interval)
        self.owner = owner
        self.lost = False
        self._start_heartbeat()
        if self.key == LOCK_KEY and not self.store.read_only:
            try:
                run_sync(adopt_inside_bookkeeping(self.store, self.sidecar))
            except BaseException:
                self.release()
                raise
        return owner

    async def _holder(self) -> LockOwner | None:
        data = await aread_bytes(self._side, self._key)
        return None if data is None else LockOwner.from_bytes(data)

    def _may_break(self, holder: LockOwner) -> bool:
        if holder.is_provably_dead():
            return True
        return self.options.break_stale and holder.age() > self.options.stale_after

    def _break(self, holder: LockOwner, owner: LockOwner) -> bool:
        marker = f"{self._broken_prefix}{holder.owner_id}"
        while not run_sync(aput_if_absent(self._side, marker, owner.to_bytes())):
            data = run_sync(aread_bytes(self._side, marker))
            breaker = LockOwner.from_bytes(data) if data is not None else None
            if breaker is None or not self._may_break(breaker):
                return False  # another breaker is at work (or won); the lock will be theirs
            # that breaker died before finishing: compete for its turn, one winner again
            marker = f"{marker}.{breaker.owner_id}"
        current = run_sync(self._holder())
        if current is None or current.owner_id != holder.owner_id:
            return False  # released (and maybe retaken) meanwhile: try a normal acquire
        run_sync(aatomic_put(self._side, self._key, owner.to_bytes()))
        self._broke = True
        return True

    def _locked_error(self, holder: LockOwner | None) -> LockedError:
        who = holder.describe() if holder else "a writer whose lock record is unreadable"
        stale = holder is not None and holder.age() > self.options.stale_after
        hint = (
            "the lock is stale: if that writer is gone, run again with --break-lock"
            if stale
            else "wait for it to finish, or pass wait/timeout to wait longer"
        )
        return LockedError(
            f"{self.url} is locked by {who}",
            subject=self.url,
            hint=hint,
            owner=asdict(holder) if holder else None,
        )

    def _start_heartbeat(self) -> None:
        interval = self.options.heartbeat_interval or self.options.stale_after / 4
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._beat, args=(interval,), name="zarrlake-lock-heartbeat", daemon=True
        )
        self._thread.start()

    def _beat(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.refresh()
            except Exception:
                continue

    def refresh(self) -> None:
        """Refresh the heartbeat, noticing when the lock was taken from us."""
        if self.owner is None:
            return
        current = run_sync(self._holder())
        if current is None or current.owner_id != self.owner.owner_id:
            self.lost = True
            self._stop.set()
            return
        self.owner.heartbeat = time.time()
        run_sync(aatomic_put(self._side, self._key, self.owner.to_bytes()))

    def verify(self) -> None:
        """Check the lock is still ours (right before a commit).

        Raises
        ------
        ConflictError
            When the lock was broken and taken by another writer.
        """
        if self.owner is None:
            raise ConflictError(f"no lock is held on {self.url}", subject=self.url)
        current = run_sync(self._holder())
        if self.lost or current is None or current.owner_id != self.owner.owner_id:
            self.lost = True
            raise ConflictError(
                f"the lock of {self.url} was taken by another writer while this one worked",
                subject=self.url,
                hint="this change was not committed; run it again",
            )

    def release(self) -> None:
        """Stop the heartbeat and delete the lock if it is still ours."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self.owner is None:
            return
        current = run_sync(self._holder())
        if current is not None and current.owner_id == self.owner.owner_id:
            run_sync(adelete_key(self._side, self._key))
        if self._broke:
            self._forget_break_markers()
        self.owner = None
        if self.key == LOCK_KEY:  # part locks share folders with other live locks
            prune_sidecar(self.sidecar)

    def _forget_break_markers(self) -> None:
        folder = self._broken_prefix.rsplit("/", 1)[0] if "/" in self._broken_prefix else ""
        for key in run_sync(alist_keys(self._side, folder)):
            if key.startswith(self._broken_prefix):
                run_sync(adelete_key(self._side, key))

    def __enter__(self) -> ArchiveLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def status(self) -> dict[str, Any]:
        """Return the lock's state for reports: holder and staleness."""
        holder = run_sync(self._holder())
        if holder is None:
            return {"locked": False}
        return {
            "locked": True,
            "owner": asdict(holder),
            "stale": holder.age() > self.options.stale_after,
            "dead": holder.is_provably_dead(),
        }
