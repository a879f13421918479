"""Downloads of big objects that resume after an interruption from the bytes already verified.

An object of :data:`RESUMABLE` bytes or more downloads into ``.qvc/objects/tmp/partial-<hex>-
<size>``, beside a progress record (``.json``) listing the SHA-256 of each complete chunk (the
``sha2-256-chunked`` chunks) as it lands. A download stopped by Ctrl-C, a kill or a lost
connection leaves both; the next download of the same object re-hashes the chunks the record
lists, keeps the leading run that still matches and fetches the rest with a ranged read. The
whole file is verified against the manifest's hash before it is published, as every download
is; a file that fails is removed with its record, so the retry starts from zero. ``qvc gc``
removes partial downloads nobody resumed within its grace period, as other temp files.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

from qvc.core.objects import ObjectStore
from qvc.errors import CorruptObject
from qvc.quilt.hashing import MIN_CHUNK, Hash, chunk_size
from qvc.storage import Store
from qvc.sysio import crashpoints
from qvc.sysio.fileio import atomic_write
from qvc.sysio.progress import ByteProgress

RESUMABLE = MIN_CHUNK


def paths(objects: ObjectStore, h: Hash, size: int) -> tuple[Path, Path]:
    """(partial file, progress record) of a download of object ``h`` of ``size`` bytes."""
    base = objects.tmp / f"partial-{h.hex}-{size}"
    return base, base.with_name(base.name + ".json")


def download(store: Store, objects: ObjectStore, located: tuple[str, str | None], h: Hash,
             size: int, advance: ByteProgress) -> None:
    """Bring object ``h`` (``size`` bytes, at ``located`` in ``store``) into ``objects``,
    verified, resuming a partial download of it; ``advance`` also counts the bytes reused."""
    data, record = paths(objects, h, size)
    objects.tmp.mkdir(parents=True, exist_ok=True)
    step = chunk_size(size)
    digests = _verified_prefix(data, record, h, size, step)
    start = len(digests) * step
    if not digests:
        data.write_bytes(b"")
    advance(start)
    recorder = _Recorder(data, record, h, size, step, digests)

    def report(nbytes: int) -> None:
        recorder.add(nbytes)
        advance(nbytes)

    if start < size:
        store.get_to_file(located[0], data, located[1], progress=report, start=start)
    try:
        objects.add_verified(data, h, size)  # removes the file if it fails
    except CorruptObject:
        record.unlink(missing_ok=True)
        raise
    record.unlink(missing_ok=True)


def _verified_prefix(data: Path, record: Path, h: Hash, size: int, step: int) -> list[str]:
    """The recorded chunk digests the partial file still matches, from its start."""
    try:
        saved = json.loads(record.read_text())
        if saved.get("hash") != [h.type, h.value] or saved.get("size") != size \
                or saved.get("chunk") != step:
            return []
        recorded = [d for d in saved.get("digests", []) if isinstance(d, str)]
        fd = os.open(data, os.O_RDONLY)
    except (OSError, ValueError, AttributeError):
        return []
    kept: list[str] = []
    try:
        for number, digest in enumerate(recorded):
            chunk = os.pread(fd, step, number * step)
            if len(chunk) != step or hashlib.sha256(chunk).hexdigest() != digest:
                break
            kept.append(digest)
    finally:
        os.close(fd)
    return kept


class _Recorder:
    """Records the digest of each chunk completed in the partial file (the store reports
    bytes once they are in the file)."""

    def __init__(self, data: Path, record: Path, h: Hash, size: int, step: int,
                 digests: list[str]) -> None:
        self.data, self.record, self.hash, self.size, self.step = data, record, h, size, step
        self.digests = list(digests)
        self.written = len(digests) * step
        self._lock = threading.Lock()

    def add(self, nbytes: int) -> None:
        with self._lock:
            self.written += nbytes
            complete = min(self.written, self.size) // self.step
            if complete <= len(self.digests):
                return
            with open(self.data, "rb") as f:
                for number in range(len(self.digests), complete):
                    chunk = os.pread(f.fileno(), self.step, number * self.step)
                    self.digests.append(hashlib.sha256(chunk).hexdigest())
            atomic_write(self.record, json.dumps(
                {"hash": [self.hash.type, self.hash.value], "size": self.size,
                 "chunk": self.step, "digests": self.digests}).encode())
        crashpoints.reach("fetch.after_chunk")
