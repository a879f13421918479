"""qvc gc: delete local objects and temp files nothing refers to any more.

Roots, as in git: HEAD, every tag, every version a pointer of the local registry names (any
package), the reflog (entries younger than ``reflog_expire``), and both columns of the index.
Everything reachable from a root through commit parents keeps its manifest's objects.
Unreferenced objects and temp files younger than the grace period are kept, so a writer that
has not referenced its new files yet never loses them. Manifests and commit records are small
and are never deleted.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from qvc.core import reflog
from qvc.core.repo import Commit, Repo
from qvc.errors import IntegrityError, RepositoryError
from qvc.quilt.hashing import Hash
from qvc.remote import target
from qvc.sysio import crashpoints

DEFAULT_GRACE = 3600
DEFAULT_REFLOG_EXPIRE = 90 * 24 * 3600  # git's gc.reflogExpire


@dataclass
class Reachable:
    """Commits reachable from the roots, and every manifest top hash they or pointers name."""

    commits: dict[str, Commit] = field(default_factory=dict)
    tops: set[str] = field(default_factory=set)
    damaged: list[str] = field(default_factory=list)  # commit ids whose record is unreadable


def pointer_tops(repo: Repo) -> set[str]:
    """Top hashes named by any pointer (any package) of the local registry."""
    return {top for name in repo.registry.packages() for _, top in repo.registry.versions(name)}


def local_manifests(repo: Repo) -> set[str]:
    """Every manifest stored in the local registry."""
    return set(repo.registry.list_manifests())


def reflog_commits(repo: Repo, expire: float | None) -> set[str]:
    """Commit ids the reflog mentions in entries younger than ``expire`` seconds (None: all)."""
    cutoff = None if expire is None else time.time() - expire
    found: set[str] = set()
    for move in reflog.read(repo.paths.reflog):  # torn or garbled lines are skipped there
        if cutoff is None or move.time >= cutoff:
            found.update(v for v in (move.old, move.new) if v is not None)
    return found


def reachable(repo: Repo, extra_roots: set[str] | None = None) -> Reachable:
    """Walk parents from HEAD, tags, the commits of every pointer's version, and ``extra_roots``."""
    result = Reachable(tops=pointer_tops(repo))
    by_top: dict[str, list[str]] = {}
    for commit_id, commit in _readable_commits(repo, result):
        by_top.setdefault(commit.top_hash, []).append(commit_id)
    roots = set(repo.tags().values()) | (extra_roots or set())
    head = repo.head_id()
    if head:
        roots.add(head)
    for top in result.tops:
        roots.update(by_top.get(top, ()))
    stack = sorted(roots)
    while stack:
        commit_id = stack.pop()
        if commit_id in result.commits or commit_id in result.damaged:
            continue
        try:
            commit = repo.commit(commit_id)
        except RepositoryError:
            result.damaged.append(commit_id)
            continue
        result.commits[commit_id] = commit
        result.tops.add(commit.top_hash)
        if commit.parent:
            stack.append(commit.parent)
    return result


def _readable_commits(repo: Repo, result: Reachable) -> Iterator[tuple[str, Commit]]:
    for commit_id in repo.commit_ids():
        try:
            yield commit_id, repo.commit(commit_id)
        except RepositoryError:
            result.damaged.append(commit_id)


@dataclass
class GcResult:
    objects_removed: int = 0
    bytes_freed: int = 0
    temp_removed: int = 0
    kept_young: int = 0  # unreferenced, but younger than the grace period
    objects_kept: int = 0
    removed: list[str] = field(default_factory=list)  # paths relative to .qvc/
    dry_run: bool = False


def gc(repo: Repo, *, dry_run: bool = False, grace: float = DEFAULT_GRACE,
       reflog_expire: float | None = DEFAULT_REFLOG_EXPIRE) -> GcResult:
    """Delete unreferenced objects and stale temp files older than ``grace`` seconds."""
    result = GcResult(dry_run=dry_run)
    with repo.lock():
        keep = _referenced_paths(repo, reflog_expire)
        cutoff = time.time() - grace
        for path in _object_files(repo.objects.root):
            if path in keep:
                result.objects_kept += 1
            else:
                _collect(repo, path, cutoff, result, temp=False)
        for folder in (repo.objects.tmp, repo.paths.tmp):
            for path in _files_under(folder):
                _collect(repo, path, cutoff, result, temp=True)
    return result


def _referenced_paths(repo: Repo, reflog_expire: float | None) -> set[Path]:
    """Object paths any root references. Refuses to guess when a root cannot be read."""
    found = reachable(repo, reflog_commits(repo, reflog_expire))
    if found.damaged:
        raise IntegrityError(f"commit record {found.damaged[0][:12]} is damaged; gc stopped "
                             "before deleting anything", "run 'qvc verify' to see the damage")
    hashes: set[Hash] = set()
    for top in found.tops:
        hashes.update(entry.hash for entry in repo.manifest(top).entries.values())
    for row in repo.load_index().rows.values():
        hashes.update(v.hash for v in (row.staged, row.head) if v is not None)
    return {repo.objects.path(h) for h in hashes}


def _collect(repo: Repo, path: Path, cutoff: float, result: GcResult, temp: bool) -> None:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if st.st_mtime >= cutoff:
        result.kept_young += 1
        return
    if not result.dry_run:
        crashpoints.reach("gc.delete")
        try:
            path.unlink()
        except FileNotFoundError:
            return  # a concurrent writer published or removed it
    if temp:
        result.temp_removed += 1
    else:
        result.objects_removed += 1
    result.bytes_freed += st.st_size
    result.removed.append(path.relative_to(repo.dot).as_posix())


def _object_files(root: Path) -> Iterator[Path]:
    """Every published object file (the temp folder excluded)."""
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return  # the store was deleted: no object to remove
    for entry in entries:
        if entry.is_dir(follow_symlinks=False) and entry.name != "tmp":
            yield from _files_under(Path(entry.path))


def _files_under(folder: Path) -> Iterator[Path]:
    for dirpath, _, files in os.walk(folder):
        for name in files:
            yield Path(dirpath) / name


DEFAULT_REMOTE_GRACE = 24 * 3600  # a push of a huge file may run for hours


@dataclass
class RemoteGcResult:
    remote: str
    aborted: list[str] = field(default_factory=list)  # keys of the aborted uploads
    kept_young: int = 0
    dry_run: bool = False


def gc_remote(repo: Repo, remote: str | None = None, *, grace: float = DEFAULT_REMOTE_GRACE,
              dry_run: bool = False) -> RemoteGcResult:
    """Abort the unfinished multipart uploads older than ``grace`` seconds under this
    package's data prefix on a remote (what killed pushes leave behind, billed but invisible).
    Folder registries have no multipart uploads."""
    resolved = target.resolve(repo, remote)
    spec = resolved.spec
    result = RemoteGcResult(spec.name or spec.url, dry_run=dry_run)
    store = resolved.registry.store
    if not store.capabilities.multipart:
        return result
    cutoff = datetime.now(timezone.utc) - timedelta(seconds=grace)
    for upload in store.list_multipart_uploads(spec.dest or f"{repo.package}/"):
        if upload.initiated > cutoff:
            result.kept_young += 1
            continue
        if not dry_run:
            store.abort_multipart_upload(upload.key, upload.upload_id)
        result.aborted.append(upload.key)
    return result
