"""The intent journal and recovery of an interrupted transaction.

Before the first byte of an archive changes, a transaction stores the old bytes of every
key it will overwrite or delete under ``txn/<id>/`` in the archive's sidecar
(:mod:`zarrlake.storage.sidecar`) and then the journal ``journal.json`` there: every key
it will create, overwrite or delete, and the SHA-256 of the commit document before and
after. Chunks are written first, then
metadata documents, then the commit document (the root consolidated metadata); only
then are deleted keys removed and the journal dropped.

Recovery of a leftover journal:

* if the commit document now holds the new bytes (and they differ from the old), the
  transaction committed: finish its deletes (roll forward);
* otherwise restore every overwritten or deleted key from its backup and delete every
  created key (roll back) — metadata first, so no reader sees a shape without data.

Each step is idempotent; the journal is removed last, so a crash during recovery is
recovered by running recovery again.

The sidecar lives beside the archive and can outlive it. Before recovering, the archive's
commit document must still be the one the journal saw before its transaction, or the
one it was writing. A journal beside an archive that is gone (no keys at all) is
discarded with a warning; beside an archive whose commit document changed otherwise
(replaced, or written by another tool since the crash) recovery refuses and names the
journal, changing nothing.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections.abc import Awaitable, Iterable
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field, ValidationError
from zarr.abc.store import Store

from zarrlake._logging import event
from zarrlake.errors import CorruptError
from zarrlake.hierarchy import is_metadata_key
from zarrlake.storage.atomic import aatomic_put, adelete_key, aread_bytes
from zarrlake.storage.listing import ahas_keys, alist_keys, prune_empty_dirs
from zarrlake.storage.protocol import Sidecar
from zarrlake.storage.sidecar import sidecar
from zarrlake.storage.urls import store_url

_log = logging.getLogger(__name__)

__all__ = [
    "JOURNAL_KEY",
    "TXN_PREFIX",
    "Journal",
    "RecoveryResult",
    "arecover",
    "backup_key",
    "gather_limited",
    "sha256",
]

JOURNAL_KEY = "journal.json"
"""The journal's name in the archive's sidecar."""
TXN_PREFIX = "txn"
_CONCURRENCY = 32

RecoveryResult = Literal["clean", "rolled_back", "rolled_forward"]


def sha256(data: bytes | None) -> str | None:
    """Hex SHA-256 of ``data`` (``None`` for a missing key)."""
    return None if data is None else hashlib.sha256(data).hexdigest()


def backup_key(txn_id: str, index: int) -> str:
    """Return the sidecar name of the old bytes of a transaction's ``index``-th key."""
    return f"{TXN_PREFIX}/{txn_id}/{index}"


class Journal(BaseModel):
    """What a transaction is about to do, written before it does it."""

    txn_id: str
    owner_id: str | None = None
    operation: str = "write"
    created: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    commit_key: str | None = None
    commit_old_sha256: str | None = None
    commit_new_sha256: str | None = None
    guard_key: str | None = Field(
        None, description="the commit document whose bytes tie the journal to its archive"
    )
    guard_sha256: str | None = Field(
        None, description="SHA-256 of the guard document before the transaction"
    )
    created_keys: list[str] = Field(default_factory=list)
    overwritten: dict[str, int] = Field(default_factory=dict)
    deleted: dict[str, int] = Field(default_factory=dict)
    inline_backups: dict[int, str] = Field(
        default_factory=dict, description="small backups kept in the journal (base64)"
    )
    roll_forward: bool = Field(
        False, description="recovery finishes the deletes instead of undoing (a clear)"
    )

    def to_bytes(self) -> bytes:
        """Serialize as JSON."""
        return self.model_dump_json().encode()


async def gather_limited(
    awaitables: Iterable[Awaitable[object]], limit: int = _CONCURRENCY
) -> None:
    """Await many coroutines, at most ``limit`` at a time."""
    semaphore = asyncio.Semaphore(limit)

    async def one(awaitable: Awaitable[object]) -> None:
        async with semaphore:
            await awaitable

    await asyncio.gather(*(one(a) for a in awaitables))


async def aread_journal(store: Store) -> Journal | None:
    """Return the leftover journal of an archive, or ``None``.

    Parameters
    ----------
    store
        The archive's store (the journal is read from its sidecar).

    Raises
    ------
    CorruptError
        When the journal exists but cannot be parsed.
    """
    side = sidecar(store)
    data = await aread_bytes(side.store, side.key(JOURNAL_KEY))
    if data is None:
        return None
    try:
        return Journal.model_validate_json(data)
    except ValidationError as exc:
        raise CorruptError(
            f"the transaction journal {side.url(JOURNAL_KEY)} is unreadable: {exc}",
            subject=side.url(JOURNAL_KEY),
            hint="inspect it; 'zarrlake meta repair' can restore the metadata from a backup",
        ) from exc


async def _restore(store: Store, journal: Journal, keys: dict[str, int]) -> None:
    side = sidecar(store)

    async def restore(key: str, index: int) -> None:
        if index in journal.inline_backups:
            old: bytes | None = base64.b64decode(journal.inline_backups[index])
        else:
            old = await aread_bytes(side.store, side.key(backup_key(journal.txn_id, index)))
        if old is None:
            raise CorruptError(
                f"backup {index} of {key!r} for transaction {journal.txn_id} is missing in "
                f"{side.location}",
                subject=side.url(backup_key(journal.txn_id, index)),
                hint="the journal cannot be rolled back; restore from an external backup",
            )
        if await aread_bytes(store, key) != old:
            await aatomic_put(store, key, old)

    await gather_limited(restore(k, i) for k, i in keys.items())


async def _rollback(store: Store, journal: Journal) -> None:
    restore_first = {
        k: i for k, i in {**journal.overwritten, **journal.deleted}.items() if is_metadata_key(k)
    }
    if journal.commit_key in restore_first:  # readers of consolidated metadata see it first
        await _restore(store, journal, {journal.commit_key: restore_first.pop(journal.commit_key)})
    await _restore(store, journal, restore_first)
    created_meta = [k for k in journal.created_keys if is_metadata_key(k)]
    await gather_limited(adelete_key(store, k) for k in created_meta)
    await gather_limited(
        adelete_key(store, k) for k in journal.created_keys if not is_metadata_key(k)
    )
    chunks = {
        k: i
        for k, i in {**journal.overwritten, **journal.deleted}.items()
        if not is_metadata_key(k)
    }
    await _restore(store, journal, chunks)


async def adiscard_backups(side: Sidecar, txn_id: str | None = None) -> None:
    """Delete the backups of ``txn_id`` (or every backup when ``None``) from a sidecar."""
    prefix = side.key(f"{TXN_PREFIX}/{txn_id}" if txn_id else TXN_PREFIX)
    keys = await alist_keys(side.store, prefix)
    await gather_limited(adelete_key(side.store, k) for k in keys)


async def _belongs(store: Store, journal: Journal) -> bool:
    """Whether the archive is still the one the journal's transaction was changing."""
    if journal.guard_key is None:
        return True  # written before journals carried a guard, or nothing to compare
    current = sha256(await aread_bytes(store, journal.guard_key))
    if current in (journal.guard_sha256, journal.commit_new_sha256):
        return True
    return journal.roll_forward and current is None  # a clear removes the roots first


async def _stale(store: Store, side: Sidecar, journal: Journal) -> RecoveryResult:
    """Deal with a journal whose archive is no longer the one it was written for."""
    if await ahas_keys(store, ""):
        raise CorruptError(
            f"the transaction journal {side.url(JOURNAL_KEY)} does not belong to the "
            f"archive at {store_url(store)} as it is now: its {journal.guard_key} changed "
            f"outside zarrlake after a {journal.operation} was interrupted",
            subject=side.url(JOURNAL_KEY),
            hint=f"if the archive was replaced on purpose, delete {side.location}; otherwise "
            "restore the archive from a backup (nothing was changed)",
        )
    await adelete_key(side.store, side.key(JOURNAL_KEY))
    await adiscard_backups(side, journal.txn_id)
    event(
        _log,
        logging.WARNING,
        "txn.stale",
        "%s: discarded the journal of an interrupted %s (transaction %s) left in %s by an "
        "archive that no longer exists",
        store_url(store),
        journal.operation,
        journal.txn_id,
        side.location,
        url=store_url(store),
        operation=journal.operation,
        txn_id=journal.txn_id,
    )
    return "clean"


async def arecover(store: Store) -> RecoveryResult:
    """Finish or undo an interrupted transaction; see the module docstring.

    Call it only while holding the archive lock.

    Parameters
    ----------
    store
        The archive's store (writable).

    Returns
    -------
    str
        ``clean`` (nothing to do), ``rolled_back`` or ``rolled_forward``.
    """
    side = sidecar(store)
    journal = await aread_journal(store)
    if journal is None:
        if await ahas_keys(side.store, side.key(TXN_PREFIX)):
            await adiscard_backups(side)  # backups of a transaction that never journaled
        return "clean"
    if not await _belongs(store, journal):
        return await _stale(store, side, journal)
    committed = journal.roll_forward
    if (
        not committed
        and journal.commit_key
        and journal.commit_new_sha256 != journal.commit_old_sha256
    ):
        current = sha256(await aread_bytes(store, journal.commit_key))
        committed = current == journal.commit_new_sha256
    if committed:
        await gather_limited(adelete_key(store, k) for k in journal.deleted)
        result: RecoveryResult = "rolled_forward"
    else:
        await _rollback(store, journal)
        result = "rolled_back"
    await adelete_key(side.store, side.key(JOURNAL_KEY))
    if len(journal.inline_backups) < len(journal.overwritten) + len(journal.deleted):
        await adiscard_backups(side, journal.txn_id)
    if result == "rolled_back":
        await asyncio.to_thread(prune_empty_dirs, store)
    event(
        _log,
        logging.INFO,
        "txn.recover",
        "%s: an interrupted %s (transaction %s) was %s",
        store_url(store),
        journal.operation,
        journal.txn_id,
        result.replace("_", " "),
        url=store_url(store),
        operation=journal.operation,
        txn_id=journal.txn_id,
        outcome=result,
    )
    return result
