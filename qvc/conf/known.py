"""Versions this user wrote, per registry and package: the API's notion of "your history".

``Package.push`` may move a registry's ``latest`` only from a version the pusher knows: the
one the Package was browsed from, one this Package object wrote (quilt3's rule), or one this
user built or pushed from this machine (remembered here). So running
``p = qvc.Package(); p.push(name)`` twice works, as the Quilt docs show, while a version a
teammate pushed in between is a conflict until it is browsed (or ``force=True``).

Kept in ``<user data dir>/known-versions.json``: ``{"<registry url> <name>": [top hashes]}``,
the newest :data:`KEEP` per package. A lost update between two processes only forgets a
version, which makes a later push stricter, never looser.
"""

from __future__ import annotations

import json
from pathlib import Path

from qvc.conf import userconfig
from qvc.sysio.fileio import atomic_write

KEEP = 100


def _path() -> Path:
    return userconfig.data_dir() / "known-versions.json"


def _load() -> dict[str, list[str]]:
    try:
        data = json.loads(_path().read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def recall(registry_url: str, name: str) -> set[str]:
    """Top hashes of ``name`` this user wrote to ``registry_url``."""
    found = _load().get(f"{registry_url} {name}", [])
    return {top for top in found if isinstance(top, str)}


def remember(registry_url: str, name: str, top_hash: str) -> None:
    data = _load()
    key = f"{registry_url} {name}"
    tops = [t for t in data.get(key, []) if t != top_hash] + [top_hash]
    data[key] = tops[-KEEP:]
    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(data, indent=1, sort_keys=True).encode(), mode=0o600)
