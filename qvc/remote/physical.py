"""The data a physical key names: a local file (``file://``) or an S3 object (``s3://``).

Used by the Python API to size, hash, read and copy entries wherever they live. Every read
of an entry whose hash is known is checked against it; S3 access goes through the Store of
the object's bucket (:func:`qvc.remote.remotes.open_spec_store`), so credentials and endpoints are
resolved the same way as for registries.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from qvc.errors import CorruptObject, PathError, UsageError
from qvc.quilt.hashing import CHUNKED, Hash, hash_bytes, hash_file
from qvc.quilt.urls import format_s3_url, parse_s3_url, scheme
from qvc.storage import Store
from qvc.storage.local import path_from_url
from qvc.sysio.fileio import os_error

HASH_THREADS = 8


@dataclass(frozen=True)
class Located:
    """A resolved data location: its canonical physical key and size in bytes."""

    physical_key: str
    size: int


def is_s3(url: str) -> bool:
    return scheme(url) == "s3"


def local_path(physical_key: str) -> Path:
    """The local file a ``file://`` physical key (or plain path) names."""
    return path_from_url(physical_key)


def to_physical_key(path_or_url: str | os.PathLike[str]) -> str:
    """A canonical physical key: ``s3://`` URLs as given, local paths as ``file://`` URLs."""
    text = os.fspath(path_or_url)
    kind = scheme(text)
    if kind == "s3":
        return text
    if kind not in (None, "file"):
        raise UsageError(f"unsupported URL scheme in {text!r}", "use a local path or s3://bucket/key")
    return Path(os.path.realpath(local_path(text))).as_uri()


def basename(physical_key: str) -> str:
    """The file name a physical key ends with (unquoted)."""
    if is_s3(physical_key):
        return parse_s3_url(physical_key).key.rsplit("/", 1)[-1]
    return local_path(physical_key).name


def _s3_store(bucket: str) -> Store:
    """The bucket's store; it shares its S3 client with every store connecting the same way."""
    from qvc.remote.remotes import RemoteSpec, open_spec_store

    return open_spec_store(RemoteSpec(None, f"s3://{bucket}"))


def locate(path_or_url: str | os.PathLike[str]) -> Located:
    """Check that a file or S3 object exists; pin the current S3 version when there is one."""
    key = to_physical_key(path_or_url)
    if not is_s3(key):
        path = local_path(key)
        try:
            st = os.stat(path)
        except OSError as exc:
            raise os_error(exc, path) from exc
        if not stat.S_ISREG(st.st_mode):
            raise PathError(f"{path} is not a regular file", "packages hold regular files only")
        return Located(key, st.st_size)
    url = parse_s3_url(key)
    info = _s3_store(url.bucket).head(url.key, url.version_id)
    if info is None:
        raise PathError(f"no such S3 object: {key}", "check the bucket, key and version")
    version = url.version_id or (info.version_id if info.version_id not in (None, "null") else None)
    return Located(format_s3_url(url.bucket, url.key, version), info.size)


def list_prefix(prefix_url: str) -> Iterator[tuple[str, Located]]:
    """(key relative to the prefix, location) of every object under an ``s3://`` prefix.

    Keys ending in '/' (folder markers) are skipped, as quilt3 does.
    """
    url = parse_s3_url(prefix_url)
    if url.version_id is not None:
        raise UsageError("a folder has no version", f"drop ?versionId from {prefix_url}")
    prefix = url.key if not url.key or url.key.endswith("/") else url.key + "/"
    store = _s3_store(url.bucket)
    from qvc.storage.s3 import S3Store  # boto3 is imported only when S3 is used

    if isinstance(store, S3Store):
        from qvc.storage.s3copy import listed_sizes

        sizes = listed_sizes(store, prefix)
        if sizes is not None:  # never versioned: the listing says all, no HEAD per object
            for key, size in sizes:
                if not key.endswith("/"):
                    yield key[len(prefix):], Located(format_s3_url(url.bucket, key), size)
            return
    keys = [key for key in store.list(prefix) if not key.endswith("/")]
    # one HEAD per object (its version): many at once, or a large prefix takes minutes
    with ThreadPoolExecutor(max_workers=HASH_THREADS * 2) as pool:
        infos = list(pool.map(store.head, keys))
    for key, info in zip(keys, infos, strict=True):
        if info is None:
            continue  # deleted between listing and head
        version = info.version_id if info.version_id not in (None, "null") else None
        yield key[len(prefix):], Located(format_s3_url(url.bucket, key, version), info.size)


def copy_to_file(physical_key: str, dest: Path) -> None:
    """Copy the data to the local file ``dest`` (created or replaced)."""
    if is_s3(physical_key):
        url = parse_s3_url(physical_key)
        _s3_store(url.bucket).get_to_file(url.key, dest, url.version_id)
        return
    source = local_path(physical_key)
    try:
        shutil.copyfile(source, dest)
    except OSError as exc:
        raise os_error(exc, source) from exc


def read_bytes(physical_key: str, expected: Hash | None = None) -> bytes:
    """The whole object, checked against ``expected`` when given."""
    if is_s3(physical_key):
        url = parse_s3_url(physical_key)
        data = _s3_store(url.bucket).get(url.key, url.version_id)
    else:
        path = local_path(physical_key)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise os_error(exc, path) from exc
    if expected is not None and hash_bytes(data, expected.type) != expected:
        raise CorruptObject(f"the data at {physical_key} does not match its hash {expected.value}",
                            "the file changed after it was added; set it again")
    return data


def hash_of(physical_key: str) -> tuple[Hash, int]:
    """``sha2-256-chunked`` hash and size of the data. An S3 object's comes from its stored
    SHA-256 checksum when that is Quilt's, else from ranged reads of its chunks in parallel
    (:func:`qvc.storage.s3copy.hash_object`)."""
    if not is_s3(physical_key):
        path = local_path(physical_key)
        try:
            return hash_file(path, CHUNKED), os.stat(path).st_size
        except OSError as exc:
            raise os_error(exc, path) from exc
    from qvc.storage import s3copy  # boto3 is imported only when S3 is used
    from qvc.storage.s3 import S3Store

    url = parse_s3_url(physical_key)
    store = _s3_store(url.bucket)
    if isinstance(store, S3Store):
        info = store.head(url.key, url.version_id)
        if info is None:
            raise PathError(f"no such S3 object: {physical_key}",
                            "check the bucket, key and version")
        value, _ = s3copy.hash_object(store, url.key, url.version_id, info.size,
                                      info.checksum_sha256)
        return Hash(CHUNKED, value), info.size
    with tempfile.TemporaryDirectory(prefix="qvc-hash-") as tmp:
        dest = Path(tmp) / "object"
        copy_to_file(physical_key, dest)
        return hash_file(dest, CHUNKED), dest.stat().st_size


def hash_many(physical_keys: list[str]) -> list[tuple[Hash, int]]:
    """:func:`hash_of` for many keys, in parallel threads (hashlib releases the GIL)."""
    if len(physical_keys) < 2:
        return [hash_of(k) for k in physical_keys]
    with ThreadPoolExecutor(max_workers=HASH_THREADS) as pool:
        return list(pool.map(hash_of, physical_keys))
