"""A Store over a local directory: directory registries and qvc's own ``.qvc/`` registry."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from qvc.errors import PathError, UsageError
from qvc.quilt.hashing import LEGACY_SHA256, hash_file
from qvc.storage.base import (
    Capabilities,
    MultipartUpload,
    ObjectInfo,
    ObjectNotFound,
    PreconditionFailed,
    check_key,
    check_writes,
    is_valid_key,
)
from qvc.sysio.fileio import fsync_dir, os_error
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
    """A directory: a key is the file at that relative path (see :class:`Store`).

    Its ETag is the SHA-256 of the content up to 64 KiB, else size and modification time.
    The root is made on the first write. A directory cannot hold both ``a`` and ``a/b``:
    writing one while the other exists raises PathError.
    """

    capabilities = Capabilities(multipart=False, conditional_writes=True, remote=False)

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.url = self.root.as_uri()
        self._real_folders: dict[str, str] = {}  # folder -> its realpath (see key_for)

    @classmethod
    def from_url(cls, url: str) -> LocalStore:
        return cls(path_from_url(url))

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    # reading ---------------------------------------------------------------------------------

    def get(self, key: str, version_id: str | None = None) -> bytes:
        with self.reader(key, version_id) as f:
            return f.read()

    def reader(self, key: str, version_id: str | None = None) -> BinaryIO:
        path = self._path(key)
        if version_id is not None:
            raise ObjectNotFound(f"not found: {path} (version {version_id})")
        try:
            return open(path, "rb")  # noqa: SIM115 (the caller closes it)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ObjectNotFound(f"not found: {path}") from None
        except OSError as exc:
            raise os_error(exc, path) from exc

    def get_to_file(
        self, key: str, dest: Path, version_id: str | None = None,
        progress: ByteProgress | None = None,
    ) -> None:
        with self.reader(key, version_id) as src:
            try:
                with open(dest, "wb") as out:
                    shutil.copyfileobj(src, out, _BLOCK)
            except OSError as exc:
                raise os_error(exc, dest) from exc
        if progress:
            progress(dest.stat().st_size)

    def head(self, key: str, version_id: str | None = None) -> ObjectInfo | None:
        path = self._path(key)
        if version_id is not None:
            return None
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if stat.S_ISDIR(st.st_mode):
            return None
        return ObjectInfo(size=st.st_size, etag=_etag(st, path))

    def list(self, prefix: str) -> Iterator[str]:
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        if folder and not is_valid_key(folder):
            return iter(())  # no key starts with an invalid folder
        return _walk(self.root / folder if folder else self.root, folder, prefix)

    # writing ---------------------------------------------------------------------------------

    def put(
        self, key: str, data: bytes, *, if_none_match: bool = False, if_match: str | None = None
    ) -> ObjectInfo:
        return self._write(key, lambda out: out.write(data), if_none_match, if_match)

    def put_file(
        self, key: str, source: Path, *, if_none_match: bool = False,
        progress: ByteProgress | None = None,
    ) -> ObjectInfo:
        size = source.stat().st_size

        def copy(out: BinaryIO) -> None:
            with open(source, "rb") as src:
                shutil.copyfileobj(src, out, _BLOCK)

        info = self._write(key, copy, if_none_match, None)
        if info.size != size:
            raise PathError(f"{source} changed while it was being copied",
                            "run the command again once the file is stable")
        if progress:
            progress(size)
        return info

    def _write(self, key: str, fill: Callable[[BinaryIO], object], if_none_match: bool,
               if_match: str | None) -> ObjectInfo:
        """Fill a temp file beside the key, then link it (create-only) or rename it into
        place (under the directory's lock for compare-and-swap)."""
        check_writes(if_none_match, if_match)
        path = self._path(key)
        self._make_parent(key, path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                fill(out)
                out.flush()
                os.fsync(out.fileno())
                os.fchmod(out.fileno(), 0o644)
                st = os.fstat(out.fileno())
            info = ObjectInfo(size=st.st_size, etag=_etag(st, Path(tmp)))
            if if_none_match:
                try:
                    os.link(tmp, path)
                except FileExistsError:
                    raise PreconditionFailed(f"{key} already exists") from None
            elif if_match is None:
                os.replace(tmp, path)
            else:
                with _dir_lock(path.parent):
                    current = self.head(key)
                    if current is None or current.etag != if_match:
                        raise PreconditionFailed(f"{key} changed since it was read")
                    os.replace(tmp, path)
        except IsADirectoryError:
            raise _nested(key) from None
        except OSError as exc:
            raise os_error(exc, path) from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        fsync_dir(path.parent)
        return info

    def _make_parent(self, key: str, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise _nested(key) from None
        except OSError as exc:
            raise os_error(exc, path.parent) from exc

    def delete(self, key: str, version_id: str | None = None) -> None:
        path = self._path(key)
        if version_id is not None:
            return  # a directory keeps no versions: the id names nothing
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return
        except OSError as exc:
            raise os_error(exc, path) from exc
        fsync_dir(path.parent)

    # physical keys and what a directory lacks ------------------------------------------------

    def physical_key(self, key: str, version_id: str | None = None) -> str:
        path = self._path(key)
        if version_id is not None:
            raise UsageError(f"a directory store keeps no versions, not {version_id!r}")
        return path.as_uri()

    def key_for(self, physical_key: str) -> tuple[str, str | None] | None:
        """The file's path is resolved first ('.', '..', '//', symlinks): a physical key
        counts if the file it names is in this directory."""
        if not physical_key.startswith("file://") or urlparse(physical_key).query:
            return None
        try:
            target = self._realpath(str(path_from_url(physical_key)))
        except UsageError:
            return None
        root = self._real_folder(str(self.root))
        if os.path.commonpath([root, target]) != root or target == root:
            return None
        key = Path(os.path.relpath(target, root)).as_posix()
        return (key, None) if is_valid_key(key) else None

    def _realpath(self, path: str) -> str:
        """``os.path.realpath(path)``, each folder resolved once per store: a manifest's
        thousands of keys share a few folders, and resolving one costs an lstat per
        component. The last component is looked at on every call."""
        folder, name = os.path.split(path)
        if name in ("", ".", ".."):
            return os.path.realpath(path)
        candidate = os.path.join(self._real_folder(folder), name)
        return os.path.realpath(candidate) if os.path.islink(candidate) else candidate

    def _real_folder(self, folder: str) -> str:
        real = self._real_folders.get(folder)
        if real is None:
            real = self._real_folders[folder] = os.path.realpath(folder)
        return real

    def versioning_enabled(self) -> bool:
        return False

    def list_multipart_uploads(self, prefix: str) -> Iterator[MultipartUpload]:
        return iter(())

    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        check_key(key)


_BLOCK = 1 << 20
_SMALL = 1 << 16  # objects up to this size have their content's hash as ETag
_TEMP = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")  # tempfile.mkstemp(prefix=".name.", ".tmp")


def _etag(st: os.stat_result, path: Path) -> str:
    if st.st_size <= _SMALL:
        return hash_file(path, LEGACY_SHA256).value  # the SHA-256 in hex, as put() gives
    return f"{st.st_size}-{st.st_mtime_ns}"


def _walk(base: Path, folder: str, prefix: str) -> Iterator[str]:
    """Keys under ``base`` (the key ``folder``) starting with ``prefix``, in code point
    order: a subfolder ``d`` sorts as ``d/``, which is where its keys sort."""
    try:
        with os.scandir(base) as scan:
            entries = sorted((e.name + "/" if e.is_dir() else e.name, e) for e in scan)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name, entry in entries:
        key = f"{folder}/{name}" if folder else name
        if name.endswith("/"):
            if not entry.is_symlink() and (key.startswith(prefix) or prefix.startswith(key)):
                yield from _walk(Path(entry.path), key[:-1], prefix)
        elif key.startswith(prefix) and not _TEMP.fullmatch(name):
            yield key


def _nested(key: str) -> PathError:
    return PathError(f"cannot store {key!r}: a directory store cannot hold both a key and "
                     "keys under it (like 'a' and 'a/b')", "pick keys that do not nest")


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
