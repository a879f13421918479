"""qvc pull: fetch, then bring HEAD and the work tree to the remote's version: a
fast-forward (qvc.core.fastforward) when HEAD is in its history, else a merge (qvc.ops.merge;
``--ff-only`` refuses instead). Nothing committed locally is ever dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qvc.core import history
from qvc.core.fastforward import fast_forward
from qvc.core.repo import Repo
from qvc.errors import RemoteConflict
from qvc.git import pin
from qvc.ops.fetch import FetchResult, fetch_locked
from qvc.ops.merge import MergeOutcome, merge_locked
from qvc.remote.recorded import only_stand_ins
from qvc.remote.target import Target
from qvc.sysio.progress import TransferProgress


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
         force: bool = False, progress: TransferProgress | None = None) -> PullResult:
    """Fetch, then fast-forward HEAD and the work tree to the remote's latest (or REV), or,
    when the histories have diverged, merge it (qvc.ops.merge: conflicts change nothing).

    Refuses (RemoteConflict) diverged history with ``ff_only``, and (DirtyWorkTree) when
    tracked files have uncommitted changes or untracked or ignored files stand where incoming
    files go; nothing is lost either way. ``force`` overwrites those on a fast-forward.
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
                              fetched.manifest, after_head=pin.refresh, force=force)
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
