"""Copy-on-write clones of files (reflinks), where the filesystem has them.

On XFS (``mkfs.xfs -m reflink=1``) and btrfs, the ``FICLONE`` ioctl makes the destination
share every block of the source: it takes no time and no space, and a later write to either
file gets new blocks for what it changes (the other keeps its bytes). That makes a clone a
snapshot: an object cloned from a work-tree file and hashed afterwards holds exactly the
bytes its name says, whatever happens to the work-tree file. Hard links would not: an
in-place edit of the file would change the object too.

Elsewhere (ext4, tmpfs, across filesystems) the ioctl fails with one of :data:`UNSUPPORTED`
and callers copy the bytes as before. ``FICLONE`` is used rather than ``copy_file_range``:
the latter reflinks on some kernels and filesystems and silently copies on others, so it
cannot tell a caller which one happened.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys

from qvc.sysio.fileio import atomic_write

FICLONE = 0x40049409  # _IOW(0x94, 9, int), linux/fs.h
UNSUPPORTED = frozenset({errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EINVAL,
                         errno.ENOTTY, errno.ENOSYS, errno.EPERM, errno.EBADF})
_PROBE_BYTES = 4096  # one block: some filesystems refuse to clone an empty file


def clone_fd(src: int, dst: int) -> bool:
    """Make the file open for writing at ``dst`` a reflink of the whole file at ``src``;
    False when this filesystem (or this pair of files) cannot, leaving ``dst`` unchanged.
    Other errors (a full disk, an I/O error) are raised. ``QVC_REFLINK=0`` in the
    environment turns reflinks off (copies everywhere, e.g. to compare the two)."""
    if not sys.platform.startswith("linux") or os.environ.get("QVC_REFLINK") == "0":
        return False
    import fcntl  # only on POSIX systems

    try:
        fcntl.ioctl(dst, FICLONE, src)
    except OSError as exc:
        if exc.errno in UNSUPPORTED:
            return False
        raise
    return True


def supported_kept(folder: str | os.PathLike[str], remember: str | os.PathLike[str]) -> bool:
    """:func:`supported`, the answer kept in the file ``remember`` with the filesystem it is
    for (``st_dev`` of ``folder``), so commands that ask every time (``status``) do not write
    scratch files every time. Best effort: an unreadable or stale record is probed again."""
    try:
        device = os.stat(folder).st_dev
    except OSError:
        return False
    try:
        with open(remember, encoding="ascii") as kept:
            kept_device, answer = kept.read().split()
        if int(kept_device) == device and answer in ("yes", "no"):
            return answer == "yes"
    except (OSError, ValueError, UnicodeDecodeError):
        pass
    found = supported(folder)
    with contextlib.suppress(OSError):
        os.makedirs(os.path.dirname(os.fspath(remember)), exist_ok=True)
        atomic_write(remember, f"{device} {'yes' if found else 'no'}\n".encode("ascii"))
    return found


def supported(folder: str | os.PathLike[str]) -> bool:
    """Whether files in ``folder`` can be reflinked to each other (two scratch files made
    there, cloned, and removed)."""
    base = os.path.join(folder, f".reflink-probe-{os.getpid()}-{os.urandom(4).hex()}")
    names = (base + ".a", base + ".b")
    try:
        src = os.open(names[0], os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return False
    try:
        os.write(src, b"\0" * _PROBE_BYTES)
        dst = os.open(names[1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            return clone_fd(src, dst)
        finally:
            os.close(dst)
    except OSError:
        return False
    finally:
        os.close(src)
        for name in names:
            with contextlib.suppress(OSError):
                os.unlink(name)
