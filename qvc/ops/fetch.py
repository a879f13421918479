"""qvc fetch: bring a registry's versions into a repository, leaving the work tree alone.

Every remote version's manifest is stored in the local registry (physical keys rewritten to
the local object store; the top hash is unchanged) and the objects of the version wanted
(``latest`` by default) are downloaded and verified. The physical keys of a remote manifest
are checked to point inside the registry (:func:`check_remote_keys`) before the manifest is
stored; those of the version to download in a sparse work tree only for the selected entries,
the only ones read (a later fetch, pull or ``sparse add`` checks what it newly reads). The
commit records the registry holds (qvc.remote.recorded) are stored as they are, so every clone
has the same history; a version without a record (pushed by quilt3 or an older qvc) gets a
record whose parent follows the registry's pointer order, marked ``inferred_parent``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from qvc.core import history
from qvc.core.repo import Commit, Repo
from qvc.core.sparse import Selection
from qvc.errors import BadManifest, BadRevision
from qvc.quilt.manifest import Entry, Manifest
from qvc.remote import tracking
from qvc.remote.recorded import Refused, read_recorded
from qvc.remote.remotes import RemoteSpec
from qvc.remote.target import Target
from qvc.remote.transfer import (
    Verified,
    check_remote_keys,
    download,
    objects_url,
)
from qvc.storage.registry import Registry, is_timestamp
from qvc.sysio import crashpoints
from qvc.sysio.progress import NoProgress, TransferProgress

log = logging.getLogger("qvc")


@dataclass
class FetchResult:
    remote: str
    package: str
    latest: str | None  # the remote's latest top hash
    commit: str | None  # its local commit record
    target: str | None = None  # the top hash whose objects were downloaded
    new_versions: list[str] = field(default_factory=list)
    target_commit: str | None = None  # the local commit record of ``target``
    refused: list[Refused] = field(default_factory=list)  # damaged or hostile records
    skipped: dict[str, str] = field(default_factory=dict)  # top hash -> why that version is
    # not read (a damaged or hostile manifest); only the target's own damage stops a fetch
    rewritten: int | None = None  # local commits the remote's rewritten latest lacks
    objects: int = 0
    bytes: int = 0
    manifest: Manifest | None = field(default=None, repr=False)  # the target's, as read


def fetch(repo: Repo, target: Target, *, rev: str | None = None,
          progress: TransferProgress | None = None) -> FetchResult:
    """Fetch every version of the package from ``target`` and the objects of REV (latest)."""
    with repo.lock():
        return fetch_locked(repo, target.spec, target.registry, rev=rev, progress=progress)


def fetch_locked(repo: Repo, spec: RemoteSpec, registry: Registry, *, rev: str | None,
                 progress: TransferProgress | None, on_verified: Verified | None = None,
                 sync: bool = True) -> FetchResult:
    """:func:`fetch` with the lock held. ``on_verified`` sees each object downloaded (see
    :func:`download`); with ``sync=False`` the caller makes the objects durable before it
    records anything that references them."""
    name = repo.package
    versions = registry.versions(name)
    latest = next((top for pointer, top in versions if pointer == "latest"), None)
    if not versions:
        raise registry.no_latest(
            name, "check the package name and the registry with 'qvc remote list'")
    result = FetchResult(spec.name or spec.url, name, latest, None)
    target = registry.resolve(name, rev) if rev else latest
    wanted: dict[str, Manifest] = {}  # the target's manifest once read: read it only once
    selection = repo.selection()  # a sparse work tree needs only the selected objects
    reads = partial(_read_entries, selection)
    commits = _record_versions(repo, registry, versions, result, target, wanted, reads)
    if target is not None:
        if target not in commits:
            commits[target] = _record(repo, registry, target, None, 0, result, target, wanted,
                                      reads)
        result.target_commit = commits[target]
        if target not in wanted:
            wanted[target] = registry.read_manifest(target)
            check_remote_keys(registry.store, reads(wanted[target]), f"manifest {target[:12]}")
        result.manifest = wanted.pop(target)
        result.objects, result.bytes = download(
            registry.store, repo.objects, reads(result.manifest), progress or NoProgress(),
            on_verified)
        if sync:
            repo.objects.sync()
        result.target = target
    result.commit = commits.get(latest) if latest else None
    if spec.name is not None:
        dropped = tracking.dropped(repo, spec.name, result.commit)
        if dropped is not None:
            result.rewritten = history.count_apart(repo, repo.head_id(), result.commit)[0]
        tracking.record(repo, spec.name, spec.url, latest, result.commit, dropped=dropped)
    return result


def _read_entries(selection: Selection | None, manifest: Manifest) -> list[Entry]:
    """The entries of the version to download whose data this work tree reads: those of its
    sparse selection, else all."""
    if selection is None:
        return list(manifest.entries.values())
    return [e for e in manifest.entries.values() if selection.selects(e.logical_key)]


Reads = Callable[[Manifest], list[Entry]]


def _record_versions(repo: Repo, registry: Registry, versions: list[tuple[str, str]],
                     result: FetchResult, target: str | None,
                     wanted: dict[str, Manifest], reads: Reads) -> dict[str, str]:
    """A commit record for each version: the registry's own where it has one, else one whose
    parent is the previous version in pointer order. Returns top hash -> commit id; the
    remote manifest of ``target``, if read, is left in ``wanted``."""
    recorded = read_recorded(repo, registry)
    result.refused = recorded.refused
    for cid, commit in recorded.parents_first():
        try:
            if any(p not in recorded.commits and not (repo.paths.commits / p).is_file()
                   for p in commit.parents):
                raise BadRevision("a parent's version could not be stored")
            if not repo.registry.has_manifest(commit.top_hash):
                _store_manifest(repo, registry, commit.top_hash, target, wanted, reads)
        except (BadRevision, BadManifest) as exc:  # no manifest, or a damaged one: no version
            del recorded.commits[cid]
            result.refused.append(Refused(cid, exc.message))
            continue
        repo.write_commit(commit, fetched=True)
        result.new_versions.append(commit.top_hash)
    commits = recorded.version_commits()
    known = {c.top_hash: cid for cid, c in repo.all_commits()}
    known.update({c.top_hash: cid for cid, c in repo.history()})  # prefer HEAD's own
    previous: str | None = None
    for pointer, top in versions:
        if not is_timestamp(pointer):
            continue  # "latest": not a version in time order
        if top in result.skipped:
            continue
        if top not in commits:
            if top in known:
                commits[top] = known[top]
            else:
                try:
                    commits[top] = _record(repo, registry, top, previous, int(pointer), result,
                                           target, wanted, reads)
                except (BadRevision, BadManifest) as exc:
                    if top == target:
                        raise
                    _skip(result, registry, top, exc.message)
                    continue
        previous = commits[top]
    return commits


def _skip(result: FetchResult, registry: Registry, top: str, reason: str) -> None:
    result.skipped[top] = reason
    log.warning("skipped version %s in %s: %s", top[:12], registry.url, reason)


def _record(repo: Repo, registry: Registry, top: str, parent: str | None, timestamp: int,
            result: FetchResult, target: str | None, wanted: dict[str, Manifest],
            reads: Reads) -> str:
    """Store a remote version that has no commit record: its manifest, and a record whose
    parent is inferred (marked so; ``log`` says it)."""
    manifest = _store_manifest(repo, registry, top, target, wanted, reads)
    extra: dict[str, object] = {"pointer": f"{timestamp:010d}"} if timestamp else {}
    if timestamp:
        extra["inferred_parent"] = True  # from pointer order: other clones may infer otherwise
    commit = Commit(top, parent, timestamp * 10**9, registry.url, manifest.message or "", extra)
    result.new_versions.append(top)
    return repo.write_commit(commit, fetched=True)


def _store_manifest(repo: Repo, registry: Registry, top: str, target: str | None,
                    wanted: dict[str, Manifest], reads: Reads) -> Manifest:
    """Store a remote version's manifest locally (the remote manifest is kept in ``wanted``
    when ``top`` is the ``target`` to download). Its physical keys are checked first: all of
    them, or for the target only those ``reads`` selects (the only ones downloaded; the
    stored copy names local objects, so the others are never read through it)."""
    manifest = registry.read_manifest(top)
    check_remote_keys(registry.store, reads(manifest) if top == target
                      else manifest.entries.values(), f"manifest {top[:12]}")
    if top == target:
        wanted[top] = manifest
    repo.registry.write_manifest(localize(repo, manifest), top)
    crashpoints.reach("fetch.after_manifest")
    return manifest


def localize(repo: Repo, manifest: Manifest) -> Manifest:
    """The same manifest with every physical key pointing into the local object store."""
    root, name = objects_url(repo.objects), repo.objects.name
    # Entry(...), not dataclasses.replace(), which looks up every field again for each entry
    entries = {k: Entry(k, root + name(e.hash), e.size, e.hash, e.meta)
               for k, e in manifest.entries.items()}
    return Manifest(header=dict(manifest.header), entries=entries, dir_meta=dict(manifest.dir_meta))
