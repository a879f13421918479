"""qvc clone: a new work tree holding a registry version.

init + fetch + fast-forward, except that each file of the new, empty work tree is written as
soon as its object is verified, while the other objects still download (qvc.ops.fetch does
the fetching; qvc.core.fastforward the recording).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from qvc.core import sparse
from qvc.core.fastforward import put_files, record_tree, write_files
from qvc.core.index import Index
from qvc.core.repo import DOT, Layout, Repo
from qvc.core.sparse import Selection, keep
from qvc.errors import BadRevision, Interrupted, PathError, UsageError
from qvc.git import pin
from qvc.git.probe import link_if_in_git
from qvc.ops.fetch import FetchResult, fetch_locked
from qvc.quilt.manifest import Entry
from qvc.remote.remotes import RemoteSpec, add_remote, make_spec
from qvc.remote.target import of_spec
from qvc.storage.registry import Registry
from qvc.sysio import crashpoints
from qvc.sysio.fileio import create_exclusive
from qvc.sysio.progress import TransferProgress
from qvc.worktree.materialize import BackgroundWriter

BACKLOG = 64 << 20  # downloaded bytes held for the work-tree writer; beyond, it reads the store

@dataclass
class CloneResult:
    root: Path
    package: str
    remote: str
    top_hash: str
    files: int
    objects: int
    bytes: int
    sparse: tuple[str, ...] | None = None  # the paths selected (qvc.core.sparse); None: all


def clone(registry_url: str, name: str, folder: Path | None = None, *, rev: str | None = None,
          progress: TransferProgress | None = None,
          paths: list[str] | None = None) -> CloneResult:
    """Create a work tree in ``folder`` (default: the name part) holding REV (default latest)
    of ``name`` from the registry, with the registry as remote ``origin``. With ``paths``
    (keys or folders) the work tree is sparse (qvc.core.sparse): only their objects are
    downloaded and written."""
    spec = make_spec("origin", registry_url)
    try:
        selection = Selection.of(paths) if paths else None
    except ValueError as exc:
        raise UsageError(str(exc), "give keys or folders of the package: --path images/2024/"
                         ) from None
    target = (folder or Path(name.split("/")[-1])).resolve()
    layout = Layout(target / DOT)
    if layout.cloning.is_file() and not layout.head.exists():
        raise UsageError(f"a clone into {target} was interrupted",
                         "finish it: run 'qvc pull' in that folder")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"{target} already exists and is not an empty folder",
                         "clone into a new folder: qvc clone REGISTRY NAME DIR")
    registry = of_spec(spec).registry
    registry.resolve(name, rev)  # fail before creating anything if the package is not there
    created = not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    resumable = False
    try:
        repo = Repo.init(target, name)
        link_if_in_git(repo.root, repo.package)
        crashpoints.reach("clone.after_init")
        add_remote(repo, spec, default=True)
        resumable = rev is None  # a pull brings in latest, what this clone was fetching
        sparse.write(repo.paths.sparse, selection)
        with repo.lock():
            fetched = _fill(repo, spec, registry, rev, progress)
    except KeyboardInterrupt:
        if not resumable:
            _empty(target, remove=created)
            raise
        # keep what was downloaded: a pull finishes the clone from there (see _fill)
        raise Interrupted("interrupted",
                          f"run 'qvc pull' in {target} to finish the clone") from None
    except BaseException:
        _empty(target, remove=created)  # it was empty before: everything in it is ours
        raise
    assert fetched.target is not None and fetched.manifest is not None
    files = len(keep(selection, fetched.manifest.entries))
    return CloneResult(target, name, registry.url, fetched.target, files, fetched.objects,
                       fetched.bytes, selection.paths if selection else None)


def _fill(repo: Repo, spec: RemoteSpec, registry: Registry, rev: str | None,
          progress: TransferProgress | None) -> FetchResult:
    """Fetch REV into a new repository and write its work tree, each file as soon as its
    object is verified (from the downloaded bytes while they are in memory) by one writer
    thread beside the downloads; then one sync for objects and files, then the records.

    ``.qvc/CLONING`` marks the files as the clone's own until HEAD is set, so a pull can
    finish a killed clone over its partly written files."""
    create_exclusive(repo.paths.cloning, b"")
    with BackgroundWriter(repo.root, partial(put_files, repo.objects, True)) as writer:

        def on_verified(entries: list[Entry], data: bytes | None) -> None:
            if data is not None and writer.backlog > BACKLOG:
                data = None  # the writer is behind: it reads this object back from the store
            writer.put((entries, data), len(data) if data is not None else 0)

        fetched = fetch_locked(repo, spec, registry, rev=rev, progress=progress,
                               on_verified=on_verified, sync=False)
        written = writer.finish()
    new, top = fetched.manifest, fetched.target
    if new is None or top is None:
        raise BadRevision(f"{registry.url} has no latest version of {repo.package}",
                          "name a version with --rev")
    selection = repo.selection()
    if selection is not None:
        missed = [p for p, hit in selection.selects_any(new.entries).items() if not hit]
        if missed:
            raise PathError(f"{', '.join(missed)} did not match any file of {repo.package}",
                            f"list the version's files with 'qvc ls --remote' in a clone, or "
                            f"clone without --path: qvc clone {registry.url} {repo.package}")
    rest = keep(selection, [key for key in new.entries if key not in written])  # stored already
    stats = written | write_files(repo, new, rest, in_place=True)
    crashpoints.reach("pull.after_files")
    target_id = fetched.target_commit
    assert target_id is not None
    record_tree(repo, Index(), new, target_id, stats, f"clone: {registry.url}",
                after_head=pin.refresh)
    return fetched


def _empty(folder: Path, remove: bool) -> None:
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    if remove:
        folder.rmdir()
