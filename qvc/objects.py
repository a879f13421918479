"""The local content-addressed object store under ``.qvc/objects/``.

An object is named by the hex digest of its ``sha2-256-chunked`` hash (legacy ``SHA256``
objects live under ``objects/sha256/``). Objects are written once to a temp name, renamed into
place, and made read-only; they are never modified, so every manifest that points at one stays
valid whatever happens to the work tree. Objects are made durable in one batch
(:meth:`ObjectStore.sync`) before anything that references them is written.
"""

from __future__ import annotations

import errno
import itertools
import os
import stat
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

from qvc.errors import CorruptObject, PathError
from qvc.fileio import os_error, sync_written
from qvc.hashing import CHUNKED, LEGACY_SHA256, Hash, StreamHasher, chunk_size, combine

SMALL = 8 * 1024 * 1024
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class FileStat(NamedTuple):
    """What the stat cache keeps of a work-tree file (a tuple: the walk makes one per file,
    and a NamedTuple is built about twice as fast as a frozen dataclass)."""

    mtime_ns: int
    ctime_ns: int
    ino: int
    size: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileStat:
        return cls(st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_size)


class ObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self._names = itertools.count()
        self.written: list[str] = []  # objects published by this process, not yet synced

    def name(self, h: Hash) -> str:
        """The object's path relative to the store root, '/'-separated (plain strings: this
        runs once per file in add and commit, where pathlib's parsing costs more than I/O)."""
        digest = h.hex
        if h.type == CHUNKED:
            return f"{digest[:2]}/{digest[2:]}"
        if h.type == LEGACY_SHA256:
            return f"sha256/{digest[:2]}/{digest[2:]}"
        return f"{h.type.lower()}/{digest}"

    def path(self, h: Hash) -> Path:
        return self.root / self.name(h)

    def has(self, h: Hash, size: int) -> bool:
        try:
            return os.stat(f"{self.root}/{self.name(h)}").st_size == size
        except FileNotFoundError:
            return False

    def _temp(self) -> tuple[int, str]:
        # the random part keeps names unique across stores in one process and across a
        # leftover of a killed process whose pid was reused
        name = f"{self.tmp}/{os.getpid()}-{next(self._names)}-{os.urandom(4).hex()}"
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444), name
        except OSError as exc:
            raise os_error(exc, self.tmp) from exc

    def _publish(self, tmp: str, h: Hash) -> None:
        final = f"{self.root}/{self.name(h)}"
        try:
            os.rename(tmp, final)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(final), exist_ok=True)
            os.rename(tmp, final)
        self.written.append(final)

    def sync(self) -> None:
        """Make every object this process published durable (before anything references it)."""
        sync_written(self.root, self.written)

    def add_file(self, source: str | os.PathLike[str]) -> tuple[Hash, FileStat]:
        """Copy a work-tree file into the store while hashing it; never follows symlinks."""
        try:
            fd = os.open(source, os.O_RDONLY | _O_NOFOLLOW)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise PathError(f"{source} is a symbolic link", "qvc tracks regular files only") from None
            raise os_error(exc, source) from exc
        try:
            before = os.fstat(fd)
            if not stat.S_ISREG(before.st_mode):
                raise PathError(f"{source} is not a regular file", "qvc tracks regular files only")
            if before.st_size <= SMALL:
                h = self._add_small(fd, before.st_size)
            else:
                h = self._add_large(fd, before.st_size)
            after = os.fstat(fd)
        except OSError as exc:
            raise os_error(exc, source) from exc
        finally:
            os.close(fd)
        if (after.st_mtime_ns, after.st_size) != (before.st_mtime_ns, before.st_size):
            raise PathError(f"{source} changed while it was being read", "run the command again")
        return h, FileStat.of(after)

    def _add_small(self, fd: int, size: int) -> Hash:
        # One read of size + 1 usually returns the whole file; the fstat check in add_file
        # catches a file that grew or shrank meanwhile, so there is no need to read to EOF.
        data = os.read(fd, size + 1) if size else b""
        while len(data) < size:
            more = os.read(fd, size + 1 - len(data))
            if not more:
                break
            data += more
        import hashlib

        h = Hash(CHUNKED, combine([hashlib.sha256(data).digest()] if data else []))
        if self.has(h, len(data)):
            return h
        out, tmp = self._temp()
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(out, view):]
        except OSError as exc:
            os.unlink(tmp)  # never leave a partial object behind
            raise os_error(exc, self.tmp) from exc
        finally:
            os.close(out)
        self._publish(tmp, h)
        return h

    def _add_large(self, fd: int, size: int) -> Hash:
        """Hash-while-copying pipeline: parts hash in parallel threads while we write."""
        import hashlib

        step = chunk_size(size)
        out, tmp = self._temp()
        try:
            with ThreadPoolExecutor(max_workers=2) as pool:
                futures = []
                while True:
                    buf = os.read(fd, step)
                    if not buf:
                        break
                    futures.append(pool.submit(lambda b: hashlib.sha256(b).digest(), buf))
                    view = memoryview(buf)
                    while view:
                        view = view[os.write(out, view):]
                    if len(futures) > 4:
                        futures[-5].result()
                digests = [f.result() for f in futures]
        except BaseException:
            os.close(out)
            os.unlink(tmp)
            raise
        os.close(out)
        h = Hash(CHUNKED, combine(digests))
        if self.has(h, size):
            os.unlink(tmp)
        else:
            self._publish(tmp, h)
        return h

    def add_verified(self, tmp_file: Path, expected: Hash, size: int) -> None:
        """Publish a downloaded file after checking it hashes to ``expected``; else raise."""
        actual = hash_path(tmp_file, expected.type)
        if actual != expected or tmp_file.stat().st_size != size:
            tmp_file.unlink()
            raise CorruptObject(f"downloaded data does not match its hash {expected.value}")
        os.chmod(tmp_file, 0o444)
        self._publish(str(tmp_file), expected)

    def verify(self, h: Hash, size: int) -> str | None:
        """None if the object is present and intact, else what is wrong with it."""
        path = self.path(h)
        if not path.exists():
            return "missing"
        if path.stat().st_size != size:
            return "wrong size"
        return None if hash_path(path, h.type) == h else "hash mismatch"

    def temp_path(self) -> Path:
        fd, name = self._temp()
        os.close(fd)
        os.chmod(name, 0o644)
        return Path(name)


def hash_path(path: Path, hash_type: str, on_bytes: Callable[[int], None] | None = None) -> Hash:
    with open(path, "rb") as f:
        hasher = StreamHasher(hash_type, os.fstat(f.fileno()).st_size)
        while block := f.read(1 << 22):
            hasher.update(block)
            if on_bytes:
                on_bytes(len(block))
    return hasher.result()
