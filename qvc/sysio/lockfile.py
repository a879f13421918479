"""Repository lock: ``fcntl.flock`` on ``.qvc/lock``, released by the kernel if we die.

The lock file also records who holds it (pid, host, command) so a waiting user learns who is in
the way, and so a lock left behind by a killed process is recognised and reported as cleared.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType

from qvc.errors import LockHeld
from qvc.sysio.fileio import os_error

log = logging.getLogger("qvc")


class RepoLock:
    """Exclusive lock on a repository; use as a context manager."""

    def __init__(self, path: Path, timeout: float = 10.0) -> None:
        self.path = path
        self.timeout = timeout
        self._fd: int | None = None

    def __enter__(self) -> RepoLock:
        """Take the lock; LockHeld if another process keeps it past the timeout, and the
        matching QvcError (a full disk: ResourceError, exit 9) if the lock file cannot be
        opened or written."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise os_error(exc, self.path) from exc
        try:
            self._take(fd)
        except BaseException as exc:
            os.close(fd)
            if isinstance(exc, OSError):
                raise os_error(exc, self.path) from exc
            raise
        self._fd = fd
        return self

    def _take(self, fd: int) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _describe(os.pread(fd, 4096, 0))
                    raise LockHeld(f"the repository is locked by {holder}") from None
                time.sleep(0.05)
        previous = os.pread(fd, 4096, 0)
        if previous.strip():
            log.warning("cleared a stale lock left by %s (it was killed)", _describe(previous))
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time(),
                "command": " ".join(sys.argv[:3])}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _describe(raw: bytes) -> str:
    try:
        info = json.loads(raw)
        return f"pid {info['pid']} on {info['host']} ({info.get('command', '?')})"
    except (ValueError, KeyError, TypeError):
        return "another process"
