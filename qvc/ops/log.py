"""qvc log, show and ls: read history and manifests."""

from __future__ import annotations

from dataclasses import dataclass

from qvc.core import reflog
from qvc.core.history import children_first, reachable_from
from qvc.core.repo import Commit, Repo
from qvc.errors import RepositoryError
from qvc.quilt.manifest import Manifest
from qvc.remote import target, tracking


@dataclass
class LogEntry:
    commit_id: str
    commit: Commit
    parent_top_hash: str | None
    parent_top_hashes: tuple[str, ...] = ()  # every parent's (a merge has two)


def log(repo: Repo, limit: int | None = None, rev: str | None = None, *,
        every_ref: bool = False, every_parent: bool = False) -> list[LogEntry]:
    """Commits newest first, following first-parent links from REV (default HEAD).

    ``every_parent`` follows both parents of merges, in an order where each commit comes
    before its parents; ``every_ref`` starts from HEAD, every tag, every remote-tracking
    commit and every commit the reflog names too (so nothing checked out is out of view)."""
    start = repo.resolve(rev) if rev else repo.head_id()
    if every_ref or every_parent:
        starts = [start] if start else []
        commits = reachable_from(repo, starts + (_ref_commits(repo) if every_ref else []))
        walk = [(c, commits[c]) for c in children_first(commits)]
    else:
        walk = list(repo.history(start)) if limit is None else _first(repo, start, limit)
    return [_entry(repo, commit_id, commit) for commit_id, commit in walk[:limit]]


def _first(repo: Repo, start: str | None, limit: int) -> list[tuple[str, Commit]]:
    found: list[tuple[str, Commit]] = []
    for item in repo.history(start):
        if len(found) >= limit:
            break
        found.append(item)
    return found


def _entry(repo: Repo, commit_id: str, commit: Commit) -> LogEntry:
    tops = tuple(repo.commit(p).top_hash for p in commit.parents)
    return LogEntry(commit_id, commit, tops[0] if commit.parent else None, tops)


def _ref_commits(repo: Repo) -> list[str]:
    """Tags, remote-tracking commits and the reflog's commits whose records are here (a
    commit ``qvc gc`` removed after its reflog entry expired is skipped)."""
    named = list(repo.tags().values())
    named += [t.commit for t in tracking.load(repo).values()
              if t.commit and t.package == repo.package]
    for move in reflog.read(repo.paths.reflog):
        named += [c for c in (move.new, move.old) if c]
    found = []
    for commit_id in dict.fromkeys(named):
        try:
            repo.commit(commit_id)
        except RepositoryError:
            continue
        found.append(commit_id)
    return found


def code_commits(repo: Repo) -> dict[str, str]:
    """Top hash -> the git commit that first pinned it, for a work tree linked to git (its
    ``qvc.pin`` in git's history); empty otherwise. Resolved from git when asked, so it names
    the code commit made after ``qvc commit``, which a record written at commit time cannot."""
    from qvc.git import pin
    from qvc.git.gitlink import GitRepo

    if not pin.path_of(repo.root).exists():
        return {}
    git = GitRepo.discover(repo.root)
    if git is None:
        return {}
    return git.pinning_commits(git.rel(pin.path_of(repo.root)))


@dataclass
class ShowResult:
    commit_id: str
    commit: Commit
    manifest: Manifest
    parent_top_hashes: tuple[str, ...] = ()  # every parent's (a merge has two)


def show(repo: Repo, rev: str | None = None) -> ShowResult:
    commit_id = repo.resolve(rev)
    commit = repo.commit(commit_id)
    return ShowResult(commit_id, commit, repo.manifest(commit.top_hash),
                      _entry(repo, commit_id, commit).parent_top_hashes)


def remote_manifest(repo: Repo, rev: str | None = None, remote: str | None = None) -> Manifest:
    """A version's manifest as a remote holds it (REV: a top hash or prefix, default its
    ``latest``), read from the registry: no data is downloaded."""
    registry = target.resolve(repo, remote).registry
    return registry.read_manifest(registry.resolve(repo.package, rev))
