"""The work tree: walking it (honouring ``.qvcignore``) and comparing it with the index.

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

from qvc.errors import PathError
from qvc.ignore import IgnoreRules
from qvc.index import Index, version_hash
from qvc.manifest import key_problem
from qvc.objects import FileStat, hash_path


@dataclass
class Walk:
    files: dict[str, FileStat] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # symlinks, special files, bad names


def walk(root: Path, rules: IgnoreRules, start: str = "", force: bool = False) -> Walk:
    """All regular, non-ignored files under ``root/start`` as logical keys with their stat."""
    result = Walk()
    stack = [start]
    while stack:
        folder = stack.pop()
        check = force is False and rules.has_rules(folder)
        prefix = folder + "/" if folder else ""
        try:
            entries = os.scandir(root / folder if folder else root)
        except FileNotFoundError:
            continue
        except PermissionError:
            raise PathError(f"permission denied: {root / folder}", "check the folder's permissions") from None
        with entries:
            for entry in entries:
                key = prefix + entry.name
                if not folder and entry.name == ".qvc":
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if not (check and rules.ignored(key, is_dir=True)):
                        stack.append(key)
                    continue
                if check and rules.ignored(key):
                    continue
                if not entry.is_file(follow_symlinks=False) or _bad_name(key):
                    result.skipped.append(key)
                    continue
                result.files[key] = FileStat.of(entry.stat(follow_symlinks=False))
    return result


def _bad_name(key: str) -> bool:
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return key_problem(key) is not None


def stat_path(root: Path, key: str, *, check_parents: bool = False) -> FileStat | None:
    """Stat one work-tree file without following links; None if it is not a regular file.

    With ``check_parents`` a file reached through a symlinked folder counts as absent too
    (needed for keys the walk did not vouch for, e.g. a tracked folder now a link elsewhere).
    """
    try:
        if check_parents and _through_link(root, key):
            return None
        st = os.lstat(root / key)
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
    row = index.rows[key]
    if index.matches_stat(row, st):
        return True
    staged = row[0]
    if staged is None or staged[0] != st.size:
        return False
    if version_hash(staged) != hash_path(root / key, staged[1]):
        return False
    index.rows[key][2] = [st.mtime_ns, st.ctime_ns, st.ino, st.size]
    index.dirty = True
    return True


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
    """Work tree against the index (and the index against HEAD)."""
    result = Status(skipped=sorted(tree.skipped))
    added, modified, deleted = index.staged_changes()
    result.staged_added, result.staged_modified, result.staged_deleted = added, modified, deleted
    tracked = index.tracked()
    for key in sorted(keys if keys is not None else tracked):
        if key not in tracked:
            continue
        # tracked files stay tracked if ignored; never through a symlinked folder
        st = tree.files.get(key) or stat_path(root, key, check_parents=True)
        if st is None:
            result.deleted.append(key)
        elif not content_matches(root, key, index, st):
            result.modified.append(key)
    result.untracked = sorted(k for k in tree.files if k not in tracked)
    return result
