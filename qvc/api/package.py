"""``qvc.Package``: quilt3's in-memory package, over qvc's Manifest.

A Package is an editable set of entries (:class:`qvc.api.package_entry.PackageEntry`) plus
package metadata. It does no I/O of its own:
sizing, hashing and reading data go through :mod:`qvc.remote.physical`; building, pushing and
browsing go through :mod:`qvc.api.package_io`. ``p["folder"]`` is a view on the same package, so
changes made through it show in ``p``, as in quilt3.
"""

from __future__ import annotations

import io
import json
import os
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import EllipsisType
from typing import IO, TYPE_CHECKING, Any, TypeVar

import qvc.api.arguments as arguments
from qvc.api.objects import extension, serializable, serialize
from qvc.api.package_entry import PackageEntry
from qvc.conf import userconfig
from qvc.errors import InvalidType, InvalidValue, MissingEntry, PathError, UsageError
from qvc.quilt.hashing import Hash
from qvc.quilt.manifest import Entry, Manifest, parse, sort_key, validate_key
from qvc.quilt.urls import format_s3_url, parse_s3_url
from qvc.remote import physical
from qvc.worktree.ignore import IgnoreRules
from qvc.worktree.treewalk import walk

if TYPE_CHECKING:
    from qvc.storage.registry import Registry

IGNORE_FILES = (".quiltignore", ".qvcignore")
_PLACEHOLDER = "A" * 43 + "="  # a well-formed hash value (32 zero bytes), replaced on load
Dest = str | Callable[[str, "PackageEntry"], str] | None
Selector = Callable[[str, "PackageEntry"], bool] | None
Key = str | tuple[str, ...] | list[str]
WorkflowId = str | None | EllipsisType  # ...: the registry's default workflow
_REPR_LINES = 20  # quilt3 shows the first 20 names
R = TypeVar("R")
UPDATE_POLICIES = ("incoming", "existing")


@dataclass
class _Tree:
    """State shared by a package and its folder views."""

    header: dict[str, Any] = field(default_factory=lambda: {"version": "v0"})
    entries: dict[str, PackageEntry] = field(default_factory=dict)
    dir_meta: dict[str, Any] = field(default_factory=dict)
    # (registry url, name) -> top hashes this object came from or wrote: pushes over them
    # are not conflicts (quilt3's "known parents")
    known: dict[tuple[str, str], set[str]] = field(default_factory=dict)


class Package:
    """An editable Quilt package (quilt3's ``Package`` API)."""

    def __init__(self) -> None:
        self._tree = _Tree()
        self._prefix = ""  # "" for the package itself, "folder/" for a view

    # reading ---------------------------------------------------------------------------------

    def _view(self, prefix: str) -> Package:
        view = Package.__new__(Package)
        view._tree, view._prefix = self._tree, prefix
        return view

    def __getitem__(self, logical_key: Key) -> PackageEntry | Package:
        """The entry at ``logical_key`` (``"a/b"`` or ``("a", "b")``), or a view of the folder
        there; KeyError if neither."""
        if isinstance(logical_key, (tuple, list)) and not logical_key:
            return self  # the empty path: the package (or folder) itself, as in quilt3
        full = self._prefix + _key_text(logical_key).strip("/")
        entry = self._tree.entries.get(full)
        if entry is not None:
            return entry
        folder = full + "/"
        if folder in self._tree.dir_meta or any(k.startswith(folder) for k in self._tree.entries):
            return self._view(folder)
        raise MissingEntry(f"no entry or folder {logical_key!r} in the package")

    def __contains__(self, logical_key: object) -> bool:
        if not isinstance(logical_key, (str, tuple, list)):
            return False
        try:
            self[logical_key]
        except KeyError:
            return False
        return True

    def keys(self) -> list[str]:
        """Names of the entries and folders directly in this package (or folder)."""
        names = {key[len(self._prefix):].split("/", 1)[0] for key in self._own_keys()}
        names.update(k[len(self._prefix):].split("/", 1)[0] for k in self._tree.dir_meta
                     if k.startswith(self._prefix) and k != self._prefix)
        return sorted(names)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def _own_keys(self) -> list[str]:
        return [k for k in self._tree.entries if k.startswith(self._prefix)]

    def walk(self) -> Iterator[tuple[str, PackageEntry]]:
        """(logical key, entry) of every entry below this package, in Quilt walk order."""
        n = len(self._prefix)
        for key in sorted(self._own_keys(), key=sort_key):
            yield key[n:], self._tree.entries[key]

    def get(self, logical_key: Key) -> str:
        """The physical key (URL) of the entry at ``logical_key``; ValueError for a folder."""
        found = self[logical_key]
        if not isinstance(found, PackageEntry):
            raise InvalidValue(f"Key {_key_text(logical_key)!r} does not point to a "
                               "PackageEntry: it is a folder",
                               "list its entries with p[key].keys()")
        return found.get()

    def readme(self) -> PackageEntry:
        """The ``README.md`` entry at the top of this package (or folder)."""
        found = self._tree.entries.get(self._prefix + "README.md")
        if found is None:
            raise MissingEntry("the package has no README.md",
                               "add one with p.set('README.md', 'path/to/README.md')")
        return found

    def _folders(self) -> list[str]:
        """Every folder below this one, as ``"a/b/"`` relative keys, in walk order."""
        n, found = len(self._prefix), set[str]()
        for key in self._own_keys():
            parts = key[n:].split("/")[:-1]
            found.update("/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1))
        return sorted(found, key=sort_key)

    def map(self, f: Callable[[str, Any], R], include_directories: bool = False) -> Iterator[R]:
        """``f(logical_key, entry)`` for each entry (and, with ``include_directories``, first
        ``f("folder/", folder view)`` for each folder), lazily as quilt3 does."""
        if include_directories:
            for key in self._folders():
                yield f(key, self[key.rstrip("/")])
        for key, entry in self.walk():
            yield f(key, entry)

    def filter(self, f: Callable[[str, Any], bool], include_directories: bool = False
               ) -> Package:
        """A new package of the entries for which ``f(logical_key, entry)`` is true; with
        ``include_directories`` a folder for which it is false drops everything in it."""
        dropped = [key for key in self._folders() if not f(key, self[key.rstrip("/")])] \
            if include_directories else []
        kept = type(self)()
        for key, entry in self.walk():
            if not key.startswith(tuple(dropped)) and f(key, entry):
                kept._tree.entries[key] = entry.with_physical_key(entry.physical_key)
        return kept

    def verify(self, src: str | os.PathLike[str], extra_files_ok: bool = False) -> bool:
        """True when the local folder ``src`` holds exactly this package's files (extra files
        allowed with ``extra_files_ok``), each with the recorded size and hash."""
        from qvc.api.package_io import verify_folder

        self._complete_hashes()
        expected: dict[str, tuple[int, Hash | None]] = {k: (e.size, e._hash)
                                                        for k, e in self.walk()}
        return verify_folder(expected, src, extra_files_ok)

    @property
    def meta(self) -> Any:
        """Package metadata (a folder's metadata, for a folder view)."""
        if not self._prefix:
            return self._tree.header.get("user_meta", {})
        return self._tree.dir_meta.get(self._prefix, {})

    def __repr__(self) -> str:
        """A tree of the first 20 names, breadth first, in quilt3's layout."""
        if not self.keys():
            return "(empty Package)"
        remote = any(not entry.physical_key.is_local() for _, entry in self.walk())
        tree: dict[str, Any] = {}
        queue: deque[tuple[Package, dict[str, Any]]] = deque([(self, tree)])
        shown, more = 0, False
        while queue and not more:
            folder, node = queue.popleft()
            for name in folder:
                child = folder[name]
                label = name + "/" if isinstance(child, Package) else name
                node[label] = {}
                shown += 1
                if shown >= _REPR_LINES:
                    more = True
                    break
                if isinstance(child, Package):
                    queue.append((child, node[label]))
        lines = [f"({'remote' if remote else 'local'} Package)"]

        def draw(node: dict[str, Any], depth: int) -> None:
            for label in sorted(node):
                lines.append(" " + "  " * depth + "└─" + label)
                draw(node[label], depth + 1)

        draw(tree, 0)
        if more:
            lines.append(" ...")
        return "\n".join(lines) + "\n"

    # editing ---------------------------------------------------------------------------------

    def set_meta(self, meta: Any) -> Package:
        """Set the package's (or this folder's) user metadata."""
        if meta is not None:
            arguments.metadata(meta)
        if not self._prefix:
            self._tree.header["user_meta"] = meta
        elif meta:
            self._tree.dir_meta[self._prefix] = meta
        else:
            self._tree.dir_meta.pop(self._prefix, None)  # quilt3 writes no row for empty meta
        return self

    def set(self, logical_key: str, entry: Any = None, meta: Any = None,
            serialization_location: str | os.PathLike[str] | None = None,
            serialization_format_opts: dict[str, Any] | None = None,
            unversioned: bool = False) -> Package:
        """Put a file (local path, ``s3://`` URL or PackageEntry) or a Python object at
        ``logical_key``.

        With no ``entry`` the logical key is read as a local path. An S3 object is pinned to
        its current version unless ``unversioned``. Objects (bytes, JSON data, pandas
        DataFrames: :mod:`qvc.api.objects`) are written at once to ``serialization_location``
        (default: a new file in qvc's data folder) in the format the extension of that
        location or of the key names. ``meta`` becomes the entry's user metadata. The hash
        is computed later, when the package is built.
        """
        if not isinstance(logical_key, str):
            raise InvalidType(f"a logical key is a string, not {type(logical_key).__name__}",
                              "e.g. p.set('folder/file.csv', 'path/to/file.csv')")
        if not logical_key or logical_key.endswith("/"):
            raise InvalidValue(f"the logical key {logical_key!r} names a folder, not a file",
                               "use set_dir() for folders")
        key = validate_key(logical_key)
        if meta is not None:
            arguments.metadata(meta)
        if isinstance(entry, PackageEntry):
            new = PackageEntry(entry.physical_key, entry.size, entry._hash, entry._meta)
        elif entry is None or isinstance(entry, (str, os.PathLike)):
            found = physical.locate(key if entry is None else entry)
            new = PackageEntry(_unversioned(found.physical_key, entry) if unversioned
                               else found.physical_key, found.size)
        elif serializable(entry):
            new = _serialize(key, entry, serialization_location, serialization_format_opts)
        else:
            raise InvalidType(f"cannot put a {type(entry).__name__} in a package",
                              "pass a path, an s3:// URL, a PackageEntry, bytes, JSON data "
                              "or a pandas DataFrame")
        if meta is not None:
            new.set_meta(meta)
        self._put(self._prefix + key, new)
        return self

    def _put(self, key: str, entry: PackageEntry) -> None:
        entries = self._tree.entries
        parts = key.split("/")
        for i in range(1, len(parts)):
            above = "/".join(parts[:i])
            if above in entries:
                raise PathError(f"Already a PackageEntry for {above!r} along the path "
                                f"{parts[:i]!r}: {entries[above].physical_key}",
                                "delete that entry first, or choose another logical key")
        if key not in entries and any(k.startswith(key + "/") for k in entries):
            raise PathError(f"Cannot overwrite directory {key!r} with PackageEntry",
                            "delete the folder first")
        entries[key] = entry

    def set_dir(self, lkey: str, path: str | os.PathLike[str] | None = None,
                meta: Any = None, update_policy: str = "incoming",
                unversioned: bool = False) -> Package:
        """Add every file under a local folder or ``s3://`` prefix below ``lkey``.

        Local folders honour ``.quiltignore`` and ``.qvcignore`` files (gitignore syntax) and
        skip symbolic links. ``meta`` becomes the folder's metadata; for the package root
        (``"."`` or ``""``) it replaces the package metadata, None included, as in quilt3.
        Where a key is already in the package, ``update_policy="incoming"`` takes the new
        file and ``"existing"`` keeps the entry. S3 objects are pinned to their current
        version unless ``unversioned``.
        """
        if update_policy not in UPDATE_POLICIES:
            raise InvalidValue(f"Update policy should be one of {UPDATE_POLICIES}, "
                               f"not {update_policy!r}",
                               "'incoming' replaces entries at the same keys; 'existing' keeps "
                               "them")
        keep = update_policy == "existing"
        lkey = arguments.text(lkey, "lkey").strip("/")
        if path is not None:
            arguments.location(path, "path")
        whole = lkey in ("", ".")
        target = self if whole else self._view(self._prefix + validate_key(lkey) + "/")
        target.set_meta(meta)
        source = os.fspath(path) if path is not None else lkey
        if physical.is_s3(source):
            for rel, found in physical.list_prefix(source):
                key = target._prefix + validate_key(rel)
                if not (keep and key in self._tree.entries):
                    pk = _unversioned(found.physical_key, None) if unversioned else \
                        found.physical_key
                    target._put(key, PackageEntry(pk, found.size))
            return self
        root = physical.local_path(source).expanduser().resolve()
        if not root.is_dir():
            raise PathError(f"{root} is not a folder", "pass the folder to add")
        files = walk(root, IgnoreRules(root, names=IGNORE_FILES)).files
        for rel in sorted(files, key=sort_key):
            if not (keep and target._prefix + rel in self._tree.entries):
                target._put(target._prefix + rel,
                            PackageEntry((root / rel).as_uri(), files[rel].size))
        return self

    def delete(self, logical_key: Key) -> Package:
        """Remove an entry, or a folder with everything in it; KeyError if there is none."""
        found = self[logical_key]
        if isinstance(found, PackageEntry):
            del self._tree.entries[self._prefix + _key_text(logical_key).strip("/")]
            return self
        for key in found._own_keys():
            del self._tree.entries[key]
        for key in [k for k in self._tree.dir_meta if k.startswith(found._prefix)]:
            del self._tree.dir_meta[key]
        return self

    # identity and serialization --------------------------------------------------------------

    def _set_message(self, message: str | None) -> None:
        if message is not None and not isinstance(message, str):
            raise InvalidValue("The package commit message must be a string, but the message "
                               f"provided is an instance of {type(message)}.",
                               "pass message as a str, e.g. message='first version'")
        self._tree.header["message"] = message

    def _root(self, what: str) -> None:
        if self._prefix:
            raise UsageError(f"{what} works on a whole package, not on the folder {self._prefix!r}")

    def _keep_workflow(self, manifest: Manifest) -> None:
        """The workflow record a build or push wrote is this package's too, as in quilt3."""
        if "workflow" in manifest.header:
            self._tree.header["workflow"] = manifest.header["workflow"]
        else:
            self._tree.header.pop("workflow", None)

    def _complete_hashes(self) -> None:
        """Compute the ``sha2-256-chunked`` hash of every entry that has none yet."""
        missing = [(k, e) for k, e in self._tree.entries.items() if e._hash is None]
        results = physical.hash_many([e.physical_key for _, e in missing])
        for (_, entry), (digest, size) in zip(missing, results, strict=True):
            entry._hash, entry.size = digest, size

    def to_manifest(self) -> Manifest:
        """The package as a qvc Manifest (missing hashes are computed first)."""
        self._root("to_manifest()")
        arguments.json_compliant(self._tree.header, "the package metadata")
        for folder, value in self._tree.dir_meta.items():
            arguments.json_compliant(value, f"the metadata of {folder!r}")
        for key, entry in self._tree.entries.items():
            if entry._meta:
                arguments.json_compliant(entry._meta, f"the metadata of {key!r}")
        self._complete_hashes()
        entries = {k: e.to_entry(k) for k, e in self._tree.entries.items()}
        return Manifest(dict(self._tree.header), entries, dict(self._tree.dir_meta))

    @classmethod
    def from_manifest(cls, manifest: Manifest) -> Package:
        pkg = cls()
        pkg._tree.header = dict(manifest.header)
        pkg._tree.entries = {k: PackageEntry.from_entry(e) for k, e in manifest.entries.items()}
        pkg._tree.dir_meta = {k: v for k, v in manifest.dir_meta.items() if v and k != "/"}
        return pkg

    @property
    def top_hash(self) -> str:
        """The package's top hash (computing missing entry hashes first)."""
        return self.to_manifest().top_hash()

    @property
    def manifest(self) -> Iterator[dict[str, Any]]:
        """The manifest rows as dicts: header, folder-metadata rows, then entries."""
        m = self.to_manifest()
        yield dict(m.header)
        for key, value in sorted(m.dir_meta.items(), key=lambda kv: sort_key(kv[0])):
            yield {"logical_key": key, "meta": value}
        for e in m.walk():
            yield {"logical_key": e.logical_key, "physical_keys": [e.physical_key],
                   "size": e.size, "hash": e.hash.as_dict(), "meta": e.meta}

    def dump(self, writable_file: IO[Any]) -> None:
        """Write the manifest (JSON Lines, as quilt3 writes it) to a text or binary file."""
        if not callable(getattr(writable_file, "write", None)):
            raise UsageError(f"dump() needs a writable file, not {type(writable_file).__name__}",
                             "pass an open file, e.g. open('manifest.jsonl', 'w')")
        data = self.to_manifest().dumps()
        if isinstance(writable_file, io.TextIOBase):
            writable_file.write(data.decode("utf-8"))
        else:
            writable_file.write(data)

    @classmethod
    def load(cls, readable_file: IO[Any]) -> Package:
        """A package from manifest text (a file object in text or binary mode). Rows with
        ``"hash": null`` (what ``dump()`` of an unbuilt quilt3 package writes) are hashed when
        the package is built."""
        data = readable_file.read()
        data = data.encode("utf-8") if isinstance(data, str) else data
        lines, unhashed = [], dict[str, dict[str, Any]]()
        for number, line in enumerate(data.splitlines(), start=1):
            try:
                row = json.loads(line) if number > 1 else None
            except ValueError:
                row = None  # parse() names the bad line
            if isinstance(row, dict) and row.get("hash") is None and row.get("physical_keys"):
                unhashed[str(row.get("logical_key"))] = row
                row = {**row, "hash": {"type": "sha2-256-chunked", "value": _PLACEHOLDER},
                       "size": row.get("size") if isinstance(row.get("size"), int) else 0}
                line = json.dumps(row).encode("utf-8")
            lines.append(line)
        pkg = cls.from_manifest(parse(b"\n".join(lines) + b"\n"))
        for key in unhashed:
            entry = pkg._tree.entries[key]
            entry._hash = None
            entry.size = unhashed[key].get("size") or 0
        return pkg

    def diff(self, other_pkg: Package) -> tuple[list[str], list[str], list[str]]:
        """(added, modified, deleted) logical keys going from this package to ``other_pkg``."""
        if not isinstance(other_pkg, Package):
            raise UsageError(f"diff() compares with a Package, not {type(other_pkg).__name__}",
                             "pass another Package, e.g. Package.browse(NAME, REGISTRY)")
        mine = dict(self.to_manifest().entries)
        theirs = other_pkg.to_manifest().entries
        added = sorted((k for k in theirs if k not in mine), key=sort_key)
        modified = sorted((k for k in mine if k in theirs
                           and (mine[k].size, mine[k].hash, mine[k].meta)
                           != (theirs[k].size, theirs[k].hash, theirs[k].meta)), key=sort_key)
        deleted = sorted((k for k in mine if k not in theirs), key=sort_key)
        return added, modified, deleted

    # registries ------------------------------------------------------------------------------

    def fetch(self, dest: str | os.PathLike[str] = "./") -> Package:
        """Copy every entry to ``dest/<logical key>``; returns a package of the copies (with
        the same metadata: quilt3 drops it)."""
        from qvc.api.package_io import fetch_all

        arguments.free_folder(arguments.location(dest, "dest"))
        copy = type(self)()
        if not self._prefix:
            copy._tree.header = dict(self._tree.header)
            copy._tree.dir_meta = dict(self._tree.dir_meta)
        entries = dict(self.walk())
        copies = fetch_all(((k, e.physical_key, e._hash) for k, e in entries.items()), Path(dest))
        for key, url in copies.items():
            copy._tree.entries[key] = entries[key].with_physical_key(url)
        return copy

    def build(self, name: str, registry: str | os.PathLike[str] | None = None,
              message: str | None = None, *, workflow: WorkflowId = ...) -> str:
        """Save the manifest (no data copied) to a registry; returns the top hash.

        Without ``registry``: the enclosing qvc work tree's ``.qvc/`` (a commit, when ``name``
        is the work tree's package), else the per-user registry (see package_io). A registry
        with workflows checks the package first (:mod:`qvc.remote.workflows`): ``workflow``
        names one, None skips them where the registry allows it, and by default the
        registry's default workflow applies.
        """
        self._root("build()")
        from qvc.api.package_io import build

        if registry is not None:
            arguments.location(registry, "registry")
        self._set_message(message)
        manifest = self.to_manifest()
        url, top = build(manifest, name, registry, message, workflow)
        self._keep_workflow(manifest)
        self._tree.known.setdefault((url, name), set()).add(top)
        return top

    def push(self, name: str, registry: str | os.PathLike[str] | None = None, dest: Dest = None,
             message: str | None = None, selector_fn: Selector = None, *,
             workflow: WorkflowId = ..., force: bool = False, dedupe: bool = False) -> Package:
        """Copy the data to a registry and save a manifest of the copies; returns that package.
        ``workflow`` as for :meth:`build`: the package is checked before any upload."""
        self._root("push()")
        from qvc.api.package_io import push

        if registry is not None:
            arguments.location(registry, "registry")
        self._set_message(message)
        source: Manifest | Callable[[Registry, str | None], Manifest]
        if dedupe or selector_fn is not None or callable(dest):
            source = self.to_manifest()
        else:  # S3 entries without a hash are copied server-side first, hashed by the copy
            def source(target: Registry, prefix: str | None) -> Manifest:
                return self._copied_manifest(name, target, prefix)
        url, manifest, top = push(
            source, name, registry, workflow=workflow, preview=self._preview(),
            dest=_on_entries(dest) if callable(dest) else dest,
            selector=_on_entries(selector_fn) if selector_fn is not None else None,
            force=force, dedupe=dedupe,
            known_parents=lambda url: self._tree.known.get((url, name), set()))
        kept = source if isinstance(source, Manifest) else manifest  # None only if deduped
        if kept is not None:
            self._keep_workflow(kept)
        self._tree.known.setdefault((url, name), set()).add(top)
        if manifest is None:  # deduplicated: already the registry's latest
            return self
        pushed = type(self).from_manifest(manifest)
        pushed._tree.known[(url, name)] = {top}
        return pushed

    def _preview(self) -> Manifest:
        """The package's header, keys, sizes and metadata, without computing missing hashes
        (which may mean reading the data): what a workflow checks before anything moves."""
        unknown = Hash("sha2-256-chunked", "")
        entries = {k: Entry(k, str(e.physical_key), e.size, e._hash or unknown, dict(e._meta))
                   for k, e in self._tree.entries.items()}
        return Manifest(dict(self._tree.header), entries, dict(self._tree.dir_meta))

    def _copied_manifest(self, name: str, registry: Registry, dest: str | None) -> Manifest:
        """The manifest to push, S3 entries without a hash first copied server-side into
        ``registry`` (hashed by the copy; see :func:`qvc.api.package_io.copy_unhashed`)."""
        from qvc.api.package_io import copy_unhashed

        unhashed = [(k, str(e.physical_key), e.size) for k, e in self._tree.entries.items()
                    if e._hash is None and physical.is_s3(e.physical_key)]
        copies = copy_unhashed(unhashed, name, registry, dest) if unhashed else {}
        for key, (digest, _) in copies.items():
            self._tree.entries[key]._hash = digest
        manifest = self.to_manifest()
        for key, (_, url) in copies.items():
            manifest.entries[key] = replace(manifest.entries[key], physical_key=url)
        return manifest

    @classmethod
    def browse(cls, name: str, registry: str | os.PathLike[str] | None = None,
               top_hash: str | None = None) -> Package:
        """Open a package version (``latest`` by default, or a top hash or 6+ char prefix)."""
        from qvc.api.package_io import browse

        url, manifest, top = browse(name, registry, top_hash)
        pkg = cls.from_manifest(manifest)
        pkg._tree.known[(url, name)] = {top}
        return pkg

    @classmethod
    def install(cls, name: str, registry: str | os.PathLike[str] | None = None,
                top_hash: str | None = None, dest: str | os.PathLike[str] | None = None,
                dest_registry: str | os.PathLike[str] | None = None, *,
                path: str | None = None) -> None:
        """Download a package: its manifest into the local registry (``dest_registry``) and
        its files, or only ``path`` (a file or a folder), into ``dest`` (default: the
        ``default_install_location`` setting, else ``<local registry>/<name>``); every byte is
        verified.

        ``registry`` defaults to the remote a ``qvc push`` would use."""
        from qvc.api.package_io import install

        install(name, registry, top_hash, dest, dest_registry, path)

    @classmethod
    def resolve_hash(cls, name: str, registry: str | os.PathLike[str] | None,
                     hash_prefix: str) -> str:
        """The full top hash of the version of ``name`` that starts with ``hash_prefix``."""
        from qvc.api.package_io import resolve_hash

        return resolve_hash(name, registry, hash_prefix)

    @classmethod
    def rollback(cls, name: str, registry: str | os.PathLike[str] | None,
                 top_hash: str) -> None:
        """Point ``latest`` of ``name`` back at an earlier version (a 6+ char prefix works)."""
        from qvc.api.package_io import rollback

        rollback(name, registry, top_hash)

    @staticmethod
    def selector_fn_copy_all(logical_key: str, entry: PackageEntry) -> bool:
        return True

    @staticmethod
    def selector_fn_copy_local(logical_key: str, entry: PackageEntry) -> bool:
        return not physical.is_s3(entry.physical_key)



def _on_entries(user: Callable[[str, PackageEntry], R]) -> Callable[[str, Entry], R]:
    """A user's ``dest``/``selector_fn`` on (logical key, PackageEntry), adapted to the
    (logical key, manifest entry) form push calls."""
    return lambda key, entry: user(key, PackageEntry.from_entry(entry))


def _key_text(logical_key: Key) -> str:
    if isinstance(logical_key, str):
        return logical_key
    if isinstance(logical_key, (tuple, list)) and all(isinstance(p, str) for p in logical_key):
        return "/".join(logical_key)
    raise InvalidType(f"invalid logical key {logical_key!r}",
                      "use a string such as 'a/b.csv' or a tuple such as ('a', 'b.csv')")


def _unversioned(physical_key: str, given: object) -> str:
    """``physical_key`` without the version id found for it (one the user gave stays)."""
    if not physical.is_s3(physical_key) or (isinstance(given, str) and "versionId=" in given):
        return physical_key
    url = parse_s3_url(physical_key)
    return format_s3_url(url.bucket, url.key)


def _serialize(key: str, obj: object, location: str | os.PathLike[str] | None,
               opts: dict[str, Any] | None) -> PackageEntry:
    """Write ``obj`` to a file now (as quilt3 does) and return an entry for it."""
    key_ext = extension(key)
    location_ext = extension(os.fspath(location)) if location is not None else None
    if key_ext and location_ext and key_ext != location_ext:
        raise InvalidValue(f"the key {key!r} and serialization_location {location!r} have "
                           "different extensions", "give both the same extension, or one none")
    ext = location_ext or key_ext
    data, meta = serialize(obj, ext, opts)
    if location is None:
        target = userconfig.data_dir() / "objects" / (uuid.uuid4().hex + (f".{ext}" if ext else ""))
    else:
        target = Path(os.fspath(location)).expanduser().resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return PackageEntry(target.as_uri(), len(data), None, meta)
