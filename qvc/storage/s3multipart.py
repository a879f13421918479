"""Multipart uploads cut exactly like Quilt's ``sha2-256-chunked`` hash.

Parts are ``hashing.chunk_size(size)`` bytes and each carries its SHA-256, so S3 verifies every
part and assembles the composite checksum ``b64(sha256(part digests))-N``: the manifest's hash
plus a part count. A few parts upload at once, each read from disk by its own worker, so memory
stays at ``WORKERS`` parts. An upload cut short by Ctrl-C, a kill or a lost connection is kept
and resumed by the next upload of the same key from the parts that check out; any other failure
aborts it. ``qvc gc --remote`` aborts uploads nobody resumed within its grace period.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from qvc.errors import CorruptObject, PathError, RemoteError
from qvc.quilt import hashing
from qvc.storage.base import ObjectInfo, ObjectNotFound, version_of
from qvc.sysio import cancel, crashpoints
from qvc.sysio.progress import ByteProgress

MULTIPART_THRESHOLD = hashing.MIN_CHUNK
WORKERS = 4


class Bucket(Protocol):
    """What a multipart upload needs from the S3 store it writes to (an ``S3Store``)."""

    bucket: str

    @property
    def client(self) -> Any: ...

    def translating(self, key: str) -> AbstractContextManager[None]: ...

    def physical_key(self, key: str, version_id: str | None = None) -> str: ...

    def abort_multipart_upload(self, key: str, upload_id: str) -> None: ...


@dataclass(frozen=True)
class _Part:
    number: int
    etag: str
    digest: bytes
    size: int

    def as_param(self) -> dict[str, Any]:
        return {"PartNumber": self.number, "ETag": self.etag,
                "ChecksumSHA256": base64.b64encode(self.digest).decode()}


def start_upload(store: Bucket, key: str) -> str:
    """A new multipart upload of ``key`` whose parts carry SHA-256 checksums; its id."""
    with store.translating(key):
        upload_id: str = store.client.create_multipart_upload(
            Bucket=store.bucket, Key=key, ChecksumAlgorithm="SHA256")["UploadId"]
    return upload_id


def complete_upload(store: Bucket, key: str, upload_id: str, parts: list[dict[str, Any]],
                    if_none_match: bool) -> dict[str, Any]:
    """Assemble ``parts`` (``PartNumber``, ``ETag``, optional ``ChecksumSHA256``) into
    ``key``, create-only when ``if_none_match``; S3's answer."""
    args: dict[str, Any] = {"Bucket": store.bucket, "Key": key, "UploadId": upload_id,
                            "MultipartUpload": {"Parts": parts}}
    if if_none_match:
        args["IfNoneMatch"] = "*"
    with store.translating(key):
        response: dict[str, Any] = store.client.complete_multipart_upload(**args)
    return response


def upload_multipart(store: Bucket, key: str, source: Path, size: int, if_none_match: bool,
                     progress: ByteProgress | None) -> ObjectInfo:
    """Upload ``source`` (``size`` bytes) to ``key``; create-only when ``if_none_match``.

    An unfinished upload of the same key (a push killed, interrupted or cut off) is resumed:
    its parts that hold the local file's bytes at the same chunk boundaries are kept, the others
    sent again. Such an interruption keeps the upload for the next try; any other failure
    aborts it."""
    upload_id, found = _resumable_upload(store, key)
    if upload_id is None:
        upload_id = start_upload(store, key)
    try:
        parts = _upload_parts(store, key, upload_id, source, size, progress, found)
        response = complete_upload(store, key, upload_id, [p.as_param() for p in parts],
                                   if_none_match)
    except BaseException as exc:
        if not _keep_for_resume(exc):
            _abort_quietly(store, key, upload_id)
        raise
    composite = hashing.combine(p.digest for p in parts)
    returned = response.get("ChecksumSHA256")
    if returned and returned.partition("-")[0] != composite:
        raise CorruptObject(f"S3 assembled {store.physical_key(key)} with checksum {returned}, "
                            f"expected {composite}", "upload it again")
    return ObjectInfo(size=size, etag=response["ETag"], version_id=version_of(response),
                      checksum_sha256=f"{composite}-{len(parts)}")


def _keep_for_resume(exc: BaseException) -> bool:
    """Whether a failed upload is worth resuming: interrupted, or cut off from S3 (a file that
    changed, a refused create-only write or a bug is not)."""
    if not isinstance(exc, Exception) or isinstance(exc, cancel.Cancelled):
        return True
    return isinstance(exc, RemoteError) and not isinstance(exc, ObjectNotFound)


def _resumable_upload(store: Bucket, key: str) -> tuple[str | None, dict[int, dict[str, Any]]]:
    """The newest unfinished SHA-256 upload of exactly ``key`` and its parts by number, or
    (None, {}) when there is none to resume."""
    try:
        with store.translating(key):
            uploads = [
                item for page in store.client.get_paginator("list_multipart_uploads").paginate(
                    Bucket=store.bucket, Prefix=key)
                for item in page.get("Uploads", ())
                if item["Key"] == key and item.get("ChecksumAlgorithm") == "SHA256"]
            if not uploads:
                return None, {}
            upload_id = max(uploads, key=lambda item: item["Initiated"])["UploadId"]
            parts = {part["PartNumber"]: part
                     for page in store.client.get_paginator("list_parts").paginate(
                         Bucket=store.bucket, Key=key, UploadId=upload_id)
                     for part in page.get("Parts", ())}
    except RemoteError:  # aborted meanwhile ('qvc gc --remote'), or listing is not allowed
        return None, {}
    return upload_id, parts


def _upload_parts(store: Bucket, key: str, upload_id: str, source: Path, size: int,
                  progress: ByteProgress | None,
                  found: dict[int, dict[str, Any]]) -> list[_Part]:
    step = hashing.chunk_size(size)
    count = -(-size // step)
    done: list[_Part] = []
    cancel.reset()  # from the main thread: an upload called directly, not by a transfer
    fd = os.open(source, os.O_RDONLY)
    pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="qvc-part")
    try:
        pending: set[Future[_Part]] = set()
        for number in range(1, count + 1):
            if len(pending) >= WORKERS:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                done += _collect(finished, progress)
            expected = min(step, size - (number - 1) * step)
            pending.add(pool.submit(_upload_part, store, key, upload_id, fd, number,
                                    step, expected, found.get(number)))
        done += _collect(wait(pending).done, progress)
        pool.shutdown()
    except BaseException as exc:
        # an interrupt leaves at once: parts in flight stop at their next check
        interrupted = not isinstance(exc, Exception) or cancel.stopped()
        if interrupted:
            cancel.stop()
        pool.shutdown(wait=not interrupted, cancel_futures=True)
        raise
    finally:
        if not cancel.stopped():  # else a part still in flight may read it
            os.close(fd)
    return sorted(done, key=lambda part: part.number)


def _collect(finished: set[Future[_Part]], progress: ByteProgress | None) -> list[_Part]:
    parts = [future.result() for future in finished]  # re-raises a worker's error
    if progress:
        for part in parts:
            progress(part.size)
    return parts


def _upload_part(store: Bucket, key: str, upload_id: str, fd: int, number: int, step: int,
                 expected: int, stored: dict[str, Any] | None) -> _Part:
    """Send part ``number``, unless ``stored`` (the part already in S3) holds its bytes."""
    cancel.check()
    data = os.pread(fd, step, (number - 1) * step)
    if len(data) != expected:
        raise PathError(f"a file changed size while it was uploaded to {key}",
                        "run the command again once the file is stable")
    digest = hashlib.sha256(data).digest()
    if stored is not None and _holds(stored, data, digest):
        return _Part(number, stored["ETag"], digest, len(data))
    with store.translating(key):
        response = store.client.upload_part(
            Bucket=store.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data,
            ChecksumAlgorithm="SHA256", ChecksumSHA256=base64.b64encode(digest).decode())
    crashpoints.reach("push.after_part")
    return _Part(number, response["ETag"], digest, len(data))


def _holds(stored: dict[str, Any], data: bytes, digest: bytes) -> bool:
    """Whether a part S3 lists holds ``data``: by its SHA-256 where S3 lists it, else by its
    ETag, the MD5 of a part's bytes (S3-compatible stores, which list no checksums). Completing
    the upload sends every part's SHA-256, and the assembled checksum is checked after."""
    if stored.get("Size") != len(data):
        return False
    checksum = stored.get("ChecksumSHA256")
    if checksum:
        return bool(checksum == base64.b64encode(digest).decode())
    etag = str(stored.get("ETag", "")).strip('"')
    return etag == hashlib.md5(data, usedforsecurity=False).hexdigest()


def _abort_quietly(store: Bucket, key: str, upload_id: str) -> None:
    # The original error matters more than a failed abort; 'qvc gc' cleans up later.
    with contextlib.suppress(Exception):
        store.abort_multipart_upload(key, upload_id)
