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

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO swapped in for a walked file must not hang the open (no effect on files)
READ_FLAGS = os.O_RDONLY | _NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_NONBLOCK", 0)


class TreeReader:
    """Opens files under ``root`` given by path (``f"{root}/{key}"``); a context manager that
    closes the folders it holds (at most ``max_open`` at a time) on exit.

    :meth:`open` raises the ``OSError`` of the failing ``openat``: ``ELOOP`` or ``ENOTDIR``
    when the file or a folder on the way is a symbolic link (or not a folder), ``ENOENT``
    when it is gone. Several threads may share a reader only if one of them opens."""

    def __init__(self, root: Path | str, max_open: int = 64) -> None:
        self.root = str(root)
        self._prefix = self.root.rstrip("/") + "/"
        self._max_open = max(1, max_open)
        self._folders: dict[str, int] = {}  # 'a/b' -> descriptor, oldest first
        self._root_fd = os.open(self.root, _DIR_FLAGS)

    def __enter__(self) -> TreeReader:
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

    def open(self, path: str | os.PathLike[str]) -> int:
        """A read-only descriptor of the file at ``path``, which lies under the root."""
        text = os.fspath(path)
        if not text.startswith(self._prefix):
            raise ValueError(f"{text} is not under {self.root}")
        folder, _, name = text[len(self._prefix):].rpartition("/")
        parent = self._folder(folder) if folder else self._root_fd
        return os.open(name, READ_FLAGS, dir_fd=parent)

    def _folder(self, folder: str) -> int:
        fd = self._folders.get(folder)
        if fd is not None:
            return fd
        above, _, part = folder.rpartition("/")
        parent = self._folder(above) if above else self._root_fd
        fd = os.open(part, _DIR_FLAGS, dir_fd=parent)
        if len(self._folders) >= self._max_open:  # the oldest: a walk goes folder by folder
            os.close(self._folders.pop(next(iter(self._folders))))
        self._folders[folder] = fd
        return fd
