"""Where a :class:`qvc.Package` is saved and read: build, push, browse, fetch.

Registries, as the Python API chooses them:

* ``registry=None`` for ``build``, ``browse``, ``delete_package`` and the listings: the
  *local* registry. Inside a qvc work tree that is its ``.qvc/``; elsewhere the per-user
  registry, ``<user data dir>/packages`` (``$XDG_DATA_HOME/qvc/packages`` on Linux, or
  ``QVC_DATA_DIR/packages``), unless the ``default_local_registry`` setting names another.
* ``registry=None`` for ``push``: the remote a ``qvc push`` would use (the work tree's default
  remote, else the ``default_remote_registry`` setting).
* ``"s3://bucket"`` or a folder (path or ``file://`` URL). A work tree's ``.qvc`` folder counts
  as that work tree. ``s3://bucket/prefix`` (or a folder inside a folder registry) given to
  ``push`` means the registry plus ``dest=prefix``, as the older Quilt docs describe.

Building into a work tree under its own package name makes a commit (:mod:`qvc.ops.build`);
every other build writes the manifest and pointers only, through the same code as
``qvc push --no-copy`` (:func:`qvc.ops.push.push_package`), and like quilt3 it moves ``latest``
unconditionally. ``push`` refuses to move a ``latest`` it does not know (see
:mod:`qvc.conf.known`) unless ``force=True``.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from types import EllipsisType
from typing import TYPE_CHECKING

from qvc.conf import known, userconfig
from qvc.core.repo import DOT, Repo, find_root
from qvc.errors import CorruptObject, InvalidValue, SameFile, UsageError
from qvc.quilt.hashing import Hash, hash_file
from qvc.quilt.manifest import Manifest, validate_package_name
from qvc.quilt.urls import normalize_dest, normalize_registry_url, scheme, split_s3_location
from qvc.remote import physical, target, workflows
from qvc.remote.transfer import check_remote_keys, parallel_map
from qvc.storage.local import LocalStore
from qvc.storage.registry import Registry
from qvc.worktree.materialize import write_entry

if TYPE_CHECKING:
    from qvc.ops.push import Dest, Selector

log = logging.getLogger("qvc")
Where = str | os.PathLike[str] | None
WorkflowId = str | None | EllipsisType  # ...: the registry's default workflow
Prepare = Callable[[Registry, str | None], Manifest]


def here() -> Repo | None:
    root = find_root()
    return Repo(root) if root is not None else None


def local_registry(registry: Where) -> tuple[Registry, Repo | None]:
    """The registry to build into or read from, and its work tree when it is one's ``.qvc``."""
    if registry is None:
        repo = here()
        if repo is not None:
            return repo.registry, repo
        return Registry(LocalStore(user_registry_folder())), None
    url = normalize_registry_url(os.fspath(registry))
    if not url.startswith("s3://"):
        folder = Path(url)
        if folder.name == DOT and find_root(folder.parent) == folder.parent:
            repo = Repo(folder.parent)
            return repo.registry, repo
    return target.for_url(here(), url).registry, None


def user_registry_folder() -> Path:
    """The per-user registry: the ``default_local_registry`` setting (a path or a ``file://``
    URL, as quilt3 stores it), else ``<user data dir>/packages``."""
    configured = userconfig.get("default_local_registry")
    if not configured:
        return userconfig.data_dir() / "packages"
    url = normalize_registry_url(str(configured))
    if url.startswith("s3://"):
        raise UsageError(f"default_local_registry is {configured!r}, not a local folder",
                         "set it to a folder: qvc config --global default_local_registry DIR")
    return Path(url)


def remote_registry(registry: Where, dest: Dest, force: bool = False
                    ) -> tuple[Registry, Dest]:
    """The registry ``push`` writes to, and ``dest`` as a prefix (or callable) in it. Unless
    ``force``, an S3 registry is probed on the first push from a work tree (as ``qvc push``
    does, keeping the answer there) and refused if it ignores conditional writes: there a
    concurrent push could move ``latest`` unseen."""
    implied, repo = None, here()
    if registry is None:
        where = target.resolve(repo, None)
    else:
        text, implied = _split_registry(os.fspath(registry))
        if implied and dest is not None:
            raise UsageError(f"{registry!r} is a folder in a registry, and dest is given too",
                             "pass the registry root and use dest for the data location")
        where = target.for_url(repo, normalize_registry_url(text), dest=implied)
    if isinstance(dest, str):
        dest = _dest_prefix(where.spec.url, dest)
    where = target.for_push(where, repo, force=force)
    return where.registry, dest or where.dest


def _split_registry(text: str) -> tuple[str, str | None]:
    """``s3://bucket/prefix`` -> (``s3://bucket``, prefix); likewise a folder inside a
    folder registry (the nearest ancestor holding ``.quilt/``)."""
    if scheme(text) == "s3":
        bucket, prefix = split_s3_location(text)
        return f"s3://{bucket}", prefix or None
    if scheme(text) is not None:
        return text, None
    folder = Path(normalize_registry_url(text))
    if (folder / ".quilt").is_dir():
        return text, None
    for parent in folder.parents:
        if (parent / ".quilt").is_dir():
            return str(parent), folder.relative_to(parent).as_posix()
    return text, None


def _dest_prefix(registry_url: str, dest: str) -> str:
    if registry_url.startswith("s3://"):
        return normalize_dest(registry_url, dest)
    target = Path(normalize_registry_url(dest))
    try:
        rel = target.relative_to(registry_url).as_posix()
    except ValueError:
        raise UsageError(f"dest {dest!r} is outside the registry {registry_url}",
                         "data must live in the registry's own folder") from None
    return "" if rel == "." else rel


# build, push, browse -------------------------------------------------------------------------


def apply_workflow(manifest: Manifest, registry: Registry, name: str,
                   workflow: WorkflowId) -> None:
    """Validate ``manifest`` against ``registry``'s workflow (before anything is written) and
    record the result in its header, as quilt3 does (no record when there is no config)."""
    record = workflows.check(registry, workflow, name, manifest)
    if record:
        manifest.header["workflow"] = record
    else:
        manifest.header.pop("workflow", None)


def build(manifest: Manifest, name: str, registry: Where, message: str | None,
          workflow: WorkflowId = workflows.NOT_GIVEN) -> tuple[str, str]:
    """See :meth:`qvc.Package.build`; returns (registry URL, top hash)."""
    from qvc.ops.build import commit_manifest
    from qvc.ops.push import push_package

    validate_package_name(name)
    target, repo = local_registry(registry)
    apply_workflow(manifest, target, name, workflow)
    if repo is not None and name == repo.package:
        top = commit_manifest(repo, manifest, message).top_hash
    else:
        top = push_package(manifest, name, target, copy=False, force=True).top_hash
    known.remember(target.url, name, top)
    return target.url, top


def push(manifest: Manifest | Prepare, name: str, registry: Where, *, dest: Dest,
         selector: Selector | None,
         force: bool, dedupe: bool, known_parents: Callable[[str], set[str]],
         workflow: WorkflowId = workflows.NOT_GIVEN, preview: Manifest | None = None
         ) -> tuple[str, Manifest | None, str]:
    """See :meth:`qvc.Package.push`; returns (registry URL, manifest pushed, top hash), the
    manifest None when ``dedupe`` found it already ``latest`` (nothing pushed). ``manifest``
    may be a function of the registry and the ``dest`` prefix (None for none or a function)
    that makes it: see :func:`copy_unhashed`; the workflow then checks ``preview`` (the same
    package before the copies), so an invalid package moves no data.
    ``known_parents(url)`` names the versions the caller's package came from there."""
    from qvc.ops.push import push_package

    validate_package_name(name)
    target, dest = remote_registry(registry, dest, force=force)
    if callable(manifest):
        record = workflows.check(target, workflow, name, preview or Manifest())
        manifest = manifest(target, None if callable(dest) else dest)  # copies: after the check
        if record:
            manifest.header["workflow"] = record
        else:
            manifest.header.pop("workflow", None)
    else:
        apply_workflow(manifest, target, name, workflow)
    latest = target.read_latest(name)
    top = manifest.top_hash()
    if dedupe and latest is not None and latest.top_hash == top:
        return target.url, None, top
    parents = known_parents(target.url) | known.recall(target.url, name)
    result = push_package(manifest, name, target, dest=dest, force=force, selector=selector,
                          expected_latest=latest, known_parents=parents, verify=True)
    known.remember(target.url, name, result.top_hash)
    return target.url, result.manifest, result.top_hash


def copy_unhashed(entries: list[tuple[str, str, int]], name: str, registry: Registry,
                  dest: str | None) -> dict[str, tuple[Hash, str]]:
    """Server-side copies, into the registry a push writes to, of the S3 entries (logical
    key, physical key, size) whose hash is not known: each copy's checksums give the hash,
    so the data is never downloaded. Returns {logical key: (hash, physical key of the copy)}
    for those copied; the others are hashed as before."""
    from qvc.ops.push import copy_unhashed as copy_them
    from qvc.remote.servercopy import Item

    items = [Item(key, url, size, None) for key, url, size in entries]
    copied, copier = copy_them(items, name, registry, dest=dest)
    if copier.copied:
        log.info("%d object(s) (%d bytes) copied server-side to %s, %d bytes read back",
                 copier.copied, copier.bytes, registry.url, copier.read)
    return copied


def browse(name: str, registry: Where, top_hash: str | None) -> tuple[str, Manifest, str]:
    """See :meth:`qvc.Package.browse`; returns (registry URL, manifest, top hash)."""
    validate_package_name(name)
    source, repo = local_registry(registry)
    top = source.resolve(name, top_hash)
    manifest = source.read_manifest(top)
    if registry is not None and repo is None and source.store.capabilities.remote:
        # a bucket others write to: like clone, read only data stored in it, so neither
        # fetch() nor push() of what it names can reach a local file or another bucket. A
        # folder registry is a local one, as in quilt3: build() records local files there
        check_remote_keys(source.store, manifest.entries.values(),
                          f"manifest {top[:12]} in {source.url}")
    return source.url, manifest, top


# fetch ---------------------------------------------------------------------------------------


def fetch_entry(physical_key: str, expected: Hash | None, dest: Where) -> str:
    """See :meth:`qvc.PackageEntry.fetch`: a verified copy, renamed into place; returns the
    copy's ``file://`` URL."""
    if dest is None:
        target = Path.cwd() / physical.basename(physical_key)
    else:
        target = physical.local_path(os.fspath(dest)).expanduser().absolute()
    if not physical.is_s3(physical_key) and _same_file(physical.local_path(physical_key), target):
        raise SameFile(f"{target} is the entry's own data")
    target.parent.mkdir(parents=True, exist_ok=True)
    write_verified(physical_key, expected, target.parent, target.name)
    return target.resolve().as_uri()


def _same_file(source: Path, target: Path) -> bool:
    try:
        return source.samefile(target)
    except OSError:
        return False


def fetch_all(entries: Iterable[tuple[str, str, Hash | None]], dest: Path) -> dict[str, str]:
    """See :meth:`qvc.Package.fetch`: each (logical key, physical key, hash) copied to
    ``dest/<logical key>``; returns the copies' ``file://`` URLs by logical key.

    As clone does, each distinct content (by hash) is read once, verified, and copied to every
    key holding it, many at a time (:func:`qvc.remote.transfer.parallel_map`)."""
    root = physical.local_path(os.fspath(dest)).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    groups: dict[Hash | str, tuple[str, Hash | None, list[str]]] = {}
    order = []
    for key, physical_key, expected in entries:
        group = groups.setdefault(expected or physical_key, (physical_key, expected, []))
        group[2].append(key)
        order.append(key)

    def fetch(group: tuple[str, Hash | None, list[str]]) -> None:
        physical_key, expected, keys = group
        write_verified(physical_key, expected, root, *keys)

    parallel_map(fetch, groups.values())
    return {key: (root / key).as_uri() for key in order}


def write_verified(physical_key: str, expected: Hash | None, root: Path, *keys: str) -> None:
    """Copy the data at ``physical_key`` to ``root/key`` for each of ``keys`` through a temp
    file checked against ``expected``; folders on the way are never followed through symbolic
    links."""
    with tempfile.TemporaryDirectory(prefix="qvc-fetch-", dir=root) as tmp:
        staged = Path(tmp) / "object"
        physical.copy_to_file(physical_key, staged)
        if expected is not None and hash_file(staged, expected.type) != expected:
            raise CorruptObject(f"the data at {physical_key} does not match its hash")
        for key in keys:
            write_entry(root, key, staged)


# install, resolve_hash, rollback, verify ----------------------------------------------------


def _source(registry: Where) -> Registry:
    """The registry ``install`` reads: the one given, else the default remote."""
    if registry is None:
        return target.resolve(here(), None).registry
    return local_registry(registry)[0]


def install(name: str, registry: Where, top_hash: str | None, dest: Where,
            dest_registry: Where, path: str | None) -> str:
    """See :meth:`qvc.Package.install`: files first (each verified), then the manifest and
    its pointers in the local registry; returns the top hash installed."""
    from qvc.ops.push import push_package

    validate_package_name(name)
    if dest is not None and scheme(os.fspath(dest)) not in (None, "file"):
        raise UsageError(f"install downloads to a local folder, not {os.fspath(dest)!r}",
                         "use push() to copy a package to a remote registry")
    source = _source(registry)
    into, repo = local_registry(dest_registry)
    if into.url.startswith("s3://"):
        raise UsageError(f"install writes to a local registry, not {into.url}",
                         "use push() to copy a package to a remote registry")
    if repo is not None and name == repo.package:
        raise UsageError(f"{name} is the package of the work tree {repo.root}",
                         "bring in its versions with 'qvc pull'")
    top = source.resolve(name, top_hash)
    manifest = source.read_manifest(top)
    rows = [(e.logical_key, e) for e in manifest.walk()]
    if path:
        want = path.strip("/")
        if want in manifest.entries:
            rows = [(want.rsplit("/", 1)[-1], manifest.entries[want])]
        else:
            rows = [(k[len(want) + 1:], e) for k, e in rows if k.startswith(want + "/")]
            if not rows:
                raise UsageError(f"{name} has no file or folder {path!r}",
                                 "list its keys with qvc.Package.browse(name, registry).keys()")
    configured = userconfig.get("default_install_location")
    folder = (Path(os.fspath(dest)) if dest is not None
              else Path(str(configured)) / name if configured
              else user_registry_folder() / name)
    fetch_all(((k, e.physical_key, e.hash) for k, e in rows), folder)
    push_package(manifest, name, into, copy=False, force=True)
    known.remember(into.url, name, top)
    return top


def resolve_hash(name: str, registry: Where, hash_prefix: str) -> str:
    validate_package_name(name)
    return local_registry(registry)[0].resolve(name, hash_prefix)


def rollback(name: str, registry: Where, top_hash: str) -> None:
    """See :meth:`qvc.Package.rollback`: the version must exist, and so must ``latest``."""
    validate_package_name(name)
    if registry is None:  # quilt3 asks for one too: moving ``latest`` is never implicit
        raise InvalidValue("rollback() needs the registry whose 'latest' it moves",
                           "e.g. Package.rollback(name, 's3://bucket', top_hash)")
    where, repo = local_registry(registry)
    if repo is not None and name == repo.package:
        raise UsageError(f"{name} is the package of the work tree {repo.root}",
                         "move it back with 'qvc reset --hard REV'")
    latest = where.read_latest(name)
    if latest is None:
        raise UsageError(f"no package {name} in {where.url}",
                         "check the package name and the registry")
    top = where.resolve(name, top_hash)
    if not where.has_manifest(top):
        raise UsageError(f"no version {top[:12]} of {name} in {where.url}",
                         "list versions with qvc.list_package_versions(name, registry)")
    where.set_latest(name, top, latest)
    known.remember(where.url, name, top)


def verify_folder(expected: dict[str, tuple[int, Hash | None]], src: Where,
                  extra_files_ok: bool) -> bool:
    """See :meth:`qvc.Package.verify`: every expected file present with its size and hash;
    other files only when ``extra_files_ok``."""
    text = os.fspath(src) if src is not None else "."
    if scheme(text) not in (None, "file"):
        raise UsageError(f"verify checks a local folder, not {text!r}",
                         "fetch the package first, then verify the folder")
    root = physical.local_path(text).expanduser().resolve()
    found = {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}
    if set(expected) - set(found) or (not extra_files_ok and set(found) - set(expected)):
        return False
    for key, (size, digest) in expected.items():
        file = found[key]
        if file.stat().st_size != size:
            return False
        if digest is not None and hash_file(file, digest.type) != digest:
            return False
    return True
