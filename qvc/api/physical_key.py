"""``qvc.PhysicalKey``: where an entry's data lives, as an object and as its URL string.

A PhysicalKey *is* its URL (a ``str`` subclass), so string-style code (``entry.physical_key ==
"s3://b/k"``, ``.startswith("file://")``, JSON dumps) keeps working, and it has quilt3's
attributes (``bucket``, ``path``, ``version_id``, ``is_local()``, ``basename()``) for
quilt3-style code.
"""

from __future__ import annotations

import os
from pathlib import Path

from qvc.errors import UsageError
from qvc.quilt.urls import format_s3_url, parse_s3_url, scheme
from qvc.storage.local import path_from_url


class PhysicalKey(str):
    """An ``s3://bucket/key[?versionId=...]`` or ``file:///absolute/path`` URL.

    ``PhysicalKey(url)`` wraps a URL; ``PhysicalKey(bucket, path, version_id)`` builds one the
    way quilt3 does (``bucket=None`` for a local path).
    """

    __slots__ = ()

    def __new__(cls, bucket_or_url: str | None, path: str | None = None,
                version_id: str | None = None) -> PhysicalKey:
        if path is None:
            if bucket_or_url is None:
                raise UsageError("a physical key needs a URL or a path")
            return super().__new__(cls, _canonical(bucket_or_url))
        if bucket_or_url is None:
            if version_id is not None:
                raise UsageError("local files have no version id")
            return super().__new__(cls, Path(os.path.abspath(path)).as_uri())
        return super().__new__(cls, format_s3_url(bucket_or_url, path, version_id))

    @classmethod
    def from_url(cls, url: str) -> PhysicalKey:
        return cls(url)

    @classmethod
    def from_path(cls, path: str | os.PathLike[str]) -> PhysicalKey:
        return cls(None, os.fspath(path))

    def is_local(self) -> bool:
        return not self.startswith("s3://")

    @property
    def bucket(self) -> str | None:
        """The S3 bucket; None for a local file."""
        return None if self.is_local() else parse_s3_url(self).bucket

    @property
    def path(self) -> str:
        """The object key in its bucket, or the local file's absolute path."""
        return str(path_from_url(self)) if self.is_local() else parse_s3_url(self).key

    @property
    def version_id(self) -> str | None:
        return None if self.is_local() else parse_s3_url(self).version_id

    def basename(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def __repr__(self) -> str:
        return f"PhysicalKey({str(self)!r})"


def _canonical(url: str) -> str:
    """URLs as given (a manifest's keys stay byte for byte); a plain path as a file URL."""
    kind = scheme(url)
    if kind == "s3":
        return url
    if kind not in (None, "file"):
        raise UsageError(f"unsupported URL scheme in {url!r}", "use a local path or s3://bucket/key")
    if kind is None:
        return Path(os.path.abspath(os.path.expanduser(url))).as_uri()
    return url
