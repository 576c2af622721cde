"""The transaction engine every writer uses: lock, staging, journal, commit, recovery.

It writes Zarr's metadata documents through :mod:`zarrlake.hierarchy` (which updates the
consolidated metadata that commits) and knows nothing of xarray; see
:mod:`zarrlake.txn._transaction` for the protocol and :mod:`zarrlake.txn._journal` for
recovery.
"""

from zarrlake.txn._journal import JOURNAL_KEY, Journal, RecoveryResult, arecover
from zarrlake.txn._lock import LOCK_KEY, ArchiveLock, LockOptions, LockOwner, read_lock
from zarrlake.txn._staging import StagingStore
from zarrlake.txn._transaction import CommitResult, Transaction, recover

__all__ = [
    "JOURNAL_KEY",
    "LOCK_KEY",
    "ArchiveLock",
    "CommitResult",
    "Journal",
    "LockOptions",
    "LockOwner",
    "RecoveryResult",
    "StagingStore",
    "Transaction",
    "arecover",
    "read_lock",
    "recover",
]
