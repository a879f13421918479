"""The three-way merge of two package versions against their merge base, by logical key.

Pure: manifest bytes in, a result out. A key changed on one side only takes that side's
version; the same version on both sides is no conflict; anything else (both changed it
differently, or one deleted it and the other changed it) is a :class:`Conflict`. Versions are
compared by content (size and hash) and entry metadata, never by physical key. Folder
metadata rows and the package metadata (``user_meta`` in the header) merge the same way.

Parsing a 100k-row manifest builds an object per field of every row and takes over a second;
a merge where each side changed a thousand keys should not pay for that three times. Rows
that are byte-identical in all three manifests are the same version, so only the rows that
differ between the base and either side (set differences of their lines) are parsed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from qvc.quilt.manifest import Entry, Manifest, parse


class _Absent:
    """What a version holds for metadata it lacks (distinct from a JSON null)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class Conflict:
    """One key both sides changed differently. ``kind`` is "file", "folder metadata" (``key``
    ends with '/') or "package metadata" (``key`` is empty); the versions are Entry objects
    (files: None where that side lacks the key) or metadata values (:data:`ABSENT`)."""

    key: str
    kind: str
    base: Any
    ours: Any
    theirs: Any


@dataclass
class MergeResult:
    """What the merged version changes relative to ``ours``: files (an Entry, or None for a
    deletion), folder metadata rows (a value, or :data:`ABSENT` for a removed row), the
    package metadata (``user_meta``, :data:`ABSENT` when the header has none), and the
    conflicts, where the merged version holds ours' until they are resolved."""

    files: dict[str, Entry | None] = field(default_factory=dict)
    dir_meta: dict[str, Any] = field(default_factory=dict)
    user_meta: Any = ABSENT
    user_meta_changed: bool = False
    conflicts: list[Conflict] = field(default_factory=list)


@dataclass
class _Rows:
    """One manifest as merge reads it: its header and its rows after the header, as lines."""

    header: dict[str, Any]
    lines: set[bytes]


def _rows(data: bytes, source: str) -> _Rows:
    split = data.split(b"\n")  # not partition(): that copies the rest of the bytes
    header = parse(split[0] + b"\n", source=source).header
    lines = set(split)
    lines.discard(split[0])  # the header: never equal to a row, which has a logical_key
    lines.discard(b"")
    return _Rows(header, lines)


def _subset(header_line: bytes, lines: Iterable[bytes], source: str) -> Manifest:
    """The rows ``lines`` parsed (and checked) as a manifest of their own."""
    lines = list(lines)
    if not lines:
        return Manifest()
    return parse(header_line + b"\n" + b"\n".join(lines) + b"\n", source=source)


def merge_bytes(base: bytes | None, ours: bytes, theirs: bytes) -> MergeResult:
    """Merge manifest bytes (``base`` None: the histories share no version)."""
    b = _rows(base, "merge base") if base is not None else _Rows({"version": "v0"}, set())
    o, t = _rows(ours, "our version"), _rows(theirs, "their version")
    head = b'{"version": "v0"}'
    b_minus_o = _subset(head, b.lines - o.lines, "merge base")
    b_minus_t = _subset(head, b.lines - t.lines, "merge base")
    o_new = _subset(head, o.lines - b.lines, "our version")
    t_new = _subset(head, t.lines - b.lines, "their version")
    result = MergeResult()
    _merge_files(result, b_minus_o, b_minus_t, o_new, t_new)
    _merge_dir_meta(result, b_minus_o, b_minus_t, o_new, t_new)
    _merge_user_meta(result, b.header, o.header, t.header)
    return result


def merge(base: Manifest | None, ours: Manifest, theirs: Manifest) -> MergeResult:
    """:func:`merge_bytes` of manifests held in memory."""
    return merge_bytes(base.dumps() if base is not None else None, ours.dumps(), theirs.dumps())


def _same(a: Entry | None, b: Entry | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.size == b.size and a.hash == b.hash and a.meta == b.meta


def _merge_files(result: MergeResult, b_o: Manifest, b_t: Manifest, o_new: Manifest,
                 t_new: Manifest) -> None:
    keys = set(b_o.entries) | set(b_t.entries) | set(o_new.entries) | set(t_new.entries)
    for key in keys:
        # a key whose base row is in neither difference is absent from the base: were it
        # there, the side that changed the key would no longer hold that row
        base = b_o.entries.get(key) or b_t.entries.get(key)
        ours = o_new.entries.get(key) if key in o_new.entries or key in b_o.entries else base
        theirs = t_new.entries.get(key) if key in t_new.entries or key in b_t.entries else base
        if _same(ours, theirs) or _same(base, theirs):
            continue
        if _same(base, ours):
            result.files[key] = theirs
        else:
            result.conflicts.append(Conflict(key, "file", base, ours, theirs))


def _merge_dir_meta(result: MergeResult, b_o: Manifest, b_t: Manifest, o_new: Manifest,
                    t_new: Manifest) -> None:
    keys = set(b_o.dir_meta) | set(b_t.dir_meta) | set(o_new.dir_meta) | set(t_new.dir_meta)
    for key in keys:
        base = b_o.dir_meta.get(key, b_t.dir_meta.get(key, ABSENT))
        ours = o_new.dir_meta.get(key, ABSENT) if key in o_new.dir_meta or \
            key in b_o.dir_meta else base
        theirs = t_new.dir_meta.get(key, ABSENT) if key in t_new.dir_meta or \
            key in b_t.dir_meta else base
        if ours == theirs or base == theirs:
            continue
        if base == ours:
            result.dir_meta[key] = theirs
        else:
            result.conflicts.append(Conflict(key, "folder metadata", base, ours, theirs))


def _merge_user_meta(result: MergeResult, base: dict[str, Any], ours: dict[str, Any],
                     theirs: dict[str, Any]) -> None:
    b, o, t = (h.get("user_meta", ABSENT) for h in (base, ours, theirs))
    result.user_meta = o
    if o == t or b == t:
        return
    if b == o:
        result.user_meta, result.user_meta_changed = t, True
    else:
        result.conflicts.append(Conflict("", "package metadata", b, o, t))

