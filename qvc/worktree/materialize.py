"""Writing package files into a work tree, and removing them, without ever following links.

Every folder on the way to a file is opened relative to its parent with ``O_NOFOLLOW``, so a
symbolic link planted anywhere in the work tree (or in a hostile manifest's key) cannot make
qvc write or delete outside it. :class:`TreeWriter` keeps those folder descriptors open across
a batch, so a file in an already opened folder costs one ``openat`` + ``write`` + ``close``.

Two ways to put a file at its name:

* a name nobody holds is created in place with ``O_CREAT | O_EXCL | O_NOFOLLOW``
  (:meth:`TreeWriter.write`, and :meth:`TreeWriter.copy` when asked): ``O_EXCL`` never follows
  a link nor opens anything that exists, so nothing but our own new file is touched. A crash
  can leave that file short; callers record files as done (index, HEAD) only after the batch,
  so a short file is seen as not matching;
* a name already taken (a file, a link, a folder) gets a temp file in the same folder renamed
  over it: readers see the old bytes or the new ones, and a symbolic link standing there is
  replaced itself, never written through. :func:`write_entry` always takes this way.

No per-file fsync: callers write a batch and then flush once (``fileio.sync_filesystem``)
before recording anything that claims the files are there. :class:`BackgroundWriter` runs a
TreeWriter on a thread of its own, so files can be written while other threads download.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import queue
import stat
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Generic, TypeVar

from qvc.errors import PathError, QvcError
from qvc.quilt.manifest import validate_key
from qvc.sysio import reflink
from qvc.sysio.fileio import os_error
from qvc.sysio.filestat import FileStat
from qvc.worktree.ignore import TEMP_SUFFIX, temp_pid
from qvc.worktree.treeread import FolderCache

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW
_names = itertools.count()
T = TypeVar("T")


class TreeWriter(FolderCache):
    """Writes files under ``root``, opening each folder once; a context manager that closes
    the folders it holds (at most ``max_open`` at a time) on exit. Not for use by two threads.

    Raises PathError if a folder on the way is a symbolic link or not a folder, or if a folder
    stands where a file should go; other OSErrors become the matching QvcError.
    """

    def __init__(self, root: Path, max_open: int = 64) -> None:
        self.root = root
        try:
            root_fd = os.open(root, _DIR_FLAGS)
        except OSError as exc:
            raise os_error(exc, root) from exc
        super().__init__(root, root_fd, max(2, max_open))

    def write(self, key: str, data: bytes) -> FileStat:
        """Put ``data`` at ``root/key``: created in place when the name is free, else through
        a temp file renamed over what stands there. Returns the new file's stat."""
        return self._put(key, lambda out: _write_fd(out, data), in_place=True)

    def copy(self, key: str, source: Path, *, in_place: bool = False) -> FileStat:
        """Copy the file ``source`` to ``root/key``: atomically (temp file, then rename), or,
        with ``in_place``, created in place when the name is free, as :meth:`write` does."""

        def fill(out: int) -> None:
            try:
                src = os.open(source, os.O_RDONLY)
            except OSError as exc:
                raise os_error(exc, source) from exc
            try:
                _copy_fd(src, out, os.fstat(src).st_size)
            except OSError as exc:
                raise os_error(exc, source) from exc
            finally:
                os.close(src)

        return self._put(key, fill, in_place)

    def _put(self, key: str, fill: Callable[[int], None], in_place: bool) -> FileStat:
        folder, name = self._parent(key)
        if not in_place:
            return self._replace(folder, name, key, fill)
        try:
            out = os.open(name, _NEW_FILE, 0o666, dir_fd=folder)
        except FileExistsError:
            return self._replace(folder, name, key, fill)
        except OSError as exc:
            raise os_error(exc, self.root / key) from exc
        try:
            fill(out)
            return FileStat.of(os.fstat(out))
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=folder)  # no short file left behind (disk full...)
            if isinstance(exc, OSError):
                raise os_error(exc, self.root / key) from exc
            raise
        finally:
            os.close(out)

    def _replace(self, folder: int, name: str, key: str, fill: Callable[[int], None]) -> FileStat:
        tmp = f".{name}.{os.getpid()}-{next(_names)}{TEMP_SUFFIX}"
        try:
            out = os.open(tmp, _NEW_FILE, 0o666, dir_fd=folder)
        except OSError as exc:
            raise os_error(exc, self.root / key) from exc
        try:
            try:
                fill(out)
            finally:
                os.close(out)
            os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
        except IsADirectoryError:
            raise PathError(f"{self.root / key} is a folder; a file of the package goes there",
                            "move the folder away and run the command again") from None
        except OSError as exc:
            raise os_error(exc, self.root / key) from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=folder)
        # after the rename: it may change the inode's ctime, which the stat cache compares
        return FileStat.of(os.stat(name, dir_fd=folder, follow_symlinks=False))

    def _parent(self, key: str) -> tuple[int, str]:
        """(descriptor of the key's folder, file name), the folder created if missing."""
        folder, _, name = validate_key(key).rpartition("/")
        return (self._folder(folder) if folder else self._root_fd), name

    def _open_child(self, parent: int, part: str, folder: str) -> int:
        """Open the folder ``part``, made if missing (a link or a file there: PathError)."""
        try:
            return _open_child(parent, part, self.root)
        except FileNotFoundError:
            try:
                os.mkdir(part, 0o777, dir_fd=parent)
            except FileExistsError:
                pass  # created concurrently: opened (and checked) below
            except OSError as exc:
                raise os_error(exc, self.root / folder) from exc
            return _open_child(parent, part, self.root)


class BackgroundWriter(Generic[T]):
    """A :class:`TreeWriter` on a thread of its own, fed by other threads through :meth:`put`,
    so files are written while those threads go on (downloading, say). One thread owns the
    writer: folders are opened once and file creates never contend with each other.

    ``write(writer, item)`` turns one item into files and returns their ``(key, stat)`` pairs.
    The first error stops the thread: :meth:`put` raises it in the producers from then on and
    :meth:`finish` in the owner. Leaving the ``with`` block on an exception drops what is still
    queued and waits for the thread, so no write races the caller's cleanup.
    """

    def __init__(self, root: Path,
                 write: Callable[[TreeWriter, T], Iterable[tuple[str, FileStat]]]) -> None:
        self.written: dict[str, FileStat] = {}
        self._write = write
        self._queue: queue.SimpleQueue[tuple[T, int] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._backlog = 0
        self._error: BaseException | None = None
        self._drop = False
        self._writer = TreeWriter(root)  # here, so an unusable root fails in the caller
        self._thread = threading.Thread(target=self._run, name="qvc-tree-writer", daemon=True)
        self._thread.start()

    @property
    def backlog(self) -> int:
        """Bytes handed to :meth:`put` and not written yet (producers may bound it)."""
        return self._backlog

    def put(self, item: T, nbytes: int = 0) -> None:
        """Queue ``item`` (holding ``nbytes`` of data) for writing; never blocks."""
        if self._error is not None:
            raise self._error
        with self._lock:
            self._backlog += nbytes
        self._queue.put((item, nbytes))

    def finish(self) -> dict[str, FileStat]:
        """Write everything queued, stop the thread; returns ``{key: stat}`` of every file."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self.written

    def __enter__(self) -> BackgroundWriter[T]:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._drop = et is not None
        self._queue.put(None)
        self._thread.join()
        self._writer.close()

    def _run(self) -> None:
        try:
            while (job := self._queue.get()) is not None:
                if self._drop:
                    continue
                for key, st in self._write(self._writer, job[0]):
                    self.written[key] = st
                with self._lock:
                    self._backlog -= job[1]
        except BaseException as exc:  # handed to the producers and the owner
            self._error = exc


def write_entry(root: Path, key: str, source_object: Path) -> FileStat:
    """Copy ``source_object`` to ``root/key`` atomically; returns the new file's stat.

    Creates missing parent folders. Raises PathError if a parent is a symbolic link or not
    a folder, or if a folder stands where the file should go.
    """
    with TreeWriter(root, max_open=2) as writer:
        return writer.copy(key, source_object)


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


def remove_stale_temps(root: Path, keys: list[str]) -> list[str]:
    """Delete those of ``keys`` (qvc temp files a walk found) whose writing process is gone:
    a killed checkout or pull left them. Returns the keys removed. Never follows a link; a
    temp file of a live process (another command writing now) is left alone."""
    removed = []
    for key in keys:
        pid = temp_pid(key.rpartition("/")[2])
        if pid is None or pid == os.getpid() or _alive(pid):
            continue
        try:
            remove_entry(root, key)
        except (OSError, QvcError):
            continue  # gone already, or behind a link now: nothing of ours to remove
        removed.append(key)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


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


def _write_fd(out: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(out, view):]


def _copy_fd(src: int, out: int, size: int) -> None:
    """A reflink where the filesystem can (qvc.sysio.reflink: the file shares the object's
    blocks until either is written), else a kernel-side copy, else read/write."""
    if reflink.clone_fd(src, out):
        return
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
        _write_fd(out, block)
