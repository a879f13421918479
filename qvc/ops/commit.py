"""qvc commit: turn the index into a Quilt manifest and record it.

Order (each step durable before the next): objects (already written by ``add``), manifest,
commit record, timestamp pointer, ``latest``, HEAD, index. A crash before HEAD moves leaves
only unreferenced files; a crash after it is repaired by ``Repo.load_index``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qvc.conf import identity, settings
from qvc.core import splice
from qvc.core.head import commit_head
from qvc.core.index import Index
from qvc.core.repo import Commit, Repo
from qvc.errors import NothingToDo, RepositoryError
from qvc.git import pin
from qvc.quilt.hashing import Hash
from qvc.quilt.manifest import Entry, Manifest, ManifestDiff, diff, parse, validate_meta
from qvc.remote import target, workflows
from qvc.storage import ObjectNotFound
from qvc.sysio import crashpoints

_UNSET: Any = object()


@dataclass
class CommitResult:
    commit_id: str
    top_hash: str
    parent_top_hash: str | None
    pointer: str
    added: list[str]  # keys; a renamed file is in ``renamed`` only, as ``qvc diff`` shows it
    modified: list[str]
    deleted: list[str]
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (old key, new key)


def commit_header(message: str | None, user_meta: Any) -> dict[str, Any]:
    header: dict[str, Any] = {"version": "v0"}
    if user_meta is not _UNSET:
        header["user_meta"] = user_meta
    header["message"] = message
    return header


def author(repo: Repo) -> str:
    """The author recorded for a commit in ``repo`` (see :mod:`qvc.conf.identity`)."""

    def git_identity() -> tuple[str | None, str | None]:
        from qvc.git import gitlink  # only commits that need git's identity pay for dulwich

        return gitlink.identity(repo.root)

    return identity.author(repo, git_identity)


def commit(repo: Repo, message: str, *, meta: Any = _UNSET, stage_all: bool = False,
           extra: dict[str, Any] | None = None, workflow: str | None = None) -> CommitResult:
    """Record the staged state as a new package version. ``meta`` replaces the package
    metadata; without it the parent's is kept. With ``workflow`` (or the ``workflow``
    setting) the version is checked against that workflow of the default remote's registry
    before anything is written, and the header records it as quilt3 does."""
    if meta is not _UNSET:
        validate_meta(meta)
    if stage_all:
        from qvc.ops.add import add

        add(repo, ["."], cwd=repo.root, tracked_only=True)
    with repo.lock():
        index = repo.load_index()
        parent = repo.head()
        parent_header = _header(repo, parent.top_hash) if parent else None
        if meta is _UNSET and parent_header and "user_meta" in parent_header:
            meta = parent_header["user_meta"]
        header = commit_header(message, meta)
        checker = _workflow(repo, workflow)
        if checker is not None:
            header["workflow"] = checker.record
        added, modified, deleted = index.staged_changes()
        moves = _renames(index, added, deleted)  # before the commit drops deleted rows
        if (parent_header is not None and index.nothing_staged()
                and _view(parent_header, workflow=checker is not None) == _view(header)):
            raise NothingToDo("nothing to commit: the staged state equals HEAD",
                              "stage changes with 'qvc add PATH', or commit -a")
        if parent is None and not index.tracked() and meta is _UNSET:
            raise NothingToDo("nothing to commit: nothing is staged",
                              "stage files with 'qvc add .'")
        built = splice.build(repo, index, header, (parent.top_hash, parent_header)
                             if parent and parent_header is not None else None)
        try:
            if checker is not None:
                checker.validate(repo.package, parse(built.manifest.read_bytes()))
            commit_id, pointer = record_commit(repo, built.manifest, built.top, message, extra)
            commit_head(repo, commit_id, index, f"commit: {message}", after_head=pin.refresh)
            crashpoints.reach("commit.after_index")
            splice.save_parts(repo, built)
        finally:
            built.discard()
        top = built.top
    return CommitResult(commit_id, top, parent.top_hash if parent else None, pointer,
                        moves.added, modified, moves.removed, moves.renamed)


def _renames(index: Index, added: list[str], deleted: list[str]) -> ManifestDiff:
    """Pair deleted and added keys of equal content, by the rule :func:`manifest.diff` uses."""
    if not (added and deleted):
        return ManifestDiff(added=added, removed=deleted)
    old, new = Manifest(), Manifest()
    for keys, side, column in ((deleted, old, "head"), (added, new, "staged")):
        for key in keys:
            row = index.row(key)
            version = getattr(row, column) if row is not None else None
            if version is not None:
                side.entries[key] = Entry(key, "", version.size,
                                          Hash(version.hash_type, version.hash_value), {})
    return diff(old, new)


def _workflow(repo: Repo, workflow: str | None) -> workflows.Validator | None:
    """The validator of ``workflow`` (else the work tree's ``workflow`` setting) in the
    default remote's registry; None when neither names one."""
    chosen = workflow or settings.get(repo, "workflow")
    if not chosen:
        return None
    registry = target.resolve(repo, None).registry
    return workflows.prepare(registry, str(chosen))


def _header(repo: Repo, top: str) -> dict[str, Any]:
    """A stored manifest's header: its first line, parsed and checked like a whole one."""
    try:
        with repo.registry.open_manifest(top) as f:
            first = f.readline()
    except ObjectNotFound:
        raise RepositoryError(f"no manifest {top[:12]} in this repository",
                              "run 'qvc verify' to check the repository") from None
    return parse(first, source="parent manifest").header


def _view(header: dict[str, Any], *, workflow: bool = True) -> dict[str, Any]:
    """What makes two headers different commits (a new message alone does not, nor, unless
    ``workflow``, a workflow record)."""
    return {k: v for k, v in header.items() if k != "message" and (workflow or k != "workflow")}


def _git_commit(root: Path) -> dict[str, str]:
    """``{"git_commit": id}`` of the enclosing git work tree's HEAD: the code the data was
    committed next to (empty outside git or on an unborn branch)."""
    from qvc.git.gitlink import GitRepo

    git = GitRepo.discover(root)
    head = git.head_commit() if git else None
    return {"git_commit": head} if head else {}


def record_commit(repo: Repo, manifest: Manifest | Path, top: str, message: str,
                  extra: dict[str, Any] | None = None, *,
                  merged: str | None = None) -> tuple[str, str]:
    """Record ``manifest`` (its objects already in the store; or a file of its bytes) as the
    commit after HEAD (and ``merged``, a merge's second parent): manifest, commit record,
    pointer, then ``latest``. The caller holds the lock and then moves HEAD (qvc.core.head).
    Returns (commit id, pointer name)."""
    crashpoints.reach("commit.start")
    repo.objects.sync()
    if isinstance(manifest, Path):
        repo.registry.write_manifest_file(manifest, top)
    else:
        repo.registry.write_manifest(manifest, top)
    crashpoints.reach("commit.after_manifest")
    record = Commit(top, repo.head_id(), time.time_ns(), author(repo), message,
                    {**_git_commit(repo.root), **(extra or {})}, merged)
    commit_id = repo.write_commit(record)
    crashpoints.reach("commit.after_commit_record")
    pointer = repo.registry.write_pointer(repo.package, top, record.time_ns // 10**9)
    crashpoints.reach("commit.after_pointer")
    latest = repo.registry.read_latest(repo.package)
    repo.registry.set_latest(repo.package, top, latest, force=True)
    crashpoints.reach("commit.after_latest")
    return commit_id, pointer
