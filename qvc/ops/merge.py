"""qvc merge: join another line of history into HEAD (and ``qvc pull`` on diverged history).

REV already in HEAD's history: nothing to do. HEAD in REV's: a fast-forward
(qvc.core.fastforward). Otherwise a three-way merge against the merge base
(qvc.core.merge) whose result is a commit with two parents.

Conflicts change nothing: the command lists them and stops. A conflicting key is resolved by
``--ours PATH`` / ``--theirs PATH`` (the most specific PATH naming it wins; '.' names every
key and the package metadata), or by staging the wanted version (``qvc add``) and merging
again: a conflicting key whose staged version differs from HEAD's takes the staged one.

Order: files (flushed once), the commit (manifest, record, pointer, ``latest``), then HEAD
through qvc.core.head. A kill before HEAD moves leaves HEAD and the staged column as they
were; the files already written equal the merge's, so running the merge again is not
refused for them (``settled`` in qvc.core.fastforward).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qvc.core import history, splice
from qvc.core.fastforward import fast_forward, settled, write_files
from qvc.core.head import move_head
from qvc.core.index import Index
from qvc.core.indexfile import Version
from qvc.core.merge import ABSENT, Conflict, MergeResult, merge_bytes
from qvc.core.repo import Repo
from qvc.core.workspace import compare, untracked_in_the_way
from qvc.errors import CorruptObject, DirtyWorkTree, MergeConflict, NoCommits
from qvc.git import pin
from qvc.ops import verify as verify_op
from qvc.ops.commit import record_commit
from qvc.quilt.manifest import Entry, Manifest, parse
from qvc.remote import remotes
from qvc.sysio import crashpoints
from qvc.sysio.fileio import sync_filesystem
from qvc.worktree.materialize import remove_entry
from qvc.worktree.paths import to_key, under
from qvc.worktree.treewalk import Walk


@dataclass
class MergeOutcome:
    """``state``: "up-to-date", "fast-forward" or "merged"; top hashes before and after."""

    state: str
    rev: str
    old_head: str
    new_head: str
    commit_id: str
    base: str | None = None  # the merge base's top hash
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    resolved: dict[str, str] = field(default_factory=dict)  # key -> ours / theirs / staged


def merge(repo: Repo, rev: str, *, ours: Sequence[str] = (), theirs: Sequence[str] = (),
          message: str | None = None, cwd: Path | None = None) -> MergeOutcome:
    """Merge REV into HEAD; ``ours``/``theirs`` are paths (relative to ``cwd``) whose
    conflicts take that side's version."""
    here = cwd or repo.root
    choices = {to_key(repo.root, here, p): "ours" for p in ours}
    choices.update({to_key(repo.root, here, p): "theirs" for p in theirs})
    with repo.lock():
        return merge_locked(repo, repo.resolve(rev), rev, choices=choices, message=message,
                            reason=f"merge {rev}")


def merge_locked(repo: Repo, their_id: str, label: str, *, choices: dict[str, str],
                 message: str | None, reason: str) -> MergeOutcome:
    """:func:`merge` of commit ``their_id`` (shown as ``label``) with the lock held."""
    head_id = repo.head_id()
    if head_id is None:
        raise NoCommits("there is nothing to merge into: no commits yet")
    head, their = repo.commit(head_id), repo.commit(their_id)
    if history.is_ancestor(repo, their_id, head_id):
        return MergeOutcome("up-to-date", label, head.top_hash, head.top_hash, head_id)
    if history.is_ancestor(repo, head_id, their_id):
        change = fast_forward(repo, their_id, f"{reason}: fast-forward", after_head=pin.refresh)
        return MergeOutcome("fast-forward", label, head.top_hash, their.top_hash, their_id,
                            updated=change.written, removed=change.removed)
    base_id = history.merge_base(repo, head_id, their_id)
    base_top = repo.commit(base_id).top_hash if base_id else None
    read = repo.registry.manifest_bytes
    ours_bytes = read(head.top_hash)
    result = merge_bytes(read(base_top) if base_top else None, ours_bytes, read(their.top_hash))
    index = repo.load_index()
    resolved = _resolve(result, index, choices, label)
    _check_shape(index, result, label)
    _check_clean(repo, index, result, resolved)
    _ensure_objects(repo, their.top_hash, result)
    outcome = MergeOutcome("merged", label, head.top_hash, "", "", base_top, resolved=resolved)
    outcome.updated = sorted(k for k, e in result.files.items() if e is not None)
    outcome.removed = sorted(k for k, e in result.files.items() if e is None)
    _write(repo, index, result, outcome)
    ours_header = _header_of(ours_bytes)
    header = _header(ours_header, result, message or f"Merge {label} into {head.top_hash[:12]}")
    built = splice.build(repo, index, header, (head.top_hash, ours_header))
    try:
        commit_id, _ = record_commit(repo, built.manifest, built.top, str(header["message"]),
                                     merged=their_id)
        index.committed(commit_id)
        move_head(repo, commit_id, index, reason, record_pointers=True, after_head=pin.refresh)
        splice.save_parts(repo, built)
    finally:
        built.discard()
    outcome.new_head, outcome.commit_id = built.top, commit_id
    return outcome


def _resolve(result: MergeResult, index: Index, choices: dict[str, str],
             label: str) -> dict[str, str]:
    """Apply each conflict's resolution to ``result``; MergeConflict if any has none."""
    resolved: dict[str, str] = {}
    left: list[Conflict] = []
    for conflict in result.conflicts:
        choice = _choice(conflict, choices)
        user_staged = conflict.kind == "file" and index.staged_version(conflict.key) != (
            Version.of(conflict.ours) if conflict.ours is not None else None)
        if choice is None and user_staged:
            choice = "staged"
        if choice is None:
            left.append(conflict)
            continue
        resolved[conflict.key] = choice
        if choice == "theirs":
            _take(result, conflict, conflict.theirs)
        elif choice == "ours" and user_staged:  # the user's staged version gives way
            _take(result, conflict, conflict.ours)
    if left:
        raise _conflict_error(left, label)
    return resolved


def _choice(conflict: Conflict, choices: dict[str, str]) -> str | None:
    """The choice of the longest path naming the conflict's key ('' names everything)."""
    named = [p for p in choices if p == "" or (conflict.key and under(conflict.key.rstrip("/"), p))]
    return choices[max(named, key=len)] if named else None


def _take(result: MergeResult, conflict: Conflict, version: Any) -> None:
    if conflict.kind == "file":
        result.files[conflict.key] = version
    elif conflict.kind == "folder metadata":
        result.dir_meta[conflict.key] = version
    else:
        result.user_meta, result.user_meta_changed = version, True


def _conflict_error(conflicts: list[Conflict], label: str) -> MergeConflict:
    shown = "; ".join(_describe(c) for c in sorted(conflicts, key=lambda c: c.key))
    first = next((c.key for c in conflicts if c.kind == "file"), None)
    path = first if first is not None else "."
    return MergeConflict(
        f"merge conflict in {len(conflicts)} key(s): {shown}; nothing was changed",
        f"keep one side with 'qvc merge {label} --ours {path}' or "
        f"'qvc merge {label} --theirs {path}' ('.' for every key), or edit the file, "
        f"'qvc add {path}', and run 'qvc merge {label}' again",
    )


def _describe(conflict: Conflict) -> str:
    if conflict.kind == "file":
        return f"{conflict.key} (ours {_side(conflict.ours)}, theirs {_side(conflict.theirs)})"
    name = conflict.key or "package"
    return f"{conflict.kind} of {name} changed differently on both sides" \
        if conflict.kind == "folder metadata" else "package metadata changed on both sides"


def _side(entry: Entry | None) -> str:
    if entry is None:
        return "deleted"
    return f"{entry.size} B {entry.hash.hex[:12]}"


def _check_shape(index: Index, result: MergeResult, label: str) -> None:
    """Refuse a merge whose new keys would make one path both a file and a folder (each side
    alone is a valid package; together they may not be)."""
    new = [k for k, e in result.files.items() if e is not None and not index.is_tracked(k)]
    if not new:
        return
    kept = {k for k in index.tracked() if result.files.get(k, True) is not None}
    kept.update(new)
    folders = {k.rsplit("/", 1)[0] for k in kept if "/" in k}
    folders.update({"/".join(f.split("/")[:i]) for f in list(folders)
                    for i in range(1, f.count("/") + 1)})
    clash = sorted(folders.intersection(kept))
    if clash:
        raise MergeConflict(
            f"merge conflict: {_few(clash)} would be both a file and a folder; nothing was "
            "changed", f"move one of them ('qvc rm PATH', then 'qvc commit -m MESSAGE') and run "
            f"'qvc merge {label}' again")


def _check_clean(repo: Repo, index: Index, result: MergeResult,
                 resolved: dict[str, str]) -> None:
    """Refuse staged changes other than resolutions, and, as git does, uncommitted changes or
    untracked files only where the merge writes or removes a file (unless a killed run of this
    merge already left it as the merge wants it). Only those paths are looked at: the rest of
    the work tree is neither walked nor touched, and its changes stay uncommitted."""
    added, modified, deleted = index.staged_changes()
    staged = [k for k in (*added, *modified, *deleted) if k not in resolved]
    if staged:
        raise DirtyWorkTree(f"staged changes: {_few(staged)}",
                            "commit them first ('qvc commit -m MESSAGE'), then merge again")
    here = {k: e for k, e in result.files.items() if not index.skips(k)}  # sparse: not written
    write = {k for k, e in here.items() if e is not None}
    remove = {k for k, e in here.items() if e is None}
    status = compare(repo.root, index, Walk(), keys=write | remove)
    unstaged = set(status.modified + status.deleted)  # staged changes: checked above
    target = Manifest(entries={k: e for k, e in here.items() if e is not None})
    in_the_way = set(untracked_in_the_way(repo.root, index, target.entries.values()))
    done = settled(repo, target, unstaged, write, remove)
    dirty = sorted(unstaged - done)
    way = sorted(in_the_way - done)
    if dirty or way:
        what = "uncommitted changes" if dirty else "untracked files in the way"
        raise DirtyWorkTree(f"{what}: {_few(dirty or way)}",
                            "commit them first ('qvc commit -a -m MESSAGE') or move them "
                            "away, then merge again")


def _ensure_objects(repo: Repo, their_top: str, result: MergeResult) -> None:
    """Every object the merge writes is stored locally: fetched from the default remote
    (as checkout does) when one is configured, else CorruptObject naming the keys."""
    selection = repo.selection()  # keys outside it are not written: their objects may lack

    def missing() -> list[Entry]:
        return [e for e in result.files.values()
                if e is not None and not repo.objects.has(e.hash, e.size)
                and (selection is None or selection.selects(e.logical_key))]

    absent = missing()
    if absent and remotes.has_remote(repo):
        verify_op.repair(repo, their_top, absent)
        absent = missing()
    if absent:
        raise CorruptObject(
            f"{len(absent)} object(s) to merge are not stored locally: "
            + _few(sorted(e.logical_key for e in absent)) + "; nothing was changed",
            "add a remote that has this version ('qvc remote add --default NAME URL') and run "
            "'qvc fetch'; merge then fetches missing objects from the default remote")


def _few(keys: list[str]) -> str:
    return ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")


def _write(repo: Repo, index: Index, result: MergeResult, outcome: MergeOutcome) -> None:
    """Write and remove the merge's files, flush them once, and stage them."""
    target = Manifest(entries={k: result.files[k] for k in outcome.updated})  # type: ignore[misc]
    stats = write_files(repo, target, [k for k in outcome.updated if not index.skips(k)])
    crashpoints.reach("merge.after_files")
    for key in outcome.removed:
        if not index.skips(key):
            remove_entry(repo.root, key)
    sync_filesystem(repo.root)
    for key, entry in target.entries.items():
        index.stage(key, Version.of(entry), stats.get(key))
    for key in outcome.removed:
        index.stage_delete(key)
    index.fold()


def _header_of(manifest: bytes) -> dict[str, Any]:
    first = manifest[:manifest.find(b"\n")]  # not partition(): that copies every row too
    return parse(first + b"\n", source="our version").header


def _header(ours: dict[str, Any], result: MergeResult, message: str) -> dict[str, Any]:
    """Ours' header with the merged package metadata and the merge's message."""
    header = {k: v for k, v in ours.items() if k not in ("user_meta", "message")}
    if result.user_meta is not ABSENT:
        header["user_meta"] = result.user_meta
    header["message"] = message
    return header
