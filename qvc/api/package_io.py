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

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from qvc.conf import known, userconfig
from qvc.core.repo import DOT, Repo, find_root
from qvc.errors import CorruptObject, UsageError
from qvc.quilt.hashing import hash_file
from qvc.quilt.manifest import validate_package_name
from qvc.quilt.urls import normalize_dest, normalize_registry_url, scheme, split_s3_location
from qvc.remote import physical
from qvc.remote.remotes import checked_for_push, open_remote, resolve_remote, spec_for_url
from qvc.storage.local import LocalStore
from qvc.storage.registry import Registry
from qvc.worktree.materialize import write_entry

if TYPE_CHECKING:
    from qvc.api.package import Dest, Package, Selector
    from qvc.api.package_entry import PackageEntry
    from qvc.ops.push import Dest as PushDest
    from qvc.ops.push import Selector as PushSelector

Where = str | os.PathLike[str] | None


def here() -> Repo | None:
    root = find_root()
    return Repo(root) if root is not None else None


def local_registry(registry: Where) -> tuple[Registry, Repo | None]:
    """The registry to build into or read from, and its work tree when it is one's ``.qvc``."""
    if registry is None:
        repo = here()
        if repo is not None:
            return repo.registry, repo
        configured = userconfig.get("default_local_registry")
        path = Path(configured) if configured else userconfig.data_dir() / "packages"
        return Registry(LocalStore(path)), None
    url = normalize_registry_url(os.fspath(registry))
    if not url.startswith("s3://"):
        folder = Path(url)
        if folder.name == DOT and find_root(folder.parent) == folder.parent:
            repo = Repo(folder.parent)
            return repo.registry, repo
    return open_remote(spec_for_url(here(), url)), None


def remote_registry(registry: Where, dest: Dest, force: bool = False
                    ) -> tuple[Registry, Dest]:
    """The registry ``push`` writes to, and ``dest`` as a prefix (or callable) in it. Unless
    ``force``, an S3 registry is probed on the first push from a work tree (as ``qvc push``
    does, keeping the answer there) and refused if it ignores conditional writes: there a
    concurrent push could move ``latest`` unseen."""
    implied, repo = None, here()
    if registry is None:
        spec = resolve_remote(repo, None)
    else:
        text, implied = _split_registry(os.fspath(registry))
        if implied and dest is not None:
            raise UsageError(f"{registry!r} is a folder in a registry, and dest is given too",
                             "pass the registry root and use dest for the data location")
        spec = spec_for_url(repo, normalize_registry_url(text))
    if isinstance(dest, str):
        dest = _dest_prefix(spec.url, dest)
    if not force:
        spec = checked_for_push(repo, spec)
    return open_remote(spec), implied or dest or spec.dest


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


def _set_message(pkg: Package, message: str | None) -> None:
    if message is not None and not isinstance(message, str):
        raise UsageError(f"the message must be a string, not {type(message).__name__}")
    pkg._tree.header["message"] = message


# build, push, browse -------------------------------------------------------------------------


def build(pkg: Package, name: str, registry: Where, message: str | None) -> str:
    """See :meth:`qvc.Package.build`."""
    from qvc.ops.build import commit_manifest
    from qvc.ops.push import push_package

    validate_package_name(name)
    _set_message(pkg, message)
    manifest = pkg.to_manifest()
    target, repo = local_registry(registry)
    if repo is not None and name == repo.package:
        top = commit_manifest(repo, manifest, message).top_hash
    else:
        top = push_package(manifest, name, target, copy=False, force=True).top_hash
    known.remember(target.url, name, top)
    pkg._tree.known.setdefault((target.url, name), set()).add(top)
    return top


def push(pkg: Package, name: str, registry: Where, *, dest: Dest, message: str | None,
         selector_fn: Selector, force: bool, dedupe: bool) -> Package:
    """See :meth:`qvc.Package.push`."""
    from qvc.ops.push import push_package

    validate_package_name(name)
    target, dest = remote_registry(registry, dest, force=force)
    _set_message(pkg, message)
    manifest = pkg.to_manifest()
    latest = target.read_latest(name)
    if dedupe and latest is not None and latest.top_hash == manifest.top_hash():
        return pkg
    parents = pkg._tree.known.get((target.url, name), set()) | known.recall(target.url, name)
    result = push_package(manifest, name, target, dest=_push_dest(dest), force=force,
                          selector=_push_selector(selector_fn), expected_latest=latest,
                          known_parents=parents)
    known.remember(target.url, name, result.top_hash)
    pkg._tree.known.setdefault((target.url, name), set()).add(result.top_hash)
    pushed = type(pkg).from_manifest(result.manifest)
    pushed._tree.known[(target.url, name)] = {result.top_hash}
    return pushed


def _push_dest(dest: Dest) -> PushDest:
    """Adapt a user ``dest(logical_key, PackageEntry)`` to push's ``(key, Entry)`` form."""
    if not callable(dest):
        return dest
    from qvc.api.package_entry import PackageEntry

    user = dest
    return lambda key, entry: user(key, PackageEntry.from_entry(entry))


def _push_selector(selector: Selector) -> PushSelector | None:
    if selector is None:
        return None
    from qvc.api.package_entry import PackageEntry

    user = selector
    return lambda key, entry: bool(user(key, PackageEntry.from_entry(entry)))


def browse(cls: type[Package], name: str, registry: Where, top_hash: str | None) -> Package:
    """See :meth:`qvc.Package.browse`."""
    validate_package_name(name)
    source, _ = local_registry(registry)
    top = source.resolve(name, top_hash)
    pkg = cls.from_manifest(source.read_manifest(top))
    pkg._tree.known[(source.url, name)] = {top}
    return pkg


# fetch ---------------------------------------------------------------------------------------


def fetch_entry(entry: PackageEntry, dest: Where) -> PackageEntry:
    """See :meth:`qvc.PackageEntry.fetch`: a verified copy, renamed into place."""
    if dest is None:
        target = Path.cwd() / physical.basename(entry.physical_key)
    else:
        target = physical.local_path(os.fspath(dest)).expanduser().absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    _write_verified(entry, target.parent, target.name)
    return entry.with_physical_key(target.resolve().as_uri())


def fetch_package(pkg: Package, dest: Path) -> Package:
    """See :meth:`qvc.Package.fetch`: every entry copied to ``dest/<logical key>``."""
    root = physical.local_path(os.fspath(dest)).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    copy = type(pkg)()  # same metadata (quilt3 drops it), entries pointing at the copies
    if not pkg._prefix:
        copy._tree.header = dict(pkg._tree.header)
        copy._tree.dir_meta = dict(pkg._tree.dir_meta)
    for key, entry in pkg.walk():
        _write_verified(entry, root, key)
        copy._tree.entries[key] = entry.with_physical_key((root / key).as_uri())
    return copy


def _write_verified(entry: PackageEntry, root: Path, key: str) -> None:
    """Copy the entry's data to ``root/key`` through a temp file checked against its hash;
    folders on the way are never followed through symbolic links."""
    with tempfile.TemporaryDirectory(prefix="qvc-fetch-", dir=root) as tmp:
        staged = Path(tmp) / "object"
        physical.copy_to_file(entry.physical_key, staged)
        expected = entry._hash
        if expected is not None and hash_file(staged, expected.type) != expected:
            raise CorruptObject(f"the data at {entry.physical_key} does not match its hash")
        write_entry(root, key, staged)
