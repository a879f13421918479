"""The next commit's manifest bytes and top hash, in time proportional to what changed.

Serializing and hashing every entry of a 100k-file package takes seconds; a commit after
editing one file should not. The parent manifest already holds the JSONL row of every entry
whose staged version equals HEAD's (the index's ``head`` column), in the same walk order as
the index, and ``.qvc/cache/parts/<top>`` holds each entry's top-hash part. Only rows where
staged and HEAD differ are serialized; the rest are copied from those two files by position,
a batch of lines at a time (whatever the package's size, nothing is held whole in memory).

The cache is checked before use: its parts, hashed after the parent's header, must give the
parent's top hash, and the parent's rows must all point into this object store. Anything else
(no cache, a moved repository, folder-metadata rows, an index row decoded since loading) takes
the full path, which builds every row and writes the cache for the next commit.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import os
import struct
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

from qvc.core.index import Index
from qvc.core.indexfile import ABSENT, Columns, Version
from qvc.core.repo import Repo
from qvc.errors import BadManifest
from qvc.quilt.manifest import MAX_LINE, Entry, Manifest
from qvc.storage import ObjectNotFound
from qvc.sysio import forking
from qvc.sysio.fileio import os_error

WINDOW = 65536  # rows built at a time (bounds memory whatever the package's size)
FORK_MIN = 4096  # rows per process below which forking costs more than it saves
_ROWS_LENGTH = struct.Struct("<Q")


@dataclass
class Built:
    """A commit's manifest and top-hash parts, written to temporary files in ``.qvc/tmp``
    (a million-row manifest is never held in memory whole)."""

    top: str
    manifest: Path
    parts: Path

    def discard(self) -> None:
        for path in (self.manifest, self.parts):
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)


def build(repo: Repo, index: Index, header: dict[str, Any],
          parent: tuple[str, dict[str, Any]] | None) -> Built:
    """The manifest and top hash of the staged column under ``header``; ``parent`` is HEAD's
    (top hash, header). Once the commit is HEAD, pass the result to :func:`save_parts` for
    the next one."""
    base = "file://" + quote(str(repo.objects.root.resolve())) + "/"
    try:
        manifest, parts = _temp(repo, "manifest"), _temp(repo, "parts")
    except OSError as exc:
        raise os_error(exc, repo.paths.tmp) from exc
    try:
        top = (_splice(repo, index, header, base, *parent, manifest, parts)
               if parent and index.untouched() else None)
        if top is None:
            top = _full(repo, index, header, base, manifest, parts)
    except BaseException as exc:
        Built("", manifest, parts).discard()
        if isinstance(exc, OSError):
            raise os_error(exc, manifest) from exc  # e.g. a full disk: a clear error
        raise
    return Built(top, manifest, parts)


def _temp(repo: Repo, what: str) -> Path:
    folder = repo.paths.tmp
    folder.mkdir(exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix=f"commit-{what}-")
    os.close(fd)
    return Path(name)


def _entry(repo: Repo, base: str, key: str, version: Version) -> Entry:
    h = version.hash
    return Entry(key, base + quote(repo.objects.name(h)), version.size, h, version.meta)


def _full(repo: Repo, index: Index, header: dict[str, Any], base: str,
          manifest: Path, parts: Path) -> str:
    """Write every row to ``manifest`` (and its part to ``parts``), a window of rows at a
    time; returns the top hash. Serializing rows is pure Python work, so on Linux a large
    window is shared with forked children (:mod:`qvc.sysio.forking`); only the top hash, which
    must see the parts in order, is computed here alone."""
    top = _header_hash(header)
    rows = functools.partial(_rows, repo, base, index.base)
    with open(manifest, "wb") as out, open(parts, "wb") as part_out:
        out.write(Manifest(header=header).dumps())
        for window in _windows(index):
            processes = forking.processes(len(window), FORK_MIN, "QVC_COMMIT_PROCESSES")
            with forking.Split(forking.cut(window, processes), rows) as split:
                answers = itertools.chain([(split.first, None)], split.answers())
                for share, got in answers:
                    lines, part_lines = _unpack(got if got is not None else rows(share))
                    out.write(lines)
                    part_out.write(part_lines)
                    top.update(part_lines.replace(b"\n", b""))
    return top.hexdigest()


def _windows(index: Index) -> Iterator[Sequence[Any]]:
    """The staged rows, ``WINDOW`` at a time: ranges of the index's rows when they are in
    walk order (each process then decodes its own), else lists of (key, version)."""
    if index.untouched():
        total = len(index.base.keys)
        for start in range(0, total, WINDOW):
            yield range(start, min(start + WINDOW, total))
        return
    items = index.staged_items()
    while window := list(itertools.islice(items, WINDOW)):
        yield window


def _rows(repo: Repo, base: str, cols: Columns, share: Sequence[Any]) -> bytes:
    """The manifest rows and top-hash parts of a share of :func:`_windows`, one per line,
    packed as the rows' length, the rows, then the parts."""
    lines, part_lines = bytearray(), bytearray()
    items = _decoded(cols, share) if isinstance(share, range) else share
    for key, version in items:
        entry = _entry(repo, base, key, version)
        line = entry.line().encode("utf-8")
        if len(line) >= MAX_LINE:
            raise BadManifest("a manifest row is over 1,000,000 bytes",
                              "keep metadata per entry small")
        lines += line
        lines += b"\n"
        part_lines += entry.hash_part().encode()
        part_lines += b"\n"
    return _ROWS_LENGTH.pack(len(lines)) + lines + part_lines


def _decoded(cols: Columns, rows: range) -> Iterator[tuple[str, Version]]:
    keys, staged = cols.keys, cols.staged
    for i in rows:
        version = staged(i)
        if version is not None:
            yield keys[i], version


def _unpack(packed: bytes) -> tuple[bytes, bytes]:
    (length,) = _ROWS_LENGTH.unpack_from(packed)
    start = _ROWS_LENGTH.size
    return packed[start:start + length], packed[start + length:]


def _header_hash(header: dict[str, Any]) -> hashlib._Hash:
    view = {k: v for k, v in header.items() if k != "top_hash"}
    return hashlib.sha256(json.dumps(view, sort_keys=True, separators=(",", ":")).encode())


def _splice(repo: Repo, index: Index, header: dict[str, Any], base: str, parent_top: str,
            parent_header: dict[str, Any], manifest: Path,
            parts: Path) -> str | None:
    """Write the manifest and parts by copying the parent's unchanged rows in runs (a batch
    of lines at a time: memory stays flat however large the package); returns the top hash,
    or None when the cache does not check out (the caller then builds every row)."""
    cols = index.base
    heads = cols.head_rows()
    changed = {cols.keys[i]: _entry(repo, base, cols.keys[i], v) for i in heads
               if (v := cols.staged(i)) is not None}
    fresh = Manifest(header=header, entries=changed).dumps().splitlines(keepends=True)
    fresh_rows = iter(zip(fresh[1:], (e.hash_part().encode() + b"\n" for e in changed.values()),
                          strict=True))
    try:
        parent_rows = repo.registry.open_manifest(parent_top)
    except ObjectNotFound:
        return None
    try:
        parent_parts = open(repo.paths.parts_cache / parent_top, "rb")  # noqa: SIM115
    except FileNotFoundError:
        parent_rows.close()
        return None
    copier = _Copier(base, _header_hash(parent_header), _header_hash(header))
    with parent_rows, parent_parts, open(manifest, "wb") as out, open(parts, "wb") as part_out:
        parent_rows.readline()  # the parent's header
        out.write(fresh[0])
        prev = 0
        for i in [*heads, len(cols.keys)]:
            if not copier.copy(parent_rows, parent_parts, i - prev, out, part_out):
                return None
            if i == len(cols.keys):
                break
            replaced = cols.hcodes[i] != ABSENT  # the parent's version of this row goes
            if replaced and not copier.copy(parent_rows, parent_parts, 1, None, None):
                return None
            if cols.types[i] != 0:
                line, part = next(fresh_rows)
                out.write(line)
                part_out.write(part)
                copier.mine.update(part[:-1])
            prev = i + 1
        if parent_rows.read(1) or parent_parts.read(1) or \
                copier.theirs.hexdigest() != parent_top:
            return None
    return copier.mine.hexdigest()


class _Copier:
    """Copies runs of parent rows and parts, checking them as they go: every row must point
    into this object store and the parent's parts must hash to the parent's top hash."""

    BATCH = 8192

    def __init__(self, base: str, theirs: hashlib._Hash, mine: hashlib._Hash) -> None:
        self.marker = b'"physical_keys": ["' + base.encode()
        self.theirs, self.mine = theirs, mine

    def copy(self, rows: BinaryIO, parts: BinaryIO, count: int, out: BinaryIO | None,
             part_out: BinaryIO | None) -> bool:
        """Copy ``count`` rows (to None: skip them); False when the cache does not match."""
        while count > 0:
            n = min(count, self.BATCH)
            count -= n
            lines = b"".join(itertools.islice(rows, n))
            chunk = b"".join(itertools.islice(parts, n))
            if lines.count(b"\n") != n or chunk.count(b"\n") != n or \
                    lines.count(self.marker) != n:
                return False
            joined = chunk.replace(b"\n", b"")
            self.theirs.update(joined)
            if out is not None and part_out is not None:
                out.write(lines)
                part_out.write(chunk)
                self.mine.update(joined)
        return True


def save_parts(repo: Repo, built: Built) -> None:
    """Keep only HEAD's parts. Best effort, after the commit is complete: without them (a
    full disk, a torn file, which fails the check on use) the next commit takes longer."""
    folder = repo.paths.parts_cache
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink(missing_ok=True)
        os.replace(built.parts, folder / built.top)
    except OSError:
        pass
    built.discard()
