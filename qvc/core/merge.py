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

import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
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


def _decide(base: Any, ours: Any, theirs: Any, same: Callable[[Any, Any], bool]) -> str:
    """The three-way rule for one key: "ours" (nothing to take), "theirs" or "conflict"."""
    if same(ours, theirs) or same(base, theirs):
        return "ours"
    return "theirs" if same(base, ours) else "conflict"


def _sides(b_o: Mapping[str, Any], b_t: Mapping[str, Any], o_new: Mapping[str, Any],
           t_new: Mapping[str, Any], missing: Any) -> Iterator[tuple[str, Any, Any, Any]]:
    """(key, base, ours, theirs) of every key a side changed, from the four differences.

    A key whose base row is in neither difference is absent from the base: were it there,
    the side that changed the key would no longer hold that row."""
    for key in set(b_o) | set(b_t) | set(o_new) | set(t_new):
        base = b_o.get(key, b_t.get(key, missing))
        ours = o_new.get(key, missing) if key in o_new or key in b_o else base
        theirs = t_new.get(key, missing) if key in t_new or key in b_t else base
        yield key, base, ours, theirs


def _merge_files(result: MergeResult, b_o: Manifest, b_t: Manifest, o_new: Manifest,
                 t_new: Manifest) -> None:
    for key, base, ours, theirs in _sides(b_o.entries, b_t.entries, o_new.entries,
                                          t_new.entries, None):
        decision = _decide(base, ours, theirs, _same)
        if decision == "theirs":
            result.files[key] = theirs
        elif decision == "conflict":
            result.conflicts.append(Conflict(key, "file", base, ours, theirs))


def _merge_dir_meta(result: MergeResult, b_o: Manifest, b_t: Manifest, o_new: Manifest,
                    t_new: Manifest) -> None:
    for key, base, ours, theirs in _sides(b_o.dir_meta, b_t.dir_meta, o_new.dir_meta,
                                          t_new.dir_meta, ABSENT):
        decision = _decide(base, ours, theirs, operator.eq)
        if decision == "theirs":
            result.dir_meta[key] = theirs
        elif decision == "conflict":
            result.conflicts.append(Conflict(key, "folder metadata", base, ours, theirs))


def _merge_user_meta(result: MergeResult, base: dict[str, Any], ours: dict[str, Any],
                     theirs: dict[str, Any]) -> None:
    b, o, t = (h.get("user_meta", ABSENT) for h in (base, ours, theirs))
    result.user_meta = o
    decision = _decide(b, o, t, operator.eq)
    if decision == "theirs":
        result.user_meta, result.user_meta_changed = t, True
    elif decision == "conflict":
        result.conflicts.append(Conflict("", "package metadata", b, o, t))
