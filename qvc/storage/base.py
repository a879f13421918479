"""The Store protocol: what a registry needs from any backend, and nothing more.

Each backend declares what it can do in :attr:`Store.capabilities`; callers ask it, or call a
protocol method, instead of testing which class or URL scheme they hold. Conditional writes
are the only concurrency primitive registries rely on: ``if_none_match`` creates only if
absent, ``if_match`` replaces only if the current ETag is the one given.

Keys: every backend accepts what :func:`check_key` accepts, '/'-separated relative paths, and
every method taking a key raises :class:`InvalidKey`, before any I/O, for a key its backend
refuses. A directory store refuses everything else (there a key is a path). An S3 store also
accepts any other non-empty key without a NUL character (:func:`check_bucket_key`): in a bucket
a key is a name, never a path, and data that quilt3 or other tools put in a bucket (``a//b``,
``x/../y``) must stay readable and copyable. qvc itself only ever creates path-like keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from qvc.errors import ConflictError, RemoteError, UsageError
from qvc.sysio.progress import ByteProgress


class ObjectNotFound(RemoteError):
    default_hint = "check the registry URL, the package name and the revision"


class PreconditionFailed(ConflictError):
    """A conditional write lost: the key exists (if_none_match) or changed (if_match)."""


class InvalidKey(UsageError):
    """A key that is not a '/'-separated relative path (see :func:`check_key`)."""


_BAD_SEGMENTS = frozenset(("", ".", ".."))


def check_key(key: str) -> str:
    """``key`` if it is a valid store key, else raise :class:`InvalidKey`.

    Valid: non-empty, '/'-separated segments, none of them empty, ``.`` or ``..`` (so no
    leading, trailing or doubled '/'), and no NUL character. A backslash is an ordinary
    character of a POSIX file name (quilt3 writes such keys too).
    """
    if "\0" in key or not _BAD_SEGMENTS.isdisjoint(key.split("/")):
        raise InvalidKey(f"invalid store key {key!r}",
                         "store keys are relative paths like 'dir/file.csv'")
    return key


def check_bucket_key(key: str) -> str:
    """``key`` if an S3 store accepts it (non-empty, no NUL), else raise :class:`InvalidKey`."""
    if not key or "\0" in key:
        raise InvalidKey(f"invalid S3 key {key!r}", "S3 keys are non-empty names without NUL")
    return key


def is_valid_key(key: str) -> bool:
    try:
        check_key(key)
    except InvalidKey:
        return False
    return True


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str
    version_id: str | None = None
    checksum_sha256: str | None = None  # S3's ChecksumSHA256, possibly with a "-N" suffix


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, declared by its class (see :attr:`Store.capabilities`)."""

    multipart: bool
    """Large uploads go in parts, and a killed one leaves parts behind that
    :meth:`Store.list_multipart_uploads` lists and :meth:`Store.abort_multipart_upload`
    removes. Without it both do nothing."""
    conditional_writes: bool
    """``put``/``put_file`` enforce ``if_none_match``/``if_match`` themselves. (An
    S3-compatible endpoint may accept the headers and ignore them:
    :func:`qvc.remote.remotes.probe` finds out.)"""
    remote: bool
    """Readers may reach the store from other machines, where ``file://`` physical keys
    naming this machine's files do not resolve."""


@dataclass(frozen=True)
class MultipartUpload:
    """An unfinished multipart upload (what a killed push leaves behind)."""

    key: str
    upload_id: str
    initiated: datetime


class Store(Protocol):
    """A flat namespace of keys holding bytes.

    Errors: a missing key or version is :class:`ObjectNotFound` (or ``None`` from
    :meth:`head`), a lost conditional write :class:`PreconditionFailed`, a bad key
    :class:`InvalidKey`; everything else the backend meets is translated into a QvcError.
    """

    url: str
    """``s3://bucket``, or the ``file://`` URL of a directory store's absolute root."""

    capabilities: Capabilities

    def get(self, key: str, version_id: str | None = None) -> bytes:
        """The key's current bytes, or those of version ``version_id``.

        Raises ObjectNotFound if the key does not exist (never written, or deleted) or the
        version does not (a store without versions has none: any version id is missing).
        """
        ...

    def reader(self, key: str) -> BinaryIO:
        """A binary file object reading the key's current bytes, for the caller to close.

        Raises ObjectNotFound as :meth:`get` does. A directory store streams from the file;
        S3 reads the whole object first.
        """
        ...

    def get_to_file(
        self, key: str, dest: Path, version_id: str | None = None,
        progress: ByteProgress | None = None, start: int = 0,
    ) -> None:
        """Write the object (or version) to ``dest``, created or replaced; ``progress`` gets
        byte counts that add up to its size, each once the bytes are in the file (visible to
        another reader of it). Raises ObjectNotFound as :meth:`get` does. If this raises,
        ``dest`` may be absent, partial or unchanged: download to a temp path.

        With ``start``, ``dest`` already holds the object's first ``start`` bytes: it is cut
        to that length and the rest appended (a download resumed); ``progress`` counts only
        what is appended.
        """
        ...

    def head(self, key: str, version_id: str | None = None) -> ObjectInfo | None:
        """The key's (or version's) ObjectInfo, or None where :meth:`get` would raise
        ObjectNotFound. Its ``etag`` is the one the write that made it returned."""
        ...

    def put(
        self, key: str, data: bytes, *, if_none_match: bool = False, if_match: str | None = None
    ) -> ObjectInfo:
        """Write ``data`` at ``key`` atomically: readers see the old bytes or the new ones.

        ``if_none_match``: only if the key does not exist, else PreconditionFailed.
        ``if_match``: only if the key's current ETag is ``if_match``, else
        PreconditionFailed, also when the key does not exist (never ObjectNotFound). Giving
        both raises UsageError. Returns what :meth:`head` will report until the next write:
        size, ETag, the new version's id (None unless the store keeps versions) and, from
        S3, the SHA-256 checksum it verified.
        """
        ...

    def put_file(
        self, key: str, source: Path, *, if_none_match: bool = False,
        progress: ByteProgress | None = None,
    ) -> ObjectInfo:
        """:meth:`put` of a file's content, streamed; ``progress`` as for
        :meth:`get_to_file`. A file that changes size meanwhile raises PathError."""
        ...

    def list(self, prefix: str) -> Iterator[str]:
        """Every key starting with ``prefix`` (a plain string prefix, not a folder), each
        once, in ascending order of code points (S3's order: UTF-8 bytes, so ``a-b`` before
        ``a/b`` before ``a0``). Keys written or deleted meanwhile may or may not appear.
        A directory store hides its own unfinished writes (``.<name>.<random>.tmp``)."""
        ...

    def delete(self, key: str, version_id: str | None = None) -> None:
        """Without ``version_id``: the key stops existing for get, head and list (a
        versioned bucket keeps its older versions, readable by id, behind a delete marker).
        With it: that one version is removed for good; on a store or bucket that never kept
        versions a version id names nothing, so nothing is deleted. Deleting a missing key
        or version is not an error.
        """
        ...

    def physical_key(self, key: str, version_id: str | None = None) -> str:
        """The Quilt physical key (URL) of a key, as quilt3's PhysicalKey writes it:
        ``s3://bucket/key`` (``?versionId=`` when a version is given) or the ``file://``
        URL of the directory store's file. A directory store keeps no versions: giving one
        raises UsageError."""
        ...

    def key_for(self, physical_key: str) -> tuple[str, str | None] | None:
        """(key, version id) of a physical key naming a valid key of this store, else None:
        ``key_for(physical_key(k, v)) == (k, v)``."""
        ...

    def versioning_enabled(self) -> bool:
        """Whether a write keeps the version it replaces (S3: asks the bucket each call;
        a directory store: never)."""
        ...

    def list_multipart_uploads(self, prefix: str) -> Iterator[MultipartUpload]:
        """Unfinished multipart uploads of keys starting with ``prefix`` (none without the
        ``multipart`` capability)."""
        ...

    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        """Abort an unfinished upload, freeing its parts; one already gone is fine."""
        ...


def check_writes(if_none_match: bool, if_match: str | None) -> None:
    if if_none_match and if_match is not None:
        raise UsageError("a write is either create-only (if_none_match) or compare-and-swap "
                         "(if_match), not both")


def version_of(response: dict[str, Any]) -> str | None:
    """The version id S3 answered, if it names a version: an unversioned bucket has none, and
    "null" (sent for unversioned and suspended buckets) only names the key's current object,
    which a ``?versionId=null`` physical key would not make any more exact."""
    version = response.get("VersionId")
    return version if isinstance(version, str) and version and version != "null" else None
