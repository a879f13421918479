"""Placing data that already lives in S3 into an S3 registry without moving it through the client.

The placement rules are :class:`qvc.remote.transfer.Uploader`'s: a key is only ever created,
never overwritten; a taken key gets a new version (versioned bucket) or the content goes to the
content-addressed key instead. The copy is made by S3 (:mod:`qvc.storage.s3copy`) and its
checksums give the entry's ``sha2-256-chunked`` hash: compared with the hash the manifest
records, or recorded when the entry had none yet. A copy whose hash differs is deleted again
and reported with the source's key: nothing that names it gets published.

Before many copies into one prefix, the prefix is listed once (:meth:`Copier.survey`): a key
the listing does not show is copied create-only straight away, without a HEAD first; only keys
it shows, or beyond where a bounded listing stopped, get the HEAD. The HEAD is what keeps an
existing key from being overwritten on servers that ignore ``If-None-Match`` on a copy (moto
does); where the server honours it, a key created after the listing fails the copy and is then
looked at as before.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qvc.errors import CorruptObject
from qvc.quilt.hashing import CHUNKED, Hash
from qvc.quilt.urls import parse_s3_url
from qvc.remote.remotes import RemoteSpec, open_spec_store
from qvc.remote.transfer import cas_key, checksum_matches
from qvc.storage import PreconditionFailed, Store
from qvc.sysio.progress import TransferProgress

if TYPE_CHECKING:
    from qvc.storage import s3copy
    from qvc.storage.s3 import S3Store


@dataclass(frozen=True)
class Item:
    """What to copy: the logical key (for messages), where the data is, its size, and its
    hash when known (None: learn it from the copy)."""

    logical_key: str
    physical_key: str
    size: int
    hash: Hash | None


SURVEY_MIN = 8  # copies into one prefix worth a listing of it first


class Copier:
    """Server-side copies into one S3 registry store, with counts for the push result."""

    def __init__(self, store: Store, cas_prefix: str, progress: TransferProgress) -> None:
        self.store = store
        self.cas_prefix = cas_prefix
        self.progress = progress
        self.copied = 0  # objects S3 copied
        self.bytes = 0  # their bytes
        self.read = 0  # bytes read back by the client to hash copies S3 gave no checksum for
        self.found = 0  # objects already at their key
        self._lock = threading.Lock()
        self._reachable: dict[str, bool] = {}
        self._versioned: bool | None = None
        self._surveyed: tuple[str, frozenset[str], str | None] | None = None

    def survey(self, prefix: str, copies: int) -> None:
        """List the keys under ``prefix`` once before ``copies`` copies into it, so that a
        key not listed needs no HEAD. The listing is bounded (about one page per ten copies):
        keys sorting after where it stopped are still looked at one by one."""
        if not self.store.capabilities.remote or copies < SURVEY_MIN:
            return
        limit = max(1000, copies * 100)
        listed: set[str] = set()
        last: str | None = None
        for key in self.store.list(prefix):
            if len(listed) >= limit:
                break
            listed.add(key)
            last = key
        else:
            last = None  # complete: no key under the prefix sorts after the listing
        self._surveyed = (prefix, frozenset(listed), last)

    def _may_exist(self, key: str) -> bool:
        """Whether ``key`` may hold an object (False only when the survey shows it does not)."""
        if self._surveyed is None:
            return True
        prefix, listed, last = self._surveyed
        if not key.startswith(prefix) or key in listed:
            return True
        return last is not None and key > last

    def can_copy(self, physical_key: str, hash_type: str | None = CHUNKED) -> bool:
        """Whether the data at ``physical_key`` can be copied server-side into the store: an
        S3 object one client reaches with the registry's endpoint and credentials, hashed
        (if at all) the way S3's part checksums can tell."""
        if not physical_key.startswith("s3://") or not self.store.capabilities.remote:
            return False
        if hash_type not in (CHUNKED, None):
            return False
        bucket = parse_s3_url(physical_key).bucket
        if bucket == getattr(self.store, "bucket", None):
            return True
        with self._lock:
            known = self._reachable.get(bucket)
        if known is None:
            from qvc.storage.s3copy import same_connection  # boto3 only when S3 is used

            other = open_spec_store(RemoteSpec(None, f"s3://{bucket}"))
            known = same_connection(other, self.store)
            with self._lock:
                self._reachable[bucket] = known
        return known

    def place(self, item: Item, key: str) -> tuple[str, Hash]:
        """Copy ``item`` to ``key`` (or where the placement rules send it); returns the
        physical key now holding it and its hash."""
        from qvc.storage import s3copy
        from qvc.storage.s3 import S3Store

        assert isinstance(self.store, S3Store)
        store = self.store
        url = parse_s3_url(item.physical_key)
        source = s3copy.Source(url.bucket, url.key, url.version_id)
        try:
            found = store.head(key) if self._may_exist(key) else None
            if found is None:
                try:
                    return self._copy(store, item, source, key, create_only=True)
                except PreconditionFailed:
                    found = store.head(key)
            if found is not None and item.hash is not None and checksum_matches(
                    found, item.size, item.hash):
                with self._lock:
                    self.found += 1
                return store.physical_key(key, found.version_id), item.hash
            return self._place_elsewhere(store, item, source, key)
        finally:
            self.progress.object_done()

    def _place_elsewhere(self, store: S3Store, item: Item, source: s3copy.Source,
                         key: str) -> tuple[str, Hash]:
        if self._versioned is None:
            self._versioned = store.versioning_enabled()
        if self._versioned:
            return self._copy(store, item, source, key, create_only=False)
        expected = item.hash or self._hash_source(store, item, source)
        cas = cas_key(self.cas_prefix, expected)
        found = store.head(cas) if self._may_exist(cas) else None
        if found is None:
            try:
                return self._copy(store, Item(item.logical_key, item.physical_key, item.size,
                                              expected), source, cas, create_only=True)
            except PreconditionFailed:
                found = store.head(cas)
        if found is None or found.size != item.size:
            raise CorruptObject(f"{store.url}/{cas} holds other bytes than its name says",
                                "delete that object from the registry and push again")
        with self._lock:
            self.found += 1
        return store.physical_key(cas, found.version_id), expected

    def _hash_source(self, store: S3Store, item: Item, source: s3copy.Source) -> Hash:
        """The hash of a source object whose default key is taken: from its stored checksum,
        else by ranged reads."""
        from qvc.storage import s3copy

        origin = s3copy.sibling(store, source.bucket)
        info = origin.head(source.key, source.version_id)
        value, read = s3copy.hash_object(origin, source.key, source.version_id, item.size,
                                         info.checksum_sha256 if info else None)
        with self._lock:
            self.read += read
        return Hash(CHUNKED, value)

    def _copy(self, store: S3Store, item: Item, source: s3copy.Source, key: str, *,
              create_only: bool) -> tuple[str, Hash]:
        from qvc.storage import s3copy

        copied = s3copy.copy(store, key, source, item.size, if_none_match=create_only,
                             progress=self.progress.server_side)
        got = Hash(CHUNKED, copied.chunked)
        if item.hash is not None and got != item.hash:
            if create_only or copied.info.version_id is not None:
                s3copy.remove_copy(store, key, copied.info)
            raise CorruptObject(
                f"{item.physical_key} no longer holds the bytes of {item.logical_key!r} "
                "(it changed since the package was read)",
                "read the package again (browse it, or set the entry again) and push that")
        with self._lock:
            self.copied += 1
            self.bytes += item.size
            self.read += copied.read
        return store.physical_key(key, copied.info.version_id), got

