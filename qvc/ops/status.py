"""qvc status: what is staged, modified, deleted and untracked."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from qvc.core.history import is_ancestor
from qvc.core.repo import Repo
from qvc.core.workspace import Status, compare
from qvc.errors import BadManifest, LockHeld, QvcError
from qvc.git import pin
from qvc.remote.remotes import default_remote
from qvc.remote.tracking import Relation, relation
from qvc.sysio import reflink
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
    untracked_folded: list[str] = field(default_factory=list)  # see :func:`fold_untracked`
    storage: str = "copy"  # "reflink": files and objects share blocks (qvc.sysio.reflink)
    sparse: tuple[str, ...] | None = None  # the sparse selection (qvc.core.sparse)
    pinned: str | None = None  # top hash ``qvc.pin`` names when it is not HEAD's (git moved)
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
    reflinks = reflink.supported_kept(repo.paths.tmp, repo.paths.reflink_cache)
    storage = "reflink" if reflinks else "copy"
    top = head.top_hash if head else None
    return StatusResult(repo.package, top, result,
                        relation(repo, remote) if remote else None, newer_latest(repo),
                        fold_untracked(result.untracked, index.tracked()), storage,
                        index.sparse.paths if index.sparse is not None else None,
                        _pin_elsewhere(repo, top),
                        interrupted_clone=head is None and repo.paths.cloning.exists())


def _pin_elsewhere(repo: Repo, top: str | None) -> str | None:
    """The version a git-linked tree's pin names when the data is not at it: git checked out
    code whose post-checkout hook did not run (with the pre-commit framework, any code
    commit older than its config). A damaged pin is the pre-commit hook's to report."""
    try:
        found = pin.read(repo.root)
    except BadManifest:
        return None
    return found.top_hash if found and found.top_hash and found.top_hash != top else None


def fold_untracked(untracked: list[str], tracked: Iterable[str]) -> list[str]:
    """``untracked`` (sorted keys) with each folder that holds no tracked file shown once as
    ``folder/``, outermost first, as ``git status`` does; sorted."""
    if not untracked:
        return []
    folders_in_use: set[str] = set()
    for key in tracked:
        parts = key.split("/")
        for depth in range(len(parts) - 1, 0, -1):
            folder = "/".join(parts[:depth])
            if folder in folders_in_use:
                break  # and so are the folders above it
            folders_in_use.add(folder)
    shown: dict[str, None] = {}
    for key in untracked:
        parts = key.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder not in folders_in_use:
                shown[folder + "/"] = None
                break
        else:
            shown[key] = None
    return sorted(shown)


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
