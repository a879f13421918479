"""qvc init: a new work tree, linked to the enclosing git work tree if there is one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qvc.core.repo import Repo
from qvc.git.probe import link_if_in_git

if TYPE_CHECKING:
    from qvc.git.gitlink import GitLink  # dulwich loads only inside git


@dataclass
class InitResult:
    root: Path
    package: str
    git: GitLink | None = None  # what was written for the enclosing git work tree, if any


def init(folder: Path, name: str | None = None) -> InitResult:
    repo = Repo.init(folder, name)
    return InitResult(repo.root, repo.package, link_if_in_git(repo.root, repo.package))
