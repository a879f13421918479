"""A Store over a local directory: directory registries and qvc's own ``.qvc/`` registry."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

from qvc.errors import UsageError
from qvc.quilt.hashing import LEGACY_SHA256, hash_file
from qvc.storage.base import ObjectInfo, ObjectNotFound, PreconditionFailed
from qvc.sysio.fileio import atomic_write, create_exclusive, fsync_dir, os_error
from qvc.sysio.progress import ByteProgress


def path_from_url(url: str) -> Path:
    """A local path from a plain path or a ``file://`` URL (``file://localhost/`` too)."""
    if url.startswith("file:"):
        parsed = urlparse(url)
        if parsed.netloc not in ("", "localhost") or parsed.query:
            raise UsageError(f"unsupported file URL {url!r}", "use file:///absolute/path")
        return Path(unquote(parsed.path))
    return Path(url).expanduser()


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.url = self.root.as_uri()

    @classmethod
    def from_url(cls, url: str) -> LocalStore:
        return cls(path_from_url(url))

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if key.startswith("/") or "\\" in key or any(p in ("", ".", "..") for p in parts):
            raise UsageError(f"unsafe store key {key!r}")
        return self.root / key

    def get(self, key: str, version_id: str | None = None) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectNotFound(f"not found: {self.root / key}") from None
        except OSError as exc:
            raise os_error(exc, self.root / key) from exc

    def get_to_file(
        self, key: str, dest: Path, version_id: str | None = None,
        progress: ByteProgress | None = None,
    ) -> None:
        src = self._path(key)
        try:
            shutil.copyfile(src, dest)
        except FileNotFoundError:
            raise ObjectNotFound(f"not found: {src}") from None
        if progress:
            progress(dest.stat().st_size)

    def head(self, key: str, version_id: str | None = None) -> ObjectInfo | None:
        path = self._path(key)
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        etag = _etag(path) if st.st_size <= 1 << 16 else f"{st.st_size}-{st.st_mtime_ns}"
        return ObjectInfo(size=st.st_size, etag=etag)

    def put(
        self, key: str, data: bytes, *, if_none_match: bool = False, if_match: str | None = None
    ) -> ObjectInfo:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        info = ObjectInfo(size=len(data), etag=hashlib.sha256(data).hexdigest())
        if if_none_match:
            if not create_exclusive(path, data):
                raise PreconditionFailed(f"{key} already exists")
            return info
        if if_match is None:
            atomic_write(path, data)
            return info
        with _dir_lock(path.parent):
            current = self.head(key)
            if current is None or current.etag != if_match:
                raise PreconditionFailed(f"{key} changed since it was read")
            atomic_write(path, data)
        return info

    def put_file(
        self, key: str, source: Path, *, if_none_match: bool = False,
        progress: ByteProgress | None = None,
    ) -> ObjectInfo:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
            if if_none_match:
                try:
                    os.link(tmp, path)
                except FileExistsError:
                    raise PreconditionFailed(f"{key} already exists") from None
            else:
                os.replace(tmp, path)
        except OSError as exc:
            raise os_error(exc, path) from exc
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        fsync_dir(path.parent)
        size = path.stat().st_size
        if progress:
            progress(size)
        return ObjectInfo(size=size, etag=f"{size}-{path.stat().st_mtime_ns}")

    def list(self, prefix: str) -> Iterator[str]:
        """Keys starting with ``prefix`` (a string prefix, as in S3), in sorted order."""
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        base = self._path(folder) if folder else self.root
        if not base.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            rel = Path(dirpath).relative_to(self.root).as_posix()
            for name in sorted(filenames):
                if name.startswith(".") and name.endswith(".tmp"):
                    continue
                key = name if rel == "." else f"{rel}/{name}"
                if key.startswith(prefix):
                    yield key

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        fsync_dir(path.parent)

    def physical_key(self, key: str, version_id: str | None = None) -> str:
        return (self.root / key).as_uri()


def _etag(path: Path) -> str:
    return hash_file(path, LEGACY_SHA256).value  # the SHA-256 in hex, as put() gives


class _dir_lock:
    """flock on a directory: serializes compare-and-swap writes between processes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
