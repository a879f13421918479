"""Opening work-tree files for reading without ever following a link on the way.

A file is opened relative to its folder's descriptor, and each folder relative to its parent's,
all with ``O_NOFOLLOW`` (as :mod:`qvc.worktree.materialize` writes), so a folder swapped for a
symbolic link after the walk cannot make qvc read (and commit) a file outside the work tree:
the open fails instead. :class:`TreeReader` keeps the folders it opened, so reading the files
of one folder costs one ``openat`` each.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Self

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO swapped in for a walked file must not hang the open (no effect on files)
READ_FLAGS = os.O_RDONLY | _NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_NONBLOCK", 0)


class FolderCache:
    """Descriptors of folders under ``root``, each opened relative to its parent's with
    ``O_NOFOLLOW`` (so never through a link), at most ``max_open`` held at a time, the oldest
    closed first (work goes folder by folder). A context manager that closes them on exit.
    Subclasses say how a missing or unusable folder is handled (:meth:`_open_child`)."""

    def __init__(self, root: Path | str, root_fd: int, max_open: int) -> None:
        self._root_fd = root_fd
        self._max_open = max(1, max_open)
        self._folders: dict[str, int] = {}  # 'a/b' -> descriptor, oldest first

    def __enter__(self) -> Self:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        for fd in self._folders.values():
            os.close(fd)
        self._folders.clear()
        if self._root_fd >= 0:
            os.close(self._root_fd)
            self._root_fd = -1

    def _folder(self, folder: str) -> int:
        """The descriptor of ``folder`` ('a/b', relative to the root)."""
        fd = self._folders.get(folder)
        if fd is not None:
            return fd
        above, _, part = folder.rpartition("/")
        parent = self._folder(above) if above else self._root_fd
        fd = self._open_child(parent, part, folder)
        if len(self._folders) >= self._max_open:
            os.close(self._folders.pop(next(iter(self._folders))))
        self._folders[folder] = fd
        return fd

    def _open_child(self, parent: int, part: str, folder: str) -> int:
        """Open ``part`` in the folder ``parent`` (``folder`` is its path from the root)."""
        return os.open(part, DIR_FLAGS, dir_fd=parent)


class TreeReader(FolderCache):
    """Opens files under ``root`` given by path (``f"{root}/{key}"``); a context manager that
    closes the folders it holds (at most ``max_open`` at a time) on exit.

    :meth:`open` raises the ``OSError`` of the failing ``openat``: ``ELOOP`` or ``ENOTDIR``
    when the file or a folder on the way is a symbolic link (or not a folder), ``ENOENT``
    when it is gone. Several threads may share a reader only if one of them opens."""

    def __init__(self, root: Path | str, max_open: int = 64) -> None:
        self.root = str(root)
        self._prefix = self.root.rstrip("/") + "/"
        super().__init__(root, os.open(self.root, DIR_FLAGS), max_open)

    def open(self, path: str | os.PathLike[str]) -> int:
        """A read-only descriptor of the file at ``path``, which lies under the root."""
        text = os.fspath(path)
        if not text.startswith(self._prefix):
            raise ValueError(f"{text} is not under {self.root}")
        folder, _, name = text[len(self._prefix):].rpartition("/")
        parent = self._folder(folder) if folder else self._root_fd
        return os.open(name, READ_FLAGS, dir_fd=parent)
