"""qvc init: a new work tree, linked to the enclosing git work tree if there is one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qvc.core.repo import Repo
from qvc.git.gitlink import GitLink, link_work_tree


@dataclass
class InitResult:
    root: Path
    package: str
    git: GitLink | None = None  # what was written for the enclosing git work tree, if any


def init(folder: Path, name: str | None = None) -> InitResult:
    repo = Repo.init(folder, name)
    return InitResult(repo.root, repo.package, link_work_tree(repo.root, repo.package))
