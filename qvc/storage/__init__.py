"""Where registries keep their bytes: a small Store protocol with local and S3 backends."""

from __future__ import annotations

from qvc.storage.base import ObjectInfo, ObjectNotFound, PreconditionFailed, Progress, Store

__all__ = ["ObjectInfo", "ObjectNotFound", "PreconditionFailed", "Progress", "Store", "open_store"]


def open_store(url: str, **options: str | None) -> Store:
    """A Store for ``s3://bucket`` or a local directory (path or ``file://`` URL)."""
    if url.startswith("s3://"):
        from qvc.storage.s3 import S3Store  # boto3 is imported only when a remote is S3

        return S3Store.from_url(url, **options)
    from qvc.storage.local import LocalStore

    return LocalStore.from_url(url)
