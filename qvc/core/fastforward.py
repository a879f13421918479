"""Moving HEAD, the index and the work tree forward to a version whose objects are stored.

``pull`` refuses to touch uncommitted changes or untracked files in the way, then writes what
changed; ``clone`` writes its files while downloading (see qvc.ops.clone) and shares the last
steps here: one sync for objects and files, then the index, local pointers and HEAD.
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from qvc.core.head import AfterHead, move_head
from qvc.core.index import Index, Row
from qvc.core.indexfile import Version
from qvc.core.objects import SMALL, ObjectStore
from qvc.core.repo import Repo
from qvc.core.sparse import keep
from qvc.core.workspace import compare, stat_path, untracked_in_the_way
from qvc.errors import CorruptObject, DirtyWorkTree
from qvc.quilt.hashing import hash_file
from qvc.quilt.manifest import Entry, Manifest, diff
from qvc.sysio import crashpoints
from qvc.sysio.fileio import os_error, sync_filesystem
from qvc.sysio.filestat import FileStat
from qvc.worktree.ignore import IgnoreRules
from qvc.worktree.materialize import TreeWriter, remove_entry, remove_stale_temps
from qvc.worktree.treewalk import walk


@dataclass
class Change:
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def fast_forward(repo: Repo, target_id: str, reason: str, new: Manifest | None = None, *,
                 after_head: AfterHead | None, force: bool = False) -> Change:
    """Move HEAD, the index and the work tree to commit ``target_id`` (the caller holds the
    lock and has checked it is a fast-forward); ``new`` is its manifest if the caller has it.
    Refuses if tracked files have uncommitted changes or untracked (or ignored) files stand
    where incoming files go (unless a killed clone left them: see ``Layout.cloning``), the
    rule of :func:`qvc.core.workspace.untracked_in_the_way`; ``force`` overwrites them.
    ``after_head`` runs once HEAD has moved (qvc.core.head).

    Order: files (flushed once), index, local pointers, HEAD. A crash before the index is
    saved leaves changed files that ``status`` reports; after it, the index already
    describes the work tree and ``load_index`` repairs the HEAD column.
    """
    index = repo.load_index()
    tree = walk(repo.root, IgnoreRules(repo.root))
    remove_stale_temps(repo.root, tree.temps)  # a killed checkout or pull left them
    status = compare(repo.root, index, tree)
    head = repo.head()
    old = repo.manifest(head.top_hash) if head else Manifest()
    new = new or repo.manifest(repo.commit(target_id).top_hash)
    delta = diff(old, new)
    write = keep(index.sparse, delta.added + delta.modified + [b for _, b in delta.renamed])
    remove = keep(index.sparse, delta.removed + [a for a, _ in delta.renamed])
    in_the_way = set(untracked_in_the_way(repo.root, index, (new.entries[k] for k in write)))
    if head is None and repo.paths.cloning.exists():  # the killed clone's own files
        in_the_way = {k for k in in_the_way if stat_path(repo.root, k) is None}
    if not force:
        # as in git: staged changes anywhere (the new index would drop them), other changes
        # only where the pull writes or removes a file; the rest stay uncommitted
        touched = set(write) | set(remove)
        staged = set(status.staged_added + status.staged_modified + status.staged_deleted)
        dirty = staged | {k for k in status.modified + status.deleted if k in touched}
        done = settled(repo, new, dirty, set(write), set(remove))
        _refuse_dirty(sorted(dirty - done), "uncommitted changes")
        _refuse_dirty(sorted(in_the_way), "untracked files in the way")
    stats = write_files(repo, new, write)
    crashpoints.reach("pull.after_files")
    for key in remove:
        remove_entry(repo.root, key)
    record_tree(repo, index, new, target_id, stats, reason, after_head)
    return Change(sorted(write), sorted(remove))


def record_tree(repo: Repo, index: Index, new: Manifest, target_id: str,
                stats: dict[str, FileStat], reason: str, after_head: AfterHead | None) -> None:
    """Flush the files just written (and objects not yet durable) with one sync, then record
    them: the index (stat rows of ``stats``, others kept from ``index``), local pointers,
    HEAD (qvc.core.head); last, drop a clone's mark."""
    sync_filesystem(repo.root)
    fresh = Index(head=target_id)
    for key, entry in new.entries.items():
        version = Version.of(entry)
        row = index.rows.get(key)
        st = stats.get(key)
        kept = row.stat if row is not None and row.staged == version and st is None else None
        fresh.rows[key] = Row(version, version, st or kept)
    move_head(repo, target_id, fresh, reason, record_pointers=True, after_head=after_head)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(repo.paths.cloning)


REPLACERS = 4  # threads renaming new files over old ones (see write_files)
_PARALLEL_MIN = 64  # files to replace below which one thread does it all


def write_files(repo: Repo, manifest: Manifest, keys: list[str],
                in_place: bool = False) -> dict[str, FileStat]:
    """Copy the objects of ``keys`` into the work tree; returns their stats. Callers flush
    once afterwards and record nothing before that.

    Files whose name is free are created by one TreeWriter (each folder opened once; a free
    name is created in place, large files too with ``in_place``): parallel creates in one
    folder contend in the kernel and measured slower. A file replacing another goes through
    a temp file renamed over it, and such renames measured 2-4 times faster on a few threads
    (each with its own writer) than one after the other, so those are shared out."""
    root = str(repo.root)
    replace = [k for k in keys if os.path.lexists(f"{root}/{k}")] \
        if len(keys) >= _PARALLEL_MIN else []
    if len(replace) < _PARALLEL_MIN:
        return _write_some(repo, manifest, keys, in_place)
    taken = set(replace)
    fresh = [k for k in keys if k not in taken]
    size = -(-len(replace) // REPLACERS)
    shares = [replace[i:i + size] for i in range(0, len(replace), size)]  # folder by folder
    stats: dict[str, FileStat] = {}
    with ThreadPoolExecutor(len(shares), thread_name_prefix="qvc-replace") as pool:
        futures = [pool.submit(_write_some, repo, manifest, share, in_place) for share in shares]
        try:
            stats.update(_write_some(repo, manifest, fresh, in_place))
        finally:
            for future in futures:
                stats.update(future.result())  # the first error raised, once all stopped
    return stats


def _write_some(repo: Repo, manifest: Manifest, keys: list[str],
                in_place: bool) -> dict[str, FileStat]:
    stats: dict[str, FileStat] = {}
    with TreeWriter(repo.root) as writer:
        for key in keys:
            stats.update(put_files(repo.objects, in_place, writer, ([manifest.entries[key]], None)))
    return stats


def put_files(objects: ObjectStore, in_place: bool, writer: TreeWriter,
              job: tuple[list[Entry], bytes | None]) -> list[tuple[str, FileStat]]:
    """Write the files of ``job``'s entries (all holding one object) from its data, or from
    the stored object when the data is None; returns their stats."""
    entries, data = job
    size = entries[0].size
    path = f"{objects.root}/{objects.name(entries[0].hash)}"  # no pathlib: once per file
    if data is None and size > SMALL:
        return [(e.logical_key, writer.copy(e.logical_key, Path(path), in_place=in_place))
                for e in entries]
    if data is None:
        data = _read_object(path, size, entries[0].logical_key)
    return [(e.logical_key, writer.write(e.logical_key, data)) for e in entries]


def _read_object(path: str, size: int, key: str) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            data = os.read(fd, size)
        finally:
            os.close(fd)
    except OSError as exc:
        raise os_error(exc, path) from exc
    if len(data) != size:
        raise CorruptObject(f"the stored object of {key} is damaged: {path}",
                            "run 'qvc verify --repair', then pull again")
    return data


def settled(repo: Repo, new: Manifest, keys: set[str], write: set[str],
             remove: set[str]) -> set[str]:
    """Those of ``keys`` already as the target version has them (an interrupted pull got that
    far): overwriting or deleting them loses nothing."""
    done = set()
    for key in keys:
        if key in remove and not os.path.lexists(repo.root / key):
            done.add(key)
        elif key in write:
            entry, st = new.entries[key], stat_path(repo.root, key)
            if st is not None and st.size == entry.size and \
                    hash_file(repo.root / key, entry.hash.type) == entry.hash:
                done.add(key)
    return done


def _refuse_dirty(paths: list[str], what: str) -> None:
    if paths:
        shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
        raise DirtyWorkTree(f"{what}: {shown}",
                            "commit them first ('qvc commit -a -m MESSAGE') or move them away, "
                            "then pull again; 'qvc pull --force' overwrites them")
