"""Low-level file I/O of the object store: reading a work-tree file, writing an object and
marking it complete, and the hash-while-copy pipeline for large files."""

from __future__ import annotations

import contextlib
import hashlib
import os
from concurrent.futures import Future, ThreadPoolExecutor

from qvc.fileio import os_error

COMPLETE = 0o444  # the mode of a finished object, and only of a finished one
RING = 4  # part buffers in flight while copying a large file


def is_complete(path: str, size: int) -> bool:
    """Whether a finished object of ``size`` bytes is at ``path`` (never through a link)."""
    try:
        st = os.lstat(path)  # a symbolic link is never an object
    except FileNotFoundError:
        return False
    return st.st_size == size and st.st_mode & 0o7777 == COMPLETE


def read_small(fd: int, size: int) -> bytes:
    """The bytes of a file expected to hold ``size`` (its stat is checked afterwards)."""
    # One read of size + 1 usually returns the whole file; the stat check after the read
    # catches a file that grew or shrank meanwhile, so there is no need to read to EOF.
    data = os.read(fd, size + 1) if size else b""
    while len(data) < size:
        more = os.read(fd, size + 1 - len(data))
        if not more:
            break
        data += more
    return data


def write_complete(out: int, data: bytes, path: str) -> None:
    """Write all of ``data`` to the open object file ``out`` (at ``path``), mark it complete
    (mode 0444) and close it; on failure remove the partial file and raise a qvc error."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(out, view):]
        os.fchmod(out, COMPLETE)
    except OSError as exc:
        os.close(out)
        unlink_quietly(path)  # never leave a partial object behind
        raise os_error(exc, path) from exc
    os.close(out)


def copy_hashing(src: int, out: int, part: int) -> list[bytes]:
    """Copy ``src`` to ``out`` while the ``part``-byte parts hash in two threads; returns the
    parts' SHA-256 digests. A small ring of reused part buffers (filled with readv) keeps
    memory bounded and avoids allocating, faulting in and freeing a fresh buffer per part."""
    ring = [bytearray(part) for _ in range(RING)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures: list[Future[bytes]] = []
        while True:
            slot = len(futures) % RING
            if len(futures) >= RING:
                futures[-RING].result()  # the buffer's previous part is hashed
            view = memoryview(ring[slot])[:_fill(src, ring[slot])]
            if not view:
                break
            futures.append(pool.submit(_sha256_digest, view))
            while view:
                view = view[os.write(out, view):]
        return [f.result() for f in futures]


def unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _fill(fd: int, buf: bytearray) -> int:
    """Read into ``buf`` until it is full or the file ends; returns the bytes read."""
    view, filled = memoryview(buf), 0
    while filled < len(buf):
        got = os.readv(fd, [view[filled:]])
        if not got:
            break
        filled += got
    return filled


def _sha256_digest(data: memoryview) -> bytes:
    return hashlib.sha256(data).digest()
