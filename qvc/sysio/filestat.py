"""What the stat cache keeps of a work-tree file."""

from __future__ import annotations

import os
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
