"""The work tree compared with the index (the walk itself is :mod:`qvc.worktree.treewalk`).

Unchanged files are recognised by the stat cache and never read; only files whose stat
changed (or is racy) are re-hashed. Symlinks and special files are never followed or tracked
(Quilt packages hold regular files only); they are reported as ``skipped``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from qvc.core.index import RACY_WINDOW_NS, Index
from qvc.core.sparse import narrow
from qvc.quilt.hashing import hash_file
from qvc.quilt.manifest import Entry
from qvc.sysio.filestat import FileStat
from qvc.worktree.treewalk import Walk


def stat_path(root: Path | str, key: str, *, check_parents: bool = False) -> FileStat | None:
    """Stat one work-tree file without following links; None if it is not a regular file.
    (A plain string path: callers run this once per tracked file.)

    With ``check_parents`` a file reached through a symlinked folder counts as absent too
    (needed for keys the walk did not vouch for, e.g. a tracked folder now a link elsewhere).
    """
    try:
        if check_parents and _through_link(Path(root), key):
            return None
        st = os.lstat(f"{root}/{key}")
    except (FileNotFoundError, NotADirectoryError):
        return None
    return FileStat.of(st) if stat.S_ISREG(st.st_mode) else None


def _through_link(root: Path, key: str) -> bool:
    current = root
    for part in key.split("/")[:-1]:
        current = current / part
        if stat.S_ISLNK(os.lstat(current).st_mode):
            return True
    return False


def content_matches(root: Path, key: str, index: Index, st: FileStat) -> bool:
    """Whether the file's content equals its staged version (stat cache first, then hash)."""
    if index.stat_matches(key, st):
        return True
    staged = index.rows[key].staged
    if staged is None or staged.size != st.size:
        return False
    if staged.hash != hash_file(root / key, staged.hash_type):
        return False
    index.set_stat(key, st)
    return True


def differs(root: Path, key: str, entry: Entry) -> bool:
    """Whether something other than ``entry``'s content stands at ``key`` (nothing: False;
    a link or a folder: True)."""
    st = stat_path(root, key)
    if st is None:
        return os.path.lexists(root / key)
    return st.size != entry.size or hash_file(root / key, entry.hash.type) != entry.hash


def untracked_in_the_way(root: Path, index: Index, entries: Iterable[Entry]) -> list[str]:
    """Keys of ``entries`` that are not tracked and where something other than the entry's
    content stands: an untracked file, an ignored one (ignored does not mean worthless), a
    link or a folder. Writing there would destroy it: the one rule by which checkout, pull
    and merge refuse (unless forced)."""
    return sorted(e.logical_key for e in entries
                  if not index.is_tracked(e.logical_key) and differs(root, e.logical_key, e))


@dataclass
class Status:
    staged_added: list[str] = field(default_factory=list)
    staged_modified: list[str] = field(default_factory=list)
    staged_deleted: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    untracked: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.staged_added or self.staged_modified or self.staged_deleted
                    or self.modified or self.deleted or self.untracked)

    @property
    def dirty_tracked(self) -> list[str]:
        """Tracked paths whose work-tree state differs from what is committed or staged."""
        return sorted(set(self.modified + self.deleted + self.staged_added
                          + self.staged_modified + self.staged_deleted))


def compare(root: Path, index: Index, tree: Walk, keys: Iterable[str] | None = None) -> Status:
    """Work tree against the index (and the index against HEAD); keys outside the sparse
    selection (qvc.core.sparse) are neither looked at nor reported."""
    tree = narrow(tree, index.sparse)
    result = Status(skipped=sorted(tree.skipped))
    added, modified, deleted = index.staged_changes()
    result.staged_added, result.staged_modified, result.staged_deleted = added, modified, deleted
    suspects = changed_rows(index, tree) if keys is None else None
    same = suspects is not None
    walked: dict[str, FileStat] = (
        {tree.keys[i]: tree.stats.get(i) for i in suspects}
        if suspects is not None else tree.files)  # only the suspects' stats, if that is all
    tracked: Iterable[str] = walked if suspects is not None else index.tracked()
    for key in sorted(keys if keys is not None else tracked):
        if not index.is_tracked(key) or index.skips(key):
            continue
        # tracked files stay tracked if ignored; never through a symlinked folder
        st = walked.get(key) or stat_path(root, key, check_parents=True)
        if st is None:
            result.deleted.append(key)
        elif not content_matches(root, key, index, st):
            result.modified.append(key)
    if not same:
        result.untracked = sorted(k for k in tree.keys if not index.is_tracked(k))
    return result


def changed_rows(index: Index, tree: Walk, block: int = 1024) -> list[int] | None:
    """When ``tree`` holds exactly the tracked files (the common case: none added, removed
    or staged for deletion), the rows whose stat differs from the cached one or changed
    racily close to the index's write; every other file holds its staged content. None when
    the walk and the index hold different keys. Compares a block of rows at a time."""
    if not (index.untouched() and 0 not in index.base.types and tree.keys == index.base.keys):
        return None
    return tree.stats.differing(index.base.stats, index.mtime_ns - RACY_WINDOW_NS, block)
