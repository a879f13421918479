"""The next commit's manifest bytes and top hash, in time proportional to what changed.

Serializing and hashing every entry of a 100k-file package takes seconds; a commit after
editing one file should not. The parent manifest already holds the JSONL row of every entry
whose staged version equals HEAD's (the index's ``head`` column), in the same walk order as
the index, and ``.qvc/cache/parts/<top>`` holds each entry's top-hash part. Only rows where
staged and HEAD differ are serialized; the rest are spliced in by position.

The cache is checked before use: its parts, hashed after the parent's header, must give the
parent's top hash, and the parent's rows must all point into this object store. Anything else
(no cache, a moved repository, folder-metadata rows, an index row decoded since loading) takes
the full path, which builds every row and writes the cache for the next commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from qvc.hashing import Hash
from qvc.index import Index
from qvc.indexfile import Version
from qvc.manifest import Entry, Manifest
from qvc.repo import Repo

CACHE = "cache/parts"


class Serialized(Manifest):
    """A manifest kept as its bytes (what the registry stores), not as entries."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self.data = data

    def dumps(self) -> bytes:
        return self.data


def build(repo: Repo, index: Index, header: dict[str, Any],
          parent: tuple[str, bytes] | None) -> tuple[bytes, str, list[bytes]]:
    """(manifest bytes, top hash, entries' top-hash parts) of the staged column under
    ``header``; ``parent`` is HEAD's (top hash, manifest bytes). Once the commit is HEAD,
    pass the parts to :func:`save_parts` for the next one."""
    base = "file://" + quote(str(repo.objects.root.resolve())) + "/"
    made = _splice(repo, index, header, base, *parent) if parent and index.untouched() else None
    return made or _full(repo, index, header, base)


def _entry(repo: Repo, base: str, key: str, version: Version) -> Entry:
    h = Hash(version[1], version[2])
    return Entry(key, base + quote(repo.objects.name(h)), version[0], h, version[3])


def _full(repo: Repo, index: Index, header: dict[str, Any],
          base: str) -> tuple[bytes, str, list[bytes]]:
    entries = {key: _entry(repo, base, key, v) for key, v in index.staged_items()}
    manifest = Manifest(header=header, entries=entries)
    parts = [e.hash_part().encode() for e in manifest.walk()]
    return manifest.dumps(), _top_hash(header, parts), parts


def _top_hash(header: dict[str, Any], parts: list[bytes]) -> str:
    """As :func:`qvc.manifest.top_hash`, from the entries' parts already encoded."""
    view = {k: v for k, v in header.items() if k != "top_hash"}
    h = hashlib.sha256(json.dumps(view, sort_keys=True, separators=(",", ":")).encode())
    h.update(b"".join(parts))
    return h.hexdigest()


def _splice(repo: Repo, index: Index, header: dict[str, Any], base: str, parent_top: str,
            parent_data: bytes) -> tuple[bytes, str, list[bytes]] | None:
    lines = parent_data.split(b"\n")[:-1]
    parts = _load_parts(repo.dot / CACHE, parent_top)
    cols = index.base
    heads = sorted(cols.heads)
    rows_in_parent = len(cols.keys) - sum(1 for i in heads if cols.heads[i] is None)
    if (parts is None or len(parts) != len(lines) - 1 or len(parts) != rows_in_parent
            or parent_data.count(b'"physical_keys": ["' + base.encode()) != len(parts)
            or _top_hash(json.loads(lines[0]), parts) != parent_top):
        return None
    changed = {cols.keys[i]: _entry(repo, base, cols.keys[i], v) for i in heads
               if (v := cols.staged(i)) is not None}
    fresh = Manifest(header=header, entries=changed).dumps().split(b"\n")[:-1]
    new_lines, new_parts = fresh[:1], []
    fresh_rows = iter(zip(fresh[1:], (e.hash_part().encode() for e in changed.values()),
                          strict=True))
    j = prev = 0  # j: the next parent row (parts[j] is lines[j + 1])
    for i in [*heads, len(cols.keys)]:
        run = i - prev  # rows prev..i-1 are unchanged: copy their parent rows
        new_lines += lines[j + 1:j + 1 + run]
        new_parts += parts[j:j + run]
        j += run
        if i == len(cols.keys):
            break
        j += cols.heads[i] is not None  # the parent's version of this row is replaced
        if cols.types[i] != 0:
            line, part = next(fresh_rows)
            new_lines.append(line)
            new_parts.append(part)
        prev = i + 1
    return b"\n".join(new_lines) + b"\n", _top_hash(header, new_parts), new_parts


def _load_parts(folder: Path, top: str) -> list[bytes] | None:
    try:
        return (folder / top).read_bytes().split(b"\n")[:-1]
    except FileNotFoundError:
        return None


def save_parts(repo: Repo, top: str, parts: list[bytes]) -> None:
    """Keep only HEAD's parts. Best effort, after the commit is complete: without them (a
    full disk, a torn file, which fails the check on use) the next commit takes longer."""
    folder = repo.dot / CACHE
    tmp = folder / f".{top}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink(missing_ok=True)
        tmp.write_bytes(b"\n".join([*parts, b""]))
        os.replace(tmp, folder / top)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
