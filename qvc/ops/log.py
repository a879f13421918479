"""qvc log, show and ls: read history and manifests."""

from __future__ import annotations

from dataclasses import dataclass

from qvc.core.repo import Commit, Repo
from qvc.quilt.manifest import Manifest


@dataclass
class LogEntry:
    commit_id: str
    commit: Commit
    parent_top_hash: str | None


def log(repo: Repo, limit: int | None = None, rev: str | None = None) -> list[LogEntry]:
    """Commits newest first, following parent links from REV (default HEAD)."""
    start = repo.resolve(rev) if rev else repo.head_id()
    entries: list[LogEntry] = []
    for commit_id, commit in repo.history(start):
        if limit is not None and len(entries) >= limit:
            break
        parent = repo.commit(commit.parent).top_hash if commit.parent else None
        entries.append(LogEntry(commit_id, commit, parent))
    return entries


@dataclass
class ShowResult:
    commit_id: str
    commit: Commit
    manifest: Manifest


def show(repo: Repo, rev: str | None = None) -> ShowResult:
    commit_id = repo.resolve(rev)
    commit = repo.commit(commit_id)
    return ShowResult(commit_id, commit, repo.manifest(commit.top_hash))
