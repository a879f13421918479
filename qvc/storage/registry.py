"""The Quilt registry layout (``.quilt/packages``, ``.quilt/named_packages``) over any Store,
plus qvc's commit records (``.quilt/qvc/history/<namespace>/<name>/<commit id>``), which Quilt
does not read: the parents every clone agrees on.

Write order is the crash-safety contract: manifest, then commit records, then the timestamp
pointer, then ``latest``. Manifests, records and timestamp pointers are created only if
absent; ``latest`` moves by compare-and-swap, and a lost-response retry that finds our own
value there counts as success.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from qvc.errors import BadManifest, BadRevision, NoSuchPackage, RemoteConflict
from qvc.quilt.manifest import Manifest, is_top_hash, parse, validate_package_name
from qvc.storage.base import ObjectNotFound, PreconditionFailed, Store

PACKAGES = ".quilt/packages/"
NAMED = ".quilt/named_packages/"
HISTORY = ".quilt/qvc/history/"
WORKFLOWS_CONFIG = ".quilt/workflows/config.yml"
# the earliest pointer name written (2016-01-01): a machine whose clock was never set
# (1970) still names its versions with 10 digits, as quilt3 and the catalog expect
MIN_TIMESTAMP = 1451631600
# a timestamp pointer's name: ASCII digits only (str.isdigit() takes '²' too), at most 12 of
# them (quilt3 writes 10; anything longer is not a time a registry could hold)
_TIMESTAMP = re.compile(r"[0-9]{1,12}")

log = logging.getLogger("qvc")

# Tags and HEAD~N live in a work tree; a registry knows only these names.
_REMOTE_REV_HINT = "name a registry's version by 'latest' or its top hash (6+ hex characters)"


def is_timestamp(pointer: str) -> bool:
    """Whether ``pointer`` names a timestamp pointer (not ``latest`` or anything else)."""
    return bool(_TIMESTAMP.fullmatch(pointer))


@dataclass(frozen=True)
class Latest:
    top_hash: str
    etag: str


class Registry:
    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def url(self) -> str:
        return self.store.url

    def workflow_config(self) -> tuple[bytes, str] | None:
        """The registry's workflows config (``.quilt/workflows/config.yml``) and the physical
        key of the version read (with its versionId in a versioned bucket); None if absent."""
        info = self.store.head(WORKFLOWS_CONFIG)
        if info is None:
            return None
        version = info.version_id if info.version_id not in (None, "null") else None
        try:
            data = self.store.get(WORKFLOWS_CONFIG, version)
        except ObjectNotFound:
            return None
        return data, self.store.physical_key(WORKFLOWS_CONFIG, version)

    # manifests -------------------------------------------------------------------------------

    def has_manifest(self, top_hash: str) -> bool:
        return self.store.head(PACKAGES + top_hash) is not None

    def list_manifests(self) -> Iterator[str]:
        """The top hashes of every stored manifest, in order."""
        return (key[len(PACKAGES):] for key in self.store.list(PACKAGES))

    def manifest_bytes(self, top_hash: str) -> bytes:
        """A manifest's bytes as stored, unverified; ObjectNotFound if there is none."""
        return self.store.get(PACKAGES + top_hash)

    def open_manifest(self, top_hash: str) -> BinaryIO:
        """A manifest's bytes as a file object (streamed from a directory registry), for the
        caller to close; unverified; ObjectNotFound if there is none."""
        return self.store.reader(PACKAGES + top_hash)

    def read_manifest(self, top_hash: str) -> Manifest:
        """Fetch and verify a manifest: its content must hash to its name."""
        if not is_top_hash(top_hash):
            raise BadRevision(f"{top_hash!r} is not a top hash")
        try:
            data = self.manifest_bytes(top_hash)
        except ObjectNotFound:
            raise BadRevision(f"no manifest {top_hash[:12]} in {self.url}") from None
        return parse(data, expected_top_hash=top_hash, source=f"manifest {top_hash[:12]}")

    def write_manifest(self, manifest: Manifest, top_hash: str | None = None) -> str:
        """Store a manifest under its top hash (create-only; an equal one already there is fine).

        An existing manifest of the same name has the same hashed content (physical keys and
        directory-meta rows are not hashed), so losing the create-only race is success, with
        one exception: a stored manifest naming data outside the registry (a ``build`` whose
        keys are someone's local paths) is replaced by one whose every key resolves inside
        it, by compare-and-swap. The caller has written that data first, so the version stays
        readable all along; a manifest whose keys all resolve inside is never replaced."""
        top = top_hash or manifest.top_hash()
        data = manifest.dumps()
        try:
            self.store.put(PACKAGES + top, data, if_none_match=True)
        except PreconditionFailed:
            if self._names_only_own_data(manifest):
                self._replace_outside(top, data)
        return top

    def _names_only_own_data(self, manifest: Manifest) -> bool:
        return all(self.store.key_for(e.physical_key) is not None
                   for e in manifest.entries.values())

    def _replace_outside(self, top: str, data: bytes) -> None:
        info = self.store.head(PACKAGES + top)
        if info is None:
            return
        stored = self.read_manifest(top)
        if self._names_only_own_data(stored):
            return
        # lost to another writer: theirs is a manifest of the same version, kept
        with contextlib.suppress(PreconditionFailed):
            self.store.put(PACKAGES + top, data, if_match=info.etag)

    def names_outside(self, top_hash: str) -> bool:
        """Whether the stored manifest ``top_hash`` names data outside the registry."""
        return not self._names_only_own_data(self.read_manifest(top_hash))

    def replace_manifest(self, top_hash: str, data: bytes) -> None:
        """Overwrite a damaged manifest with ``data``, which must hash to ``top_hash``
        (BadManifest otherwise, and nothing is written)."""
        parse(data, expected_top_hash=top_hash, source=f"manifest {top_hash[:12]}")
        self.store.put(PACKAGES + top_hash, data)

    def write_manifest_file(self, source: Path, top_hash: str) -> str:
        """:meth:`write_manifest` of manifest bytes held in the file ``source``."""
        with contextlib.suppress(PreconditionFailed):
            self.store.put_file(PACKAGES + top_hash, source, if_none_match=True)
        return top_hash

    # commit records --------------------------------------------------------------------------

    def _history(self, name: str) -> str:
        return HISTORY + validate_package_name(name) + "/"

    def write_record(self, name: str, commit_id: str, data: bytes) -> None:
        """Store a commit record of ``name`` under its id (create-only). The id is the hash
        of the content, so a record already there under that name is this one: success."""
        with contextlib.suppress(PreconditionFailed):
            self.store.put(self._history(name) + commit_id, data, if_none_match=True)

    def record_ids(self, name: str) -> list[str]:
        """The names of every commit record of ``name`` (unverified: a reader checks each
        record against its name)."""
        prefix = self._history(name)
        return [key[len(prefix):] for key in self.store.list(prefix)
                if "/" not in key[len(prefix):]]

    def read_record(self, name: str, commit_id: str) -> bytes:
        """A commit record's bytes as stored, unverified; ObjectNotFound if there is none."""
        return self.store.get(self._history(name) + commit_id)

    # pointers --------------------------------------------------------------------------------

    def _prefix(self, name: str) -> str:
        return NAMED + validate_package_name(name) + "/"

    def write_pointer(self, name: str, top_hash: str, timestamp: int | None = None) -> str:
        """Create a 10-digit timestamp pointer; on a same-second clash use the next free second."""
        ts = max(int(timestamp if timestamp is not None else time.time()), MIN_TIMESTAMP)
        prefix = self._prefix(name)
        while True:
            key = f"{prefix}{ts:010d}"
            try:
                self.store.put(key, top_hash.encode(), if_none_match=True)
                return key.rsplit("/", 1)[1]
            except PreconditionFailed:
                if self._pointer(key) == top_hash:
                    return key.rsplit("/", 1)[1]  # our own earlier (retried) write
                ts += 1

    def _pointer(self, key: str) -> str | None:
        try:
            return self.store.get(key).decode("ascii", "replace").strip()
        except ObjectNotFound:
            return None

    def delete_pointer(self, name: str, pointer: str) -> None:
        """Delete one pointer (a timestamp or ``latest``) of a package; a missing one is fine."""
        self.store.delete(self._prefix(name) + pointer)

    def read_latest(self, name: str) -> Latest | None:
        """``latest`` of a package; None if there is none, or (with a warning) if it holds
        anything but a top hash (:meth:`resolve` tells that apart from a missing package)."""
        key = self._prefix(name) + "latest"
        info = self.store.head(key)
        if info is None:
            return None
        value = self._pointer(key)
        if value is None:
            return None
        if not is_top_hash(value):
            log.warning("ignored pointer 'latest' of %s in %s: it holds %s, not a top hash",
                        name, self.url, _shown(value))
            return None
        return Latest(value, info.etag)

    def no_latest(self, name: str, hint: str = "check the package name and the registry URL"
                  ) -> NoSuchPackage | BadManifest:
        """The error for a package whose ``latest`` :meth:`read_latest` found none of: a
        missing package, or a damaged pointer (not reported as a missing package)."""
        value = self._pointer(self._prefix(name) + "latest")
        if value is None:
            return NoSuchPackage(f"no package {name} in {self.url}", hint)
        return BadManifest(
            f"'latest' of {name} in {self.url} is damaged: it holds {_shown(value)}, "
            "not a top hash",
            "clone or fetch a version by its top hash with --rev, or ask the package's "
            "author to push again")

    def set_latest(self, name: str, top_hash: str, expected: Latest | None,
                   force: bool = False) -> None:
        """Move ``latest`` from ``expected`` (None: absent) to ``top_hash``, or raise a conflict."""
        key = self._prefix(name) + "latest"
        try:
            if force:
                self.store.put(key, top_hash.encode())
            elif expected is None:
                self.store.put(key, top_hash.encode(), if_none_match=True)
            else:
                self.store.put(key, top_hash.encode(), if_match=expected.etag)
        except PreconditionFailed:  # if_match on a deleted 'latest' too
            now = self.read_latest(name)
            if now is not None and now.top_hash == top_hash:
                return  # a retried write of ours already landed
            raise RemoteConflict(
                f"{name} moved on in {self.url} while we were writing "
                f"(latest is now {now.top_hash[:12] if now else 'gone'})"
            ) from None

    def versions(self, name: str) -> list[tuple[str, str]]:
        """(pointer name, top hash) of every pointer of a package, oldest first, latest last.

        Pointers named neither ``latest`` nor a timestamp (:func:`is_timestamp`), and pointers
        holding anything but a top hash, are left out with a warning: they never name a file
        or a version."""
        prefix = self._prefix(name)
        result = []
        for key in self.store.list(prefix):
            pointer = key[len(prefix):]
            if "/" in pointer:
                continue
            if pointer != "latest" and not is_timestamp(pointer):
                log.warning("ignored pointer %s of %s in %s: not a timestamp", _shown(pointer),
                            name, self.url)
                continue
            value = self._pointer(key)
            if value is None:
                continue  # deleted since listed
            if not is_top_hash(value):
                log.warning("ignored pointer %s of %s in %s: it holds %s, not a top hash",
                            pointer, name, self.url, _shown(value))
                continue
            result.append((pointer, value))
        result.sort(key=lambda p: (p[0] == "latest", len(p[0]), p[0]))
        return result

    def packages(self) -> list[str]:
        names = set()
        for key in self.store.list(NAMED):
            parts = key[len(NAMED):].split("/")
            if len(parts) == 3:
                names.add(f"{parts[0]}/{parts[1]}")
        return sorted(names)

    def resolve(self, name: str | None, rev: str | None) -> str:
        """A top hash from ``latest`` (rev None) or a full hash or unique prefix of 6+ chars."""
        if rev is None or rev == "latest":
            if name is None:
                raise BadRevision("a package name is needed to find 'latest'")
            latest = self.read_latest(name)
            if latest is None:
                raise self.no_latest(name)
            return latest.top_hash
        rev = rev.lower()
        if is_top_hash(rev):
            return rev
        if len(rev) < 6 or not all(c in "0123456789abcdef" for c in rev):
            raise BadRevision(f"unknown revision {rev!r}", _REMOTE_REV_HINT)
        matches = self.find(rev)
        if not matches:
            raise BadRevision(f"unknown revision {rev!r}: no version in {self.url} has a top "
                              "hash starting with it", _REMOTE_REV_HINT)
        if len(matches) > 1:
            raise BadRevision(f"ambiguous revision {rev!r}: {len(matches)} top hashes in "
                              f"{self.url} start with it", "give more hex characters")
        return matches[0]

    def find(self, prefix: str) -> list[str]:
        """The top hashes of stored manifests that start with ``prefix`` (2+ hex characters)."""
        prefix = prefix.lower()
        return [k[len(PACKAGES):] for k in self.store.list(PACKAGES + prefix[:2])
                if k[len(PACKAGES):].startswith(prefix)]

    def delete(self, name: str, top_hash: str | None = None) -> list[str]:
        """Delete pointers only (never manifests or data), as quilt3's delete_package does.

        Deleting one version removes every pointer to it; if ``latest`` was one of them and
        other versions remain, ``latest`` is set to the newest remaining pointer.
        """
        versions = self.versions(name)
        if not versions:
            raise NoSuchPackage(f"no package {name} in {self.url}")
        prefix = self._prefix(name)
        doomed = [p for p, h in versions if top_hash is None or h == top_hash]
        if not doomed:
            raise BadRevision(f"{name} has no version {(top_hash or '')[:12]} in {self.url}",
                              "delete the whole package without --rev, or name a version it has")
        for pointer in doomed:
            self.delete_pointer(name, pointer)
        remaining = [(p, h) for p, h in versions if p not in doomed and p != "latest"]
        if "latest" in doomed and remaining:
            self.store.put(prefix + "latest", remaining[-1][1].encode())
        return doomed


def _shown(text: str) -> str:
    """Text from a pointer, quoted and cut short: it may be anything."""
    shown = repr(text)
    return shown if len(shown) <= 40 else shown[:36] + "...'"
