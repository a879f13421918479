"""What the stat cache keeps of a work-tree file, alone and as a column of many files."""

from __future__ import annotations

import os
from array import array
from collections.abc import Iterable, Iterator
from typing import NamedTuple


class FileStat(NamedTuple):
    """What the stat cache keeps of a work-tree file (a tuple: the walk makes one per file,
    and a NamedTuple is built about twice as fast as a frozen dataclass)."""

    mtime_ns: int
    ctime_ns: int
    ino: int
    size: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileStat:
        return cls(st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_size)


WIDTH = len(FileStat._fields)  # integers per file in a StatColumn
EMPTY = FileStat(-1, 0, 0, 0)  # a StatColumn slot holding no stat (no file has mtime -1)


class StatColumn:
    """The FileStats of many files as one ``array('q')`` of :data:`WIDTH` integers per file,
    slot ``i`` for file ``i``: the walk fills one and the index keeps one, and comparing them
    block by block as arrays builds no Python object per unchanged file (a million files
    are one 32 MB array, not a million tuples). A slot may be :data:`EMPTY`.

    ``values`` is the array itself, for reading and writing the column whole."""

    __slots__ = ("values",)

    def __init__(self, values: array[int] | None = None) -> None:
        self.values: array[int] = values if values is not None else array("q")

    def __len__(self) -> int:
        return len(self.values) // WIDTH

    def __iter__(self) -> Iterator[FileStat]:
        """Each slot's FileStat in order, made one at a time."""
        numbers = iter(self.values)
        return map(FileStat._make, zip(numbers, numbers, numbers, numbers, strict=True))

    def get(self, i: int) -> FileStat:
        return FileStat._make(self.values[WIDTH * i:WIDTH * (i + 1)])

    def is_empty(self, i: int) -> bool:
        return self.values[WIDTH * i] == EMPTY.mtime_ns

    def holds(self, i: int, st: FileStat) -> bool:
        """Whether slot ``i`` equals ``st`` (as lists of ints: quicker than building either
        a FileStat or an array, and ``add`` asks once per file)."""
        return self.values[WIDTH * i:WIDTH * (i + 1)].tolist() == list(st)

    def append(self, st: Iterable[int] | None) -> None:
        """Add a slot holding ``st`` (a FileStat, or its integers); None: an empty slot."""
        self.values.extend(st if st is not None else EMPTY)

    def set(self, i: int, st: FileStat | None) -> None:
        self.values[WIDTH * i:WIDTH * (i + 1)] = array("q", st if st is not None else EMPTY)

    def append_from(self, other: StatColumn, i: int) -> None:
        """Add a copy of ``other``'s slot ``i``."""
        self.values.extend(other.values[WIDTH * i:WIDTH * (i + 1)])

    def extend(self, other: StatColumn) -> None:
        self.values.extend(other.values)

    def clear_since(self, since_ns: int) -> None:
        """Empty the slots of files modified at or after ``since_ns``."""
        values = self.values
        if not values or max(values[0::WIDTH]) < since_ns:
            return
        for j in range(0, len(values), WIDTH):
            if values[j] >= since_ns:
                values[j:j + WIDTH] = array("q", EMPTY)

    def differing(self, other: StatColumn, since_ns: int, block: int = 1024) -> list[int]:
        """The slots (of a column as long as ``other``) that differ from ``other``'s or were
        modified at or after ``since_ns``; compares a block of slots at a time and looks at
        single slots only in a block that differs."""
        mine, theirs = self.values, other.values
        count = len(self)
        found: list[int] = []
        for start in range(0, count, block):
            a, b = WIDTH * start, WIDTH * (start + block)
            if mine[a:b] != theirs[a:b] or max(mine[a:b:WIDTH]) >= since_ns:
                found.extend(i for i in range(start, min(start + block, count))
                             if mine[WIDTH * i:WIDTH * (i + 1)] != theirs[WIDTH * i:WIDTH * (i + 1)]
                             or mine[WIDTH * i] >= since_ns)
        return found
