"""The work tree: walking it (honouring ``.qvcignore``) and comparing it with the index.

Unchanged files are recognised by the stat cache and never read; only files whose stat
changed (or is racy) are re-hashed. Symlinks and special files are never followed or tracked
(Quilt packages hold regular files only); they are reported as ``skipped``.
"""

from __future__ import annotations

import errno
import os
import stat
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from qvc.fileio import os_error
from qvc.ignore import IgnoreRules
from qvc.index import RACY_WINDOW_NS, Index, version_hash
from qvc.manifest import key_problem
from qvc.objects import FileStat, hash_path


class Walk:
    """Files found by :func:`walk`, in Quilt walk order: ``keys[i]`` has stat
    ``stats[4 * i:4 * i + 4]`` (one array, not a tuple per file: the index compares the
    whole column at once)."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.stats: array[int] = array("q")
        self.skipped: list[str] = []  # symlinks, special files, bad names
        self._files: dict[str, FileStat] | None = None

    @property
    def files(self) -> dict[str, FileStat]:
        if self._files is None:
            s = self.stats
            self._files = {k: FileStat(*s[4 * i:4 * i + 4]) for i, k in enumerate(self.keys)}
        return self._files


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def walk(root: Path, rules: IgnoreRules, start: str = "", force: bool = False) -> Walk:
    """All regular, non-ignored files under ``root/start`` as logical keys with their stat."""
    result = Walk()
    _walk_folder(root, str(root / start) if start else str(root), None, rules, start, force,
                 result)
    return result


def _walk_folder(root: Path, path: str, parent_fd: int | None, rules: IgnoreRules,
                 folder: str, force: bool, result: Walk) -> None:
    """Open ``path`` (relative to ``parent_fd``) without following a link, and walk it: each
    name is then one ``lstat`` relative to the folder, with no path to resolve again."""
    try:
        fd = os.open(path, _DIR_FLAGS, dir_fd=parent_fd)
    except (FileNotFoundError, NotADirectoryError):
        return  # gone, or replaced by a file since it was listed
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return  # replaced by a link since it was listed
        raise os_error(exc, root / folder) from exc
    try:
        _walk_names(root, fd, rules, folder, force, result)
    finally:
        os.close(fd)


def _walk_names(root: Path, fd: int, rules: IgnoreRules, folder: str, force: bool,
                result: Walk) -> None:
    """Folders depth first, names sorted: the order of :func:`qvc.manifest.sort_key`."""
    check = force is False and rules.has_rules(folder)
    prefix = folder + "/" if folder else ""
    names = os.listdir(fd)
    names.sort()
    # one check of all names at once (a name holds no '/'); each alone only if that fails
    names_ok = bool(folder) and not _bad_name(prefix + "/".join(names))
    keys, skipped, extend, lstat = result.keys, result.skipped, result.stats.extend, os.lstat
    for name in names:
        key = prefix + name
        try:
            st = lstat(name, dir_fd=fd)
        except FileNotFoundError:
            continue
        kind = stat.S_IFMT(st.st_mode)
        if kind == stat.S_IFDIR:
            if not (check and rules.ignored(key, is_dir=True)) and (folder or key != ".qvc"):
                _walk_folder(root, name, fd, rules, key, force, result)
            continue
        if check and rules.ignored(key):
            continue
        if kind != stat.S_IFREG or (not names_ok and _bad_name(key)):
            skipped.append(key)  # symlinks, special files, names no manifest may hold
            continue
        keys.append(key)
        extend((st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_size))


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
    if index.stat_matches(key, st):
        return True
    row = index.rows[key]
    staged = row[0]
    if staged is None or staged[0] != st.size:
        return False
    if version_hash(staged) != hash_path(root / key, staged[1]):
        return False
    index.set_stat(key, st)
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
    suspects = changed_rows(index, tree) if keys is None else None
    same = suspects is not None
    tracked: Iterable[str] = ([tree.keys[i] for i in suspects] if suspects is not None
                              else index.tracked())
    for key in sorted(keys if keys is not None else tracked):
        if not index.is_tracked(key):
            continue
        # tracked files stay tracked if ignored; never through a symlinked folder
        st = tree.files.get(key) or stat_path(root, key, check_parents=True)
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
    mine, theirs = tree.stats, index.base.stats
    racy = index.mtime_ns - RACY_WINDOW_NS
    found: list[int] = []
    for start in range(0, len(tree.keys), block):
        a, b = 4 * start, 4 * (start + block)
        if mine[a:b] != theirs[a:b] or max(mine[a:b:4]) >= racy:
            found.extend(i for i in range(start, min(start + block, len(tree.keys)))
                         if mine[4 * i:4 * i + 4] != theirs[4 * i:4 * i + 4]
                         or mine[4 * i] >= racy)
    return found
