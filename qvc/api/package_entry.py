"""``qvc.PackageEntry``: one file of a package (quilt3's entry API over a manifest Entry)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import qvc.api.arguments as arguments
from qvc.api.objects import deserialize
from qvc.api.physical_key import PhysicalKey
from qvc.errors import InvalidType, InvalidValue, UsageError
from qvc.quilt.hashing import Hash, hash_problem
from qvc.quilt.manifest import Entry
from qvc.remote import physical


class PackageEntry:
    """One file of a package: where its data is, its size, hash and metadata."""

    __slots__ = ("_physical_key", "size", "_hash", "_meta")

    def __init__(self, physical_key: str, size: int, hash: Hash | dict[str, str] | None = None,
                 meta: dict[str, Any] | None = None) -> None:
        self._physical_key = PhysicalKey(arguments.text(physical_key, "physical_key"))
        self.size = arguments.size(size)
        self._hash = _checked_hash(hash)
        self._meta: dict[str, Any] = dict(meta or {})

    @classmethod
    def from_entry(cls, entry: Entry) -> PackageEntry:
        return cls(entry.physical_key, entry.size, entry.hash, entry.meta)

    def to_entry(self, logical_key: str) -> Entry:
        if self._hash is None:
            raise UsageError(f"{logical_key} has no hash yet", "build the package first")
        return Entry(logical_key, str(self.physical_key), self.size, self._hash, dict(self._meta))

    @property
    def physical_key(self) -> PhysicalKey:
        """Where the data is: a :class:`PhysicalKey`, which is also its URL string."""
        return self._physical_key

    @physical_key.setter
    def physical_key(self, value: str) -> None:
        self._physical_key = PhysicalKey(value)

    @property
    def hash(self) -> dict[str, str] | None:
        """``{"type": ..., "value": ...}`` as in a manifest; None until the package is built."""
        return self._hash.as_dict() if self._hash else None

    @hash.setter
    def hash(self, value: Hash | dict[str, str] | None) -> None:
        """A hash of a known type and the shape of its values, or None: computed on build."""
        self._hash = _checked_hash(value)

    @property
    def meta(self) -> Any:
        """The entry's user metadata (stored under ``user_meta`` in the system meta)."""
        return self._meta.get("user_meta", {})

    def set_meta(self, meta: Any) -> PackageEntry:
        self._meta["user_meta"] = arguments.metadata(meta)
        return self

    def set(self, path: str | os.PathLike[str] | None = None, meta: Any = None) -> None:
        """Point the entry at other data (its size and hash are found again on build), or,
        with only ``meta``, set its user metadata."""
        if path is not None:
            found = physical.locate(path)
            self._physical_key, self.size, self._hash = PhysicalKey(found.physical_key), \
                found.size, None
        elif meta is not None:
            self.set_meta(meta)
        else:
            raise InvalidValue("Must specify either path or meta",
                               "e.g. entry.set('new/file.csv') or entry.set(meta={'k': 1})")

    def as_dict(self) -> dict[str, Any]:
        """The entry as a manifest row, without its logical key."""
        return {"physical_keys": [str(self.physical_key)], "size": self.size,
                "hash": self.hash, "meta": dict(self._meta)}

    def get(self) -> str:
        return str(self.physical_key)

    def get_cached_path(self) -> str | None:
        """None: qvc keeps no download cache outside work trees (quilt3 compatibility)."""
        return None

    def get_bytes(self, use_cache_if_available: bool = True) -> bytes:
        """The entry's data, checked against its hash when it has one."""
        return physical.read_bytes(self.physical_key, self._hash)

    def get_as_string(self, use_cache_if_available: bool = True) -> str:
        return self.get_bytes().decode("utf-8")

    def get_as_json(self, use_cache_if_available: bool = True) -> Any:
        return json.loads(self.get_bytes().decode("utf-8"))

    def deserialize(self, func: Callable[[bytes], Any] | None = None, **format_opts: Any) -> Any:
        """The entry's data as a Python object: ``func(data)`` when given, else read in the
        format its metadata or extension names (see :mod:`qvc.api.objects`)."""
        data = self.get_bytes()
        if func is not None:
            return func(data)
        return deserialize(data, self._meta, self.physical_key.basename(), **format_opts)

    def __call__(self, func: Callable[[bytes], Any] | None = None, **format_opts: Any) -> Any:
        return self.deserialize(func, **format_opts)

    def fetch(self, dest: str | os.PathLike[str] | None = None) -> PackageEntry:
        """Copy the data to the local file ``dest`` (default: its file name, in the current
        folder); returns an entry pointing at the copy."""
        from qvc.api.package_io import fetch_entry

        if dest is not None:
            arguments.free_folder(os.path.dirname(os.fspath(arguments.location(dest, "dest"))))
        return self.with_physical_key(fetch_entry(self.physical_key, self._hash, dest))

    def with_physical_key(self, physical_key: str) -> PackageEntry:
        return PackageEntry(physical_key, self.size, self._hash, self._meta)

    def __eq__(self, other: object) -> bool:  # physical keys are not part of identity
        if not isinstance(other, PackageEntry):
            return NotImplemented
        return (self.size, self._hash, self._meta) == (other.size, other._hash, other._meta)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PackageEntry({str(self.physical_key)!r})"


def _checked_hash(value: Hash | dict[str, str] | None) -> Hash | None:
    if value is None or isinstance(value, Hash):
        return value
    if not isinstance(value, dict):
        raise InvalidType(f"an entry's hash is a dict, not {type(value).__name__}",
                          "leave it out: building computes it")
    problem = hash_problem(value.get("type"), value.get("value"))
    if problem is not None:
        raise InvalidValue(f"an entry's hash must be {{'type': ..., 'value': ...}} of a known "
                           f"type: {problem}", "leave it out: building computes it")
    return Hash(value["type"], value["value"])
