"""Where registries keep their bytes: a small Store protocol with local and S3 backends."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from qvc.storage.base import (
    Capabilities,
    InvalidKey,
    MultipartUpload,
    ObjectInfo,
    ObjectNotFound,
    PreconditionFailed,
    Store,
)

__all__ = ["Capabilities", "InvalidKey", "MultipartUpload", "ObjectInfo", "ObjectNotFound",
           "PreconditionFailed", "Store", "open_store"]


def open_store(url: str, *, credentials: Callable[[], Mapping[str, str]] | None = None,
               **options: str | None) -> Store:
    """A Store for ``s3://bucket`` or a local directory (path or ``file://`` URL).

    ``credentials`` (S3 only) replaces the AWS credential chain, e.g. a catalog login's.
    """
    if url.startswith("s3://"):
        from qvc.storage.s3 import S3Store  # boto3 is imported only when a remote is S3

        store = S3Store.from_url(url, **options)
        if credentials is not None:
            store.credentials = credentials  # read when the client is first created
        return store
    from qvc.storage.local import LocalStore

    return LocalStore.from_url(url)
