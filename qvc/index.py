"""The staging index: the next commit's entries, HEAD's entries, and a stat cache.

One JSON file, ``.qvc/index``, written atomically. For every logical key it keeps three
columns, so ``status`` never has to parse a manifest:

* ``staged``: ``[size, hash type, hash value, meta]`` of what the next commit holds, or None
  when the key is staged for deletion;
* ``head``: the same for the commit the index was built from, or None if HEAD lacks the key;
* ``stat``: ``[mtime_ns, ctime_ns, inode, size]`` of the work-tree file when its content was
  last seen to equal ``staged``.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qvc.errors import RepositoryError
from qvc.fileio import atomic_write
from qvc.hashing import Hash
from qvc.manifest import Entry, Manifest
from qvc.objects import FileStat

Version = list[Any]  # [size, hash type, hash value, meta dict]
Row = list[Any]  # [staged Version | None, head Version | None, stat list | None]

FORMAT = 1


def version_of(entry: Entry) -> Version:
    return [entry.size, entry.hash.type, entry.hash.value, entry.meta]


def version_hash(version: Version) -> Hash:
    return Hash(version[1], version[2])


@dataclass
class Index:
    head: str | None = None
    rows: dict[str, Row] = field(default_factory=dict)
    mtime_ns: int = 0
    dirty: bool = False

    @classmethod
    def load(cls, path: Path) -> Index:
        try:
            with open(path, "rb") as f:
                mtime = os.fstat(f.fileno()).st_mtime_ns
                raw = json.loads(f.read())
        except FileNotFoundError:
            return cls()
        except ValueError:
            raise RepositoryError(
                f"the index {path} is damaged",
                "delete it and run 'qvc reset' to rebuild it from HEAD",
            ) from None
        if raw.get("format") != FORMAT:
            raise RepositoryError(f"unsupported index format in {path}")
        return cls(head=raw["head"], rows=raw["rows"], mtime_ns=mtime)

    def save(self, path: Path) -> None:
        """Write atomically. Entries whose file changed within the racy window of now lose
        their stat (git's "smudge"), so a later change in the same tick is never trusted."""
        limit = time.time_ns() - RACY_WINDOW_NS
        for row in self.rows.values():
            if row[2] is not None and row[2][0] >= limit:
                row[2] = None
        body = {"format": FORMAT, "head": self.head, "rows": self.rows}
        atomic_write(path, json.dumps(body, separators=(",", ":")).encode())
        self.dirty = False

    def tracked(self) -> dict[str, Row]:
        """Rows whose key is in the next commit."""
        return {k: r for k, r in self.rows.items() if r[0] is not None}

    def stage(self, key: str, version: Version, st: FileStat | None) -> None:
        row = self.rows.get(key)
        stat_list = [st.mtime_ns, st.ctime_ns, st.ino, st.size] if st else None
        if row is None:
            self.rows[key] = [version, None, stat_list]
        else:
            row[0], row[2] = version, stat_list
        self.dirty = True

    def stage_delete(self, key: str) -> None:
        row = self.rows.get(key)
        if row is None:
            return
        if row[1] is None:
            del self.rows[key]
        else:
            row[0], row[2] = None, None
        self.dirty = True

    def staged_changes(self) -> tuple[list[str], list[str], list[str]]:
        """(added, modified, deleted) between HEAD and the next commit."""
        added, modified, deleted = [], [], []
        for key, (staged, head, _) in self.rows.items():
            if staged == head:
                continue
            if head is None:
                added.append(key)
            elif staged is None:
                deleted.append(key)
            else:
                modified.append(key)
        return sorted(added), sorted(modified), sorted(deleted)

    def reset_head(self, head: str | None, manifest: Manifest | None) -> None:
        """Make the ``head`` column equal to ``manifest`` (after a commit, checkout or repair)."""
        entries = manifest.entries if manifest else {}
        for key in list(self.rows):
            row = self.rows[key]
            entry = entries.get(key)
            row[1] = version_of(entry) if entry else None
            if row[0] is None and row[1] is None:
                del self.rows[key]
        for key, entry in entries.items():
            if key not in self.rows:
                self.rows[key] = [None, version_of(entry), None]
        self.head = head
        self.dirty = True

    def matches_stat(self, row: Row, st: FileStat) -> bool:
        """Stat cache hit: same size, times and inode, and not modified racily close to the
        moment the index was written (the file could have changed again within one tick)."""
        cached = row[2]
        if cached is None or cached != [st.mtime_ns, st.ctime_ns, st.ino, st.size]:
            return False
        return st.mtime_ns < self.mtime_ns - RACY_WINDOW_NS


RACY_WINDOW_NS = 20_000_000  # kernel file timestamps tick at jiffy resolution (1-10 ms)
