"""qvc checkout: bring the work tree (or some paths) to a commit without losing work.

Order: refuse if uncommitted work is in the way; make sure every object needed is present and
hashes to its name (before touching a single file, so a damaged object cannot leave a half
checked-out tree); write the files that differ (a free name created in place with ``O_EXCL``,
an existing file replaced through a temp file and a rename: ``materialize.TreeWriter``); flush;
then the index and HEAD, the one way (qvc.core.head). A crash before HEAD moves leaves files
of the target version in place, which ``status`` shows as unstaged changes (nothing staged)
and a re-run completes (the one file being created when it struck may be short: it shows as
changed, and ``--force`` replaces it).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from qvc.core.head import move_head
from qvc.core.index import Index
from qvc.core.indexfile import Version
from qvc.core.objects import SMALL, hash_large
from qvc.core.repo import Repo
from qvc.core.workspace import (
    compare,
    content_matches,
    differs,
    stat_path,
    untracked_in_the_way,
)
from qvc.errors import CorruptObject, DirtyWorkTree, PathError
from qvc.git import pin
from qvc.ops import verify as verify_op
from qvc.quilt.hashing import Hash, hash_bytes
from qvc.quilt.manifest import Entry, Manifest
from qvc.remote import remotes
from qvc.sysio import crashpoints, reflink
from qvc.sysio.fileio import os_error, sync_filesystem
from qvc.sysio.filestat import FileStat
from qvc.sysio.progress import CountProgress
from qvc.worktree.materialize import TreeWriter, remove_entry
from qvc.worktree.paths import to_key, under
from qvc.worktree.treewalk import Walk

_WORKERS = min(4, os.cpu_count() or 2)  # for hashing only
_BATCH = 256
_KEEP_BYTES = 256 << 20  # verified small objects held for the writer


@dataclass
class CheckoutResult:
    commit_id: str
    top_hash: str
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    paths_only: bool = False


def checkout(repo: Repo, rev: str, paths: list[str] | None = None, *, cwd: Path,
             force: bool = False, progress: CountProgress | None = None,
             refresh_pin: bool = True) -> CheckoutResult:
    """Full checkout (moves HEAD) or, with ``paths``, restore and stage those paths only.
    ``progress`` gets (files written so far, files to write). A full checkout rewrites the
    pin of a git-linked tree to name the new HEAD unless ``refresh_pin`` is False (when the
    data follows a pin that git checked out, which must stay exactly as git holds it)."""
    with repo.lock():
        commit_id = repo.resolve(rev)
        target = repo.manifest(repo.commit(commit_id).top_hash)
        index = repo.load_index()
        result = CheckoutResult(commit_id, repo.commit(commit_id).top_hash, paths_only=bool(paths))
        if paths:
            keys = _selected(repo, target, paths, cwd)
            wanted = {k: target.entries[k] for k in keys
                      if k in target.entries and not index.skips(k)}
            if keys and not wanted:
                raise PathError(f"{', '.join(paths)} is outside this work tree's sparse "
                                "selection", f"select it first with 'qvc sparse add {paths[0]}'")
            doomed: list[str] = []
        else:
            wanted = {k: e for k, e in target.entries.items() if not index.skips(k)}
            doomed = [k for k, row in index.rows.items()
                      if row.staged is not None and k not in target.entries
                      and not index.skips(k)]
        if not force:
            _refuse_dirty(repo, index, wanted, paths and list(wanted))
        writes, stats = put_files(repo, index, wanted, doomed, result.top_hash, progress)
        result.unchanged = len(wanted) - len(writes)
        result.written, result.removed = sorted(writes), sorted(doomed)
        if paths:
            for key, entry in wanted.items():
                index.stage(key, Version.of(entry), stats.get(key))
            repo.save_index(index)
        else:
            _move_head(repo, commit_id, target, stats, rev, refresh_pin)
    return result


def put_files(repo: Repo, index: Index, wanted: dict[str, Entry], doomed: list[str], top: str,
              progress: CountProgress | None) -> tuple[list[str], dict[str, FileStat]]:
    """Make the work-tree files of ``wanted`` hold their entries and remove those of
    ``doomed``, durably, touching no file before every object needed is verified (fetched
    from the default remote's version ``top`` if damaged or missing). Returns the keys
    written and the stat of every wanted file (those already equal to their entry included).
    Keys outside the sparse selection (qvc.core.sparse) are neither written nor removed.
    """
    if index.sparse is not None:
        wanted = {k: e for k, e in wanted.items() if not index.skips(k)}
        doomed = [k for k in doomed if not index.skips(k)]
    writes, stats = _plan(repo, index, wanted)
    kept = _ensure_objects(repo, top, [wanted[k] for k in writes],
                           any(wanted[k].size > SMALL for k in writes)
                           and reflink.supported_kept(repo.paths.tmp, repo.paths.reflink_cache))
    crashpoints.reach("checkout.before_files")
    stats.update(_write_all(repo, [wanted[k] for k in writes], kept, progress))
    for key in doomed:
        remove_entry(repo.root, key)
    sync_filesystem(repo.root)  # files durable before HEAD and the index vouch for them
    crashpoints.reach("checkout.after_files")
    return writes, stats


def _selected(repo: Repo, target: Manifest, paths: list[str], cwd: Path) -> list[str]:
    """Keys of REV under the given paths; each path must match something in REV."""
    found: set[str] = set()
    for path in paths:
        prefix = to_key(repo.root, cwd, path)
        matched = [k for k in target.entries if under(k, prefix)]
        if not matched:
            raise PathError(f"{path} did not match any file in that version",
                            "list the version's files with 'qvc ls REV'")
        found.update(matched)
    return sorted(found)


def _refuse_dirty(repo: Repo, index: Index, wanted: dict[str, Entry],
                  keys_only: list[str] | None) -> None:
    """Raise DirtyWorkTree listing uncommitted changes and untracked files in the way
    (within ``keys_only`` when given, else anywhere in the work tree)."""
    status = compare(repo.root, index, Walk(), keys=keys_only)
    # a file already holding the target's content loses nothing (e.g. after an interrupted
    # checkout), so only other modifications count
    dirty = {k for k in status.modified if k not in wanted or differs(repo.root, k, wanted[k])}
    if keys_only is None:
        dirty.update(status.staged_added + status.staged_modified + status.staged_deleted)
    else:
        rows = index.rows
        dirty.update(k for k in keys_only if k in rows and rows[k].staged != rows[k].head)
    dirty.update(untracked_in_the_way(repo.root, index, wanted.values()))
    if dirty:
        listed = sorted(dirty)
        more = f" and {len(listed) - 10} more" if len(listed) > 10 else ""
        raise DirtyWorkTree(
            f"checkout would overwrite or delete uncommitted changes in {len(listed)} file(s): "
            + ", ".join(listed[:10]) + more,
            "commit them ('qvc commit -a -m MESSAGE'), or pass --force to discard them")


def _plan(repo: Repo, index: Index,
          wanted: dict[str, Entry]) -> tuple[list[str], dict[str, FileStat]]:
    """Keys to write, and the stat of files already equal to the version (left untouched)."""
    writes, keep = [], {}
    root = str(repo.root)
    for key, entry in wanted.items():
        staged = row.staged if (row := index.rows.get(key)) is not None else None
        same = staged is not None and staged.size == entry.size and staged.hash == entry.hash
        st = stat_path(root, key) if same else None
        if st is not None and content_matches(repo.root, key, index, st):
            keep[key] = st
        else:
            writes.append(key)
    return writes, keep


def _ensure_objects(repo: Repo, top: str, entries: list[Entry],
                    reflinks: bool = False) -> dict[Hash, bytes]:
    """Every object present and hashing to its name (fetched from the default remote when
    one is configured), or CorruptObject naming the entries. Returns the verified bytes of
    small objects (up to ``_KEEP_BYTES`` in all), so the writer reads each object once.
    With ``reflinks`` (the work tree's files will share the objects' blocks) a large object
    whose verification stamp still holds is not re-hashed (ObjectStore.vouched; the reason
    is in docs/design.md, "Checkout"), and one that is re-hashed is stamped."""
    kept: dict[Hash, bytes] = {}
    missing, bad = _damaged(repo, entries, kept, reflinks)
    if (missing or bad) and remotes.has_remote(repo):
        verify_op.repair(repo, top, missing + bad)
        missing, bad = _damaged(repo, missing + bad, kept, reflinks)
    if missing:
        raise CorruptObject(
            f"{len(missing)} object(s) of this version are not stored locally: "
            + _keys(missing), "add a remote that has this version ('qvc remote add --default "
            "NAME URL'), then check out again: checkout fetches missing objects from the default "
            "remote; the work tree was not changed")
    if bad:
        raise CorruptObject(
            f"{len(bad)} stored object(s) are corrupt (content does not match the hash): "
            + _keys(bad) + "; the work tree was not changed",
            "run 'qvc verify' for details; 'qvc verify --repair' fetches intact copies")
    return kept


def _damaged(repo: Repo, entries: list[Entry], kept: dict[Hash, bytes],
             reflinks: bool) -> tuple[list[Entry], list[Entry]]:
    """(missing or of another size, corrupt) among ``entries``, re-hashed in batches on
    threads; the bytes of intact small objects of the first batches go to ``kept``."""
    batches, budget = _batches(entries), _KEEP_BYTES
    keeps = []
    for batch in batches:
        budget -= sum(e.size for e in batch if e.size <= SMALL)
        keeps.append(budget >= 0)

    def check(batch: list[Entry], keep: bool) -> tuple[list[Entry], list[Entry]]:
        missing: list[Entry] = []
        bad: list[Entry] = []
        for entry in batch:
            data = _intact(repo, entry, reflinks)
            if data is None or data is False:
                (missing if data is None else bad).append(entry)
            elif keep and entry.size <= SMALL:
                kept[entry.hash] = data  # one key per call: safe across threads
        return missing, bad

    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        found = list(pool.map(check, batches, keeps))
    return [e for m, _ in found for e in m], [e for _, b in found for e in b]


def _intact(repo: Repo, entry: Entry, reflinks: bool) -> bytes | Literal[False] | None:
    """A small object's bytes (b"" for a large one) when it hashes to its name (or, with
    ``reflinks``, a large one's stamp vouches for it); None when missing or of another
    size, False when its content does not match."""
    objects, h = repo.objects, entry.hash
    try:
        if entry.size > SMALL:
            if not objects.has(h, entry.size):
                return None
            if reflinks and objects.vouched(h, entry.size):
                return b""
            if hash_large(objects.path(h), h.type, entry.size) != h:
                return False
            if reflinks:
                objects.stamp(h)
            return b""
        data = _read_small(f"{objects.root}/{objects.name(h)}", entry.size)
    except OSError:
        return None
    if len(data) != entry.size:
        return None
    return data if hash_bytes(data, h.type) == h else False


def _read_small(path: str, size: int) -> bytes:
    """The file's first ``size + 1`` bytes at most (enough to tell it is too long)."""
    fd = os.open(path, os.O_RDONLY)  # not open(): that costs three more system calls
    try:
        data = os.read(fd, size + 1)
        while len(data) < size and (more := os.read(fd, size + 1 - len(data))):
            data += more  # a short read (not at the end): regular files rarely do this
    finally:
        os.close(fd)
    return data


def _batches(items: list[Entry]) -> list[list[Entry]]:
    """Work units big enough that the thread pool's per-task cost does not show."""
    return [items[i:i + _BATCH] for i in range(0, len(items), _BATCH)]


def _keys(entries: list[Entry]) -> str:
    keys = sorted(e.logical_key for e in entries)
    return ", ".join(keys[:10]) + (f" and {len(keys) - 10} more" if len(keys) > 10 else "")


def _write_all(repo: Repo, entries: list[Entry], kept: dict[Hash, bytes],
               progress: CountProgress | None) -> dict[str, FileStat]:
    """Write the files one after another through one TreeWriter (each folder opened once):
    parallel creates in one folder contend for its lock in the kernel and measured slower
    than a single writer. A small object's bytes are those verified before any file was
    written (``kept``), else read and re-hashed here: what lands is what was verified."""
    stats: dict[str, FileStat] = {}
    objects = repo.objects
    with TreeWriter(repo.root) as writer:
        for number, entry in enumerate(entries, start=1):
            crashpoints.reach("checkout.write_file")
            key = entry.logical_key
            if entry.size > SMALL:
                stats[key] = writer.copy(key, objects.path(entry.hash))
            else:
                data = kept.get(entry.hash)
                stats[key] = writer.write(key, _verified_bytes(repo, entry) if data is None
                                          else data)
            if progress and (number % 256 == 0 or number == len(entries)):
                progress(number, len(entries))
    return stats


def _verified_bytes(repo: Repo, entry: Entry) -> bytes:
    """A small object's bytes, checked against the entry (CorruptObject if they changed since
    the check before any file was written)."""
    path = f"{repo.objects.root}/{repo.objects.name(entry.hash)}"
    try:
        data = _read_small(path, entry.size)
    except OSError as exc:
        raise os_error(exc, path) from exc
    if len(data) != entry.size or hash_bytes(data, entry.hash.type) != entry.hash:
        raise CorruptObject(
            f"the stored object of {entry.logical_key} changed during the checkout; HEAD was "
            "not moved", "run 'qvc verify --repair', then check out again")
    return data


def _move_head(repo: Repo, commit_id: str, target: Manifest, stats: dict[str, FileStat],
               rev: str, refresh_pin: bool) -> None:
    """An index whose staged and head columns both equal the commit, then HEAD."""
    old = repo.head()
    index = Index()
    index.reset_head(commit_id, target)
    for key, entry in target.entries.items():
        index.stage(key, Version.of(entry), stats.get(key))
    move_head(repo, commit_id, index,
              f"checkout: moving from {old.top_hash[:12] if old else '-'} to {rev}",
              record_pointers=False, after_head=pin.refresh if refresh_pin else None)
