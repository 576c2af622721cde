"""The transaction engine every writer uses: lock, staging, journal, commit, recovery.

It writes Zarr's metadata documents through :mod:`zarrlake.hierarchy` (which updates the
consolidated metadata that commits) and knows nothing of xarray; see
:mod:`zarrlake.txn.transaction` for the protocol and :mod:`zarrlake.txn.journal` for
recovery.
"""

from zarrlake.txn.journal import JOURNAL_KEY, Journal, RecoveryResult, arecover
from zarrlake.txn.lock import LOCK_KEY, ArchiveLock, LockOptions, LockOwner, read_lock
from zarrlake.txn.staging import StagingStore
from zarrlake.txn.transaction import CommitResult, Transaction, recover

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
