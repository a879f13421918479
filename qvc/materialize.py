"""Writing package files into a work tree, and removing them, without ever following links.

Every folder on the way to a file is opened relative to its parent with ``O_NOFOLLOW``, so a
symbolic link planted anywhere in the work tree (or in a hostile manifest's key) cannot make
qvc write or delete outside it. A file is copied to a temp name in its destination folder and
renamed over the old one: readers see the old bytes or the new ones, and a symlink standing at
the destination is replaced itself, never written through.

No per-file fsync: callers write a batch and then flush once (``fileio.sync_filesystem``)
before recording anything that claims the files are there.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import stat
from pathlib import Path

from qvc.errors import PathError
from qvc.fileio import os_error
from qvc.manifest import validate_key
from qvc.objects import FileStat

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_NOFOLLOW", 0)
_names = itertools.count()


def write_entry(root: Path, key: str, source_object: Path) -> FileStat:
    """Copy ``source_object`` to ``root/key`` atomically; returns the new file's stat.

    Creates missing parent folders. Raises PathError if a parent is a symbolic link or not
    a folder, or if a folder stands where the file should go.
    """
    parts = validate_key(key).split("/")
    folder = _open_parents(root, parts[:-1], create=True)
    name = parts[-1]
    tmp = f".{name}.{os.getpid()}-{next(_names)}.qvc-tmp"
    try:
        _copy_into(folder, tmp, source_object)
        try:
            os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
        except IsADirectoryError:
            raise PathError(f"{root / key} is a folder; a file of the package goes there",
                            "move the folder away and run the command again") from None
        except OSError as exc:
            raise os_error(exc, root / key) from exc
        return FileStat.of(os.stat(name, dir_fd=folder, follow_symlinks=False))
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=folder)
        os.close(folder)


def remove_entry(root: Path, key: str) -> None:
    """Delete ``root/key`` (a missing file is fine), then its parent folders left empty.

    A symbolic link at ``key`` is removed itself; a link among the parents raises PathError.
    """
    parts = validate_key(key).split("/")
    folders = [os.open(root, _DIR_FLAGS)]
    try:
        for part in parts[:-1]:
            try:
                folders.append(_open_child(folders[-1], part, root))
            except FileNotFoundError:
                return
        try:
            os.unlink(parts[-1], dir_fd=folders[-1])
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise os_error(exc, root / key) from exc
        for depth in range(len(parts) - 1, 0, -1):
            try:
                os.rmdir(parts[depth - 1], dir_fd=folders[depth - 1])
            except OSError:
                break  # not empty (or gone): the folders above are not empty either
    finally:
        for fd in folders:
            os.close(fd)


def _open_parents(root: Path, parts: list[str], create: bool) -> int:
    """A descriptor of ``root/parts...``, each component opened without following links."""
    try:
        fd = os.open(root, _DIR_FLAGS)
    except OSError as exc:
        raise os_error(exc, root) from exc
    for part in parts:
        try:
            child = _open_child(fd, part, root)
        except FileNotFoundError:
            if not create:
                os.close(fd)
                raise
            with contextlib.suppress(FileExistsError):  # created concurrently: re-checked below
                os.mkdir(part, 0o777, dir_fd=fd)
            child = _open_child(fd, part, root)
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
        fd = child
    return fd


def _open_child(parent: int, part: str, root: Path) -> int:
    try:
        return os.open(part, _DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            kind = "symbolic link" if _is_link(parent, part) else "file, not a folder"
            raise PathError(f"'{part}' on the way to a file in {root} is a {kind}",
                            "qvc never writes through links; move it away and try again") from None
        if exc.errno == errno.ENOENT:
            raise
        raise os_error(exc, root / part) from exc


def _is_link(parent: int, part: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(part, dir_fd=parent, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _copy_into(folder: int, name: str, source: Path) -> None:
    out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                  0o666, dir_fd=folder)
    try:
        with open(source, "rb") as src:
            size = os.fstat(src.fileno()).st_size
            _copy_fd(src.fileno(), out, size)
    except OSError as exc:
        raise os_error(exc, source) from exc
    finally:
        os.close(out)


def _copy_fd(src: int, out: int, size: int) -> None:
    """Kernel-side copy (reflink where the filesystem can), falling back to read/write."""
    offset = 0
    try:
        while offset < size:
            sent = os.sendfile(out, src, offset, min(size - offset, 1 << 30))
            if sent == 0:
                break
            offset += sent
        return
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
            raise
    os.lseek(src, offset, os.SEEK_SET)
    while block := os.read(src, 1 << 20):
        view = memoryview(block)
        while view:
            view = view[os.write(out, view):]
