"""Pushing package versions to a registry: the one implementation behind ``qvc push`` and the
Python API's ``Package.push``.

Order on the registry (the crash-safety contract): all data, then the manifest, then (``qvc
push``) the commit records of HEAD's ancestry, then the timestamp pointer, then ``latest`` by
compare-and-swap. A push killed at any point leaves only unreferenced data and records, or a
version that is listed but not ``latest``; running it again finishes.
The remote manifest has the same top hash as the local one: physical keys are not hashed.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from qvc.core.history import ancestors
from qvc.core.repo import Commit, Repo
from qvc.errors import CorruptObject, NoCommits, RemoteConflict, RemoteError, UsageError
from qvc.quilt.hashing import CHUNKED, Hash, hash_file
from qvc.quilt.manifest import Entry, Manifest
from qvc.quilt.urls import parse_s3_url
from qvc.remote import tracking, workflows
from qvc.remote.origins import Origins, origin_keys
from qvc.remote.physical import copy_to_file
from qvc.remote.remotes import RemoteSpec, open_spec_store
from qvc.remote.servercopy import Copier, Item
from qvc.remote.target import Target, for_push
from qvc.remote.transfer import (
    Streamer,
    Uploader,
    local_source,
    parallel_map,
    store_key,
)
from qvc.storage import ObjectInfo, Store
from qvc.storage.registry import Latest, Registry
from qvc.sysio import crashpoints
from qvc.sysio.progress import ByteProgress, NoProgress, TransferProgress

log = logging.getLogger("qvc")

Dest = str | Callable[[str, Entry], str] | None
Selector = Callable[[str, Entry], bool]
_READ: Any = object()


@dataclass
class PushResult:
    top_hash: str
    manifest: Manifest  # as stored in the registry, physical keys pointing at its copies
    uploaded: int = 0  # objects sent through the client
    skipped: int = 0  # objects the registry held before this push
    bytes_uploaded: int = 0
    pointer: str | None = None
    copied: int = 0  # objects S3 copied server-side
    bytes_copied: int = 0
    bytes_read: int = 0  # bytes the client read from S3 (streamed copies, hashing read-backs)
    streamed: int = 0  # objects copied through the client: not reachable for a server copy

    @property
    def bytes_client(self) -> int:
        """Bytes that went through the client, both ways."""
        return self.bytes_uploaded + self.bytes_read


class Reuse:
    """Content already in a registry: (hash, size) -> physical keys holding it there; and
    which of it this push placed (``fresh``) or already counted as there (``counted``)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.keys: dict[tuple[Hash, int], str] = {}
        self.more: dict[tuple[Hash, int], list[str]] = {}
        self.fresh: set[tuple[Hash, int]] = set()
        self.counted: set[tuple[Hash, int]] = set()

    def learn(self, manifest: Manifest, *, fresh: bool = False) -> None:
        for entry in manifest.entries.values():
            if store_key(self.registry.store, entry.physical_key) is not None:
                content = (entry.hash, entry.size)
                if fresh and content not in self.keys:
                    self.fresh.add(content)
                self.keys.setdefault(content, entry.physical_key)
                self.more.setdefault(content, []).append(entry.physical_key)

    def find(self, entry: Entry, prefix: str | None) -> str | None:
        """A physical key holding ``entry``'s content (under the data ``prefix`` if given)."""
        content = (entry.hash, entry.size)
        if prefix is None:
            return self.keys.get(content)
        for physical in self.more.get(content, ()):
            located = store_key(self.registry.store, physical)
            if located is not None and located[0].startswith(prefix):
                return physical
        return None

    def already_there(self, entry: Entry) -> int:
        """1 the first time content the registry held before this push is met, else 0."""
        content = (entry.hash, entry.size)
        if content in self.fresh or content in self.counted:
            return 0
        self.counted.add(content)
        return 1

    def learn_latest(self, name: str, latest: Latest | None) -> None:
        if latest is not None:
            self.learn(self.registry.read_manifest(latest.top_hash))


def push_package(
    manifest: Manifest, name: str, registry: Registry, *, dest: Dest = None,
    selector: Selector | None = None, expected_latest: Latest | None = _READ,
    known_parents: set[str] | None = None, force: bool = False, copy: bool = True,
    progress: TransferProgress | None = None, timestamp: int | None = None,
    verify: bool = False,
) -> PushResult:
    """Copy ``manifest``'s data into ``registry`` and record it as a version of ``name``.

    ``latest`` moves only if it is absent, in ``known_parents``, or ``force``; otherwise
    RemoteConflict. With ``copy=False`` only the manifest and pointers are written. With
    ``verify``, each local file is hashed before it is uploaded (files the caller named,
    not objects of a repository, which were checked when stored).
    """
    top = manifest.top_hash()
    latest = registry.read_latest(name) if expected_latest is _READ else expected_latest
    if not force:
        check_fast_forward(name, registry, latest, (known_parents or set()) | {top})
    reuse = Reuse(registry)
    if copy:
        reuse.learn_latest(name, latest)
    result = stage_version(manifest, name, registry, dest=dest, selector=selector, copy=copy,
                           reuse=reuse, progress=progress, verify=verify)
    if not force:
        recheck(name, registry, latest)
    result.pointer = registry.write_pointer(name, top, timestamp)
    if latest is None or latest.top_hash != top:
        move_latest_or_undo(registry, name, top, latest, force, [result.pointer])
    return result


def stage_version(manifest: Manifest, name: str, registry: Registry, *, dest: Dest,
                  selector: Selector | None, copy: bool, reuse: Reuse,
                  progress: TransferProgress | None, verify: bool = False,
                  origins: Origins | None = None) -> PushResult:
    """Data (unless ``copy`` is False), then the manifest: everything but the pointers."""
    top = manifest.top_hash()
    if copy:
        result = upload_data(manifest, name, registry, dest=dest, selector=selector,
                             reuse=reuse, progress=progress or NoProgress(), verify=verify,
                             origins=origins)
    else:
        if registry.store.capabilities.remote:  # a folder registry is read where the files are
            warn_unreachable(manifest)
        result = PushResult(top, manifest)
    assert result.manifest.top_hash() == top
    registry.write_manifest(result.manifest, top)
    crashpoints.reach("push.after_manifest")
    reuse.learn(result.manifest, fresh=True)
    return result


def recheck(name: str, registry: Registry, expected: Latest | None) -> None:
    """Fail before any pointer is written if ``latest`` moved during the upload."""
    now = registry.read_latest(name)
    if (now.top_hash if now else None) != (expected.top_hash if expected else None):
        raise RemoteConflict(f"{name} moved on in {registry.url} while pushing "
                             f"(latest is now {now.top_hash[:12] if now else 'gone'})")


def move_latest_or_undo(registry: Registry, name: str, top: str, expected: Latest | None,
                        force: bool, pointers: list[str]) -> None:
    """Compare-and-swap ``latest``; if another push won, delete the pointers this push wrote
    (only ours: they were created exclusively), so the loser leaves no listed version."""
    try:
        registry.set_latest(name, top, expected, force=force)
    except RemoteConflict:
        for pointer in pointers:
            registry.delete_pointer(name, pointer)
        raise


def check_fast_forward(name: str, registry: Registry, latest: Latest | None,
                       known: set[str]) -> None:
    if latest is not None and latest.top_hash not in known:
        raise RemoteConflict(
            f"{name} in {registry.url} is at {latest.top_hash[:12]}, which is not in your history",
            "run 'qvc pull' to bring it in first, or push with --force to replace it",
        )


def upload_data(manifest: Manifest, name: str, registry: Registry, *, dest: Dest,
                selector: Selector | None, reuse: Reuse, progress: TransferProgress,
                verify: bool = False, origins: Origins | None = None) -> PushResult:
    """Copy entries into the registry's store; returns the manifest naming the copies
    (local files hashed first with ``verify``: see :func:`push_package`).

    Data already in S3 that the registry's client reaches is copied server-side; other S3
    data streams through the client. A local file whose content ``origins`` names (an S3
    object of the registry it was cloned from) is copied from there server-side too, and
    uploaded only if that copy fails (the object is gone, changed or unreadable). Without
    ``dest``, content the registry holds anywhere is reused; with a ``dest`` prefix, only
    copies under it are (every selected file lands there); with a ``dest`` function, every
    selected file goes where it says."""
    store = registry.store
    prefix = _prefix(name, dest)
    uploader = Uploader(store, prefix, progress)
    copier = Copier(store, prefix, progress)
    chosen = selector or _default_selector(store, prefix, dest)
    entries = dict(manifest.entries)
    todo: list[Entry] = []
    skipped = 0
    for key, entry in entries.items():
        if not chosen(key, entry):
            skipped += reuse.already_there(entry)
            continue
        known = None if callable(dest) else reuse.find(entry, prefix if dest else None)
        if known is not None:
            entries[key] = replace(entry, physical_key=known)
            skipped += reuse.already_there(entry)
        else:
            # content the registry holds outside the dest prefix: copy it there in S3
            there = reuse.keys.get((entry.hash, entry.size)) if dest else None
            todo.append(replace(entry, physical_key=there) if there else entry)
    progress.start(len(todo), sum(e.size for e in todo))
    if not callable(dest):  # copies go under the prefix: one listing instead of a HEAD each
        copier.survey(prefix, sum(1 for e in todo if e.physical_key.startswith("s3://") or (
            origins and (e.hash, e.size) in origins)))
    streamed = [0, 0]  # objects, bytes
    lock = threading.Lock()

    def place(entry: Entry) -> str:
        target = _target_key(store, prefix, dest, entry)
        if copier.can_copy(entry.physical_key, entry.hash.type):
            item = Item(entry.logical_key, entry.physical_key, entry.size, entry.hash)
            return copier.place(item, target)[0]
        origin = origins.get((entry.hash, entry.size)) if origins and local_source(
            entry.physical_key) is not None else None
        if origin is not None and copier.can_copy(origin, entry.hash.type):
            try:
                return copier.place(Item(entry.logical_key, origin, entry.size, entry.hash),
                                    target)[0]
            except (CorruptObject, RemoteError) as exc:
                # the local copy is intact (checked when stored): upload it instead
                log.info("uploading %s: copying %s failed: %s", entry.logical_key, origin, exc)
        if local_source(entry.physical_key) is None:
            with lock:
                streamed[0] += 1
                streamed[1] += entry.size
            streamer = _streamer(store, entry)
            if streamer is not None:
                return uploader.place(entry, target, streamer)
        with _source(entry, verify) as source:
            return uploader.place(entry, target, source)

    for entry, physical in zip(todo, parallel_map(place, todo), strict=True):
        entries[entry.logical_key] = replace(entry, physical_key=physical)
    remote = Manifest(header=dict(manifest.header), entries=entries,
                      dir_meta=dict(manifest.dir_meta))
    placed = len(todo) - copier.copied - uploader.uploaded  # found already at their keys
    return PushResult(remote.top_hash(), remote, uploader.uploaded, skipped + placed,
                      uploader.bytes, copied=copier.copied, bytes_copied=copier.bytes,
                      bytes_read=streamed[1] + copier.read, streamed=streamed[0])


def copy_unhashed(items: list[Item], name: str, registry: Registry, *, dest: str | None,
                  progress: TransferProgress | None = None) -> tuple[dict[str, tuple[Hash, str]],
                                                                     Copier]:
    """Copy server-side the S3 data of entries whose hash is not known yet to where a push
    puts them (``dest`` prefix, else ``<name>/``), learning each hash from the copy itself;
    returns {logical key: (hash, physical key of the copy)} for those copied, and the counts.
    Entries the registry's client cannot copy (or already in the registry) are left out."""
    store = registry.store
    prefix = _prefix(name, dest)
    copier = Copier(store, prefix, progress or NoProgress())
    todo = [i for i in items
            if store_key(store, i.physical_key) is None and copier.can_copy(i.physical_key, None)]
    (progress or NoProgress()).start(len(todo), sum(i.size for i in todo))
    copier.survey(prefix, len(todo))
    placed = parallel_map(lambda i: copier.place(i, prefix + i.logical_key), todo)
    return {i.logical_key: (h, pk) for i, (pk, h) in zip(todo, placed, strict=True)}, copier


def _default_selector(store: Store, prefix: str, dest: Dest) -> Selector:
    """What a push copies unless told: data outside the registry; with a ``dest`` prefix also
    the registry's data outside that prefix; with a ``dest`` function, everything."""
    if callable(dest):
        return lambda lk, e: True
    if dest is None:
        return lambda lk, e: store_key(store, e.physical_key) is None

    def outside(lk: str, entry: Entry) -> bool:
        located = store_key(store, entry.physical_key)
        return located is None or not located[0].startswith(prefix)

    return outside


def _prefix(name: str, dest: Dest) -> str:
    if isinstance(dest, str) and dest.strip("/"):
        return dest.strip("/") + "/"
    return name + "/"


def _target_key(store: Store, prefix: str, dest: Dest, entry: Entry) -> str:
    if not callable(dest):
        return prefix + entry.logical_key
    url = dest(entry.logical_key, entry)
    located = store_key(store, url) if isinstance(url, str) else None
    if located is None or located[1] is not None:
        raise UsageError(f"dest returned {url!r} for {entry.logical_key!r}",
                         f"return a URL inside {store.url}, without a versionId")
    return located[0]


def _streamer(store: Store, entry: Entry) -> Streamer | None:
    """How to stream an entry's S3 object into an S3 registry ``store`` no one client reaches
    with it: chunk by chunk through memory, checked against the entry's hash before the object
    is completed (:mod:`qvc.storage.s3stream`). None when either side is not S3 or the hash is
    not ``sha2-256-chunked``: then the object goes through a verified temp file."""
    if not entry.physical_key.startswith("s3://") or entry.hash.type != CHUNKED or not (
            store.capabilities.remote and store.capabilities.multipart):
        return None
    from qvc.storage import s3stream  # boto3 only when S3 is used
    from qvc.storage.s3 import S3Store

    url = parse_s3_url(entry.physical_key)
    source = open_spec_store(RemoteSpec(None, f"s3://{url.bucket}"))
    if not isinstance(store, S3Store) or not isinstance(source, S3Store):
        return None

    def stream(key: str, create_only: bool, progress: ByteProgress) -> ObjectInfo:
        return s3stream.stream_copy(source, url.key, url.version_id, store, key, entry.size,
                                    entry.hash.value, if_none_match=create_only,
                                    progress=progress)

    return stream


class _source:
    """The local file holding an entry's bytes; data elsewhere (another bucket) is copied
    to a verified temp file first."""

    def __init__(self, entry: Entry, verify: bool = False) -> None:
        self.entry = entry
        self.verify = verify
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> Path:
        path = local_source(self.entry.physical_key)
        if path is not None:
            if not path.is_file():
                raise CorruptObject(
                    f"the data of {self.entry.logical_key!r} is missing: {path}",
                    "run 'qvc verify'; 'qvc verify --repair' fetches intact copies from a "
                    "remote that has them",
                )
            if self.verify and hash_file(path, self.entry.hash.type) != self.entry.hash:
                raise CorruptObject(
                    f"{path} does not hold the bytes {self.entry.logical_key!r} names: it "
                    "changed since it was added to the package",
                    "set the entry again (Package.set) so its hash is taken anew")
            return path
        self._tmp = tempfile.TemporaryDirectory(prefix="qvc-push-")
        target = Path(self._tmp.name) / "object"
        pk = self.entry.physical_key
        copy_to_file(pk, target)
        if hash_file(target, self.entry.hash.type) != self.entry.hash:
            raise CorruptObject(f"{pk} does not hold the bytes {self.entry.logical_key!r} names")
        return target

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


def warn_unreachable(manifest: Manifest) -> None:
    local = [e.logical_key for e in manifest.entries.values() if e.physical_key.startswith("file:")]
    if local:
        log.warning("%d file(s) of this version point at local paths other users cannot reach "
                    "(e.g. %s); push without --no-copy to share the data", len(local), local[0])


# qvc push ------------------------------------------------------------------------------------


@dataclass
class RepoPushResult:
    remote: str
    package: str
    top_hash: str
    versions_written: list[str] = field(default_factory=list)  # top hashes, oldest first
    records_written: int = 0  # commit records the registry lacked
    uploaded: int = 0
    skipped: int = 0  # objects the registry held before this push
    bytes_uploaded: int = 0
    moved_latest: bool = False
    copied: int = 0  # objects S3 copied server-side
    bytes_copied: int = 0
    bytes_read: int = 0
    streamed: int = 0

    @property
    def bytes_client(self) -> int:
        return self.bytes_uploaded + self.bytes_read


def push(repo: Repo, target: Target, *, force: bool = False, copy: bool = True,
         progress: TransferProgress | None = None) -> RepoPushResult:
    """Push every commit of HEAD's history the registry lacks (oldest first), its data under
    ``target.dest``, and the commit record of every commit in HEAD's ancestry (both parents)
    the registry lacks, then move ``latest`` to HEAD. Refused if the registry's ``latest`` is not
    in HEAD's history, or if the remote is known to ignore conditional writes (unless
    ``force``)."""
    target = for_push(target, repo, force=force)
    spec, registry = target.spec, target.registry
    name = repo.package
    with repo.lock():
        head_id = repo.head_id()
        if head_id is None:
            raise NoCommits("there is nothing to push: no commits yet")
        ancestry = list(ancestors(repo, head_id))
        history = [c for _, c in ancestry]
        head = history[0]
        check_workflow(repo, registry, head)
        latest = registry.read_latest(name)
        if not force:
            check_fast_forward(name, registry, latest, {c.top_hash for c in history})
        remote_tops = {top for _, top in registry.versions(name)}
        result = RepoPushResult(spec.name or spec.url, name, head.top_hash)
        reuse = Reuse(registry)
        if copy:
            reuse.learn_latest(name, latest)
        missing = [c for c in history if c.top_hash not in remote_tops]
        origins = origin_keys(repo, registry.store, missing) if copy and missing else {}
        staged = _stage_missing(repo, registry, history, remote_tops, reuse, result,
                                dest=target.dest, copy=copy, progress=progress,
                                origins=origins)
        result.records_written = push_records(registry, name, ancestry)
        crashpoints.reach("push.after_records")
        if not force:
            recheck(name, registry, latest)
        pointers = [registry.write_pointer(name, top, ts) for top, ts in staged]
        crashpoints.reach("push.after_pointers")
        if latest is None or latest.top_hash != head.top_hash:
            move_latest_or_undo(registry, name, head.top_hash, latest, force, pointers)
            result.moved_latest = True
        crashpoints.reach("push.after_latest")
        if spec.name is not None:
            tracking.record(repo, spec.name, spec.url, head.top_hash, head_id)
    return result


def check_workflow(repo: Repo, registry: Registry, head: Commit) -> None:
    """Refuse (before any upload) a version the registry's workflow rejects: the workflow
    its header records, else the work tree's ``workflow`` setting, else the default."""
    from qvc.conf import settings

    manifest = repo.registry.read_manifest(head.top_hash)
    recorded = manifest.header.get("workflow")
    chosen = recorded.get("id") if isinstance(recorded, dict) else (
        settings.get(repo, "workflow") or workflows.NOT_GIVEN)
    checker = workflows.prepare(registry, chosen, strict=False)
    if checker is not None:
        checker.validate(repo.package, manifest)


def push_records(registry: Registry, name: str, commits: list[tuple[str, Commit]]) -> int:
    """Write the record of each (id, commit) the registry lacks, exactly the bytes the id
    names, so every clone reads the same parents; returns how many were written."""
    stored = set(registry.record_ids(name))
    missing = [(cid, c) for cid, c in commits if cid not in stored and c.id == cid]
    # a few round trips at once: a first push of a long history writes one record per commit
    parallel_map(lambda item: registry.write_record(name, item[0], item[1].encode()), missing)
    return len(missing)


def _stage_missing(repo: Repo, registry: Registry, history: list[Commit], remote_tops: set[str],
                   reuse: Reuse, result: RepoPushResult, *, dest: str | None, copy: bool,
                   progress: TransferProgress | None,
                   origins: Origins | None = None) -> list[tuple[str, int]]:
    """Data and manifests of the commits the registry lacks, oldest first; returns their
    (top hash, pointer timestamp)."""
    staged: list[tuple[str, int]] = []
    learned: set[str] = set()
    sparse = repo.selection() is not None
    head = history[0]
    if copy and head.top_hash in remote_tops and registry.names_outside(head.top_hash):
        # a build to the remote came first: its manifest names local paths; name the copies
        pushed = stage_version(repo.manifest(head.top_hash), repo.package, registry,
                               dest=dest, selector=None, copy=copy, reuse=reuse,
                               progress=progress, origins=origins)
        result.versions_written.append(head.top_hash)
        _add_counts(result, pushed)
    for commit in reversed(history):
        if commit.top_hash in remote_tops or any(top == commit.top_hash for top, _ in staged):
            continue
        if sparse and copy:  # unselected keys have no local object: reuse the registry's copy
            for parent in commit.parents:
                top = repo.commit(parent).top_hash
                if top in remote_tops and top not in learned:
                    reuse.learn(registry.read_manifest(top))
                    learned.add(top)
        pushed = stage_version(repo.manifest(commit.top_hash), repo.package, registry,
                               dest=dest, selector=None, copy=copy, reuse=reuse,
                               progress=progress, origins=origins)
        staged.append((commit.top_hash, commit.time_ns // 10**9))
        result.versions_written.append(commit.top_hash)
        _add_counts(result, pushed)
    return staged


def _add_counts(result: RepoPushResult, pushed: PushResult) -> None:
    result.uploaded += pushed.uploaded
    result.skipped += pushed.skipped
    result.bytes_uploaded += pushed.bytes_uploaded
    result.copied += pushed.copied
    result.bytes_copied += pushed.bytes_copied
    result.bytes_read += pushed.bytes_read
    result.streamed += pushed.streamed
