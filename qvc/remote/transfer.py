"""Moving objects between the local object store and a registry's store, in parallel.

Uploads never overwrite data an older pushed version may reference: every data key is
created only if absent (``If-None-Match: *``). When the key already holds other content, a
versioned bucket gets a new version of it (the manifest records ``?versionId=``); anything else
(an unversioned bucket, a folder registry) gets the content at a content-addressed key
``<prefix>.qvc/objects/<hash type>/<hex>`` instead. No logical key can start with ``.qvc/``, so
that key never collides with a package file's default location.

Downloads land in ``.qvc/objects/tmp`` and are published only after their bytes hash to the
value the manifest records.
"""

from __future__ import annotations

import base64
import contextlib
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote, unquote

from qvc.core.objects import ObjectStore
from qvc.errors import BadManifest, CorruptObject
from qvc.quilt.hashing import (
    CHUNKED,
    LEGACY_SHA256,
    Hash,
    hash_file,
    s3_checksum_to_chunked,
    single_part_to_chunked,
)
from qvc.quilt.manifest import Entry
from qvc.remote import partial
from qvc.storage import ObjectInfo, PreconditionFailed, Store
from qvc.storage.local import path_from_url
from qvc.sysio import cancel, crashpoints
from qvc.sysio.progress import ByteProgress, TransferProgress

T = TypeVar("T")
R = TypeVar("R")

HEAD_FIRST = 1 << 20  # check before sending this many bytes that may already be there
IN_MEMORY = 1 << 20  # objects up to this size are downloaded into memory, not a temp file
DOWNLOAD_ATTEMPTS = 3


def concurrency() -> int:
    """Parallel transfers (``QVC_MAX_CONCURRENCY``, default 16)."""
    try:
        return max(1, int(os.environ.get("QVC_MAX_CONCURRENCY", "16")))
    except ValueError:
        return 16


def parallel_map(fn: Callable[[T], R], items: Iterable[T], workers: int | None = None) -> list[R]:
    """``fn`` over ``items`` on a thread pool, results in input order; the first error stops
    the rest (queued work is cancelled) and is raised. When the calling thread is interrupted
    (Ctrl-C), queued work is dropped, running work stops at its next :func:`cancel.check`, and
    the interrupt is raised at once, without waiting for requests in flight."""
    items = list(items)
    cancel.reset()
    if len(items) <= 1:
        return [fn(item) for item in items]
    pool = ThreadPoolExecutor(max_workers=workers or concurrency())
    try:
        futures: list[Future[R]] = [pool.submit(fn, item) for item in items]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [f for f in done if f.exception() is not None]
        pool.shutdown(wait=True, cancel_futures=bool(failed))
    except BaseException:
        cancel.stop()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    if failed:
        raise failed[0].exception()  # type: ignore[misc]
    return [f.result() for f in futures]


# physical keys -------------------------------------------------------------------------------


def store_key(store: Store, physical_key: str) -> tuple[str, str | None] | None:
    """(key, version id) of ``physical_key`` inside ``store``, or None when it points elsewhere.

    A ``file://`` key counts only for a folder store, and only if it resolves inside it.
    """
    return store.key_for(physical_key)


def local_source(physical_key: str) -> Path | None:
    """The local file a ``file://`` physical key names, else None."""
    if not physical_key.startswith("file://"):
        return None
    return path_from_url(physical_key)


def object_key(objects: ObjectStore, h: Hash) -> str:
    """The ``file://`` physical key of an object of the local store."""
    return objects_url(objects) + objects.name(h)


def objects_url(objects: ObjectStore) -> str:
    """The ``file://`` URL of the local store's root, with a trailing slash: object names
    (hex digests and fixed folder names) need no quoting, so a caller localizing many entries
    resolves the root once, not every object's path."""
    return "file://" + quote(str(objects.root.resolve())) + "/"


def cas_key(prefix: str, h: Hash) -> str:
    """The content-addressed data key used when a file's default location is taken."""
    return f"{prefix}.qvc/objects/{h.type}/{h.hex}"


def checksum_matches(info: ObjectInfo, size: int, h: Hash) -> bool | None:
    """Whether S3's stored checksum shows the object holds content ``h`` of ``size`` bytes;
    None when the store gives no checksum to tell.

    Real S3 appends ``-N`` to multipart checksums, moto does not, and a single-part upload
    stores the plain SHA-256: every reading is tried, and SHA-256 makes a false match moot.
    """
    if info.size != size:
        return False
    checksum = info.checksum_sha256
    if not checksum:
        return None
    value = checksum.partition("-")[0]
    if h.type == CHUNKED:
        candidates = {s3_checksum_to_chunked(checksum, size), value}
        if "-" not in checksum:
            try:
                candidates.add(single_part_to_chunked(value))
            except ValueError:
                return False
        return h.value in candidates
    if h.type == LEGACY_SHA256 and "-" not in checksum:
        try:
            return base64.b64decode(value).hex() == h.value.lower()
        except ValueError:
            return False
    return None


def _checking(advance: ByteProgress) -> ByteProgress:
    """``advance``, giving up first if the main thread was interrupted: stores report progress
    between blocks and parts, so a worker stops at the next one."""

    def report(nbytes: int) -> None:
        cancel.check()
        advance(nbytes)

    return report


# uploads -------------------------------------------------------------------------------------


Streamer = Callable[[str, bool, ByteProgress], ObjectInfo]
"""Writes an entry's bytes to a key of the store from elsewhere (not a local file): called with
the key, whether create-only, and the progress callback; checks the bytes itself."""


class Uploader:
    """Places entries' bytes in a registry store and returns their new physical keys."""

    def __init__(self, store: Store, cas_prefix: str, progress: TransferProgress) -> None:
        self.store = store
        self.cas_prefix = cas_prefix
        self.progress = progress
        self.uploaded = 0
        self.bytes = 0
        self._lock = threading.Lock()
        self._versioned: bool | None = None

    def place(self, entry: Entry, key: str, source: Path | Streamer) -> str:
        """Put ``source`` (the bytes of ``entry``: a file, or a :data:`Streamer`) at ``key``
        without overwriting anything an older version could use; returns the physical key that
        now holds the content."""
        cancel.check()
        try:
            if entry.size >= HEAD_FIRST:
                info = self.store.head(key)
                if info is not None:
                    if self._holds(key, info, entry):
                        return self.store.physical_key(key, info.version_id)
                    return self._place_elsewhere(entry, key, source)
            try:
                info = self._put(entry, key, source)
            except PreconditionFailed:
                found = self.store.head(key)
                if found is not None and self._holds(key, found, entry):
                    return self.store.physical_key(key, found.version_id)
                return self._place_elsewhere(entry, key, source)
            return self.store.physical_key(key, info.version_id)
        finally:
            self.progress.object_done()

    def _holds(self, key: str, info: ObjectInfo, entry: Entry) -> bool:
        """Whether ``key`` already holds ``entry``'s bytes (e.g. placed by an interrupted or
        earlier push). S3 tells by its stored checksum; a folder registry's file is hashed, so a
        retried push reuses what it placed instead of storing a second copy."""
        matches = checksum_matches(info, entry.size, entry.hash)
        if matches is not None or info.size != entry.size:
            return bool(matches)
        path = local_source(self.store.physical_key(key, info.version_id))
        if path is None or path.is_symlink():
            return False
        try:
            return hash_file(path, entry.hash.type) == entry.hash
        except OSError:
            return False

    def _place_elsewhere(self, entry: Entry, key: str, source: Path | Streamer) -> str:
        if self._bucket_versioned():
            info = self._put(entry, key, source, create_only=False)
            return self.store.physical_key(key, info.version_id)
        cas = cas_key(self.cas_prefix, entry.hash)
        try:
            info = self._put(entry, cas, source)
        except PreconditionFailed:
            found = self.store.head(cas)
            if found is None or found.size != entry.size:
                raise CorruptObject(f"{self.store.url}/{cas} holds other bytes than its name says",
                                    "delete that object from the registry and push again") from None
            info = found
        return self.store.physical_key(cas, info.version_id)

    def _put(self, entry: Entry, key: str, source: Path | Streamer,
             create_only: bool = True) -> ObjectInfo:
        if isinstance(source, Path):
            info = self.store.put_file(key, source, if_none_match=create_only,
                                       progress=_checking(self.progress.advance))
        else:
            info = source(key, create_only, _checking(self.progress.advance))
        crashpoints.reach("push.after_object")
        if checksum_matches(info, entry.size, entry.hash) is False:
            raise CorruptObject(
                f"the registry received other bytes than {entry.logical_key} should hold",
                "run 'qvc verify' to check the local objects, then push again",
            )
        with self._lock:
            self.uploaded += 1
            self.bytes += entry.size
        return info

    def _bucket_versioned(self) -> bool:
        if self._versioned is None:
            self._versioned = self.store.versioning_enabled()
        return self._versioned


# downloads -----------------------------------------------------------------------------------


def check_remote_keys(store: Store, entries: Iterable[Entry], source: str) -> None:
    """Refuse a remote manifest naming data outside its own registry (never read a
    ``file://`` path or another bucket a hostile manifest points at)."""
    for entry in entries:
        if store_key(store, entry.physical_key) is None:
            raise BadManifest(
                f"{source}: {entry.logical_key!r} points outside {store.url}: "
                f"{unquote(entry.physical_key)[:200]}",
                "qvc only reads data stored in the registry itself; ask the package's author "
                "to push it with its data",
            )


Verified = Callable[[list[Entry], bytes | None], None]


def download(store: Store, objects: ObjectStore, entries: Iterable[Entry],
             progress: TransferProgress, on_verified: Verified | None = None) -> tuple[int, int]:
    """Bring every object ``entries`` name into the local store, verified; returns (objects,
    bytes) downloaded. Entries must have passed :func:`check_remote_keys`.

    ``on_verified(entries, data)`` is called from a worker thread once an object is published,
    with every entry naming it and its bytes when they were downloaded into memory (None for a
    large object: read it from the store). Objects already in the store are not reported. An
    exception it raises stops the download like a failed transfer."""
    wanted: dict[tuple[Hash, int], list[Entry]] = {}
    for entry in entries:
        same = wanted.get((entry.hash, entry.size))
        if same is not None:
            same.append(entry)
        elif not objects.has(entry.hash, entry.size):
            wanted[(entry.hash, entry.size)] = [entry]
    total = sum(size for _, size in wanted)
    progress.start(len(wanted), total)

    def fetch(group: list[Entry]) -> None:
        data = _fetch(store, objects, group[0], progress)
        if on_verified is not None:
            on_verified(group, data)
        progress.object_done()

    parallel_map(fetch, wanted.values())
    return len(wanted), total


def _fetch(store: Store, objects: ObjectStore, entry: Entry,
           progress: TransferProgress) -> bytes | None:
    """Download, verify and publish one object, retried when its bytes do not verify; returns
    them if they were read into memory."""
    located = store_key(store, entry.physical_key)
    assert located is not None
    cancel.check()
    for _ in range(DOWNLOAD_ATTEMPTS - 1):
        with contextlib.suppress(CorruptObject):
            return _fetch_once(store, objects, entry, located, progress)
    return _fetch_once(store, objects, entry, located, progress)  # its error is the user's


def _fetch_once(store: Store, objects: ObjectStore, entry: Entry,
                located: tuple[str, str | None], progress: TransferProgress) -> bytes | None:
    data = None
    if entry.size <= IN_MEMORY:
        data = store.get(located[0], located[1])
        if len(data) != entry.size:
            raise CorruptObject(f"{entry.physical_key} is not {entry.size} bytes")
        objects.add_verified_bytes(data, entry.hash)
        progress.advance(entry.size)
    else:
        _fetch_to_file(store, objects, entry, located, progress)
    crashpoints.reach("fetch.after_object")
    return data


def _fetch_to_file(store: Store, objects: ObjectStore, entry: Entry,
                   located: tuple[str, str | None], progress: TransferProgress) -> None:
    """Stream a large object into a temp file of the store, then verify and publish it."""
    if entry.size >= partial.RESUMABLE:
        partial.download(store, objects, located, entry.hash, entry.size,
                         _checking(progress.advance))
        return
    tmp = objects.temp_path()
    try:
        store.get_to_file(located[0], tmp, located[1], progress=_checking(progress.advance))
        objects.add_verified(tmp, entry.hash, entry.size)
    finally:
        if tmp.exists():
            tmp.unlink()
