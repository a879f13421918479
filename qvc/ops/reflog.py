"""qvc reflog: where HEAD has been, newest first, each move named ``HEAD@{n}``."""

from __future__ import annotations

from dataclasses import dataclass

from qvc.core import reflog as reflog_file
from qvc.core.repo import Repo
from qvc.errors import RepositoryError


@dataclass(frozen=True)
class ReflogEntry:
    name: str  # HEAD@{n}
    commit_id: str | None  # where HEAD went (None: HEAD was cleared)
    top_hash: str | None  # that commit's top hash (None if its record is gone or damaged)
    time: float
    reason: str


def reflog(repo: Repo, limit: int | None = None) -> list[ReflogEntry]:
    moves = reflog_file.read(repo.paths.reflog)[:limit]
    return [ReflogEntry(f"HEAD@{{{n}}}", move.new, _top(repo, move.new), move.time, move.reason)
            for n, move in enumerate(moves)]


def _top(repo: Repo, commit_id: str | None) -> str | None:
    if commit_id is None:
        return None
    try:
        return repo.commit(commit_id).top_hash
    except RepositoryError:
        return None
