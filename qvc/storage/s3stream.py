"""Copying an S3 object into a bucket that no single client reaches together with it (another
endpoint or other credentials): streamed through the client, chunk by chunk, never to disk.

Objects of one Quilt chunk or less are read whole and put with one request; larger ones are
read chunk by chunk with ranged GETs (the ``sha2-256-chunked`` boundaries) and each chunk sent
as one part of a multipart upload as soon as it is read, a few at a time, so memory holds at
most :data:`WORKERS` chunks. Every chunk is hashed as it passes; the upload is completed (or
the small object put) only when the hashes make the expected ``sha2-256-chunked`` value, else
it is aborted and nothing is created.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from qvc.errors import CorruptObject
from qvc.quilt import hashing
from qvc.storage.base import ObjectInfo, version_of
from qvc.storage.s3 import S3Store
from qvc.storage.s3multipart import complete_upload, start_upload
from qvc.sysio import crashpoints
from qvc.sysio.progress import ByteProgress

WORKERS = 2  # chunks in flight per object: the memory bound is this many chunks


def stream_copy(source: S3Store, source_key: str, source_version: str | None, dest: S3Store,
                key: str, size: int, expected: str, *, if_none_match: bool,
                progress: ByteProgress | None = None) -> ObjectInfo:
    """Copy ``size`` bytes of ``source_key`` to ``key`` of ``dest`` through the client;
    ``expected`` is the ``sha2-256-chunked`` value the bytes must hash to (CorruptObject naming
    the source otherwise, with nothing created). Create-only when ``if_none_match``."""
    step = hashing.chunk_size(size)
    if size <= step:
        data = read_range(source, source_key, source_version, 0, size)
        _check(source, source_key, source_version, [hashlib.sha256(data).digest()]
               if size else [], expected)
        info = dest.put(key, data, if_none_match=if_none_match)
        if progress:
            progress(size)
        return info
    ranges = [(start, min(start + step, size)) for start in range(0, size, step)]
    upload_id = start_upload(dest, key)
    try:
        def one(numbered: tuple[int, tuple[int, int]]) -> tuple[dict[str, Any], bytes]:
            number, (start, end) = numbered
            data = read_range(source, source_key, source_version, start, end)
            digest = hashlib.sha256(data).digest()
            checksum = base64.b64encode(digest).decode()
            with dest.translating(key):
                response = dest.client.upload_part(
                    Bucket=dest.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                    Body=data, ChecksumAlgorithm="SHA256", ChecksumSHA256=checksum)
            del data
            crashpoints.reach("push.after_part")
            if progress:
                progress(end - start)
            return {"PartNumber": number, "ETag": response["ETag"],
                    "ChecksumSHA256": checksum}, digest

        with ThreadPoolExecutor(min(WORKERS, len(ranges)), thread_name_prefix="qvc-stream") as pool:
            answers = list(pool.map(one, enumerate(ranges, 1)))
        _check(source, source_key, source_version, [d for _, d in answers], expected)
        response = complete_upload(dest, key, upload_id, [p for p, _ in answers], if_none_match)
    except BaseException:
        with contextlib.suppress(Exception):  # the first error matters; 'qvc gc' cleans later
            dest.abort_multipart_upload(key, upload_id)
        raise
    crashpoints.reach("push.after_object")
    return ObjectInfo(size=size, etag=response.get("ETag", ""), version_id=version_of(response),
                      checksum_sha256=f"{expected}-{len(ranges)}")


def read_range(store: S3Store, key: str, version_id: str | None, start: int, end: int) -> bytes:
    """Bytes ``start`` to ``end`` (exclusive) of an object, with one ranged GET."""
    if end <= start:
        return b""
    args: dict[str, Any] = {"Bucket": store.bucket, "Key": key, "Range": f"bytes={start}-{end - 1}"}
    if version_id is not None:
        args["VersionId"] = version_id
    with store.translating(key):
        data: bytes = store.client.get_object(**args)["Body"].read()
    if len(data) != end - start:
        raise CorruptObject(f"{store.physical_key(key, version_id)} ended before byte {end}",
                            "the object changed while it was read; run the command again")
    return data


def _check(store: S3Store, key: str, version_id: str | None, digests: list[bytes],
           expected: str) -> None:
    if hashing.combine(digests) != expected:
        raise CorruptObject(f"{store.physical_key(key, version_id)} does not hold the bytes its "
                            "manifest names (it changed since the package was read)",
                            "read the package again (browse it, or set the entry again) and "
                            "push that")
