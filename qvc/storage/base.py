"""The Store protocol: what a registry needs from any backend, and nothing more.

Keys are '/'-separated strings relative to the store root. Conditional writes are the only
concurrency primitive registries rely on: ``if_none_match`` creates only if absent, ``if_match``
replaces only if the current ETag is the one given.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from qvc.errors import ConflictError, RemoteError
from qvc.sysio.progress import ByteProgress


class ObjectNotFound(RemoteError):
    default_hint = "check the registry URL, the package name and the revision"


class PreconditionFailed(ConflictError):
    """A conditional write lost: the key exists (if_none_match) or changed (if_match)."""


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str
    version_id: str | None = None
    checksum_sha256: str | None = None  # S3's ChecksumSHA256, possibly with a "-N" suffix


class Store(Protocol):
    url: str

    def get(self, key: str, version_id: str | None = None) -> bytes: ...

    def get_to_file(
        self, key: str, dest: Path, version_id: str | None = None,
        progress: ByteProgress | None = None,
    ) -> None: ...

    def head(self, key: str, version_id: str | None = None) -> ObjectInfo | None: ...

    def put(
        self, key: str, data: bytes, *, if_none_match: bool = False, if_match: str | None = None
    ) -> ObjectInfo: ...

    def put_file(
        self, key: str, source: Path, *, if_none_match: bool = False,
        progress: ByteProgress | None = None,
    ) -> ObjectInfo: ...

    def list(self, prefix: str) -> Iterator[str]: ...

    def delete(self, key: str) -> None: ...

    def physical_key(self, key: str, version_id: str | None = None) -> str: ...


def version_of(response: dict[str, Any]) -> str | None:
    """The version id S3 answered, if it names a version: an unversioned bucket has none, and
    "null" (sent for unversioned and suspended buckets) only names the key's current object,
    which a ``?versionId=null`` physical key would not make any more exact."""
    version = response.get("VersionId")
    return version if isinstance(version, str) and version and version != "null" else None
