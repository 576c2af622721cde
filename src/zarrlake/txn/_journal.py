"""The intent journal and recovery of an interrupted transaction.

Before the first byte of an archive changes, a transaction stores the old bytes of every
key it will overwrite or delete under ``.zarrlake/txn/<id>/`` and then the journal
``.zarrlake/journal.json``: every key it will create, overwrite or delete, and the
SHA-256 of the commit document before and after. Chunks are written first, then
metadata documents, then the commit document (the root consolidated metadata); only
then are deleted keys removed and the journal dropped.

Recovery of a leftover journal:

* if the commit document now holds the new bytes (and they differ from the old), the
  transaction committed: finish its deletes (roll forward);
* otherwise restore every overwritten or deleted key from its backup and delete every
  created key (roll back) — metadata first, so no reader sees a shape without data.

Each step is idempotent; the journal is removed last, so a crash during recovery is
recovered by running recovery again.
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

JOURNAL_KEY = ".zarrlake/journal.json"
TXN_PREFIX = ".zarrlake/txn"
_CONCURRENCY = 32

RecoveryResult = Literal["clean", "rolled_back", "rolled_forward"]


def sha256(data: bytes | None) -> str | None:
    """Hex SHA-256 of ``data`` (``None`` for a missing key)."""
    return None if data is None else hashlib.sha256(data).hexdigest()


def backup_key(txn_id: str, index: int) -> str:
    """Where a transaction keeps the old bytes of its ``index``-th backed-up key."""
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

    Raises
    ------
    CorruptError
        When the journal exists but cannot be parsed.
    """
    data = await aread_bytes(store, JOURNAL_KEY)
    if data is None:
        return None
    try:
        return Journal.model_validate_json(data)
    except ValidationError as exc:
        raise CorruptError(
            f"the transaction journal {store_url(store)}/{JOURNAL_KEY} is unreadable: {exc}",
            subject=f"{store_url(store)}/{JOURNAL_KEY}",
            hint="inspect it; 'zarrlake meta repair' can restore the metadata from a backup",
        ) from exc


async def _restore(store: Store, journal: Journal, keys: dict[str, int]) -> None:
    async def restore(key: str, index: int) -> None:
        if index in journal.inline_backups:
            old: bytes | None = base64.b64decode(journal.inline_backups[index])
        else:
            old = await aread_bytes(store, backup_key(journal.txn_id, index))
        if old is None:
            raise CorruptError(
                f"backup {index} of {key!r} for transaction {journal.txn_id} is missing in "
                f"{store_url(store)}",
                subject=f"{store_url(store)}/{backup_key(journal.txn_id, index)}",
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


async def adiscard_backups(store: Store, txn_id: str | None = None) -> None:
    """Delete the backups of ``txn_id`` (or every backup when ``None``)."""
    prefix = f"{TXN_PREFIX}/{txn_id}" if txn_id else TXN_PREFIX
    keys = await alist_keys(store, prefix)
    await gather_limited(adelete_key(store, k) for k in keys)


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
    journal = await aread_journal(store)
    if journal is None:
        if await ahas_keys(store, TXN_PREFIX):
            await adiscard_backups(store)  # backups of a transaction that never journaled
        return "clean"
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
    await adelete_key(store, JOURNAL_KEY)
    if len(journal.inline_backups) < len(journal.overwritten) + len(journal.deleted):
        await adiscard_backups(store, journal.txn_id)
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
