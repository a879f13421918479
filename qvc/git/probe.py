"""Whether a folder can be in a git work tree, told without dulwich: importing it
(qvc.git.gitlink) costs a command about 20 ms, which ``init`` and ``clone`` outside git skip."""

from __future__ import annotations

import os
from pathlib import Path


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
