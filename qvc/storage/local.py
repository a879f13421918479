"""A Store over a local directory: directory registries and qvc's own ``.qvc/`` registry."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from qvc.errors import PathError, UsageError
from qvc.quilt.hashing import LEGACY_SHA256, hash_bytes, hash_file
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
from qvc.sysio.fileio import os_error
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
        progress: ByteProgress | None = None, start: int = 0,
    ) -> None:
        with self.reader(key, version_id) as src:
            try:
                with open(dest, "r+b" if start else "wb") as out:
                    if start:
                        src.seek(start)
                        out.truncate(start)
                        out.seek(start)
                    shutil.copyfileobj(src, out, _BLOCK)
            except OSError as exc:
                raise os_error(exc, dest) from exc
        if progress:
            progress(dest.stat().st_size - start)

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
        place (under the directory's lock for compare-and-swap), all relative to the
        verified folder of the key (:meth:`_open_folder`): never through a link."""
        check_writes(if_none_match, if_match)
        path = self._path(key)
        name = path.name
        folder = self._open_folder(key, create=True)
        assert folder is not None
        tmp = f".{name}.{os.urandom(4).hex()}.tmp"  # a name list() skips (_TEMP)
        try:
            fd = os.open(tmp, _CREATE, 0o600, dir_fd=folder)
            with os.fdopen(fd, "w+b") as out:
                fill(out)
                out.flush()
                os.fsync(out.fileno())
                os.fchmod(out.fileno(), 0o644)
                st = os.fstat(out.fileno())
                info = ObjectInfo(size=st.st_size, etag=_etag_of(out, st))
            if if_none_match:
                try:
                    os.link(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
                except FileExistsError:
                    raise PreconditionFailed(f"{key} already exists") from None
            elif if_match is None:
                os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
            else:
                fcntl.flock(folder, fcntl.LOCK_EX)  # released when the folder is closed
                current = self.head(key)
                if current is None or current.etag != if_match:
                    raise PreconditionFailed(f"{key} changed since it was read")
                os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
            os.fsync(folder)
        except IsADirectoryError:
            raise _nested(key) from None
        except OSError as exc:
            raise os_error(exc, path) from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=folder)
            os.close(folder)
        return info

    def _open_folder(self, key: str, create: bool) -> int | None:
        """A descriptor of the folder holding ``key``, opened one component at a time from
        the root without following links (made as needed with ``create``, else None when
        missing). Each step is relative to the folder already verified, so a link planted
        (or swapped in while we write) inside the registry never leads a write outside;
        checking each component with lstat first would leave that race open."""
        parts = check_key(key).split("/")[:-1]
        if create:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise os_error(exc, self.root) from exc
        try:
            fd = os.open(self.root, _FOLDER)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise os_error(exc, self.root) from exc
        for depth, part in enumerate(parts):
            try:
                if create:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, dir_fd=fd)
                inner = os.open(part, _FOLDER, dir_fd=fd)
            except FileNotFoundError:
                os.close(fd)
                return None
            except OSError as exc:
                error = self._not_folder(key, "/".join(parts[:depth + 1]), fd, part, exc)
                os.close(fd)
                raise error from None
            os.close(fd)
            fd = inner
        return fd

    def _not_folder(self, key: str, at: str, fd: int, part: str, exc: OSError) -> Exception:
        try:
            mode = os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode
        except OSError:
            return os_error(exc, self.root / at)
        if stat.S_ISLNK(mode):
            return PathError(f"cannot store {key!r}: {self.root / at} is a symbolic link, and "
                             "qvc never writes through links in a folder registry",
                             "replace the link with a real folder, or use another registry")
        if not stat.S_ISDIR(mode):
            return _nested(key)
        return os_error(exc, self.root / at)

    def delete(self, key: str, version_id: str | None = None) -> None:
        path = self._path(key)
        if version_id is not None:
            return  # a directory keeps no versions: the id names nothing
        folder = self._open_folder(key, create=False)
        if folder is None:
            return
        try:
            os.unlink(path.name, dir_fd=folder)
            os.fsync(folder)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return
        except OSError as exc:
            raise os_error(exc, path) from exc
        finally:
            os.close(folder)

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
_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
_CREATE = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
_SMALL = 1 << 16  # objects up to this size have their content's hash as ETag
_TEMP = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")  # ".NAME.XXXXXXXX.tmp", as _write names them


def _etag(st: os.stat_result, path: Path) -> str:
    if st.st_size <= _SMALL:
        return hash_file(path, LEGACY_SHA256).value  # the SHA-256 in hex, as put() gives
    return f"{st.st_size}-{st.st_mtime_ns}"


def _etag_of(written: BinaryIO, st: os.stat_result) -> str:
    """:func:`_etag` of a file just written, read back through its open file."""
    if st.st_size <= _SMALL:
        written.seek(0)
        return hash_bytes(written.read(), LEGACY_SHA256).value
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
