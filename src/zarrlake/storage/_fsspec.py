"""Object stores through fsspec (:class:`zarr.storage.FsspecStore`): the store-kind contract.

* ``atomic_put``: one PUT (object stores replace objects atomically);
* ``put_if_absent``: on S3 a conditional PUT with ``If-None-Match: *``; other
  filesystems have no atomic create and refuse;
* sizes: one recursive listing (pages of 1,000 keys on S3); emptiness: one request
  for at most one key on S3;
* clearing deletes the listed keys in batches (up to 1,000 per request on S3).

Opening ``s3://`` checks the bucket first (``head_bucket``), so a missing bucket or an
unreachable endpoint is reported as such. Listing caches are off unless asked for
(``use_listings_cache``): other processes write to archives, and a stale listing hides
their keys.
"""

from __future__ import annotations

from typing import Any

from zarr.storage import FsspecStore

from zarrlake.errors import InvalidInputError, NotFoundError, StorageError, UnsupportedSchemeError
from zarrlake.storage._sync import run
from zarrlake.storage.protocol import (
    SIDECAR_SUFFIX,
    Sidecar,
    StoreKind,
    StoreLocation,
    is_in_flight,
)

__all__ = ["FsspecKind"]

# Install hints for fsspec protocols people commonly ask for.
_INSTALL_HINTS: dict[str, str] = {
    "s3": "pip install 'zarrlake[s3]'",
    "s3a": "pip install 'zarrlake[s3]'",
    "gs": "pip install gcsfs",
    "gcs": "pip install gcsfs",
    "az": "pip install adlfs",
    "abfs": "pip install adlfs",
    "http": "pip install aiohttp",
    "https": "pip install aiohttp",
}


def _normalize_s3_options(options: dict[str, Any]) -> dict[str, Any]:
    opts = dict(options)
    if "endpoint" in opts:
        opts.setdefault("endpoint_url", opts.pop("endpoint"))
    if "region" in opts:
        client_kwargs = dict(opts.get("client_kwargs") or {})
        client_kwargs.setdefault("region_name", opts.pop("region"))
        opts["client_kwargs"] = client_kwargs
    return opts


def _protocols(store: FsspecStore) -> tuple[str, ...]:
    protocol = store.fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


class FsspecKind(StoreKind[FsspecStore]):
    """A bucket and prefix on an object store (S3, GCS, Azure, ...) through fsspec."""

    store_class = FsspecStore
    object_store = True

    @classmethod
    def open(cls, location: StoreLocation, mode: str) -> FsspecStore:
        """Open ``PROTOCOL://bucket/prefix`` with its installed async fsspec filesystem."""
        import fsspec
        from fsspec.registry import known_implementations

        scheme = location.scheme
        if scheme not in known_implementations and scheme not in fsspec.registry:
            raise UnsupportedSchemeError(
                f"unknown store URL scheme {scheme!r} in {location.url}",
                subject=location.url,
                hint="use a local path, file://, memory:// or s3:// (pip install 'zarrlake[s3]')",
            )
        options = dict(location.storage_options)
        if scheme in ("s3", "s3a"):
            options = _normalize_s3_options(options)
            # s3fs sends a HEAD before every whole-object GET when max_concurrency > 1 (to
            # consider a parallel download); Zarr documents and chunks are far below the
            # 50 MiB where that pays off, so it would only double every read's requests.
            options.setdefault("max_concurrency", 1)
        # Another process may write at any time (that is what locks and journals are for);
        # a cached listing would hide its keys from clear(), recovery and emptiness checks.
        options.setdefault("use_listings_cache", False)
        try:
            fs_class = fsspec.get_filesystem_class(scheme)
        except ImportError as exc:
            hint = _INSTALL_HINTS.get(scheme, f"install the fsspec implementation for {scheme}://")
            raise UnsupportedSchemeError(
                f"cannot open {location.url}: support for {scheme}:// is not installed",
                subject=location.url,
                hint=hint,
            ) from exc
        if not getattr(fs_class, "async_impl", False):
            raise UnsupportedSchemeError(
                f"cannot open {location.url}: the fsspec filesystem for {scheme}:// is not "
                "async, which zarr-python 3 requires",
                subject=location.url,
                hint="use a local path or an async filesystem (s3, gcs, az, http)",
            )
        try:
            fs = fs_class(asynchronous=True, **options)
        except TypeError as exc:
            raise InvalidInputError(
                f"storage_options for {location.url} were rejected: {exc}",
                subject="storage_options",
                hint=f"check the option names accepted by {fs_class.__name__}",
            ) from exc
        return FsspecStore(fs, path=location.path, read_only=mode == "r")

    @property
    def url(self) -> str:
        """``PROTOCOL://bucket/prefix``."""
        return f"{_protocols(self.store)[0]}://{self.store.path.strip('/')}"

    def sidecar(self) -> Sidecar:
        """Return the prefix ``bucket/path.zarrlake/`` beside the archive's prefix."""
        path = self.store.path.strip("/")
        if "/" not in path:  # an archive at the root of a bucket has no sibling
            return super().sidecar()
        side = FsspecStore(
            self.store.fs, path=path + SIDECAR_SUFFIX, read_only=self.store.read_only
        )
        return Sidecar(side, "", f"{_protocols(self.store)[0]}://{path}{SIDECAR_SUFFIX}")

    @property
    def _is_s3(self) -> bool:
        return any(p in ("s3", "s3a") for p in _protocols(self.store))

    def _path(self, key: str) -> str:
        return f"{self.store.path.rstrip('/')}/{key}"

    def require_container(self, location: StoreLocation) -> None:
        """On S3, check the bucket with ``head_bucket`` (others fail at first access)."""
        store = self.store
        bucket = location.path.split("/", 1)[0]
        if not hasattr(store.fs, "_call_s3"):
            return  # not S3: the first read or write reports a missing container
        try:
            # head_bucket, not fs._exists: the latter reports an unreachable endpoint as
            # "no such bucket", which sends users looking in the wrong place.
            run(store.fs._call_s3("head_bucket", Bucket=bucket))
        except FileNotFoundError:
            raise NotFoundError(
                f"bucket {location.scheme}://{bucket} does not exist",
                subject=location.url,
                hint="create the bucket first; zarrlake never creates buckets",
            ) from None
        except PermissionError as exc:
            raise StorageError(
                f"access to {location.scheme}://{bucket} was denied: {exc}",
                subject=location.url,
                hint="check the credentials in storage_options",
            ) from exc
        except TypeError as exc:  # s3fs passes unknown options on to the session lazily
            raise InvalidInputError(
                f"storage_options for {location.url} were rejected: {exc}",
                subject="storage_options",
                hint="check the option names accepted by s3fs.S3FileSystem",
            ) from exc
        except Exception as exc:  # botocore's connection errors are not OSErrors
            raise StorageError(
                f"cannot reach {location.url}: {exc}",
                subject=location.url,
                hint="check the endpoint_url and the network",
            ) from exc

    async def atomic_put(self, key: str, data: bytes, *, durable: bool = True) -> None:
        """One PUT of the whole object."""
        await self.store.fs._pipe_file(self._path(key), data)

    async def put_if_absent(self, key: str, data: bytes) -> bool:
        """Make a conditional PUT on S3 (``If-None-Match: *``); other filesystems refuse."""
        if not self._is_s3:
            return await super().put_if_absent(key, data)
        try:
            await self.store.fs._pipe_file(self._path(key), data, mode="create")
        except FileExistsError:
            return False
        return True

    async def key_sizes(self, prefix: str) -> dict[str, int]:
        """One recursive listing of the prefix."""
        root = self.store.path.rstrip("/")
        try:
            found = await self.store.fs._find(f"{root}/{prefix}", detail=True)
        except FileNotFoundError:
            return {}
        start = len(root) + 1
        return {
            path[start:]: int(info.get("size") or 0)
            for path, info in found.items()
            if not is_in_flight(path)
        }

    async def has_keys(self, folder: str) -> bool:
        """On S3 one listing request for at most one key; elsewhere zarr's listing."""
        if self._is_s3:
            path = "/".join(p for p in (self.store.path.rstrip("/"), folder) if p)
            try:
                first = await self.store.fs._lsdir(path, refresh=True, max_items=1, delimiter="")
            except FileNotFoundError:
                return False
            if not first:
                return False
            if not is_in_flight(first[0]["name"]):
                return True
        return await super().has_keys(folder)

    async def delete_keys(self, keys: list[str]) -> None:
        """Delete in batches (zarr's own ``clear`` stops at the first missing sub-path)."""
        if keys:
            await self.store.fs._rm([self._path(k) for k in keys])
