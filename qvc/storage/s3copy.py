"""Server-side copies between buckets one S3 client reaches, and hashes read from S3 itself.

A copy never moves the object's bytes through the client. Objects of one Quilt chunk or less
are copied with ``CopyObject``; larger ones as a multipart upload of ``UploadPartCopy`` parts
cut exactly at the ``sha2-256-chunked`` boundaries (``hashing.chunk_size``), several at once.
Both ask S3 for SHA-256 checksums, so what S3 answers is the manifest's hash: the plain
SHA-256 of a single copy (one more SHA-256 makes it the chunked value), or one SHA-256 per part.

Some S3-compatible servers (moto 5.2.5) leave ``ChecksumSHA256`` out of the ``UploadPartCopy``
and ``CompleteMultipartUpload`` responses. Then the completed object's own checksum is read
back with a HEAD (the composite of its parts); only when that is missing too are the parts
S3 did not checksum read back with ranged GETs and hashed here. Those reads are counted in
:attr:`Copied.read`. A failed or interrupted multipart copy is aborted.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from qvc.errors import CorruptObject, RemoteError
from qvc.quilt import hashing
from qvc.quilt.urls import format_s3_url
from qvc.storage.base import ObjectInfo, ObjectNotFound, version_of
from qvc.storage.s3 import S3Store
from qvc.storage.s3multipart import complete_upload, start_upload
from qvc.sysio import crashpoints
from qvc.sysio.progress import ByteProgress

PART_WORKERS = 8
_READ_BLOCK = 1 << 20


@dataclass(frozen=True)
class Source:
    """An S3 object to copy from: bucket, key and (optionally) the version pinned."""

    bucket: str
    key: str
    version_id: str | None = None

    def as_param(self) -> dict[str, str]:
        param = {"Bucket": self.bucket, "Key": self.key}
        if self.version_id is not None:
            param["VersionId"] = self.version_id
        return param


@dataclass(frozen=True)
class Copied:
    """A finished copy: the new object, its ``sha2-256-chunked`` value as S3 computed it, and
    how many bytes the client had to read to learn it (0 when S3 gave every checksum)."""

    info: ObjectInfo
    chunked: str
    read: int = 0


def same_connection(a: object, b: object) -> bool:
    """Whether two stores are S3 buckets one client reaches with the same endpoint and
    credentials: only then can one copy from the other server-side."""
    if not isinstance(a, S3Store) or not isinstance(b, S3Store):
        return False
    return a._client_key() == b._client_key()


def sibling(store: S3Store, bucket: str) -> S3Store:
    """The store of another bucket reached the way ``store`` is (it shares the client)."""
    if bucket == store.bucket:
        return store
    return S3Store(bucket, endpoint_url=store.endpoint_url, profile=store.profile,
                   credentials=store.credentials, max_attempts=store.max_attempts,
                   connect_timeout=store.timeouts[0], read_timeout=store.timeouts[1])


def copy(store: S3Store, key: str, source: Source, size: int, *, if_none_match: bool = True,
         progress: ByteProgress | None = None) -> Copied:
    """Copy ``source`` (``size`` bytes) to ``key`` of ``store`` server-side; create-only when
    ``if_none_match`` (servers that ignore the condition on a copy are the caller's to guard
    with a HEAD first). Errors reading the source name the source."""
    if size > hashing.chunk_size(size):
        return _copy_parts(store, key, source, size, if_none_match, progress)
    copied = _copy_whole(store, key, source, size, if_none_match)
    if progress:
        progress(size)
    return copied


def _copy_whole(store: S3Store, key: str, source: Source, size: int,
                if_none_match: bool) -> Copied:
    args: dict[str, Any] = {"Bucket": store.bucket, "Key": key, "CopySource": source.as_param(),
                            "ChecksumAlgorithm": "SHA256"}
    if if_none_match:
        args["IfNoneMatch"] = "*"
    with _naming(store, key, source):
        response = store.client.copy_object(**args)
    result = response.get("CopyObjectResult", {})
    info = ObjectInfo(size=size, etag=result.get("ETag", ""), version_id=version_of(response),
                      checksum_sha256=result.get("ChecksumSHA256"))
    crashpoints.reach("push.after_object")
    if info.checksum_sha256 and "-" not in info.checksum_sha256:  # a full-object SHA-256
        return Copied(info, hashing.single_part_to_chunked(info.checksum_sha256))
    digests = [part_digest(store, key, info.version_id, 0, size)] if size else []
    return Copied(info, hashing.combine(digests), size)


def _copy_parts(store: S3Store, key: str, source: Source, size: int, if_none_match: bool,
                progress: ByteProgress | None) -> Copied:
    step = hashing.chunk_size(size)
    ranges = [(start, min(start + step, size)) for start in range(0, size, step)]
    upload_id = start_upload(store, key)
    try:
        def one(numbered: tuple[int, tuple[int, int]]) -> tuple[str, str | None]:
            number, (start, end) = numbered
            with _naming(store, key, source):
                response = store.client.upload_part_copy(
                    Bucket=store.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                    CopySource=source.as_param(), CopySourceRange=f"bytes={start}-{end - 1}")
            crashpoints.reach("push.after_part")
            if progress:
                progress(end - start)
            result = response["CopyPartResult"]
            return result["ETag"], result.get("ChecksumSHA256")

        with ThreadPoolExecutor(min(PART_WORKERS, len(ranges)),
                                thread_name_prefix="qvc-copy") as pool:
            answers = list(pool.map(one, enumerate(ranges, 1)))
        parts = []
        for number, (etag, checksum) in enumerate(answers, 1):
            part: dict[str, Any] = {"PartNumber": number, "ETag": etag}
            if checksum:
                part["ChecksumSHA256"] = checksum
            parts.append(part)
        response = complete_upload(store, key, upload_id, parts, if_none_match)
    except BaseException:
        with contextlib.suppress(Exception):  # the first error matters; 'qvc gc' cleans later
            store.abort_multipart_upload(key, upload_id)
        raise
    info = ObjectInfo(size=size, etag=response.get("ETag", ""), version_id=version_of(response),
                      checksum_sha256=response.get("ChecksumSHA256"))
    crashpoints.reach("push.after_object")
    known = [c for _, c in answers]
    if all(known):
        chunked = hashing.combine(base64.b64decode(c or "") for c in known)
        return Copied(info, chunked)
    composite = _composite_checksum(store, key, info, len(ranges))
    if composite is not None:
        return Copied(info, composite)
    return _hash_missing_parts(store, key, info, ranges, known)


def _composite_checksum(store: S3Store, key: str, info: ObjectInfo, count: int) -> str | None:
    """The composite checksum of an object this module just assembled, from the answer to
    the completion or a HEAD: no suffix or ``-<count>`` (an upload made here with SHA-256
    parts has no other kind)."""
    checksum = info.checksum_sha256
    if not checksum:
        found = store.head(key, info.version_id)
        checksum = found.checksum_sha256 if found is not None else None
    if not checksum:
        return None
    value, _, parts = checksum.partition("-")
    return value if parts in ("", str(count)) else None


def _hash_missing_parts(store: S3Store, key: str, info: ObjectInfo,
                        ranges: list[tuple[int, int]], known: list[str | None]) -> Copied:
    """Hash, with ranged GETs of the new object, only the parts S3 returned no checksum for."""
    def digest(index: int) -> bytes:
        checksum = known[index]
        if checksum:
            return base64.b64decode(checksum)
        start, end = ranges[index]
        return part_digest(store, key, info.version_id, start, end)

    with ThreadPoolExecutor(min(PART_WORKERS, len(ranges)), thread_name_prefix="qvc-hash") as pool:
        digests = list(pool.map(digest, range(len(ranges))))
    read = sum(end - start for (start, end), c in zip(ranges, known, strict=True) if not c)
    return Copied(info, hashing.combine(digests), read)


def part_digest(store: S3Store, key: str, version_id: str | None, start: int, end: int) -> bytes:
    """SHA-256 of bytes ``start`` to ``end`` (exclusive) of an object, read with a ranged GET."""
    sha = hashlib.sha256()
    if end <= start:
        return sha.digest()
    args: dict[str, Any] = {"Bucket": store.bucket, "Key": key, "Range": f"bytes={start}-{end - 1}"}
    if version_id is not None:
        args["VersionId"] = version_id
    with store.translating(key):
        response = store.client.get_object(**args)
        read = 0
        for block in response["Body"].iter_chunks(_READ_BLOCK):
            sha.update(block)
            read += len(block)
    if read != end - start:
        raise CorruptObject(f"{store.physical_key(key, version_id)} ended before byte {end}",
                            "the object changed while it was read; run the command again")
    return sha.digest()


def hash_object(store: S3Store, key: str, version_id: str | None, size: int,
                checksum: str | None, checksum_type: str | None = None) -> tuple[str, int]:
    """(``sha2-256-chunked`` value, bytes read) of an object: from its stored SHA-256 when
    that is unambiguously Quilt's (a composite with the chunk count, or a full-object
    checksum of a one-chunk object), else by ranged GETs of every chunk, several at once."""
    step = hashing.chunk_size(size)
    count = max(1, -(-size // step))
    if checksum:
        value, _, parts = checksum.partition("-")
        if parts and parts == str(count):
            return value, 0
        if not parts and checksum_type == "FULL_OBJECT" and count == 1:
            return hashing.single_part_to_chunked(value), 0
    ranges = [(start, min(start + step, size)) for start in range(0, size, step)]
    if not ranges:
        return hashing.combine([]), 0
    workers = min(PART_WORKERS, len(ranges))
    with ThreadPoolExecutor(workers, thread_name_prefix="qvc-hash") as pool:
        digests = list(pool.map(lambda r: part_digest(store, key, version_id, *r), ranges))
    return hashing.combine(digests), size


def listed_sizes(store: S3Store, prefix: str) -> list[tuple[str, int]] | None:
    """(key, size) of every object under ``prefix`` from the listing alone, or None when the
    bucket ever kept versions (then each object's current version needs a HEAD)."""
    with store.translating(""):
        status = store.client.get_bucket_versioning(Bucket=store.bucket).get("Status")
    if status in ("Enabled", "Suspended"):
        return None
    found = []
    paginator = store.client.get_paginator("list_objects_v2")
    with store.translating(prefix):
        for page in paginator.paginate(Bucket=store.bucket, Prefix=prefix):
            found += [(item["Key"], int(item["Size"])) for item in page.get("Contents", ())]
    return found


def remove_copy(store: S3Store, key: str, info: ObjectInfo) -> None:
    """Delete an object a copy just created (its version, on a versioned bucket)."""
    with contextlib.suppress(Exception):
        store.delete(key, info.version_id)


@contextlib.contextmanager
def _naming(store: S3Store, key: str, source: Source) -> Iterator[None]:
    """Errors of a copy request: a missing or unreadable source names the source (S3 does
    not say which side it could not reach; the destination was reachable a moment before)."""
    where = format_s3_url(source.bucket, source.key, source.version_id)
    try:
        with store.translating(key):
            yield
    except ObjectNotFound:
        raise ObjectNotFound(f"the source of a copy is gone: {where}",
                             "the object was deleted or replaced since the package was read; "
                             "read the package again") from None
    except RemoteError as exc:
        if not exc.message.startswith("access denied"):
            raise
        raise RemoteError(f"access denied reading bucket {source.bucket} ({where}) to copy it "
                          f"to {store.url}", exc.hint) from None
