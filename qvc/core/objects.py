"""The local content-addressed object store under ``.qvc/objects/``.

An object is named by the hex digest of its ``sha2-256-chunked`` hash (legacy ``SHA256``
objects live under ``objects/sha256/``) and is never modified once complete, so every manifest
that points at one stays valid whatever happens to the work tree.

A small object is created directly at its final name, writable (``0o600``), and made exactly
``0o444`` by ``fchmod`` only after its last byte is written (``fchmod`` ignores the umask, so
no creation mode can pass for that mark). A writer that finds a file of another mode or size
at an object's name (a killed writer's leftover, or another writer still at work) writes its
copy aside and renames it over that file, atomically. Objects are made
durable in one batch (:meth:`ObjectStore.sync`) before anything that references them is
written.
"""

from __future__ import annotations

import base64
import errno
import functools
import hashlib
import itertools
import os
import stat
from collections.abc import Callable
from pathlib import Path

from qvc.core.objectio import (
    COMPLETE,
    copy_hashing,
    hash_parts,
    is_complete,
    read_small,
    unlink_quietly,
    write_complete,
)
from qvc.errors import CorruptObject, PathError
from qvc.quilt.hashing import (
    CHUNKED,
    KNOWN_TYPES,
    LEGACY_SHA256,
    Hash,
    chunk_size,
    combine,
    hash_bytes,
    hash_file,
)
from qvc.sysio import forking, reflink
from qvc.sysio.fileio import SMALL_BATCH, os_error, sync_filesystem, sync_written
from qvc.sysio.filestat import FileStat
from qvc.worktree.treeread import READ_FLAGS

SMALL = 8 * 1024 * 1024
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW
Opener = Callable[[str], int]  # a path to a read-only descriptor, raising OSError


class FileGone(PathError):
    """A file found by a walk is no longer a regular file reachable without links (deleted,
    or it or a folder on its way replaced by a link): it is simply not there."""

    default_hint = "run the command again"


def open_read(path: str) -> int:
    """The default :data:`Opener`: by path, never following a link at the file itself."""
    return os.open(path, READ_FLAGS)


class ObjectStore:
    def __init__(self, root: Path, stamps: Path | None = None) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.stamps = stamps  # where :meth:`stamp` records verified large objects (None: not)
        self._names = itertools.count()
        # objects created by this process and not yet synced; None once there are too many
        # to fsync one by one (then one syncfs covers them all, and we keep no list)
        self._written: list[str] | None = []
        self._flusher: forking.Child | None = None

    def name(self, h: Hash) -> str:
        """The object's path relative to the store root, '/'-separated (plain strings: this
        runs once per file in add and commit, where pathlib's parsing costs more than I/O)."""
        digest = _digest(h)
        if h.type == CHUNKED:
            return _fan_out(digest)
        if h.type == LEGACY_SHA256:
            return f"sha256/{_fan_out(digest)}"
        return f"{h.type.lower()}/{digest}"

    def path(self, h: Hash) -> Path:
        return self.root / self.name(h)

    def has(self, h: Hash, size: int) -> bool:
        """True if the object is present with ``size`` bytes. Readers re-hash what they must
        trust (a damaged object is then reported as corrupt, not as missing); writers also
        require the complete mode before they skip a write."""
        try:
            return os.stat(f"{self.root}/{self.name(h)}").st_size == size
        except FileNotFoundError:
            return False

    def sync(self) -> None:
        """Make every object this process wrote durable (before anything references it)."""
        sync_written(self.root, self._written)
        self._written = []
        if self._flusher is not None:
            forking.collect(self._flusher)  # long done, or done with the same writeback
            self._flusher = None

    def flush_soon(self) -> None:
        """Start writing what is written so far to disk, in a forked process, so the kernel's
        writeback (CPU time that grows with the number of objects) overlaps the work that follows
        instead of all of it waiting in :meth:`sync`, which still makes everything durable
        itself."""
        if self._flusher is not None:
            if not forking.finished(self._flusher):
                return  # still flushing: it will take in much of what came since
            forking.collect(self._flusher)
        self._flusher = None
        if forking.allowed():
            self._flusher = forking.fork(functools.partial(_flush, str(self.root)))

    def written_elsewhere(self) -> None:
        """Other processes wrote objects here: the next :meth:`sync` flushes the whole file
        system (one ``syncfs``), since this process has no list of them."""
        self._written = None

    def _note_written(self, final: str) -> None:
        written = self._written
        if written is not None:
            written.append(final)  # list.append is atomic: writer threads share the list
            if len(written) > SMALL_BATCH:
                self._written = None

    def add_file(
        self, source: str | os.PathLike[str], walked: FileStat | None = None
    ) -> tuple[Hash, FileStat]:
        """Copy a work-tree file into the store while hashing it; never follows symlinks.
        ``walked`` is the file's stat from a walk just before: when it still holds after the
        read, the read saw that version and the stat before the read can be skipped."""
        h, st, small = self.read_file(source, walked)
        if small is not None:
            self.store_small(*small)
        return h, st

    def read_file(
        self, source: str | os.PathLike[str], walked: FileStat | None,
        opener: Opener = open_read,
    ) -> tuple[Hash, FileStat, tuple[str, bytes] | None]:
        """(hash, stat, small) of a work-tree file: a large one is stored here (small is
        None); a small one is returned as (object path, bytes) for the caller to store.
        ``opener`` opens ``source`` (a :class:`qvc.worktree.treeread.TreeReader` opens it
        through verified folders). A file from a walk (``walked`` given) that is gone or is
        now reached through a link raises :class:`FileGone`."""
        try:
            fd = opener(os.fspath(source))
        except OSError as exc:
            if walked is not None and exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
                raise FileGone(f"{source} is gone") from None
            if exc.errno == errno.ELOOP:
                raise PathError(f"{source} is a symbolic link",
                                "qvc tracks regular files only") from None
            raise os_error(exc, source) from exc
        try:
            if walked is not None and walked.size <= SMALL:
                data = read_small(fd, walked.size)
                after = os.fstat(fd)
                if stat.S_ISREG(after.st_mode) and FileStat.of(after) == walked:
                    h, final = self._small_name(data)
                    return h, walked, (final, data)
                os.lseek(fd, 0, os.SEEK_SET)  # changed since the walk: start again
            return self._read_open(fd, source)
        except OSError as exc:
            raise os_error(exc, source) from exc
        finally:
            os.close(fd)

    def _read_open(
        self, fd: int, source: str | os.PathLike[str]
    ) -> tuple[Hash, FileStat, tuple[str, bytes] | None]:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise PathError(f"{source} is not a regular file", "qvc tracks regular files only")
        small = None
        if before.st_size <= SMALL:
            data = read_small(fd, before.st_size)
            h, final = self._small_name(data)
            small = (final, data)
            after = _unchanged(fd, before, source)
        else:
            h, after = self._add_large(fd, before, source)
        return h, FileStat.of(after), small

    def _small_name(self, data: bytes) -> tuple[Hash, str]:
        """A small object's hash and path: known before anything is written, so the object is
        created directly at its final name (no temp file and rename: a third fewer
        file-system operations)."""
        digest = hashlib.sha256(hashlib.sha256(data).digest() if data else b"").digest()
        return (Hash(CHUNKED, base64.b64encode(digest).decode()),
                f"{self.root}/{_fan_out(digest.hex())}")

    def store_small(self, final: str, data: bytes) -> None:
        """Create the object in place; if a file that is not a complete object is already
        there (a killed writer's leftover, or another writer at work on the same content),
        write ours aside and rename it over that file, which is atomic: however many
        writers race for one object, the name ends up holding a complete one."""
        for _ in range(2):
            try:
                out = os.open(final, _CREATE, 0o600)
            except FileNotFoundError:
                try:
                    self._make_folder(os.path.dirname(final))
                except OSError as exc:  # a read-only store, say
                    raise os_error(exc, final) from exc
                continue
            except FileExistsError:
                if not is_complete(final, len(data)):
                    self._store_aside(data, final)
                return
            except OSError as exc:
                raise os_error(exc, final) from exc
            write_complete(out, data, final)
            self._note_written(final)
            return
        raise os_error(OSError(errno.ENOENT, "cannot create the object's folder"), final)

    def _make_folder(self, folder: str) -> None:
        """Create the fan-out folder ``folder`` (and ``sha256/`` above it) on first use, and
        list it with the objects to sync: its own entry must be as durable as theirs."""
        os.makedirs(folder, exist_ok=True)
        root = str(self.root)
        while folder.startswith(root + "/"):
            self._note_written(folder)
            folder = os.path.dirname(folder)

    def _temp(self) -> tuple[int, str]:
        # the random part keeps names unique across stores in one process and across a
        # leftover of a killed process whose pid was reused
        name = f"{self.tmp}/{os.getpid()}-{next(self._names)}-{os.urandom(4).hex()}"
        try:
            try:
                return os.open(name, _CREATE, 0o600), name
            except FileNotFoundError:  # the store (or its tmp folder) was deleted: remake it
                os.makedirs(self.tmp, exist_ok=True)
                return os.open(name, _CREATE, 0o600), name
        except OSError as exc:
            raise os_error(exc, self.tmp) from exc

    def _store_aside(self, data: bytes, final: str) -> None:
        """Write ``data`` to a temp file, mark it complete and rename it to ``final``."""
        out, tmp = self._temp()
        write_complete(out, data, tmp)
        self._place(tmp, final)

    def _publish(self, tmp: str, h: Hash) -> None:
        """Rename a complete (mode 0o444) temp file to its object name."""
        self._place(tmp, f"{self.root}/{self.name(h)}")

    def _place(self, tmp: str, final: str) -> None:
        try:
            try:
                os.rename(tmp, final)
            except FileNotFoundError:
                self._make_folder(os.path.dirname(final))
                os.rename(tmp, final)
        except OSError as exc:
            unlink_quietly(tmp)
            raise os_error(exc, final) from exc
        self._note_written(final)

    def _add_large(self, fd: int, before: os.stat_result, source: str | os.PathLike[str]
                   ) -> tuple[Hash, os.stat_result]:
        """Reflink the file to a temp file and hash that snapshot (qvc.sysio.reflink), or,
        where the filesystem cannot, copy it while the parts hash (:func:`copy_hashing`);
        then publish, unless the file changed meanwhile. On every failure the temp file is
        removed: a file that keeps growing would otherwise leave a full-size copy behind on
        each try."""
        size = before.st_size
        out, tmp = self._temp()
        try:
            try:
                if reflink.clone_fd(fd, out):
                    h = hash_large(tmp, CHUNKED, size)  # the clone: it cannot change
                else:
                    h = Hash(CHUNKED, combine(copy_hashing(fd, out, chunk_size(size))))
                os.fchmod(out, COMPLETE)
            finally:
                os.close(out)
            after = _unchanged(fd, before, source)
        except BaseException:
            unlink_quietly(tmp)
            raise
        if is_complete(f"{self.root}/{self.name(h)}", size):
            os.unlink(tmp)
        else:
            self._publish(tmp, h)
            self.stamp(h)
        return h, after

    def add_verified(self, tmp_file: Path, expected: Hash, size: int) -> None:
        """Publish a downloaded file after checking it hashes to ``expected``; else raise.
        The temp file is removed on every failure."""
        try:
            actual = hash_file(tmp_file, expected.type)
            if actual != expected or tmp_file.stat().st_size != size:
                raise CorruptObject(f"downloaded data does not match its hash {expected.value}")
            os.chmod(tmp_file, COMPLETE)
        except BaseException as exc:
            unlink_quietly(str(tmp_file))
            if isinstance(exc, OSError):
                raise os_error(exc, tmp_file) from exc
            raise
        self._publish(str(tmp_file), expected)
        if size > SMALL:
            self.stamp(expected)

    def add_verified_bytes(self, data: bytes, expected: Hash) -> None:
        """Publish downloaded bytes after checking they hash to ``expected``; else raise
        CorruptObject. Meant for small objects: a ``sha2-256-chunked`` one of at most
        ``SMALL`` bytes is created at its final name, with no temp file to rename."""
        if hash_bytes(data, expected.type) != expected:
            raise CorruptObject(f"downloaded data does not match its hash {expected.value}")
        if expected.type == CHUNKED and len(data) <= SMALL:
            self.store_small(f"{self.root}/{self.name(expected)}", data)  # hashed just above
            return
        self._store_aside(data, f"{self.root}/{self.name(expected)}")

    def verify(self, h: Hash, size: int) -> str | None:
        """None if the object is present and intact, else what is wrong with it."""
        path = self.path(h)
        if not path.exists():
            return "missing"
        if path.stat().st_size != size:
            return "wrong size"
        return None if hash_file(path, h.type) == h else "hash mismatch"

    # verification stamps --------------------------------------------------------------------

    def stamp(self, h: Hash) -> None:
        """Record that the object of ``h`` was just found to hash to its name: its inode,
        size, mtime and ctime, in a small file of the stamps folder. Any later change to the
        object through the file system (a write, a truncation, a chmod, a rename over it)
        sets its ctime, which no call can set back, so :meth:`vouched` then fails. Best
        effort: a stamp that cannot be written only costs a re-hash later."""
        if self.stamps is None:
            return
        try:
            st = os.lstat(f"{self.root}/{self.name(h)}")
            record = f"{st.st_ino} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns}\n".encode()
            name = f"{self.stamps}/{_digest(h)}"
            tmp = f"{name}.{os.getpid()}-{os.urandom(4).hex()}"
            try:
                out = os.open(tmp, _CREATE, 0o600)
            except FileNotFoundError:
                os.makedirs(self.stamps, exist_ok=True)
                out = os.open(tmp, _CREATE, 0o600)
            try:
                os.write(out, record)
            finally:
                os.close(out)
            os.rename(tmp, name)
        except OSError:
            return

    def vouched(self, h: Hash, size: int) -> bool:
        """Whether the object is unchanged since a :meth:`stamp` recorded it verified: same
        inode, size, mode, mtime and ctime. A change in the clock tick of the recorded ctime
        could keep that ctime (git's racy-clean case), so the stamp must also be younger
        than that ctime, or the data older (mtime before ctime: a write in that tick would
        have moved the mtime). It does not re-read the data: the disk returning other bytes
        than it stored is for ``qvc verify`` to find (docs/design.md, "Checkout")."""
        if self.stamps is None:
            return False
        name = f"{self.stamps}/{_digest(h)}"
        try:
            with open(name, "rb") as f:
                fields = f.read(200).split()
            stamped = os.stat(name)
            st = os.lstat(f"{self.root}/{self.name(h)}")  # a link is never an object
        except OSError:
            return False
        if len(fields) != 4 or not all(x.isdigit() for x in fields):
            return False
        ino, nbytes, mtime, ctime = (int(x) for x in fields)
        return (st.st_size == size == nbytes and stat.S_ISREG(st.st_mode)
                and st.st_mode & 0o7777 == COMPLETE
                and (st.st_ino, st.st_mtime_ns, st.st_ctime_ns) == (ino, mtime, ctime)
                and (ctime < stamped.st_mtime_ns or mtime < ctime))

    def temp_path(self) -> Path:
        fd, name = self._temp()
        os.close(fd)
        os.chmod(name, 0o644)
        return Path(name)


def hash_large(path: str | os.PathLike[str], hash_type: str, size: int) -> Hash:
    """:func:`hash_file` of a large file of ``size`` bytes, its parts read and hashed by
    several threads (:func:`hash_parts`); a file of another size gets the hash of what it
    holds, which then differs from any name it should have."""
    if hash_type != CHUNKED:
        return hash_file(path, hash_type)
    fd = os.open(path, os.O_RDONLY)
    try:
        if os.fstat(fd).st_size != size:
            return hash_file(path, hash_type)
        return Hash(CHUNKED, combine(hash_parts(fd, size, chunk_size(size))))
    finally:
        os.close(fd)


def _unchanged(fd: int, before: os.stat_result, source: str | os.PathLike[str]
               ) -> os.stat_result:
    """The open file's stat after reading it; PathError if it changed since ``before``."""
    after = os.fstat(fd)
    if (after.st_mtime_ns, after.st_size) != (before.st_mtime_ns, before.st_size):
        raise PathError(f"{source} changed while it was being read", "run the command again")
    return after


def _flush(root: str) -> bytes:
    sync_filesystem(root)
    return b""


def _digest(h: Hash) -> str:
    """``h.hex``, refused unless it is plain hex of a known type: an object name never holds
    '/', '.' or anything else that could lead out of the store (manifests are checked when
    parsed; this holds for hashes from anywhere else too)."""
    try:
        digest = h.hex if h.type in KNOWN_TYPES else ""
    except ValueError:  # not base64 (binascii.Error is a ValueError)
        digest = ""
    if len(digest) not in (16, 64) or not (digest.isascii() and digest.isalnum()):
        raise CorruptObject(f"{h.type!r} hash value {h.value[:40]!r} cannot name an object",
                            "run 'qvc verify' to check the repository")
    return digest


def _fan_out(hex_digest: str) -> str:
    return f"{hex_digest[:2]}/{hex_digest[2:]}"


