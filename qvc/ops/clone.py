"""qvc fetch, pull and clone: bring registry versions into a repository.

``fetch`` stores the manifest of every remote version in the local registry (physical keys
rewritten to the local object store; the top hash is unchanged) and downloads, verified, the
objects of the version wanted (``latest`` by default). Remote versions become commit records
whose parents follow the registry's pointer order, so a fast-forward pull makes them part of
local history; a version that already has a local commit keeps it. The work tree is not
touched. ``pull`` then fast-forwards HEAD and the work tree; ``clone`` is init + fetch + pull.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from qvc import crashpoints
from qvc.errors import BadRevision, CorruptObject, DirtyWorkTree, RemoteConflict, UsageError
from qvc.fileio import os_error, sync_filesystem
from qvc.ignore import IgnoreRules
from qvc.index import Index, version_of
from qvc.manifest import Manifest, diff
from qvc.materialize import TreeWriter, remove_entry
from qvc.objects import SMALL, FileStat, hash_path
from qvc.ops import tracking
from qvc.ops.transfer import (
    NoProgress,
    Progress,
    check_remote_keys,
    download,
    objects_url,
)
from qvc.registry import Registry
from qvc.remotes import RemoteSpec, add_remote, make_spec, open_remote
from qvc.repo import Commit, Repo
from qvc.workspace import compare, stat_path, walk


@dataclass
class FetchResult:
    remote: str
    package: str
    latest: str | None  # the remote's latest top hash
    commit: str | None  # its local commit record
    target: str | None = None  # the top hash whose objects were downloaded
    new_versions: list[str] = field(default_factory=list)
    objects: int = 0
    bytes: int = 0


def fetch(repo: Repo, spec: RemoteSpec, *, rev: str | None = None,
          progress: Progress | None = None) -> FetchResult:
    """Fetch every version of the package from ``spec`` and the objects of REV (latest)."""
    with repo.lock():
        return fetch_locked(repo, spec, open_remote(spec), rev=rev, progress=progress)


def fetch_locked(repo: Repo, spec: RemoteSpec, registry: Registry, *, rev: str | None,
                 progress: Progress | None) -> FetchResult:
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
        if target not in wanted:
            wanted[target] = registry.read_manifest(target)
            check_remote_keys(registry.store, wanted[target].entries.values(),
                              f"manifest {target[:12]}")
        entries = wanted.pop(target).entries.values()
        result.objects, result.bytes = download(registry.store, repo.objects, entries,
                                                progress or NoProgress())
        repo.objects.sync()
        result.target = target
    result.commit = commits.get(latest) if latest else None
    if spec.name is not None:
        tracking.record(repo, spec.name, spec.url, latest, result.commit)
    return result


def _record_versions(repo: Repo, registry: Registry, versions: list[tuple[str, str]],
                     result: FetchResult, target: str | None,
                     wanted: dict[str, Manifest]) -> dict[str, str]:
    """A commit record for each version, parents in pointer order: top hash -> commit id.
    The remote manifest of ``target``, if read, is left in ``wanted``."""
    known = {c.top_hash: cid for cid, c in repo.all_commits()}
    known.update({c.top_hash: cid for cid, c in repo.history()})  # prefer HEAD's own
    commits: dict[str, str] = {}
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
    """Store a remote version's manifest locally and write its commit record (the remote
    manifest is kept in ``wanted`` when ``top`` is the ``target`` to download)."""
    manifest = registry.read_manifest(top)
    check_remote_keys(registry.store, manifest.entries.values(), f"manifest {top[:12]}")
    if top == target:
        wanted[top] = manifest
    local = localize(repo, manifest)
    repo.registry.write_manifest(local, top)
    crashpoints.reach("fetch.after_manifest")
    commit = Commit(top, parent, timestamp * 10**9, registry.url, manifest.message or "",
                    {"pointer": f"{timestamp:010d}"} if timestamp else {})
    result.new_versions.append(top)
    return repo.write_commit(commit)


def localize(repo: Repo, manifest: Manifest) -> Manifest:
    """The same manifest with every physical key pointing into the local object store."""
    root, name = objects_url(repo.objects), repo.objects.name
    entries = {k: replace(e, physical_key=root + name(e.hash))
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

    @property
    def changed(self) -> bool:
        return self.old_head != self.new_head


def pull(repo: Repo, spec: RemoteSpec, *, rev: str | None = None,
         progress: Progress | None = None) -> PullResult:
    """Fetch, then fast-forward HEAD and the work tree to the remote's latest (or REV).

    Refuses (RemoteConflict) when local history has commits the remote lacks, and
    (DirtyWorkTree) when tracked files have uncommitted changes; nothing is lost either way.
    """
    with repo.lock():
        fetched = fetch_locked(repo, spec, open_remote(spec), rev=rev, progress=progress)
        head_id = repo.head_id()
        old = repo.commit(head_id).top_hash if head_id else None
        result = PullResult(fetched, old, old)
        if fetched.target is None:
            return result
        target_id = repo.commit_for(fetched.target) if rev else fetched.commit
        assert target_id is not None
        ahead, behind = tracking.count_apart(repo, head_id, target_id)
        if ahead and behind:
            raise RemoteConflict(
                f"your history and {fetched.remote} have diverged "
                f"({ahead} local and {behind} remote commit(s) differ)",
                "push your work elsewhere or reset to the remote version; qvc pull only "
                "fast-forwards",
            )
        if not behind:
            return result
        change = fast_forward(repo, target_id, reason=f"pull {fetched.remote}: fast-forward")
        result.new_head = fetched.target
        result.updated, result.removed = change.written, change.removed
    return result


# clone ---------------------------------------------------------------------------------------


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
          progress: Progress | None = None) -> CloneResult:
    """Create a work tree in ``folder`` (default: the name part) holding REV (default latest)
    of ``name`` from the registry, with the registry as remote ``origin``."""
    spec = make_spec("origin", registry_url)
    target = (folder or Path(name.split("/")[-1])).resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"{target} already exists and is not an empty folder",
                         "clone into a new folder: qvc clone REGISTRY NAME DIR")
    registry = open_remote(spec)
    registry.resolve(name, rev)  # fail before creating anything if the package is not there
    created = not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    try:
        repo = Repo.init(target, name)
        crashpoints.reach("clone.after_init")
        add_remote(repo, spec, default=True)
        pulled = pull(repo, spec, rev=rev, progress=progress)
    except BaseException:
        _empty(target, remove=created)  # it was empty before: everything in it is ours
        raise
    assert pulled.new_head is not None
    return CloneResult(target, name, registry.url, pulled.new_head, len(pulled.updated),
                       pulled.fetch.objects, pulled.fetch.bytes)


def _empty(folder: Path, remove: bool) -> None:
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    if remove:
        folder.rmdir()


# fast-forward the work tree ------------------------------------------------------------------


@dataclass
class Change:
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def fast_forward(repo: Repo, target_id: str, reason: str) -> Change:
    """Move HEAD, the index and the work tree to commit ``target_id`` (the caller holds the
    lock and has checked it is a fast-forward). Refuses if tracked files have uncommitted
    changes or untracked files stand where incoming files go.

    Order: files (flushed once), index, local pointers, HEAD. A crash before the index is
    saved leaves changed files that ``status`` reports; after it, the index already
    describes the work tree and ``load_index`` repairs the HEAD column.
    """
    index = repo.load_index()
    status = compare(repo.root, index, walk(repo.root, IgnoreRules(repo.root)))
    head = repo.head()
    old = repo.manifest(head.top_hash) if head else Manifest()
    target = repo.commit(target_id)
    new = repo.manifest(target.top_hash)
    delta = diff(old, new)
    write = delta.added + delta.modified + [b for _, b in delta.renamed]
    remove = delta.removed + [a for a, _ in delta.renamed]
    in_the_way = {k for k in write if k in set(status.untracked) | set(status.skipped)}
    done = _settled(repo, new, set(status.dirty_tracked) | in_the_way, set(write), set(remove))
    _refuse_dirty([k for k in status.dirty_tracked if k not in done], "uncommitted changes")
    _refuse_dirty(sorted(in_the_way - done), "untracked files in the way")
    stats = _write_files(repo, new, write)
    crashpoints.reach("pull.after_files")
    for key in remove:
        remove_entry(repo.root, key)
    sync_filesystem(repo.root)
    fresh = Index(head=target_id)
    for key, entry in new.entries.items():
        version = version_of(entry)
        row = index.rows.get(key)
        st = stats.get(key)
        kept = row[2] if row is not None and row[0] == version and st is None else None
        fresh.rows[key] = [version, version,
                           [st.mtime_ns, st.ctime_ns, st.ino, st.size] if st else kept]
    repo.save_index(fresh)
    crashpoints.reach("pull.after_index")
    _record_pointers(repo, head.top_hash if head else None, target_id)
    crashpoints.reach("pull.after_pointers")
    repo.set_head(target_id, reason)
    return Change(sorted(write), sorted(remove))


def _write_files(repo: Repo, manifest: Manifest, keys: list[str]) -> dict[str, FileStat]:
    """Copy the objects of ``keys`` into the work tree through one TreeWriter (each folder
    opened once; a free name is created in place): one writer measured faster than a thread
    pool of per-file atomic copies, whose parallel creates in one folder contend in the kernel.
    Callers flush once afterwards and record nothing before that."""
    stats: dict[str, FileStat] = {}
    objects = repo.objects
    with TreeWriter(repo.root) as writer:
        for key in keys:
            entry = manifest.entries[key]
            path = f"{objects.root}/{objects.name(entry.hash)}"  # no pathlib: once per file
            if entry.size > SMALL:
                stats[key] = writer.copy(key, Path(path))
                continue
            try:
                fd = os.open(path, os.O_RDONLY)
                try:
                    data = os.read(fd, entry.size)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise os_error(exc, path) from exc
            if len(data) != entry.size:
                raise CorruptObject(f"the stored object of {key} is damaged: {path}",
                                    "run 'qvc verify --repair', then pull again")
            stats[key] = writer.write(key, data)
    return stats


def _settled(repo: Repo, new: Manifest, keys: set[str], write: set[str],
             remove: set[str]) -> set[str]:
    """Those of ``keys`` already as the target version has them (an interrupted pull got that
    far): overwriting or deleting them loses nothing."""
    done = set()
    for key in keys:
        if key in remove and not os.path.lexists(repo.root / key):
            done.add(key)
        elif key in write:
            entry, st = new.entries[key], stat_path(repo.root, key)
            if st is not None and st.size == entry.size and \
                    hash_path(repo.root / key, entry.hash.type) == entry.hash:
                done.add(key)
    return done


def _refuse_dirty(paths: list[str], what: str) -> None:
    if paths:
        shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
        raise DirtyWorkTree(f"{what}: {shown}",
                            "commit them first (qvc commit -a) or move them away, then pull again")


def _record_pointers(repo: Repo, old_top: str | None, target_id: str) -> None:
    """Give each newly reachable version a pointer in the local registry, then ``latest``."""
    name = repo.package
    listed = {top for _, top in repo.registry.versions(name)}
    for _, commit in reversed(list(repo.history(target_id))):
        if commit.top_hash not in listed:
            repo.registry.write_pointer(name, commit.top_hash, commit.time_ns // 10**9)
            listed.add(commit.top_hash)
    top = repo.commit(target_id).top_hash
    repo.registry.set_latest(name, top, repo.registry.read_latest(name), force=True)
