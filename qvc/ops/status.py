"""qvc status: what is staged, modified, deleted and untracked."""

from __future__ import annotations

from dataclasses import dataclass

from qvc.errors import LockHeld
from qvc.ignore import IgnoreRules
from qvc.ops.tracking import Relation, relation
from qvc.remotes import default_remote
from qvc.repo import Repo
from qvc.treewalk import walk
from qvc.workspace import Status, compare


@dataclass
class StatusResult:
    package: str
    head: str | None  # top hash of HEAD
    status: Status
    remote: Relation | None = None  # HEAD against the default remote, as last fetched/pushed


def status(repo: Repo) -> StatusResult:
    """Compare the work tree with the index; refresh the stat cache when nobody holds the lock."""
    index = repo.load_index()
    tree = walk(repo.root, IgnoreRules(repo.root))
    result = compare(repo.root, index, tree)
    if index.dirty:
        try:
            lock = repo.lock()
            lock.timeout = 0
            with lock:
                repo.save_index(index)
        except LockHeld:
            pass  # another command is writing; the refresh can wait for the next status
    head = repo.head()
    remote = default_remote(repo)
    return StatusResult(repo.package, head.top_hash if head else None, result,
                        relation(repo, remote) if remote else None)
