"""qvc init."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qvc.core.repo import Repo

if TYPE_CHECKING:
    from qvc.git.gitlink import GitLink


@dataclass
class InitResult:
    root: Path
    package: str
    git: GitLink | None = None  # what was written for the enclosing git work tree, if any


def init(folder: Path, name: str | None = None) -> InitResult:
    repo = Repo.init(folder, name)
    return InitResult(repo.root, repo.package, repo.git_link)
