"""qvc delete: remove a package, or one version of it, from a registry's listing.

Pointers only, never manifests or data (quilt3's ``delete_package``): other packages and
versions may share them, and a deleted version can still be read by its top hash. When the
version ``latest`` named goes, ``latest`` moves to the newest remaining pointer.
"""

from __future__ import annotations

from dataclasses import dataclass

from qvc.storage.registry import Registry


@dataclass
class DeleteResult:
    package: str
    registry: str
    top_hash: str | None  # None: the whole package
    pointers: list[str]  # pointer names removed
    latest: str | None  # top hash ``latest`` names afterwards (None: package gone)


def delete(registry: Registry, name: str, rev: str | None = None) -> DeleteResult:
    """Delete every pointer of ``name`` (or only those naming REV: a top hash or prefix)."""
    top = registry.resolve(name, rev) if rev else None
    removed = registry.delete(name, top)
    after = registry.read_latest(name)
    return DeleteResult(name, registry.url, top, removed, after.top_hash if after else None)
