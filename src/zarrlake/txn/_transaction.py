"""Transactions: lock, stage, journal, apply in a safe order, commit, clean up.

Usage::

    with Transaction(store, operation="append") as txn:
        ds.to_zarr(txn.staging, append_dim="time", consolidated=False)
        result = txn.commit()

Everything a writer does goes to ``txn.staging`` (a copy-on-write overlay); the target
changes only inside :meth:`Transaction.commit`, in this order: backups of overwritten
keys, the journal, new and changed chunks, metadata documents, the consolidated
commit document, deletes; then the journal is removed. Leaving the ``with`` block
without committing discards the staged changes; a leftover journal from a crashed
writer is recovered when the next transaction starts.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from zarr.abc.store import Store

from zarrlake._logging import event, rate
from zarrlake.errors import CorruptError, InvalidInputError
from zarrlake.hierarchy import (
    CONSOLIDATED_V2,
    adetect_format,
    commit_key,
    consolidated_updates,
    document_name,
    dumps,
    is_metadata_key,
    is_private_key,
)
from zarrlake.storage import run_sync
from zarrlake.storage.atomic import aatomic_put, aatomic_put_many, adelete_key, aread_bytes
from zarrlake.storage.listing import prune_empty_dirs
from zarrlake.storage.sidecar import sidecar
from zarrlake.storage.urls import store_url
from zarrlake.txn._journal import (
    JOURNAL_KEY,
    Journal,
    RecoveryResult,
    adiscard_backups,
    arecover,
    backup_key,
    gather_limited,
    sha256,
)
from zarrlake.txn._lock import ArchiveLock, LockOptions
from zarrlake.txn._staging import StagingStore

_log = logging.getLogger(__name__)

__all__ = ["CommitResult", "Transaction", "recover"]

# Old bytes up to this size (metadata documents, small chunks) travel inside the journal
# instead of as separate backup objects: one write instead of several per commit.
_INLINE_BACKUP_BYTES = 256 * 1024


@dataclass
class CommitResult:
    """What a commit changed."""

    txn_id: str
    created: int = 0
    overwritten: int = 0
    deleted: int = 0
    unchanged: int = 0
    bytes_written: int = 0
    backup_bytes: int = 0
    seconds: float = 0.0
    recovered: RecoveryResult = "clean"
    keys: list[str] = field(default_factory=list, repr=False)

    @property
    def changed(self) -> bool:
        """Whether the commit changed anything."""
        return bool(self.created or self.overwritten or self.deleted)


class Transaction:
    """One atomic change of an archive.

    Parameters
    ----------
    store
        The archive's store, writable.
    operation
        A name for the journal and reports (``append``, ``repair``, ...).
    lock_options
        How to take the archive lock.
    consolidate
        Keep consolidated metadata fresh (the commit point). Without it the commit
        document is the root metadata document, and recovery always rolls back.
    lock
        A lock this process already holds (and has recovered under) for several
        transactions in a row; the transaction then neither takes nor releases it.
    """

    def __init__(
        self,
        store: Store,
        *,
        operation: str = "write",
        lock_options: LockOptions | None = None,
        consolidate: bool = True,
        lock: ArchiveLock | None = None,
    ) -> None:
        if store.read_only:
            raise InvalidInputError(
                f"cannot change {store_url(store)}: it was opened read-only",
                subject=store_url(store),
                hint="open it with mode='r+' or 'a'",
            )
        self.store = store
        self.operation = operation
        self.consolidate = consolidate
        self._own_lock = lock is None
        self.lock = lock if lock is not None else ArchiveLock(store, lock_options)
        self.txn_id = uuid.uuid4().hex
        self.sidecar = sidecar(store)
        self.staging = StagingStore(store)
        self.recovered: RecoveryResult = "clean"
        self._open = False
        self._committed = False

    def begin(self) -> Transaction:
        """Take the lock and recover what a crashed writer left behind."""
        if not self._own_lock:
            if self.lock.owner is None:
                raise InvalidInputError(
                    "the lock passed to Transaction is not held", subject="lock"
                )
            self._open = True
            return self
        self.lock.acquire()
        try:
            self.recovered = run_sync(arecover(self.store))
        except BaseException:
            self.lock.release()
            raise
        self._open = True
        return self

    def __enter__(self) -> Transaction:
        return self.begin()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.end()

    def end(self) -> None:
        """Discard anything staged and not committed, and release the lock."""
        self.staging = StagingStore(self.store)
        if self._open:
            self._open = False
            if self._own_lock:
                self.lock.release()

    def commit(self) -> CommitResult:
        """Apply the staged changes atomically; see the module docstring.

        Returns
        -------
        CommitResult
            Counts of created, overwritten and deleted keys.

        Raises
        ------
        ConflictError
            When the lock was taken by another writer (nothing was changed).
        """
        if not self._open:
            raise InvalidInputError("commit() outside an open transaction", subject="transaction")
        if self._committed:
            raise InvalidInputError("this transaction was already committed", subject="transaction")
        started = time.perf_counter()
        result = run_sync(self._acommit())
        result.seconds = time.perf_counter() - started
        result.recovered = self.recovered
        self._committed = True
        event(
            _log,
            logging.INFO,
            "txn.commit",
            "%s: committed %s: %d key(s) written (%d new), %d deleted, %d bytes in %.2f s "
            "(%.1f MB/s)",
            store_url(self.store),
            self.operation,
            len(result.keys),
            result.created,
            result.deleted,
            result.bytes_written,
            result.seconds,
            rate(result.bytes_written, result.seconds),
            url=store_url(self.store),
            operation=self.operation,
            keys=len(result.keys),
            created=result.created,
            deleted=result.deleted,
            bytes=result.bytes_written,
            seconds=round(result.seconds, 4),
        )
        return result

    def clear(self) -> int:
        """Delete everything in the archive but zarrlake's own keys, at once.

        Used to replace an archive (``force_new``). Backing up a whole archive would be
        absurd, so this is journaled to roll forward: a crash during it is finished by
        recovery. The root documents go first, so the archive stops being one at once.

        Returns
        -------
        int
            The number of keys deleted.
        """
        if not self._open:
            raise InvalidInputError("clear() outside an open transaction", subject="transaction")
        return run_sync(self._aclear())

    async def _aclear(self) -> int:
        keys = [k async for k in self.store.list() if not is_private_key(k)]
        if not keys:
            return 0
        zarr_format = await adetect_format(self.store)
        guard = commit_key(zarr_format) if zarr_format else None
        journal = Journal(
            txn_id=self.txn_id,
            operation="clear",
            roll_forward=True,
            deleted=dict.fromkeys(keys, -1),
            guard_key=guard,
            guard_sha256=sha256(await aread_bytes(self.store, guard)) if guard else None,
        )
        side = self.sidecar
        await aatomic_put(side.store, side.key(JOURNAL_KEY), journal.to_bytes())
        await asyncio.to_thread(self.lock.verify)
        roots = [k for k in keys if "/" not in k and is_metadata_key(k)]
        await gather_limited(adelete_key(self.store, k) for k in roots)
        await gather_limited(adelete_key(self.store, k) for k in keys if k not in roots)
        await adelete_key(side.store, side.key(JOURNAL_KEY))
        await asyncio.to_thread(prune_empty_dirs, self.store)
        return len(keys)

    async def _acommit(self) -> CommitResult:
        staging = self.staging
        deleted_keys = set(staging.deleted)
        for prefix in staging.deleted_prefixes:
            deleted_keys.update([k async for k in self.store.list_prefix(prefix)])
        deleted_keys = {
            k for k in deleted_keys if not is_private_key(k) and k not in staging.staged
        }
        writes = {k: v.to_bytes() for k, v in staging.staged.items() if not is_private_key(k)}

        zarr_format = await adetect_format(staging)
        commit_doc_key = commit_key(zarr_format) if zarr_format else None
        if self.consolidate and zarr_format is not None:
            changed = _changed_documents(writes, deleted_keys, self.store)
            updates = await consolidated_updates(self.store, staging, zarr_format, changed)
            writes.update({k: dumps(doc) for k, doc in updates.items()})

        keys = sorted(set(writes) | deleted_keys)
        olds = await asyncio.gather(*(aread_bytes(self.store, k) for k in keys))
        old = dict(zip(keys, olds, strict=True))
        unchanged = [k for k, v in writes.items() if old[k] == v]  # no-op rewrites
        for key in unchanged:
            del writes[key]
        deleted_keys = {k for k in deleted_keys if old[k] is not None}
        result = CommitResult(self.txn_id, unchanged=len(unchanged))
        if not writes and not deleted_keys:
            return result

        journal = Journal(
            txn_id=self.txn_id,
            owner_id=self.lock.owner.owner_id if self.lock.owner else None,
            operation=self.operation,
            guard_key=commit_doc_key,
        )
        if commit_doc_key is not None:
            before = (
                old[commit_doc_key]
                if commit_doc_key in old
                else await aread_bytes(self.store, commit_doc_key)  # not changed by this commit
            )
            journal.guard_sha256 = sha256(before)
        backups: dict[str, bytes] = {}
        for index, key in enumerate(sorted(writes) + sorted(deleted_keys)):
            previous = old[key]
            if previous is None:
                journal.created_keys.append(key)
                continue
            if len(previous) <= _INLINE_BACKUP_BYTES:
                journal.inline_backups[index] = base64.b64encode(previous).decode()
            else:
                backups[self.sidecar.key(backup_key(self.txn_id, index))] = previous
            (journal.deleted if key in deleted_keys else journal.overwritten)[key] = index
        if commit_doc_key is not None and commit_doc_key in writes:
            journal.commit_key = commit_doc_key
            journal.commit_old_sha256 = sha256(old[commit_doc_key])
            journal.commit_new_sha256 = sha256(writes[commit_doc_key])

        side = self.sidecar
        await aatomic_put_many(side.store, backups)
        await aatomic_put(side.store, side.key(JOURNAL_KEY), journal.to_bytes())
        await asyncio.to_thread(self.lock.verify)

        chunks = {k: v for k, v in writes.items() if not is_metadata_key(k)}
        metadata = {k: v for k, v in writes.items() if is_metadata_key(k) and k != commit_doc_key}
        await aatomic_put_many(self.store, chunks)
        await aatomic_put_many(self.store, metadata)
        if commit_doc_key in writes:
            await aatomic_put(self.store, commit_doc_key, writes[commit_doc_key])
        await gather_limited(adelete_key(self.store, k) for k in sorted(deleted_keys))

        await adelete_key(side.store, side.key(JOURNAL_KEY))
        if backups:
            await adiscard_backups(side, self.txn_id)
        result.created = len(journal.created_keys)
        result.overwritten = len(journal.overwritten)
        result.backup_bytes = sum(len(v) for v in backups.values())
        result.deleted = len(journal.deleted)
        result.bytes_written = sum(len(v) for v in writes.values())
        result.keys = sorted(writes)
        return result


def _changed_documents(
    writes: dict[str, bytes], deleted: set[str], store: Store
) -> dict[str, dict[str, Any] | None]:
    changed: dict[str, dict[str, Any] | None] = {}
    for key, data in writes.items():
        if not is_metadata_key(key) or document_name(key) == CONSOLIDATED_V2:
            continue
        try:
            changed[key] = json.loads(data)
        except ValueError as exc:
            raise CorruptError(
                f"a writer staged invalid JSON for {store_url(store)}/{key}: {exc}",
                subject=key,
            ) from exc
    for key in deleted:
        if is_metadata_key(key) and document_name(key) != CONSOLIDATED_V2:
            changed[key] = None
    return changed


def recover(store: Store, lock_options: LockOptions | None = None) -> RecoveryResult:
    """Recover an interrupted transaction under the archive lock.

    Parameters
    ----------
    store
        The archive's store, writable.
    lock_options
        How to take the lock (a crashed writer's lock on this host is broken
        automatically).

    Returns
    -------
    str
        ``clean``, ``rolled_back`` or ``rolled_forward``.
    """
    with ArchiveLock(store, lock_options):
        return run_sync(arecover(store))
