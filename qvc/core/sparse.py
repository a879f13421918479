"""The sparse selection: which keys of the package this work tree holds.

``.qvc/sparse`` (absent: every key) lists one path per line: a key (``labels.csv``) or a
folder (``images/2024``, selecting every key under it). It is written atomically and read by
:meth:`Repo.load_index <qvc.core.repo.Repo.load_index>`, which hands it to the index, and by
the commands that download or write files (fetch, clone, checkout, pull, merge).

A key outside the selection is *skipped*: its index row keeps the version of the commit it
came from and no stat, its object need not be stored, and its work-tree path is not looked at
(a file there is neither tracked nor untracked). So status, add, commit, diff, checkout, pull
and merge treat it as present and unchanged, and a commit keeps its entry exactly as the
parent has it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from qvc.errors import RepositoryError
from qvc.quilt.manifest import key_problem
from qvc.sysio.fileio import atomic_write
from qvc.worktree.treewalk import Walk


@dataclass(frozen=True)
class Selection:
    """Keys and folders selected (no trailing slash, none under another)."""

    paths: tuple[str, ...]

    @classmethod
    def of(cls, paths: Iterable[str]) -> Selection:
        """The selection of ``paths`` (keys or folders; a trailing slash is dropped; a path
        under another is redundant and dropped). Raises ValueError naming a bad path."""
        cleaned: set[str] = set()
        for path in paths:
            key = path.strip().strip("/")
            problem = key_problem(key) if key else "the whole package"
            if problem:
                raise ValueError(f"{path!r} cannot be selected: {problem}")
            cleaned.add(key)
        kept = sorted(p for p in cleaned
                      if not any(p != q and p.startswith(q + "/") for q in cleaned))
        return cls(tuple(kept))

    def selects(self, key: str) -> bool:
        for path in self.paths:
            if key == path or (key.startswith(path) and key[len(path):len(path) + 1] == "/"):
                return True
        return False

    def touches(self, key: str) -> bool:
        """Whether ``key`` is selected or is a folder holding a selected path."""
        return self.selects(key) or any(p.startswith(key + "/") for p in self.paths)

    def selects_any(self, keys: Iterable[str]) -> dict[str, bool]:
        """Each path of the selection: whether it selects one of ``keys``."""
        found = dict.fromkeys(self.paths, False)
        for key in keys:
            for path in self.paths:
                if key == path or key.startswith(path + "/"):
                    found[path] = True
        return found

    def union(self, other: Selection) -> Selection:
        return Selection.of(self.paths + other.paths)


def read(path: Path) -> Selection | None:
    """The selection stored at ``path`` (``Layout.sparse``); None: the whole package."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    try:
        return Selection.of(lines)
    except ValueError as exc:
        raise RepositoryError(f"the sparse selection {path} is damaged: {exc}",
                              "set it again with 'qvc sparse set PATH...', or turn it off "
                              "with 'qvc sparse disable'") from None


def write(path: Path, selection: Selection | None) -> None:
    """Store ``selection`` (None: the whole package) atomically."""
    if selection is None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    atomic_write(path, "".join(p + "\n" for p in selection.paths).encode())


def narrow(tree: Walk, selection: Selection | None) -> Walk:
    """The files of ``tree`` that ``selection`` selects (``tree`` itself when it is None)."""
    if selection is None:
        return tree
    kept = Walk()
    for key, st in tree.items():
        if selection.selects(key):
            kept.keys.append(key)
            kept.stats.append(st)
    kept.skipped = [k for k in tree.skipped if selection.selects(k)]
    return kept


def keep(selection: Selection | None, keys: Iterable[str]) -> list[str]:
    """Those of ``keys`` the selection selects (all when it is None)."""
    if selection is None:
        return list(keys)
    return [k for k in keys if selection.selects(k)]
