"""qvc sparse: choose which keys of the package the work tree holds (qvc.core.sparse).

Widening writes the newly selected files (their objects fetched from the default remote when
not stored); narrowing removes the files that leave the selection, refusing (without
``force``) any that hold uncommitted changes. Order: files written and removed, flushed; the
index (stats of the files written); then the selection. A kill before the selection is saved
leaves the old selection, under which written files are not looked at and removed ones show
as deleted; running the command again finishes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from qvc.core import sparse
from qvc.core.index import Index
from qvc.core.repo import Repo
from qvc.core.sparse import Selection
from qvc.core.workspace import content_matches, differs, stat_path
from qvc.errors import DirtyWorkTree, PathError, UsageError
from qvc.ops.checkout import put_files
from qvc.quilt.manifest import Entry
from qvc.sysio.fileio import sync_filesystem
from qvc.sysio.progress import CountProgress
from qvc.worktree.materialize import remove_entry
from qvc.worktree.paths import to_key


@dataclass
class SparseResult:
    paths: tuple[str, ...] | None  # the selection now; None: every key
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def show(repo: Repo) -> SparseResult:
    selection = repo.selection()
    return SparseResult(selection.paths if selection is not None else None)


def change(repo: Repo, paths: list[str] | None, *, cwd: Path, add: bool = False,
           force: bool = False, progress: CountProgress | None = None) -> SparseResult:
    """Select ``paths`` (relative to ``cwd``; None: every key), or with ``add`` select them
    too. Each path must match a key of the next commit."""
    with repo.lock():
        index = repo.load_index()
        old = index.sparse
        new = _selection(repo, paths, cwd, old if add else None, add)
        tracked = list(index.tracked())
        if new is not None:
            missed = [p for p, hit in new.selects_any(tracked).items() if not hit]
            if missed:
                raise PathError(f"{', '.join(missed)} did not match any file of this version",
                                "list the version's files with 'qvc ls'")
        gained = [k for k in tracked if _selects(old, k) is False and _selects(new, k)]
        lost = [k for k in tracked if _selects(old, k) and _selects(new, k) is False]
        wanted = {}
        for key in gained:
            staged = index.rows[key].staged
            assert staged is not None
            wanted[key] = Entry(key, "", staged.size, staged.hash, staged.meta)
        _refuse(repo, index, wanted, lost, force)
        head = repo.head()
        index.sparse = new
        writes: list[str] = []
        if wanted:
            top = head.top_hash if head else ""  # objects missing here come from this version
            writes, stats = put_files(repo, index, wanted, [], top, progress)
            for key, st in stats.items():
                index.set_stat(key, st)
        for key in lost:
            remove_entry(repo.root, key)
        sync_filesystem(repo.root)
        repo.save_index(index)
        sparse.write(repo.paths.sparse, new)
    return SparseResult(new.paths if new is not None else None, sorted(writes), sorted(lost))


def _selection(repo: Repo, paths: list[str] | None, cwd: Path, old: Selection | None,
               add: bool) -> Selection | None:
    if paths is None or (add and old is None):
        return None  # every key (already every key: adding changes nothing)
    if not paths:
        raise UsageError("name at least one path to select",
                         "e.g. 'qvc sparse set images/2024', or 'qvc sparse disable' for all")
    keys = [to_key(repo.root, cwd, p) for p in paths]
    try:
        chosen = Selection.of(keys)
    except ValueError as exc:
        raise UsageError(str(exc), "give keys or folders of the package, e.g. "
                         "'qvc sparse set images/2024'") from None
    return old.union(chosen) if old is not None else chosen


def _selects(selection: Selection | None, key: str) -> bool:
    return selection is None or selection.selects(key)


def _refuse(repo: Repo, index: Index, wanted: dict[str, Entry], lost: list[str],
            force: bool) -> None:
    """DirtyWorkTree when something other than a newly selected file's content stands at its
    path, or a file leaving the selection holds uncommitted changes."""
    if force:
        return
    blocked = [k for k, e in wanted.items() if differs(repo.root, k, e)]
    rows = index.rows
    for key in lost:
        row = rows[key]
        st = stat_path(repo.root, key, check_parents=True)
        if row.staged != row.head or (st is not None
                                      and not content_matches(repo.root, key, index, st)):
            blocked.append(key)
    if blocked:
        shown = ", ".join(sorted(blocked)[:5]) + (
            f" and {len(blocked) - 5} more" if len(blocked) > 5 else "")
        raise DirtyWorkTree(f"uncommitted changes or other files in the way: {shown}; the "
                            "selection was not changed",
                            "commit them ('qvc commit -a -m MESSAGE') or move them away, "
                            "or pass --force to discard them")
