"""``qvc.Package``: quilt3's in-memory package, over qvc's Manifest.

A Package is an editable set of entries (:class:`qvc.api.package_entry.PackageEntry`) plus
package metadata. It does no I/O of its own:
sizing, hashing and reading data go through :mod:`qvc.remote.physical`; building, pushing and
browsing go through :mod:`qvc.api.package_io`. ``p["folder"]`` is a view on the same package, so
changes made through it show in ``p``, as in quilt3.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import qvc.api.arguments as arguments
from qvc.api.package_entry import PackageEntry
from qvc.errors import MissingEntry, PathError, UsageError
from qvc.quilt.manifest import Entry, Manifest, parse, sort_key, validate_key
from qvc.remote import physical
from qvc.worktree.ignore import IgnoreRules
from qvc.worktree.treewalk import walk

IGNORE_FILES = (".quiltignore", ".qvcignore")
Dest = str | Callable[[str, "PackageEntry"], str] | None
Selector = Callable[[str, "PackageEntry"], bool] | None
R = TypeVar("R")


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

    def __getitem__(self, logical_key: str) -> PackageEntry | Package:
        """The entry at ``logical_key``, or a view of the folder there; KeyError if neither."""
        full = self._prefix + arguments.text(logical_key, "logical_key").strip("/")
        entry = self._tree.entries.get(full)
        if entry is not None:
            return entry
        folder = full + "/"
        if folder in self._tree.dir_meta or any(k.startswith(folder) for k in self._tree.entries):
            return self._view(folder)
        raise MissingEntry(f"no entry or folder {logical_key!r} in the package")

    def __contains__(self, logical_key: object) -> bool:
        if not isinstance(logical_key, str):
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

    @property
    def meta(self) -> Any:
        """Package metadata (a folder's metadata, for a folder view)."""
        if not self._prefix:
            return self._tree.header.get("user_meta", {})
        return self._tree.dir_meta.get(self._prefix, {})

    def __repr__(self) -> str:
        keys = [k for k, _ in self.walk()]
        shown = "\n".join(f"  {k}" for k in keys[:20])
        more = f"\n  ... and {len(keys) - 20} more" if len(keys) > 20 else ""
        return f"Package({len(keys)} entries)\n{shown}{more}".rstrip()

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

    def set(self, logical_key: str, entry: str | os.PathLike[str] | PackageEntry | None = None,
            meta: Any = None) -> Package:
        """Put a file (local path, ``s3://`` URL or PackageEntry) at ``logical_key``.

        With no ``entry`` the logical key is read as a local path. ``meta`` becomes the
        entry's user metadata. The hash is computed later, when the package is built.
        """
        key = validate_key(arguments.text(logical_key, "logical_key"))
        if entry is not None and not isinstance(entry, PackageEntry):
            arguments.location(entry, "entry")
        if meta is not None:
            arguments.metadata(meta)
        if isinstance(entry, PackageEntry):
            new = PackageEntry(entry.physical_key, entry.size, entry._hash, entry._meta)
        else:
            found = physical.locate(key if entry is None else entry)
            new = PackageEntry(found.physical_key, found.size)
        if meta is not None:
            new.set_meta(meta)
        self._put(self._prefix + key, new)
        return self

    def _put(self, key: str, entry: PackageEntry) -> None:
        entries = self._tree.entries
        parts = key.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in entries:
                raise PathError(f"{'/'.join(parts[:i])!r} is a file in this package, not a folder",
                                "delete it first, or choose another logical key")
        if key not in entries and any(k.startswith(key + "/") for k in entries):
            raise PathError(f"{key!r} is a folder in this package", "delete the folder first")
        entries[key] = entry

    def set_dir(self, logical_key: str, path: str | os.PathLike[str] | None = None,
                meta: Any = None) -> Package:
        """Add every file under a local folder or ``s3://`` prefix below ``logical_key``.

        Local folders honour ``.quiltignore`` and ``.qvcignore`` files (gitignore syntax) and
        skip symbolic links. ``meta`` becomes the folder's metadata; for the package root
        (``"."`` or ``""``) it replaces the package metadata, None included, as in quilt3.
        """
        lkey = arguments.text(logical_key, "logical_key").strip("/")
        if path is not None:
            arguments.location(path, "path")
        whole = lkey in ("", ".")
        target = self if whole else self._view(self._prefix + validate_key(lkey) + "/")
        target.set_meta(meta)
        source = os.fspath(path) if path is not None else lkey
        if physical.is_s3(source):
            for rel, found in physical.list_prefix(source):
                target._put(target._prefix + validate_key(rel),
                            PackageEntry(found.physical_key, found.size))
            return self
        root = physical.local_path(source).expanduser().resolve()
        if not root.is_dir():
            raise PathError(f"{root} is not a folder", "pass the folder to add")
        files = walk(root, IgnoreRules(root, names=IGNORE_FILES)).files
        for rel in sorted(files, key=sort_key):
            target._put(target._prefix + rel, PackageEntry((root / rel).as_uri(), files[rel].size))
        return self

    def delete(self, logical_key: str) -> Package:
        """Remove an entry, or a folder with everything in it; KeyError if there is none."""
        found = self[logical_key]
        if isinstance(found, PackageEntry):
            del self._tree.entries[self._prefix + logical_key.strip("/")]
            return self
        for key in found._own_keys():
            del self._tree.entries[key]
        for key in [k for k in self._tree.dir_meta if k.startswith(found._prefix)]:
            del self._tree.dir_meta[key]
        return self

    # identity and serialization --------------------------------------------------------------

    def _set_message(self, message: str | None) -> None:
        if message is not None and not isinstance(message, str):
            raise UsageError(f"the message must be a string, not {type(message).__name__}")
        self._tree.header["message"] = message

    def _root(self, what: str) -> None:
        if self._prefix:
            raise UsageError(f"{what} works on a whole package, not on the folder {self._prefix!r}")

    def _complete_hashes(self) -> None:
        """Compute the ``sha2-256-chunked`` hash of every entry that has none yet."""
        missing = [(k, e) for k, e in self._tree.entries.items() if e._hash is None]
        results = physical.hash_many([e.physical_key for _, e in missing])
        for (_, entry), (digest, size) in zip(missing, results, strict=True):
            entry._hash, entry.size = digest, size

    def to_manifest(self) -> Manifest:
        """The package as a qvc Manifest (missing hashes are computed first)."""
        self._root("to_manifest()")
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
        """A package from manifest text (a file object in text or binary mode)."""
        data = readable_file.read()
        return cls.from_manifest(parse(data.encode("utf-8") if isinstance(data, str) else data))

    def diff(self, other: Package) -> tuple[list[str], list[str], list[str]]:
        """(added, modified, deleted) logical keys going from this package to ``other``."""
        if not isinstance(other, Package):
            raise UsageError(f"diff() compares with a Package, not {type(other).__name__}",
                             "pass another Package, e.g. Package.browse(NAME, REGISTRY)")
        mine = dict(self.to_manifest().entries)
        theirs = other.to_manifest().entries
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
              message: str | None = None) -> str:
        """Save the manifest (no data copied) to a registry; returns the top hash.

        Without ``registry``: the enclosing qvc work tree's ``.qvc/`` (a commit, when ``name``
        is the work tree's package), else the per-user registry (see package_io).
        """
        self._root("build()")
        from qvc.api.package_io import build

        if registry is not None:
            arguments.location(registry, "registry")
        self._set_message(message)
        url, top = build(self.to_manifest(), name, registry, message)
        self._tree.known.setdefault((url, name), set()).add(top)
        return top

    def push(self, name: str, registry: str | os.PathLike[str] | None = None, dest: Dest = None,
             message: str | None = None, selector_fn: Selector = None, *, force: bool = False,
             dedupe: bool = False) -> Package:
        """Copy the data to a registry and save a manifest of the copies; returns that package."""
        self._root("push()")
        from qvc.api.package_io import push

        if registry is not None:
            arguments.location(registry, "registry")
        self._set_message(message)
        url, manifest, top = push(
            self.to_manifest(), name, registry,
            dest=_on_entries(dest) if callable(dest) else dest,
            selector=_on_entries(selector_fn) if selector_fn is not None else None,
            force=force, dedupe=dedupe,
            known_parents=lambda url: self._tree.known.get((url, name), set()))
        self._tree.known.setdefault((url, name), set()).add(top)
        if manifest is None:  # deduplicated: already the registry's latest
            return self
        pushed = type(self).from_manifest(manifest)
        pushed._tree.known[(url, name)] = {top}
        return pushed

    @classmethod
    def browse(cls, name: str, registry: str | os.PathLike[str] | None = None,
               top_hash: str | None = None) -> Package:
        """Open a package version (``latest`` by default, or a top hash or 6+ char prefix)."""
        from qvc.api.package_io import browse

        url, manifest, top = browse(name, registry, top_hash)
        pkg = cls.from_manifest(manifest)
        pkg._tree.known[(url, name)] = {top}
        return pkg

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
