"""The staging index: the next commit's entries, HEAD's entries, and a stat cache.

``.qvc/index`` (format in :mod:`qvc.core.indexfile`), written atomically. For every logical key it
keeps three columns, so ``status`` never has to parse a manifest:

* ``staged``: the :class:`~qvc.core.indexfile.Version` (size, hash, meta) the next commit
  holds, or None when the key is staged for deletion;
* ``head``: the same for the commit the index was built from, or None if HEAD lacks the key;
* ``stat``: the :class:`~qvc.sysio.filestat.FileStat` of the work-tree file when its content
  was last seen to equal ``staged``.

``Index.rows`` shows them as ``{key: Row(staged, head, stat)}``, decoding a row only when it is
read; the hot paths (status, add, commit) use the column methods and decode nothing. Rows are
tuples: a change goes through the index's methods (:meth:`Index.stage`,
:meth:`Index.stage_delete`, :meth:`Index.set_stat`, ...), which replace the row.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import NamedTuple

from qvc.core import indexfile
from qvc.core.indexfile import ABSENT, Columns, DamagedIndex, Version, parse_version
from qvc.core.sparse import Selection
from qvc.errors import RepositoryError
from qvc.quilt.manifest import Manifest, sort_key
from qvc.sysio.fileio import atomic_write
from qvc.sysio.filestat import FileStat

RACY_WINDOW_NS = 20_000_000  # kernel file timestamps tick at jiffy resolution (1-10 ms)


class Row(NamedTuple):
    """One key's three columns, decoded."""

    staged: Version | None  # None: staged for deletion
    head: Version | None  # None: not in HEAD
    stat: FileStat | None  # None: the file is not known to hold ``staged``


class Index:
    """The columns as loaded (``base``) plus the rows read or changed since (``changed``;
    None marks a removed row). A row once read lives in ``changed``, so edits to it stick."""

    def __init__(self, head: str | None = None, *, base: Columns | None = None,
                 mtime_ns: int = 0) -> None:
        self.base = base or Columns(head)
        self.head: str | None = self.base.head
        self.mtime_ns = mtime_ns
        self.dirty = False
        self.changed: dict[str, Row | None] = {}
        self._pos: dict[str, int] | None = None
        self._unsorted = False  # rows appended to ``base`` out of walk order
        self.rows = Rows(self)
        self.sparse: Selection | None = None  # set by Repo.load_index (qvc.core.sparse)

    @classmethod
    def load(cls, path: Path) -> Index:
        try:
            with open(path, "rb") as f:
                mtime = os.fstat(f.fileno()).st_mtime_ns
                data = f.read()
        except FileNotFoundError:
            return cls()
        except OSError:  # a folder, unreadable: as damaged as garbage inside
            data = b"?"
            mtime = 0
        try:
            base = _json_columns(data) if data[:1] == b"{" else indexfile.loads(data)
            return cls(base=base, mtime_ns=mtime)
        except (DamagedIndex, ValueError):
            raise RepositoryError(
                f"the index {path} is damaged",
                "delete it: the next command rebuilds it from HEAD, and 'qvc status' then "
                "shows how the files differ (staged changes must be added again)",
            ) from None

    def save(self, path: Path) -> None:
        """Write atomically. Entries whose file changed within the racy window of now lose
        their stat (git's "smudge"), so a later change in the same tick is never trusted."""
        cols = self._columns()
        cols.stats.clear_since(time.time_ns() - RACY_WINDOW_NS)
        atomic_write(path, indexfile.dumps(cols))
        self.base, self.changed, self._pos, self.dirty = cols, {}, None, False
        self._unsorted = False

    # rows, decoded on demand ----------------------------------------------------------------

    @property
    def pos(self) -> dict[str, int]:
        if self._pos is None:
            self._pos = dict(zip(self.base.keys, range(len(self.base.keys)), strict=True))
        return self._pos

    def row(self, key: str) -> Row | None:
        if key in self.changed:
            return self.changed[key]
        i = self.pos.get(key)
        if i is None:
            return None
        base = self.base
        row = self.changed[key] = Row(base.staged(i), base.head_version(i), base.stat(i))
        return row

    def keys(self) -> Iterator[str]:
        changed = self.changed
        for key in self.base.keys:
            if key not in changed or changed[key] is not None:
                yield key
        pos = self.pos
        yield from (k for k, row in changed.items() if row is not None and k not in pos)

    def skips(self, key: str) -> bool:
        """Whether ``key`` is outside the sparse selection: present and unchanged whatever
        the work tree holds at its path."""
        return self.sparse is not None and not self.sparse.selects(key)

    def untouched(self) -> bool:
        """The columns are the whole truth, in walk order (no row decoded and changed, none
        appended out of order since loading)."""
        return not self.changed and not self._unsorted

    def tracked(self) -> dict[str, None]:
        """Keys in the next commit (staged for deletion: not)."""
        base, changed = self.base, self.changed
        if not changed and 0 not in base.types:
            return dict.fromkeys(base.keys)
        return {k: None for k in self.keys()
                if (k in changed and changed[k].staged is not None)  # type: ignore[union-attr]
                or (k not in changed and base.types[self.pos[k]] != 0)}

    def staged_items(self) -> Iterator[tuple[str, Version]]:
        """(key, staged version) of the keys in the next commit, in Quilt walk order."""
        if not self.changed and not self._unsorted:
            base = self.base
            for i, key in enumerate(base.keys):
                version = base.staged(i)
                if version is not None:
                    yield key, version
            return
        for key in sorted(self.keys(), key=sort_key):
            row = self.row(key)
            if row is not None and row.staged is not None:
                yield key, row.staged

    def is_tracked(self, key: str) -> bool:
        if key in self.changed:
            row = self.changed[key]
            return row is not None and row.staged is not None
        i = self.pos.get(key)
        return i is not None and self.base.types[i] != 0

    # changes --------------------------------------------------------------------------------

    def staged_version(self, key: str) -> Version | None:
        """The staged version of ``key`` (None: untracked or staged for deletion), decoded
        without keeping the row (staging a million files must not build a row per file)."""
        if key in self.changed:
            row = self.changed[key]
            return row.staged if row is not None else None
        i = self.pos.get(key)
        return self.base.staged(i) if i is not None else None

    def stage(self, key: str, version: Version, st: FileStat | None) -> None:
        """Stage ``version`` for ``key``; a row not read since loading is written straight
        into the columns, a new key appended to them."""
        self.dirty = True
        if key in self.changed:
            row = self.changed[key]
            head = row.head if row is not None else self._base_head(key)
            self.changed[key] = Row(version, head, st)
            return
        base, pos = self.base, self.pos
        i = pos.get(key)
        if i is not None:
            base.set_row(i, version, base.head_version(i), st)
            return
        if base.keys and not self._unsorted and sort_key(key) < sort_key(base.keys[-1]):
            self._unsorted = True
        pos[key] = len(base.keys)
        base.append(key, version, None, st)

    def _base_head(self, key: str) -> Version | None:
        i = self.pos.get(key)
        return self.base.head_version(i) if i is not None else None

    def stage_delete(self, key: str) -> None:
        row = self.row(key)
        if row is None:
            return
        if row.head is None:
            self.rows.pop(key)
        else:
            self.changed[key] = Row(None, row.head, None)
        self.dirty = True

    def set_stat(self, key: str, st: FileStat) -> None:
        """Record that the file at ``key`` (stat ``st``) holds the staged content."""
        i = self.pos.get(key)
        if key in self.changed or i is None:
            row = self.row(key)
            if row is not None:
                self.changed[key] = row._replace(stat=st)
        else:
            self.base.stats.set(i, st)
        self.dirty = True

    def staged_changes(self) -> tuple[list[str], list[str], list[str]]:
        """(added, modified, deleted) between HEAD and the next commit."""
        added: list[str] = []
        modified: list[str] = []
        deleted: list[str] = []
        base, changed = self.base, self.changed
        for i in base.head_rows():
            key = base.keys[i]
            if key in changed:
                continue
            if base.types[i] == 0:
                deleted.append(key)
            else:
                (added if base.hcodes[i] == ABSENT else modified).append(key)
        for key, row in changed.items():
            if row is None or row.staged == row.head:
                continue
            if row.head is None:
                added.append(key)
            elif row.staged is None:
                deleted.append(key)
            else:
                modified.append(key)
        return sorted(added), sorted(modified), sorted(deleted)

    def reset_head(self, head: str | None, manifest: Manifest | None) -> None:
        """Make the ``head`` column equal to ``manifest`` (after a checkout or repair)."""
        entries = manifest.entries if manifest else {}
        for key in list(self.keys()):
            row = self.row(key)
            assert row is not None
            entry = entries.get(key)
            if entry is None and row.staged is None:
                self.rows.pop(key)
            else:
                self.changed[key] = row._replace(head=Version.of(entry) if entry else None)
        for key, entry in entries.items():
            if self.row(key) is None:
                self.changed[key] = Row(None, Version.of(entry), None)
        self.head = head
        self.dirty = True

    def follow_head(self, head: str | None, manifest: Manifest | None) -> None:
        """Repair an index saved for another commit than HEAD (a command killed between
        saving the index and moving HEAD, or after moving HEAD and before saving it).

        Rows whose staged version equals the index's own head version hold nothing the user
        staged: they take ``manifest``'s version (their stat dropped where that changes, so
        the file is compared again). Rows the user staged keep it. Then the head column
        becomes ``manifest``'s. So after any kill, ``status`` shows staged only what the user
        staged, and a plain ``commit`` never records a version nobody chose.
        """
        entries = manifest.entries if manifest else {}
        for key in list(self.keys()):
            row = self.row(key)
            assert row is not None
            if row.staged != row.head:
                continue  # staged by the user
            entry = entries.get(key)
            version = Version.of(entry) if entry else None
            if version != row.staged:
                self.changed[key] = Row(version, row.head, None)
                self.dirty = True
        for key, entry in entries.items():
            if self.row(key) is None:
                self.changed[key] = Row(Version.of(entry), None, None)
        self.reset_head(head, manifest)

    def committed(self, head: str) -> None:
        """HEAD became ``head``, a commit of exactly the staged column."""
        for key, row in list(self.changed.items()):
            if row is None:
                continue
            if row.staged is None:
                self.rows.pop(key)
            else:
                self.changed[key] = row._replace(head=row.staged)
        changed = self.changed
        for i in self.base.committed():  # rows staged for deletion
            key = self.base.keys[i]
            if key not in changed:
                changed[key] = None
        self.head = head
        self.dirty = True

    def nothing_staged(self) -> bool:
        """Whether the staged column equals the head column in every row."""
        base, changed = self.base, self.changed
        if any(base.keys[i] not in changed for i in base.head_rows()):
            return False
        return all(row is None or row.staged == row.head for row in changed.values())

    # the stat cache ---------------------------------------------------------------------------

    def matches_stat(self, row: Row, st: FileStat) -> bool:
        """Stat cache hit: same size, times and inode, and not modified racily close to the
        moment the index was written (the file could have changed again within one tick)."""
        if row.stat != st:
            return False
        return st.mtime_ns < self.mtime_ns - RACY_WINDOW_NS

    def stat_matches(self, key: str, st: FileStat) -> bool:
        """:meth:`matches_stat` by key, without decoding the row."""
        if key in self.changed:
            row = self.changed[key]
            return row is not None and row.staged is not None and self.matches_stat(row, st)
        i = self.pos.get(key)
        if i is None or self.base.types[i] == 0:
            return False
        return self.base.stats.holds(i, st) and st.mtime_ns < self.mtime_ns - RACY_WINDOW_NS

    # writing ----------------------------------------------------------------------------------

    def fold(self) -> None:
        """Fold the rows changed since loading into the columns, in walk order (what
        :meth:`save` writes), so :meth:`untouched` holds again and a commit can copy the
        parent's unchanged rows (qvc.core.splice) after a change to many keys."""
        self.base = self._columns()
        self.changed, self._pos, self._unsorted = {}, None, False

    def _columns(self) -> Columns:
        base, changed = self.base, self.changed
        pos = self.pos
        if not self._unsorted and all(row is not None and k in pos for k, row in changed.items()):
            for key, row in changed.items():  # same keys: patch rows in place
                assert row is not None
                base.set_row(pos[key], *row)
            base.head = self.head
            return base
        cols = Columns(self.head)
        for key in sorted(self.keys(), key=sort_key):
            if key in changed:
                cols.append(key, *changed[key])  # type: ignore[misc]
            else:
                cols.copy_row(base, pos[key])
        return cols


class Rows(MutableMapping[str, Row]):
    """``{key: Row(staged, head, stat)}`` over an :class:`Index`."""

    def __init__(self, index: Index) -> None:
        self._index = index

    def __getitem__(self, key: str) -> Row:
        row = self._index.row(key)
        if row is None:
            raise KeyError(key)
        return row

    def __setitem__(self, key: str, row: Row) -> None:
        self._index.changed[key] = row

    def __delitem__(self, key: str) -> None:
        if self._index.row(key) is None:
            raise KeyError(key)
        if key in self._index.pos:
            self._index.changed[key] = None
        else:
            del self._index.changed[key]

    def __contains__(self, key: object) -> bool:
        changed = self._index.changed
        if key in changed:
            return changed[key] is not None
        return key in self._index.pos

    def __iter__(self) -> Iterator[str]:
        return self._index.keys()

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _json_columns(data: bytes) -> Columns:
    """An index of format 1 (one JSON object), as written by earlier versions."""
    raw = json.loads(data)
    if raw.get("format") != 1:
        raise DamagedIndex("unsupported index format")
    cols = Columns(raw["head"])
    for key in sorted(raw["rows"], key=sort_key):
        staged, head, stat = raw["rows"][key]
        cols.append(key, parse_version(staged), parse_version(head),
                    None if stat is None else FileStat(*stat))
    return cols
