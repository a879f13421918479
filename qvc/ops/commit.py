"""qvc commit: turn the index into a Quilt manifest and record it.

Order (each step durable before the next): objects (already written by ``add``), manifest,
commit record, timestamp pointer, ``latest``, HEAD, index. A crash before HEAD moves leaves
only unreferenced files; a crash after it is repaired by ``Repo.load_index``.
"""

from __future__ import annotations

import getpass
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from qvc import crashpoints, userconfig
from qvc.errors import NothingToDo
from qvc.hashing import Hash
from qvc.index import Index
from qvc.manifest import Entry, Manifest, diff, validate_meta
from qvc.repo import Commit, Repo

_UNSET: Any = object()


@dataclass
class CommitResult:
    commit_id: str
    top_hash: str
    parent_top_hash: str | None
    pointer: str
    added: int
    modified: int
    deleted: int


def build_manifest(repo: Repo, index: Index, message: str | None, user_meta: Any) -> Manifest:
    """The manifest of the staged entries, physical keys pointing into the object store."""
    header: dict[str, Any] = {"version": "v0"}
    if user_meta is not _UNSET:
        header["user_meta"] = user_meta
    header["message"] = message
    base = "file://" + quote(str(repo.objects.root.resolve())) + "/"
    entries = {}
    for key, (staged, _, _) in index.rows.items():
        if staged is None:
            continue
        h = Hash(staged[1], staged[2])
        physical = base + quote(repo.objects.name(h))
        entries[key] = Entry(key, physical, staged[0], h, staged[3])
    return Manifest(header=header, entries=entries)


def author(root: Path | None = None) -> str:
    """``Name <email>``: qvc's user.name / user.email settings (or QVC_AUTHOR_*), else git's
    author identity (GIT_AUTHOR_*, the git config around ``root``, ~/.gitconfig), else the
    login name at this host."""
    name = userconfig.get("user.name") or os.environ.get("QVC_AUTHOR_NAME")
    email = userconfig.get("user.email") or os.environ.get("QVC_AUTHOR_EMAIL")
    if not (name and email):
        from qvc import gitlink  # only commits pay for importing dulwich

        git_name, git_email = gitlink.identity(root)
        name, email = name or git_name, email or git_email
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = "unknown"
    if not email:
        email = f"{name}@{socket.gethostname()}"
    return f"{name} <{email}>"


def commit(repo: Repo, message: str, *, meta: Any = _UNSET, stage_all: bool = False,
           extra: dict[str, Any] | None = None) -> CommitResult:
    """Record the staged state as a new package version. ``meta`` replaces the package
    metadata; without it the parent's is kept."""
    if meta is not _UNSET:
        validate_meta(meta)
    if stage_all:
        from qvc.ops.add import add

        add(repo, ["."], cwd=repo.root, tracked_only=True)
    with repo.lock():
        index = repo.load_index()
        parent = repo.head()
        parent_manifest = repo.manifest(parent.top_hash) if parent else None
        if meta is _UNSET and parent_manifest and "user_meta" in parent_manifest.header:
            meta = parent_manifest.header["user_meta"]
        manifest = build_manifest(repo, index, message, meta)
        top = manifest.top_hash()
        added, modified, deleted = index.staged_changes()
        if parent_manifest is not None and diff(parent_manifest, manifest).empty:
            raise NothingToDo("nothing to commit: the staged state equals HEAD",
                              "stage changes with 'qvc add PATH', or commit -a")
        if parent is None and not manifest.entries and meta is _UNSET:
            raise NothingToDo("nothing to commit: nothing is staged", "stage files with 'qvc add .'")
        commit_id, pointer = record_commit(repo, manifest, top, message, extra)
        index.reset_head(commit_id, manifest)
        repo.save_index(index)
        crashpoints.reach("commit.after_index")
    return CommitResult(commit_id, top, parent.top_hash if parent else None, pointer,
                        len(added), len(modified), len(deleted))


def _git_commit(root: Path) -> dict[str, str]:
    """``{"git_commit": id}`` of the enclosing git work tree's HEAD: the code the data was
    committed next to (empty outside git or on an unborn branch)."""
    from qvc.gitlink import GitRepo

    git = GitRepo.discover(root)
    head = git.head_commit() if git else None
    return {"git_commit": head} if head else {}


def record_commit(repo: Repo, manifest: Manifest, top: str, message: str,
                  extra: dict[str, Any] | None = None) -> tuple[str, str]:
    """Record ``manifest`` (its objects already in the store) as the commit after HEAD:
    manifest, commit record, pointer, ``latest``, then HEAD. The caller holds the lock and
    updates the index. Returns (commit id, pointer name)."""
    crashpoints.reach("commit.start")
    repo.objects.sync()
    repo.registry.write_manifest(manifest, top)
    crashpoints.reach("commit.after_manifest")
    record = Commit(top, repo.head_id(), time.time_ns(), author(repo.root), message,
                    {**_git_commit(repo.root), **(extra or {})})
    commit_id = repo.write_commit(record)
    crashpoints.reach("commit.after_commit_record")
    pointer = repo.registry.write_pointer(repo.package, top, record.time_ns // 10**9)
    crashpoints.reach("commit.after_pointer")
    latest = repo.registry.read_latest(repo.package)
    repo.registry.set_latest(repo.package, top, latest, force=True)
    crashpoints.reach("commit.after_latest")
    repo.set_head(commit_id, f"commit: {message}")
    crashpoints.reach("commit.after_head")
    return commit_id, pointer
