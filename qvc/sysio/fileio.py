"""Durable local writes: temp file in the same folder, fsync, rename, fsync the folder.

Every piece of qvc's local state (index, refs, config, manifests, pointers) is written through
:func:`atomic_write`, so a reader sees the old file or the new one, never a torn one, and a
crash cannot leave a zero-length file under the final name.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import tempfile
from pathlib import Path

from qvc.errors import PathError, ResourceError


def fsync_dir(path: str | os.PathLike[str]) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _durable_temp(target: Path, data: bytes, mode: int) -> str:
    """A fsynced temp file holding ``data`` beside ``target`` (same folder: renames stay
    atomic); removed again if writing fails."""
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise os_error(exc, target.parent) from exc
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
    except BaseException as exc:
        _silent_unlink(tmp)
        if isinstance(exc, OSError):
            raise os_error(exc, target) from exc
        raise
    return tmp


def atomic_write(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` atomically and durably."""
    target = Path(path)
    tmp = _durable_temp(target, data, mode)
    try:
        os.replace(tmp, target)
    except OSError as exc:
        _silent_unlink(tmp)
        raise os_error(exc, target) from exc
    fsync_dir(target.parent)


def create_exclusive(path: str | os.PathLike[str], data: bytes) -> bool:
    """Durably create ``path`` with ``data`` unless it exists; False if it already did."""
    target = Path(path)
    tmp = _durable_temp(target, data, 0o644)
    try:
        os.link(tmp, target)
    except FileExistsError:
        return False
    except OSError as exc:  # disk full, read-only...: a clear error, not a traceback
        raise os_error(exc, target) from exc
    finally:
        _silent_unlink(tmp)
    fsync_dir(target.parent)
    return True


# the running program's own symbols, the C library's among them: no search for libc (which
# runs ldconfig in a child process on Linux)
_libc = ctypes.CDLL(None, use_errno=True)


def sync_filesystem(path: str | os.PathLike[str]) -> None:
    """Flush every dirty page of the filesystem holding ``path`` (one syscall for a batch).

    Objects are written without a per-file fsync; one ``syncfs`` before the manifest or index
    that references them gives the same ordering guarantee for the cost of one flush.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        syncfs = getattr(_libc, "syncfs", None)
        if syncfs is None or syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


SMALL_BATCH = 128


def sync_written(folder: str | os.PathLike[str], written: list[str] | None) -> None:
    """Make freshly written files (and their folder entries) durable.

    A few files are fsynced one by one, so the cost is proportional to our own data; a large
    batch (or ``None``: more than the caller cared to list) is flushed with one ``syncfs``,
    which is far cheaper than thousands of fsyncs but also waits for other programs' dirty
    data on the same filesystem. The caller clears its list afterwards.
    """
    if written is None or len(written) > SMALL_BATCH:
        sync_filesystem(folder)
        return
    for name in written:
        fd = os.open(name, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    for parent in {os.path.dirname(name) for name in written}:
        fsync_dir(parent)


def os_error(exc: OSError, path: str | os.PathLike[str]) -> Exception:
    """Turn an OSError on ``path`` into the qvc error a user can act on."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return ResourceError(
            f"no space left on device while writing {path}",
            "free some disk space and run the command again; nothing was committed",
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ResourceError(
            f"permission denied: {path}", "check the file's permissions and owner"
        )
    if exc.errno == errno.ENOENT:
        return PathError(f"no such file or directory: {path}",
                         "check the path; it may have been moved or deleted")
    if exc.errno in (errno.EEXIST, errno.ENOTDIR):
        return PathError(f"{path}: {exc.strerror or exc}",
                         "a file stands where a folder is needed, or a folder where a file "
                         "is; move it away or choose another path")
    if exc.errno == errno.ENAMETOOLONG:
        return PathError(f"file name too long: {str(path)[:80]}...",
                         "file and folder names hold at most 255 bytes; check the path")
    return ResourceError(f"{exc.strerror or exc} : {path}", "check the disk and the path")


def _silent_unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
