"""qvc diff: what changed between two commits, or between a commit and the work tree.

Two commits are compared by their manifests alone (sizes, hashes, metadata), never by reading
data. The work tree side is the set of tracked files as they are on disk: files the stat cache
vouches for keep their staged hash, and only the others are re-hashed.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

from qvc.core.index import Index
from qvc.core.repo import Repo
from qvc.core.workspace import stat_path
from qvc.errors import BadRevision
from qvc.quilt.hashing import hash_file
from qvc.quilt.manifest import Entry, Manifest, ManifestDiff, diff, is_top_hash, parse
from qvc.storage.base import ObjectNotFound
from qvc.sysio.fileio import os_error
from qvc.sysio.filestat import FileStat

TEXT_LIMIT = 1 << 20  # text diffs only for files below 1 MiB
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


@dataclass
class DiffResult:
    """``old`` -> ``new``; ``new_top`` None means the work tree, ``old_top`` None no commit."""

    old_top: str | None
    new_top: str | None
    old: Manifest
    new: Manifest
    changes: ManifestDiff


def diff_revs(repo: Repo, revs: list[str]) -> DiffResult:
    """No REV: HEAD -> work tree; one: REV -> work tree; two: first REV -> second REV."""
    if len(revs) == 2:
        a, b = (repo.commit(repo.resolve(r)).top_hash for r in revs)
        return diff_commits(repo, a, b)
    index = repo.load_index()
    head = repo.head()
    head_top = head.top_hash if head else None
    old_top = repo.commit(repo.resolve(revs[0])).top_hash if revs else head_top
    if old_top == head_top:
        old, new = work_vs_head(repo, index)
    else:
        assert old_top is not None
        old, new = repo.manifest(old_top), work_tree_manifest(repo, index)
        new.header = old.header  # the work tree has no package metadata of its own
    return DiffResult(old_top, None, old, new, diff(old, new))


def work_vs_head(repo: Repo, index: Index) -> tuple[Manifest, Manifest]:
    """HEAD's entries (from the index) and the work tree's, for the keys that may differ;
    files the stat cache shows unchanged since HEAD are left out of both sides."""
    old, new = Manifest(), Manifest()
    root = str(repo.root)
    for key, row in index.rows.items():
        if index.skips(key):
            continue  # outside the sparse selection: unchanged
        staged, head = row.staged, row.head
        st = stat_path(root, key) if staged is not None else None
        if staged is not None and staged == head and st is not None and index.matches_stat(row, st):
            continue
        if head is not None:
            old.entries[key] = Entry(key, "", head.size, head.hash, head.meta)
        if st is not None:
            new.entries[key] = _work_entry(repo, index, key, st)
    return old, new


def diff_commits(repo: Repo, a: str, b: str) -> DiffResult:
    """Compare two stored manifests, parsing only the rows that differ.

    Rows are compared as bytes first: an unchanged file has a byte-identical row in both
    manifests, so a one-file change between two 100k-entry versions parses two rows, not
    200k. The partial manifests still go through :func:`manifest.parse` (every parsed row is
    checked); their top hashes are not recomputed here, which ``qvc verify`` does.
    """
    old_rows, new_rows = (_raw_rows(repo, top) for top in (a, b))
    old_set, new_set = set(old_rows[1:]), set(new_rows[1:])
    old = _partial(old_rows[0], [r for r in old_rows[1:] if r not in new_set], a)
    new = _partial(new_rows[0], [r for r in new_rows[1:] if r not in old_set], b)
    return DiffResult(a, b, old, new, diff(old, new))


def _raw_rows(repo: Repo, top: str) -> list[bytes]:
    if not is_top_hash(top):
        raise BadRevision(f"{top!r} is not a top hash")
    try:
        data = repo.registry.manifest_bytes(top)
    except ObjectNotFound:
        raise BadRevision(f"no manifest {top[:12]} in this repository",
                          "run 'qvc verify' to check the repository") from None
    return data.rstrip(b"\n").split(b"\n")


def _partial(header: bytes, rows: list[bytes], top: str) -> Manifest:
    return parse(b"\n".join([header, *rows]), source=f"manifest {top[:12]}")


def work_tree_manifest(repo: Repo, index: Index) -> Manifest:
    """Tracked files as they are on disk (missing files left out), with their staged meta;
    keys outside the sparse selection as staged."""
    root = str(repo.root)
    entries = {}
    for key in index.tracked():
        if index.skips(key):
            staged = index.rows[key].staged
            assert staged is not None
            entries[key] = Entry(key, "", staged.size, staged.hash, staged.meta)
            continue
        st = stat_path(root, key)
        if st is not None:
            entries[key] = _work_entry(repo, index, key, st)
    return Manifest(entries=entries)


def _work_entry(repo: Repo, index: Index, key: str, st: FileStat) -> Entry:
    """A tracked file's content as an entry (physical key left empty): the staged version
    when the stat cache vouches for it, else the file re-hashed."""
    row = index.rows[key]
    staged = row.staged
    assert staged is not None  # callers pass tracked keys only
    if index.matches_stat(row, st):
        return Entry(key, "", staged.size, staged.hash, staged.meta)
    try:
        return Entry(key, "", st.size, hash_file(repo.root / key, staged.hash_type), staged.meta)
    except OSError as exc:
        raise os_error(exc, repo.root / key) from exc


def text_diff(repo: Repo, result: DiffResult, old_key: str | None,
              new_key: str | None) -> list[str] | None:
    """Unified diff lines of one change, or None unless both sides are small UTF-8 text
    available locally."""
    old_text = _text(repo, result.old.entries.get(old_key) if old_key else None, None)
    work = result.new_top is None
    new_entry = result.new.entries.get(new_key) if new_key else None
    new_text = _text(repo, new_entry, new_key if work else None)
    if old_text is None or new_text is None:
        return None
    return list(difflib.unified_diff(
        old_text.splitlines(keepends=True), new_text.splitlines(keepends=True),
        fromfile=f"a/{old_key}" if old_key else "/dev/null",
        tofile=f"b/{new_key}" if new_key else "/dev/null"))


def _text(repo: Repo, entry: Entry | None, work_key: str | None) -> str | None:
    """An entry's text ('' for no entry); from the work tree when ``work_key`` is given."""
    if entry is None:
        return ""
    if entry.size >= TEXT_LIMIT:
        return None
    path = repo.root / work_key if work_key else repo.objects.path(entry.hash)
    data = _read_small(path)
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _read_small(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | _O_NOFOLLOW)
    except OSError:
        return None  # missing locally, a link, or unreadable: no text diff for it
    try:
        return os.read(fd, TEXT_LIMIT)
    finally:
        os.close(fd)
