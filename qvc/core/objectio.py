"""Low-level file I/O of the object store: reading a work-tree file, writing an object and
marking it complete, and the hash-while-copy pipeline for large files."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import mmap
import os
from concurrent.futures import Future, ThreadPoolExecutor

from qvc.sysio.fileio import os_error

COMPLETE = 0o444  # the mode of a finished object, and only of a finished one
RING = 6  # part buffers in flight while copying a large file
DIRECT_ALIGN = 4096  # what direct I/O needs of buffers, offsets and lengths (at most)
_DONE: Future[None] = Future()  # a write that is not done: hashing only
_DONE.set_result(None)
_O_DIRECT = getattr(os, "O_DIRECT", 0)


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


def copy_hashing(src: int, out: int | None, part: int) -> list[bytes]:
    """Copy ``src`` to ``out`` while the ``part``-byte parts hash in two threads and a third
    writes them; returns the parts' SHA-256 digests. With ``out`` None, only hash them
    (:func:`hash_parts` reads a file that is only hashed faster).

    A small ring of reused, page-aligned part buffers (filled with readv) keeps memory bounded.
    The copy is written with direct I/O where the file system allows it (:class:`_PartWriter`):
    a new object's bytes then go from the ring to the disk without filling the page cache, so
    the copy costs neither the kernel's page allocation (which on some machines takes longer
    than the copy itself) nor a later flush of a gigabyte of dirty pages."""
    ring = [mmap.mmap(-1, part) for _ in range(RING)]
    writer = _PartWriter(out, direct=part % DIRECT_ALIGN == 0) if out is not None else None
    with ThreadPoolExecutor(2) as hashers, ThreadPoolExecutor(1) as writes:
        digests: list[Future[bytes]] = []
        written: list[Future[None]] = []
        offset = 0
        while True:
            slot = len(digests) % RING
            if len(digests) >= RING:  # the buffer's previous part is hashed and written
                digests[-RING].result()
                written[-RING].result()
            view = memoryview(ring[slot])[:_fill(src, ring[slot])]
            if not view:
                break
            digests.append(hashers.submit(_sha256_digest, view))
            written.append(writes.submit(writer.write, view, offset) if writer is not None
                           else _DONE)
            offset += len(view)
        for future in written:
            future.result()
        return [f.result() for f in digests]


READERS = 4  # threads reading and hashing parts of a file that is only hashed


def hash_parts(src: int, size: int, part: int) -> list[bytes]:
    """The SHA-256 digests of the ``part``-byte parts of the first ``size`` bytes of ``src``,
    each part read (``pread``) and hashed by one of ``READERS`` threads: several reads in
    flight keep the disk busier than one sequential reader, and both the read and the hash
    release the interpreter lock. At most ``READERS`` parts are in memory."""
    os.posix_fadvise(src, 0, size, os.POSIX_FADV_SEQUENTIAL)

    def one(offset: int) -> bytes:
        data = os.pread(src, min(part, size - offset), offset)
        if len(data) != min(part, size - offset):
            raise OSError(errno.EIO, "the file ended early: it changed while it was read")
        return hashlib.sha256(data).digest()

    with ThreadPoolExecutor(READERS, thread_name_prefix="qvc-hash") as pool:
        return list(pool.map(one, range(0, size, part)))


class _PartWriter:
    """Writes parts at their offsets, one at a time, with ``O_DIRECT`` when the file system
    takes it. Direct I/O needs aligned buffers, offsets and lengths: the ring's buffers are
    page-aligned and every part but the last is a multiple of the alignment, so only the
    last part's tail goes through the page cache. A file system that refuses direct I/O (on
    open or on a write, ``EINVAL``) gets ordinary writes; nothing else changes."""

    def __init__(self, fd: int, direct: bool) -> None:
        self.fd = fd
        self.flags = 0
        self.direct = False
        if direct and _O_DIRECT:
            import fcntl  # Linux only, like O_DIRECT

            self.flags = fcntl.fcntl(fd, fcntl.F_GETFL)
            try:
                fcntl.fcntl(fd, fcntl.F_SETFL, self.flags | _O_DIRECT)
                self.direct = True
            except OSError:
                pass

    def write(self, view: memoryview, offset: int) -> None:
        if self.direct and len(view) % DIRECT_ALIGN:
            self._buffered()
        while view:
            try:
                done = os.pwrite(self.fd, view, offset)
            except OSError as exc:
                if not (self.direct and exc.errno == errno.EINVAL):
                    raise
                self._buffered()
                continue
            view, offset = view[done:], offset + done

    def _buffered(self) -> None:
        import fcntl

        fcntl.fcntl(self.fd, fcntl.F_SETFL, self.flags)
        self.direct = False


def unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _fill(fd: int, buf: mmap.mmap) -> int:
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
