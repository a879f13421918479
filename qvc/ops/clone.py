"""qvc fetch, pull and clone: bring registry versions into a repository.

``fetch`` stores the manifest of every remote version in the local registry (physical keys
rewritten to the local object store; the top hash is unchanged) and downloads, verified, the
objects of the version wanted (``latest`` by default). The commit records the registry holds
(qvc.remote.recorded) are stored as they are, so every clone has the same history; a version
without a record (pushed by quilt3 or an older qvc) gets a record whose parent follows the
registry's pointer order, marked ``inferred_parent``. The work tree is not touched. ``pull``
then fast-forwards HEAD and the work tree (qvc.core.fastforward), and refuses anything else.
``clone`` is init + fetch + fast-forward, except that it writes each file of its new, empty
work tree as soon as the file's object is verified, while the other objects still download.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from qvc.core import history
from qvc.core.fastforward import fast_forward, put_files, record_tree, write_files
from qvc.core.index import Index
from qvc.core.repo import Commit, Repo
from qvc.errors import BadRevision, RemoteConflict, UsageError
from qvc.git import pin
from qvc.git.gitlink import link_work_tree
from qvc.ops.merge import MergeOutcome, merge_locked
from qvc.quilt.manifest import Entry, Manifest
from qvc.remote import tracking
from qvc.remote.recorded import Refused, only_stand_ins, read_recorded
from qvc.remote.remotes import RemoteSpec, add_remote, make_spec
from qvc.remote.target import Target, of_spec
from qvc.remote.transfer import (
    Verified,
    check_remote_keys,
    download,
    objects_url,
)
from qvc.storage.registry import Registry
from qvc.sysio import crashpoints
from qvc.sysio.fileio import create_exclusive
from qvc.sysio.progress import NoProgress, TransferProgress
from qvc.worktree.materialize import BackgroundWriter


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
        raise BadRevision(f"no package {name} in {registry.url}",
                          "check the package name and the registry with 'qvc remote list'")
    result = FetchResult(spec.name or spec.url, name, latest, None)
    target = registry.resolve(name, rev) if rev else latest
    wanted: dict[str, Manifest] = {}  # the target's manifest once read: read it only once
    commits = _record_versions(repo, registry, versions, result, target, wanted)
    if target is not None:
        if target not in commits:
            commits[target] = _record(repo, registry, target, None, 0, result, target, wanted)
        result.target_commit = commits[target]
        if target not in wanted:
            wanted[target] = registry.read_manifest(target)
            check_remote_keys(registry.store, wanted[target].entries.values(),
                              f"manifest {target[:12]}")
        result.manifest = wanted.pop(target)
        result.objects, result.bytes = download(registry.store, repo.objects,
                                                result.manifest.entries.values(),
                                                progress or NoProgress(), on_verified)
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


def _record_versions(repo: Repo, registry: Registry, versions: list[tuple[str, str]],
                     result: FetchResult, target: str | None,
                     wanted: dict[str, Manifest]) -> dict[str, str]:
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
                _store_manifest(repo, registry, commit.top_hash, target, wanted)
        except BadRevision as exc:  # its manifest is not in the registry: not a version
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
        if not pointer.isdigit():
            continue  # "latest", or a name some other tool wrote: not a version in time order
        if top not in commits:
            if top in known:
                commits[top] = known[top]
            else:
                commits[top] = _record(repo, registry, top, previous, int(pointer), result,
                                       target, wanted)
        previous = commits[top]
    return commits


def _record(repo: Repo, registry: Registry, top: str, parent: str | None, timestamp: int,
            result: FetchResult, target: str | None, wanted: dict[str, Manifest]) -> str:
    """Store a remote version that has no commit record: its manifest, and a record whose
    parent is inferred (marked so; ``log`` says it)."""
    manifest = _store_manifest(repo, registry, top, target, wanted)
    extra: dict[str, object] = {"pointer": f"{timestamp:010d}"} if timestamp else {}
    if timestamp:
        extra["inferred_parent"] = True  # from pointer order: other clones may infer otherwise
    commit = Commit(top, parent, timestamp * 10**9, registry.url, manifest.message or "", extra)
    result.new_versions.append(top)
    return repo.write_commit(commit, fetched=True)


def _store_manifest(repo: Repo, registry: Registry, top: str, target: str | None,
                    wanted: dict[str, Manifest]) -> Manifest:
    """Store a remote version's manifest locally (the remote manifest is kept in ``wanted``
    when ``top`` is the ``target`` to download)."""
    manifest = registry.read_manifest(top)
    check_remote_keys(registry.store, manifest.entries.values(), f"manifest {top[:12]}")
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


# pull ----------------------------------------------------------------------------------------


@dataclass
class PullResult:
    fetch: FetchResult
    old_head: str | None  # top hashes
    new_head: str | None
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    merge: MergeOutcome | None = None  # set when diverged history was merged

    @property
    def changed(self) -> bool:
        return self.old_head != self.new_head


def pull(repo: Repo, target: Target, *, rev: str | None = None, ff_only: bool = False,
         progress: TransferProgress | None = None) -> PullResult:
    """Fetch, then fast-forward HEAD and the work tree to the remote's latest (or REV), or,
    when the histories have diverged, merge it (qvc.ops.merge: conflicts change nothing).

    Refuses (RemoteConflict) diverged history with ``ff_only``, and (DirtyWorkTree) when
    tracked files have uncommitted changes; nothing is lost either way.
    """
    with repo.lock():
        fetched = fetch_locked(repo, target.spec, target.registry, rev=rev, progress=progress)
        head_id = repo.head_id()
        old = repo.commit(head_id).top_hash if head_id else None
        result = PullResult(fetched, old, old)
        if fetched.target is None:
            return result
        target_id = fetched.target_commit
        assert target_id is not None
        action = pull_action(repo, head_id, target_id)
        if action == "diverged":
            ahead, behind = history.count_apart(repo, head_id, target_id)
            if ff_only:
                raise RemoteConflict(
                    f"your history and {fetched.remote} have diverged "
                    f"({ahead} local and {behind} remote commit(s) differ)",
                    "'qvc pull --ff-only' only fast-forwards: merge with 'qvc pull', "
                    f"or take the remote version with 'qvc checkout {fetched.target[:12]}'",
                )
            result.merge = merge_locked(repo, target_id, fetched.target[:12], choices={},
                                        message=None, reason=f"pull {fetched.remote}: merge")
            result.new_head = result.merge.new_head
            result.updated, result.removed = result.merge.updated, result.merge.removed
            return result
        if action == "up-to-date":
            return result
        change = fast_forward(repo, target_id, f"pull {fetched.remote}: fast-forward",
                              fetched.manifest, after_head=pin.refresh)
        result.new_head = fetched.target
        result.updated, result.removed = change.written, change.removed
    return result


def pull_action(repo: Repo, head_id: str | None, target_id: str) -> str:
    """"up-to-date" (the target is HEAD or one of its ancestors), "fast-forward" (HEAD is one
    of the target's ancestors, or differs only by stand-ins for versions the target's history
    records: qvc.remote.recorded), else "diverged": no fast-forward reaches the target
    without dropping local commits."""
    if head_id is None or history.is_ancestor(repo, head_id, target_id):
        return "up-to-date" if head_id == target_id else "fast-forward"
    if history.is_ancestor(repo, target_id, head_id):
        return "up-to-date"
    if only_stand_ins(repo, head_id, target_id):
        return "fast-forward"
    return "diverged"


# clone ---------------------------------------------------------------------------------------

BACKLOG = 64 << 20  # downloaded bytes held for the work-tree writer; beyond, it reads the store


@dataclass
class CloneResult:
    root: Path
    package: str
    remote: str
    top_hash: str
    files: int
    objects: int
    bytes: int


def clone(registry_url: str, name: str, folder: Path | None = None, *, rev: str | None = None,
          progress: TransferProgress | None = None) -> CloneResult:
    """Create a work tree in ``folder`` (default: the name part) holding REV (default latest)
    of ``name`` from the registry, with the registry as remote ``origin``."""
    spec = make_spec("origin", registry_url)
    target = (folder or Path(name.split("/")[-1])).resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"{target} already exists and is not an empty folder",
                         "clone into a new folder: qvc clone REGISTRY NAME DIR")
    registry = of_spec(spec).registry
    registry.resolve(name, rev)  # fail before creating anything if the package is not there
    created = not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    try:
        repo = Repo.init(target, name)
        link_work_tree(repo.root, repo.package)
        crashpoints.reach("clone.after_init")
        add_remote(repo, spec, default=True)
        with repo.lock():
            fetched = _fill(repo, spec, registry, rev, progress)
    except BaseException:
        _empty(target, remove=created)  # it was empty before: everything in it is ours
        raise
    assert fetched.target is not None and fetched.manifest is not None
    return CloneResult(target, name, registry.url, fetched.target, len(fetched.manifest.entries),
                       fetched.objects, fetched.bytes)


def _fill(repo: Repo, spec: RemoteSpec, registry: Registry, rev: str | None,
          progress: TransferProgress | None) -> FetchResult:
    """Fetch REV into a new repository and write its work tree, each file as soon as its
    object is verified (from the downloaded bytes while they are in memory) by one writer
    thread beside the downloads; then one sync for objects and files, then the records.

    ``.qvc/CLONING`` marks the files as the clone's own until HEAD is set, so a pull can
    finish a killed clone over its partly written files."""
    create_exclusive(repo.paths.cloning, b"")
    with BackgroundWriter(repo.root, partial(put_files, repo.objects, True)) as writer:

        def on_verified(entries: list[Entry], data: bytes | None) -> None:
            if data is not None and writer.backlog > BACKLOG:
                data = None  # the writer is behind: it reads this object back from the store
            writer.put((entries, data), len(data) if data is not None else 0)

        fetched = fetch_locked(repo, spec, registry, rev=rev, progress=progress,
                               on_verified=on_verified, sync=False)
        written = writer.finish()
    new, top = fetched.manifest, fetched.target
    if new is None or top is None:
        raise BadRevision(f"{registry.url} has no latest version of {repo.package}",
                          "name a version with --rev")
    rest = [key for key in new.entries if key not in written]  # objects already stored
    stats = written | write_files(repo, new, rest, in_place=True)
    crashpoints.reach("pull.after_files")
    target_id = fetched.target_commit
    assert target_id is not None
    record_tree(repo, Index(), new, target_id, stats, f"clone: {registry.url}",
                after_head=pin.refresh)
    return fetched


def _empty(folder: Path, remove: bool) -> None:
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    if remove:
        folder.rmdir()
