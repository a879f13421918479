"""``Package.build`` into a work tree under its own package name: a commit made from Python.

The package's data can live anywhere (local files, S3). It is copied into ``.qvc/objects``
first, checked against the entry hashes, so the committed manifest points into the object
store like every other commit and stays readable whatever happens to the sources. Then the
commit is recorded exactly as ``qvc commit`` records one
(:func:`qvc.ops.commit.record_commit`), with HEAD as its parent, and HEAD moves to it the one
way (qvc.core.head): the index is reset to it (work-tree files are not touched; like ``git
reset --mixed``, ``qvc status`` then shows how they differ from the new commit).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from qvc.core.head import move_head
from qvc.core.index import Index
from qvc.core.indexfile import Version
from qvc.core.repo import Repo
from qvc.errors import CorruptObject, DirtyWorkTree
from qvc.git import pin
from qvc.ops.commit import record_commit
from qvc.quilt.hashing import CHUNKED
from qvc.quilt.manifest import Entry, Manifest
from qvc.remote.physical import copy_to_file
from qvc.remote.transfer import local_source, object_key


@dataclass
class BuildResult:
    top_hash: str


def commit_manifest(repo: Repo, manifest: Manifest, message: str | None) -> BuildResult:
    """Commit ``manifest`` (all hashes known) on top of HEAD. Refused while the index holds
    staged changes, which the new commit would silently drop."""
    with repo.lock():
        index = repo.load_index()
        if any(index.staged_changes()):
            raise DirtyWorkTree(
                f"{repo.root} has staged changes that are not committed",
                "commit them with 'qvc commit -m MESSAGE' (or unstage them) before building "
                "into it",
            )
        stored = _ingest(repo, manifest)
        top = stored.top_hash()
        commit_id, _ = record_commit(repo, stored, top, message or "",
                                     {"via": "Package.build"})
        _reset_index(index, stored, commit_id)
        move_head(repo, commit_id, index, f"build: {message or ''}".rstrip(),
                  record_pointers=False, after_head=pin.refresh)
    return BuildResult(top)


def _ingest(repo: Repo, manifest: Manifest) -> Manifest:
    """The manifest with every entry's data in the object store."""
    entries = {}
    for key, entry in manifest.entries.items():
        if not repo.objects.has(entry.hash, entry.size):
            _store(repo, entry)
        entries[key] = replace(entry, physical_key=object_key(repo.objects, entry.hash))
    return Manifest(dict(manifest.header), entries, dict(manifest.dir_meta))


def _store(repo: Repo, entry: Entry) -> None:
    source = local_source(entry.physical_key)
    if source is not None and entry.hash.type == CHUNKED:
        actual, _ = repo.objects.add_file(source)  # copies and hashes in one pass
        if actual != entry.hash:
            raise CorruptObject(f"{source} changed since it was added as {entry.logical_key!r}",
                                "set it in the package again and build again")
        return
    tmp = repo.objects.temp_path()
    try:
        copy_to_file(entry.physical_key, tmp)
        repo.objects.add_verified(tmp, entry.hash, entry.size)
    finally:
        if tmp.exists():
            os.unlink(tmp)


def _reset_index(index: Index, manifest: Manifest, commit_id: str) -> None:
    for key, entry in manifest.entries.items():
        row = index.rows.get(key)
        version = Version.of(entry)
        if row is None or row.staged != version:
            index.stage(key, version, None)
    for key in list(index.tracked()):
        if key not in manifest.entries:
            index.stage_delete(key)
    index.reset_head(commit_id, manifest)
