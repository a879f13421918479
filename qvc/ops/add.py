"""qvc add and qvc rm: stage work-tree changes into the index."""

from __future__ import annotations

import contextlib
import itertools
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qvc.core.index import Index
from qvc.core.indexfile import Version
from qvc.core.objectbatch import add_files
from qvc.core.repo import Repo
from qvc.core.sparse import narrow
from qvc.core.workspace import changed_rows, content_matches, stat_path
from qvc.errors import DirtyWorkTree, PathError
from qvc.quilt.hashing import Hash
from qvc.quilt.manifest import key_problem, validate_key, validate_meta
from qvc.sysio import crashpoints
from qvc.sysio.fileio import os_error
from qvc.sysio.filestat import FileStat
from qvc.sysio.progress import CountProgress
from qvc.worktree.ignore import IgnoreRules
from qvc.worktree.paths import to_key, under
from qvc.worktree.treeread import TreeReader
from qvc.worktree.treewalk import Walk, walk

_KEEP = object()
_SHOW_EVERY = 256  # files staged between two progress reports


@dataclass
class _Count:
    """Files done (staged, found unchanged, or gone) and files to do, over every path of one
    add; the total grows as each path is walked."""

    progress: CountProgress | None  # (files done so far, files to do)
    done: int = 0
    total: int = 0

    def show(self, done: int) -> None:
        if self.progress is not None:
            self.progress(done, self.total)


@dataclass
class AddResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    unnamable: list[tuple[str, str]] = field(default_factory=list)  # (name, why) not added


def add(
    repo: Repo, paths: list[str], *, cwd: Path, force: bool = False, meta: Any = _KEEP,
    tracked_only: bool = False, progress: CountProgress | None = None,
) -> AddResult:
    """Stage files (and deletions of tracked files) under each path; with ``tracked_only``
    (commit -a) only changes to files already tracked.

    ``progress(done, total)`` is called once a long run's files are counted, every few
    hundred files staged, and at the end with ``done == total``; ``done`` never decreases,
    and files whose stat matches the index count as done without being read."""
    if meta is not _KEEP:
        validate_meta(meta)
    rules = IgnoreRules(repo.root)
    with repo.lock():
        index = repo.load_index()
        result = AddResult()
        count = _Count(progress)
        for path in paths:
            key = to_key(repo.root, cwd, path)
            _add_one(repo, index, rules, key, path, force, meta, result, count, tracked_only)
        count.show(count.done)
        if index.dirty:
            crashpoints.reach("add.before_index")
            repo.objects.sync()  # objects durable before the index references them
            repo.save_index(index)
            crashpoints.reach("add.after_index")
    return result


def _add_one(
    repo: Repo, index: Index, rules: IgnoreRules, key: str, shown: str, force: bool,
    meta: Any, result: AddResult, count: _Count, tracked_only: bool = False,
) -> None:
    target = repo.root / key if key else repo.root
    files: dict[str, FileStat | None] = {}
    if key and index.sparse is not None and not index.sparse.touches(key):
        raise PathError(f"{shown} is outside this work tree's sparse selection",
                        f"select it first with 'qvc sparse add {shown}'")
    if key and stat_path(repo.root, key) is not None:
        validate_key(key)  # a name no manifest may hold (a folder add lists these as unnamable)
        if not force and rules.ignored_path(key):
            raise PathError(f"{shown} is ignored by a .qvcignore file",
                            "use 'qvc add -f PATH' to add it anyway")
        files[key] = None
    elif target.is_dir() and not target.is_symlink():
        _add_folder(repo, index, rules, key, force, meta, result, count, tracked_only)
        return
    elif os.path.lexists(target) and not target.is_dir():
        raise PathError(f"{shown} is not a regular file", "qvc tracks regular files only")
    elif not any(under(k, key) for k in index.tracked()):
        raise PathError(f"{shown} did not match any file", "check the path with 'qvc status'")
    if tracked_only:
        files = {k: st for k, st in files.items() if index.is_tracked(k)}
    _stage_files(repo, index, files.items(), len(files), meta, result, count)
    _stage_gone(index, repo.root, key, set(files), result)


def _add_folder(
    repo: Repo, index: Index, rules: IgnoreRules, key: str, force: bool, meta: Any,
    result: AddResult, count: _Count, tracked_only: bool,
) -> None:
    """Stage a folder's files as walked (no object per file: a million files must fit)."""
    tree = narrow(walk(repo.root, rules, key, force=force), index.sparse)
    result.unnamable += [(k, why) for k in tree.skipped if (why := key_problem(k))]
    if not key and meta is _KEEP and _stage_changed(repo, index, tree, result, count):
        return
    walked = set(tree.keys)
    # Tracked files stay tracked when a .qvcignore starts to match them (as in git).
    extra = [k for k in index.tracked() if under(k, key) and k not in walked
             and not index.skips(k) and stat_path(repo.root, k, check_parents=True) is not None]
    files: Iterable[tuple[str, FileStat | None]] = itertools.chain(
        tree.items(), ((k, None) for k in extra))
    todo = len(tree.keys) + len(extra)
    if tracked_only:
        files = ((k, st) for k, st in files if index.is_tracked(k))
        if count.progress is not None:  # an extra pass over the keys, for the total only
            todo = sum(1 for k in tree.keys if index.is_tracked(k)) + len(extra)
    _stage_files(repo, index, files, todo, meta, result, count)
    walked.update(extra)
    _stage_gone(index, repo.root, key, walked, result)


def _stage_gone(index: Index, root: Path, key: str, present: set[str],
                result: AddResult) -> None:
    """Stage the deletion of tracked files under ``key`` that are no longer there."""
    for gone in [k for k in index.tracked()
                 if under(k, key) and k not in present and not index.skips(k)]:
        if stat_path(root, gone, check_parents=True) is None:
            index.stage_delete(gone)
            result.removed.append(gone)


def _stage_changed(repo: Repo, index: Index, tree: Walk, result: AddResult,
                   count: _Count) -> bool:
    """Stage a walk of the whole work tree by its changed rows only, when it holds exactly
    the tracked files (the common case); False when it does not."""
    changed = changed_rows(index, tree)
    if changed is None:
        return False
    result.unchanged += len(tree.keys) - len(changed)
    _stage_files(repo, index, ((tree.keys[i], tree.stats.get(i))
                               for i in changed), len(changed), _KEEP, result, count)
    return True


def _stage_files(
    repo: Repo, index: Index, files: Iterable[tuple[str, FileStat | None]], todo: int,
    meta: Any, result: AddResult, count: _Count,
) -> None:
    """Stage files given with their stat from the walk that found them (None: stat here).
    Files whose stat matches the index are skipped; the others are copied into the object
    store (split between processes or threads for a large batch) and staged in order.
    ``todo`` is how many ``files`` there are, for ``count``."""
    root = f"{repo.root}/"
    skipped = 0  # files done without an object: unchanged, or gone since the walk

    def changed() -> Iterator[tuple[str, str, FileStat | None]]:
        nonlocal skipped
        for key, walked in files:
            st = walked or stat_path(repo.root, key)
            if st is None:
                skipped += 1
                continue
            if meta is _KEEP and index.stat_matches(key, st):
                result.unchanged += 1
                skipped += 1
                continue
            yield key, root + key, st

    count.total += todo
    if todo >= _SHOW_EVERY:  # a long run shows its total at once
        count.show(count.done)
    before, staged = count.done, 0
    due = _SHOW_EVERY if count.progress is not None else sys.maxsize  # one compare per file
    try:
        reader = TreeReader(repo.root)  # files opened through verified folders only
    except OSError as exc:
        raise os_error(exc, repo.root) from exc
    with reader:
        for staged, (key, h, st) in enumerate(
                add_files(repo.objects, changed(), opener=reader.open), start=1):
            crashpoints.reach("add.after_object")
            _stage_object(index, key, h, st, meta, result)
            if staged >= due:
                due += _SHOW_EVERY
                count.show(before + staged + skipped)
    count.done = before + staged + skipped


def _stage_object(
    index: Index, key: str, h: Hash, st: FileStat, meta: Any, result: AddResult
) -> None:
    """Stage ``key`` as the stored object ``h`` read from a file with stat ``st``."""
    old = index.staged_version(key)
    old_meta = old.meta if old is not None else {}
    new_meta = old_meta if meta is _KEEP else ({"user_meta": meta} if meta is not None else {})
    version = Version(st.size, h.type, h.value, new_meta)
    if old == version:
        index.stage(key, version, st)  # refresh the stat cache only
        result.unchanged += 1
        return
    (result.updated if old is not None else result.added).append(key)
    index.stage(key, version, st)


@dataclass
class RmResult:
    removed: list[str] = field(default_factory=list)


def rm(
    repo: Repo, paths: list[str], *, cwd: Path, cached: bool = False, force: bool = False
) -> RmResult:
    """Untrack files (and delete them from the work tree unless ``cached``).

    Deleting a file whose content is not committed is refused unless ``force``: that content
    would exist nowhere else.
    """
    result = RmResult()
    with repo.lock():
        index = repo.load_index()
        for path in paths:
            key = to_key(repo.root, cwd, path)
            matched = [k for k in index.tracked() if under(k, key)]
            if not matched:
                raise PathError(f"{path} is not tracked", "see tracked files with 'qvc ls'")
            if not cached and not force:
                _refuse_unsaved(repo, index, matched)
            for k in matched:
                index.stage_delete(k)
                result.removed.append(k)
        repo.save_index(index)
        if not cached:
            for k in result.removed:
                if index.skips(k) or stat_path(repo.root, k, check_parents=True) is None:
                    continue  # gone, not a regular file, or behind a symlinked folder
                try:
                    (repo.root / k).unlink()
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    raise os_error(exc, repo.root / k) from exc
            _remove_emptied_folders(repo.root, result.removed)
    return result


def _remove_emptied_folders(root: Path, keys: list[str]) -> None:
    """Remove the folders of ``keys`` that deleting them left empty, deepest first, as
    ``git rm`` does. ``rmdir`` removes only an empty folder (never a link), so a folder that
    still holds an untracked or ignored file stays, and so does every folder above it."""
    folders = {"/".join(k.split("/")[:depth]) for k in keys for depth in range(1, k.count("/") + 1)}
    real: dict[str, None] = {}  # reached without passing a link: never rmdir through one
    for folder in sorted(folders, key=lambda f: f.count("/")):
        parent = folder.rpartition("/")[0]
        if (not parent or parent in real) and stat.S_ISDIR(_lstat_mode(root / folder)):
            real[folder] = None
    for folder in reversed(list(real)):
        with contextlib.suppress(OSError):  # not empty, not a folder, or gone: leave it
            os.rmdir(root / folder)


def _lstat_mode(path: Path) -> int:
    try:
        return os.lstat(path).st_mode
    except OSError:
        return 0


def _refuse_unsaved(repo: Repo, index: Index, keys: list[str]) -> None:
    unsaved = []
    for k in keys:
        st = stat_path(repo.root, k, check_parents=True)
        row = index.rows[k]
        if st is not None and (row.staged != row.head
                               or not content_matches(repo.root, k, index, st)):
            unsaved.append(k)
    if unsaved:
        raise DirtyWorkTree(
            f"{len(unsaved)} file(s) have changes that are not committed: {', '.join(unsaved[:5])}",
            "commit them first, use --cached to keep the files, or --force to delete anyway",
        )
