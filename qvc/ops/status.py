"""qvc status: what is staged, modified, deleted and untracked."""

from __future__ import annotations

from dataclasses import dataclass

from qvc.core.history import is_ancestor
from qvc.core.repo import Repo
from qvc.core.workspace import Status, compare
from qvc.errors import LockHeld, QvcError
from qvc.remote.remotes import default_remote
from qvc.remote.tracking import Relation, relation
from qvc.worktree.ignore import IgnoreRules
from qvc.worktree.materialize import remove_stale_temps
from qvc.worktree.treewalk import walk


@dataclass
class StatusResult:
    package: str
    head: str | None  # top hash of HEAD
    status: Status
    remote: Relation | None = None  # HEAD against the default remote, as last fetched/pushed
    latest: str | None = None  # top hash of ``latest`` when HEAD is an older version of it
    interrupted_clone: bool = False  # a clone was killed here before it set HEAD


def status(repo: Repo) -> StatusResult:
    """Compare the work tree with the index; when nobody holds the lock, refresh the stat
    cache and remove temp files a killed command left (the walk never lists them)."""
    index = repo.load_index()
    tree = walk(repo.root, IgnoreRules(repo.root))
    result = compare(repo.root, index, tree)
    if index.dirty or tree.temps:
        try:
            lock = repo.lock()
            lock.timeout = 0
            with lock:
                remove_stale_temps(repo.root, tree.temps)
                if index.dirty:
                    repo.save_index(index)
        except LockHeld:
            pass  # another command is writing; the refresh can wait for the next status
    head = repo.head()
    remote = default_remote(repo)
    return StatusResult(repo.package, head.top_hash if head else None, result,
                        relation(repo, remote) if remote else None, newer_latest(repo),
                        interrupted_clone=head is None and repo.paths.cloning.exists())


def newer_latest(repo: Repo) -> str | None:
    """The top hash of the local registry's ``latest`` when HEAD is one of its ancestors
    (an older version of the package's history in this clone); else None."""
    head = repo.head_id()
    latest = repo.registry.read_latest(repo.package)
    if head is None or latest is None or latest.top_hash == repo.commit(head).top_hash:
        return None
    try:
        tip = repo.commit_for(latest.top_hash)
    except QvcError:
        return None  # a version without a commit record here: nothing to compare with
    return latest.top_hash if is_ancestor(repo, head, tip) else None
