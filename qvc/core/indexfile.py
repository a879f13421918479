"""The on-disk form of the index: columns that load without building an object per field.

A JSON index of 100k entries builds over a million Python objects on every ``status``; these
columns build a few: one string per key, and arrays read straight from bytes.

    b"qvc-index 3\\n" + sha256(body) (32 bytes) + body
    body = header JSON line + keys + stats + sizes + types + heads + digests + sparse JSON

* header: ``{"head", "n", "byteorder", "lengths": [keys, sparse]}``;
* keys: the logical keys joined by ``"\\n"`` (keys never hold control characters), in Quilt
  walk order, so a sorted walk of the work tree can be compared with them as one list;
* stats: a :class:`~qvc.sysio.filestat.StatColumn`'s array: ``mtime_ns, ctime_ns, inode,
  size`` per key (``-1`` mtime: none);
* sizes: ``array('q')`` of staged sizes; types: one byte per key (see :data:`TYPE_CODES`;
  0 = staged for deletion, 255 = a version kept whole in the sparse part);
* heads: one byte per key: how HEAD's version relates to the staged one (:data:`SAME`,
  :data:`ABSENT`, :data:`DIFFERS`: then kept whole in the sparse part), so a first commit of a
  million files needs no sparse row per file;
* digests: 32 raw bytes per key (the base64 or hex hash value decoded);
* sparse JSON: ``{"meta": {i: meta}, "head": {i: version}, "staged": {i: version}}``
  holding only non-empty metas, HEAD versions that differ from the staged one, and staged
  versions whose hash does not fit the binary columns.

Format 2 (no heads column; a HEAD-less row was a ``null`` in the sparse part) still loads.

The SHA-256 makes a torn or damaged file an error rather than a silent misreading.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import sys
from array import array
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from qvc.quilt.hashing import CHUNKED, LEGACY_SHA256, Hash, is_chunked_value
from qvc.quilt.manifest import Entry
from qvc.sysio.filestat import FileStat, StatColumn

MAGIC = b"qvc-index 3\n"
MAGIC_2 = b"qvc-index 2\n"
TYPE_CODES = {CHUNKED: 1, LEGACY_SHA256: 2}
TYPE_NAMES = {code: name for name, code in TYPE_CODES.items()}
OTHER = 255
DIGEST = 32
SAME, ABSENT, DIFFERS = 0, 1, 2  # heads column: HEAD's version equals staged / none / other


class Version(NamedTuple):
    """One version of a file's content as the index keeps it (JSON: ``[size, hash type, hash
    value, meta]``). A tuple: ``status`` and ``add`` decode one per file they look at, and a
    NamedTuple is built about twice as fast as a frozen dataclass."""

    size: int
    hash_type: str
    hash_value: str
    meta: dict[str, Any]

    @classmethod
    def of(cls, entry: Entry) -> Version:
        return cls(entry.size, entry.hash.type, entry.hash.value, entry.meta)

    @property
    def hash(self) -> Hash:
        return Hash(self.hash_type, self.hash_value)


def parse_version(raw: Any) -> Version | None:
    """A version as JSON holds it (a list of four, or null); DamagedIndex if it is not one."""
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) != len(Version._fields):
        raise DamagedIndex("an index version is not a list of four")
    return Version(*raw)


class DamagedIndex(ValueError):
    """The bytes are not an index this version can read."""


@dataclass
class Columns:
    """One index snapshot, column by column; row ``i`` is ``keys[i]``."""

    head: str | None = None
    keys: list[str] = field(default_factory=list)
    stats: StatColumn = field(default_factory=StatColumn)
    sizes: array[int] = field(default_factory=lambda: array("q"))
    types: bytearray = field(default_factory=bytearray)
    hcodes: bytearray = field(default_factory=bytearray)  # SAME / ABSENT / DIFFERS per row
    digests: bytearray = field(default_factory=bytearray)
    metas: dict[int, dict[str, Any]] = field(default_factory=dict)
    heads: dict[int, Version] = field(default_factory=dict)  # the DIFFERS rows' HEAD versions
    others: dict[int, Version] = field(default_factory=dict)  # staged, type code OTHER

    def staged(self, i: int) -> Version | None:
        code = self.types[i]
        if code == 0:
            return None
        if code == OTHER:
            return self.others[i]
        raw = bytes(self.digests[DIGEST * i:DIGEST * (i + 1)])
        value = base64.b64encode(raw).decode() if code == 1 else raw.hex()
        return Version(self.sizes[i], TYPE_NAMES[code], value, dict(self.metas.get(i, {})))

    def head_version(self, i: int) -> Version | None:
        code = self.hcodes[i]
        if code == ABSENT:
            return None
        return self.heads[i] if code == DIFFERS else self.staged(i)

    def head_rows(self) -> list[int]:
        """Rows whose HEAD version differs from the staged one (or is absent), in order."""
        if self.hcodes.count(SAME) == len(self.hcodes):
            return []
        return [m.start() for m in _NOT_SAME.finditer(self.hcodes)]

    def stat(self, i: int) -> FileStat | None:
        return None if self.stats.is_empty(i) else self.stats.get(i)

    def append(self, key: str, staged: Version | None, head: Version | None,
               stat: FileStat | None) -> None:
        """Add a row: :meth:`set_row` of a new last row, each column appended to once (a
        clone or checkout appends a row per file)."""
        i = len(self.keys)
        self.keys.append(key)
        self.stats.append(stat)
        code, raw = _encode(staged)
        self.sizes.append(_size(staged, code))
        self.types.append(code)
        self.digests += raw
        self.hcodes.append(self._set_sparse(i, staged, head, code))

    def set_row(self, i: int, staged: Version | None, head: Version | None,
                stat: FileStat | None) -> None:
        self.stats.set(i, stat)
        code, raw = _encode(staged)
        self.sizes[i] = _size(staged, code)
        self.types[i] = code
        self.digests[DIGEST * i:DIGEST * (i + 1)] = raw
        for sparse in (self.metas, self.heads, self.others):
            sparse.pop(i, None)
        self.hcodes[i] = self._set_sparse(i, staged, head, code)

    def _set_sparse(self, i: int, staged: Version | None, head: Version | None,
                    code: int) -> int:
        """Record row ``i``'s sparse columns (a hash kept whole, metadata, a HEAD that differs)
        and return its HEAD code."""
        if code == OTHER:
            assert staged is not None
            self.others[i] = staged
        elif staged is not None and staged.meta:
            self.metas[i] = staged.meta
        if head is not None and head != staged:
            self.heads[i] = head
        return SAME if head == staged else ABSENT if head is None else DIFFERS

    def copy_row(self, other: Columns, i: int) -> None:
        """Append row ``i`` of ``other`` without decoding it."""
        j = len(self.keys)
        self.keys.append(other.keys[i])
        self.stats.append_from(other.stats, i)
        self.sizes.append(other.sizes[i])
        self.types.append(other.types[i])
        self.hcodes.append(other.hcodes[i])
        self.digests += other.digests[DIGEST * i:DIGEST * (i + 1)]
        if i in other.metas:
            self.metas[j] = other.metas[i]
        if i in other.heads:
            self.heads[j] = other.heads[i]
        if i in other.others:
            self.others[j] = other.others[i]

    def committed(self) -> list[int]:
        """Make HEAD equal the staged column; returns the rows staged for deletion (the
        caller drops them)."""
        self.hcodes[:] = bytes(len(self.hcodes))
        self.heads.clear()
        if 0 not in self.types:
            return []
        return [i for i, code in enumerate(self.types) if code == 0]


_NOT_SAME = re.compile(b"[^\\x00]")


def _size(staged: Version | None, code: int) -> int:
    """The size column's value (a hash kept whole keeps its size with it)."""
    return staged.size if staged is not None and code != OTHER else 0


def _encode(version: Version | None) -> tuple[int, bytes]:
    """(type code, 32 digest bytes); OTHER when the value would not read back identically."""
    if version is None:
        return 0, bytes(DIGEST)
    code = TYPE_CODES.get(version.hash_type)
    value = version.hash_value
    try:
        if code == 1 and isinstance(value, str):
            if is_chunked_value(value):  # the common case: no check after the decoding
                return code, binascii.a2b_base64(value)
            raw = base64.b64decode(value, validate=True)
            if len(raw) == DIGEST and base64.b64encode(raw).decode() == value:
                return code, raw
        elif code == 2 and isinstance(value, str):
            raw = bytes.fromhex(value)
            if len(raw) == DIGEST and raw.hex() == value:
                return code, raw
    except (binascii.Error, ValueError):
        pass
    return OTHER, bytes(DIGEST)


def dumps(cols: Columns) -> bytes:
    keys = "\n".join(cols.keys).encode("utf-8", "surrogatepass")
    if keys.count(b"\n") != max(len(cols.keys) - 1, 0):
        raise ValueError("a logical key holds a newline")
    sparse = json.dumps({"meta": cols.metas, "head": cols.heads, "staged": cols.others},
                        separators=(",", ":")).encode()
    header = json.dumps({"head": cols.head, "n": len(cols.keys), "byteorder": sys.byteorder,
                         "lengths": [len(keys), len(sparse)]}).encode()
    parts: list[bytes | bytearray | memoryview] = [
        header, b"\n", keys, memoryview(cols.stats.values).cast("B"),
        memoryview(cols.sizes).cast("B"),
        cols.types, cols.hcodes, cols.digests, sparse]
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return b"".join([MAGIC, digest.digest(), *parts])  # one copy of the body, not two


def loads(data: bytes) -> Columns:
    """Parse :func:`dumps` output (or format 2); :class:`DamagedIndex` for anything else."""
    version = 3 if data.startswith(MAGIC) else 2 if data.startswith(MAGIC_2) else 0
    if not version:
        raise DamagedIndex("not a qvc index of format 2 or 3")
    start = len(MAGIC) + 32
    body = memoryview(data)[start:]
    if hashlib.sha256(body).digest() != data[len(MAGIC):start]:
        raise DamagedIndex("checksum mismatch")
    end = data.index(b"\n", start)
    try:
        header = json.loads(data[start:end])
        n, (keys_len, sparse_len) = header["n"], header["lengths"]
        pos = end + 1
        keys = data[pos:pos + keys_len].decode("utf-8", "surrogatepass").split("\n") if n else []
        pos += keys_len
        cols = Columns(header["head"], keys)
        for column, width in ((cols.stats.values, 32 * n), (cols.sizes, 8 * n)):
            column.frombytes(data[pos:pos + width])
            pos += width
            if header["byteorder"] != sys.byteorder:
                column.byteswap()
        cols.types = bytearray(data[pos:pos + n])
        pos += n
        if version == 3:
            cols.hcodes = bytearray(data[pos:pos + n])
            pos += n
        cols.digests = bytearray(data[pos:pos + DIGEST * n])
        pos += DIGEST * n
        sparse = json.loads(data[pos:pos + sparse_len])
        if pos + sparse_len != len(data) or len(keys) != n or len(cols.digests) != DIGEST * n:
            raise DamagedIndex("inconsistent lengths")
        cols.metas = {int(i): m for i, m in sparse["meta"].items()}
        cols.others = {int(i): Version(*v) for i, v in sparse["staged"].items()}
        sparse_heads = {int(i): parse_version(v) for i, v in sparse["head"].items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DamagedIndex(str(exc)) from None
    if version == 2:
        cols.hcodes = bytearray(n)
        for i, head in sparse_heads.items():
            cols.hcodes[i] = ABSENT if head is None else DIFFERS
    heads = {i: v for i, v in sparse_heads.items() if v is not None}
    if len(cols.hcodes) != n or cols.hcodes.count(DIFFERS) != len(heads) or any(
            not 0 <= i < n or cols.hcodes[i] != DIFFERS for i in heads):
        raise DamagedIndex("inconsistent head column")
    cols.heads = heads
    return cols
