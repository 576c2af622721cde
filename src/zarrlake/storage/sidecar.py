"""Where zarrlake keeps an archive's bookkeeping: beside the archive, not inside it.

Protocol:

* The bookkeeping of the archive at ``LOCATION`` (the lock and its break markers, the
  transaction journal and its backups, a conversion's plan, completion records and
  part locks, metadata backups, HCS well locks) lives in the sibling ``LOCATION.zarrlake``:
  a folder beside a local archive, the prefix ``bucket/path.zarrlake/`` beside an
  archive on an object store, the named store ``memory://NAME.zarrlake`` beside a named
  memory store. Zarr readers list an archive's folders and warn about every one that is
  not a Zarr node; a sibling is never listed by them.
* An archive with no addressable sibling (one at the root of a bucket or of the file
  system, an unnamed memory store's sibling is kept in this process, a zarr store of a
  kind zarrlake has no module for) keeps the bookkeeping inside, under ``.zarrlake/``.
* Names in the sidecar are ``lock``, ``broken-*``, ``journal.json``, ``txn/<id>/<n>``,
  ``convert/plan.json``, ``convert/done/*``, ``convert/locks/*``, ``backups/*`` and
  ``hcs/*``; :meth:`Sidecar.key` turns them into keys of its store.
* zarrlake before 0.2 kept the bookkeeping inside every archive. Whoever takes an
  archive's lock first moves what it finds there into the sibling
  (:func:`adopt_inside_bookkeeping`), so no two processes move it at once.
* A sibling outlives an archive deleted by hand. A journal left there is checked against
  the archive before recovery (see :mod:`zarrlake.txn._journal`).
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from zarr.abc.store import Store

from zarrlake._logging import event
from zarrlake.storage.atomic import aatomic_put, adelete_key, aread_bytes
from zarrlake.storage.kinds import kind_of
from zarrlake.storage.listing import alist_keys
from zarrlake.storage.protocol import INSIDE_PREFIX, SIDECAR_SUFFIX, Sidecar

_log = logging.getLogger(__name__)

__all__ = [
    "SIDECAR_SUFFIX",
    "Sidecar",
    "adopt_inside_bookkeeping",
    "is_sidecar_name",
    "prune_sidecar",
    "sidecar",
]

# Left where they are when bookkeeping moves out: the lock belongs to whoever holds it.
_NOT_MOVED = ("lock", "broken-")


def sidecar(store: Store) -> Sidecar:
    """Return where the bookkeeping of the archive rooted at ``store`` lives.

    Parameters
    ----------
    store
        The archive's store (its root is the archive's root).

    Returns
    -------
    Sidecar
        The sibling store (read-only when ``store`` is), or the archive's own store
        with the prefix ``.zarrlake/``.
    """
    return kind_of(store).sidecar()


def is_sidecar_name(name: str) -> bool:
    """Whether a folder or URL names an archive's bookkeeping sibling (``*.zarrlake``).

    Parameters
    ----------
    name
        A file or folder name, a path or a URL.

    Returns
    -------
    bool
        True for names ending in ``.zarrlake`` (a trailing slash allowed).
    """
    return name.rstrip("/").endswith(SIDECAR_SUFFIX)


async def adopt_inside_bookkeeping(store: Store, side: Sidecar) -> int:
    """Move bookkeeping found inside an archive into its sibling; call under the lock.

    Parameters
    ----------
    store
        The archive's store, writable.
    side
        Its sidecar (nothing is moved when that is inside the archive too).

    Returns
    -------
    int
        The number of keys moved.
    """
    if side.inside:
        return 0
    inside = sorted(await alist_keys(store, INSIDE_PREFIX.rstrip("/")))
    moving = [k for k in inside if not k.removeprefix(INSIDE_PREFIX).startswith(_NOT_MOVED)]
    for key in moving:
        name = key.removeprefix(INSIDE_PREFIX)
        data = await aread_bytes(store, key)
        if data is not None and await aread_bytes(side.store, name) is None:
            await aatomic_put(side.store, name, data)
        await adelete_key(store, key)
    if moving:
        kind_of(store).prune_empty_dirs(INSIDE_PREFIX.rstrip("/"))
        event(
            _log,
            logging.INFO,
            "sidecar.adopt",
            "%s: moved %d bookkeeping key(s) from inside the archive to %s",
            kind_of(store).url,
            len(moving),
            side.location,
            url=kind_of(store).url,
            keys=len(moving),
            sidecar=side.location,
        )
    return len(moving)


def prune_sidecar(side: Sidecar) -> None:
    """Remove the sidecar's empty folders, and a local sibling itself when it is empty.

    Parameters
    ----------
    side
        An archive's sidecar.
    """
    kind = kind_of(side.store)
    kind.prune_empty_dirs(side.prefix.rstrip("/"))
    root: Path | None = kind.local_root
    if not side.inside and root is not None and not side.store.read_only:
        with contextlib.suppress(OSError):  # not empty, or removed by someone else
            root.rmdir()
