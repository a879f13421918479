"""qvc init."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qvc.repo import Repo


@dataclass
class InitResult:
    root: Path
    package: str


def init(folder: Path, name: str | None = None) -> InitResult:
    repo = Repo.init(folder, name)
    return InitResult(repo.root, repo.package)
