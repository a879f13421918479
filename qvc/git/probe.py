"""Whether a folder can be in a git work tree, told without dulwich: importing it
(qvc.git.gitlink) costs a command about 20 ms, which ``init`` and ``clone`` outside git skip."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qvc.git.gitlink import GitLink


def may_be_in_git(folder: Path) -> bool:
    """False when neither ``folder`` (its real path) nor any folder above it holds an entry
    named ``.git``: a git work tree is found only through one (dulwich's discovery, like git's,
    finds nothing else there but a bare repository, which has no work tree). True: ask
    :meth:`qvc.git.gitlink.GitRepo.discover`."""
    path = os.path.realpath(folder)
    while True:
        if os.path.lexists(os.path.join(path, ".git")):
            return True
        parent = os.path.dirname(path)
        if parent == path:
            return False
        path = parent


def link_if_in_git(qvc_root: Path, package: str) -> GitLink | None:
    """:func:`qvc.git.gitlink.link_work_tree`, loading dulwich only where a git work tree may
    be around ``qvc_root``."""
    if not may_be_in_git(qvc_root):
        return None
    from qvc.git.gitlink import link_work_tree

    return link_work_tree(qvc_root, package)
