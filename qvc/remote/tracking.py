"""Remote-tracking state: what each named remote's ``latest`` was when qvc last saw it.

Kept in ``.qvc/tracking.json`` (``{remote: {url, package, latest, commit, time}}``), written by
push and fetch under the repository lock. ``status`` compares HEAD with it to say ahead,
behind or diverged without talking to the remote; the answer is as fresh as the last fetch or
push, like git's remote-tracking branches.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass

from qvc.core.history import count_apart
from qvc.core.repo import Repo
from qvc.sysio.fileio import atomic_write


@dataclass(frozen=True)
class Tracked:
    remote: str
    url: str
    package: str
    latest: str | None  # the remote's latest top hash, None if it had no such package
    commit: str | None  # the local commit record of that version
    time: float


@dataclass(frozen=True)
class Relation:
    """HEAD compared with a tracked remote version."""

    remote: str
    latest: str | None
    ahead: int  # local commits the remote lacks
    behind: int  # remote commits HEAD lacks

    @property
    def state(self) -> str:
        if self.ahead and self.behind:
            return "diverged"
        if self.ahead:
            return "ahead"
        return "behind" if self.behind else "up-to-date"


def load(repo: Repo) -> dict[str, Tracked]:
    try:
        raw = json.loads(repo.paths.tracking.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    found = {}
    for name, row in raw.items() if isinstance(raw, dict) else ():
        try:
            found[name] = Tracked(remote=name, **{k: v for k, v in row.items() if k != "remote"})
        except TypeError:
            continue  # a row from another qvc version: ignore, the next fetch rewrites it
    return found


def record(repo: Repo, remote: str, url: str, latest: str | None, commit: str | None) -> Tracked:
    """Remember ``remote``'s latest (the caller holds the repository lock)."""
    rows = {name: asdict(t) for name, t in load(repo).items()}
    tracked = Tracked(remote, url, repo.package, latest, commit, time.time())
    rows[remote] = asdict(tracked)
    atomic_write(repo.paths.tracking, (json.dumps(rows, indent=2, sort_keys=True) + "\n").encode())
    return tracked


def relation(repo: Repo, remote: str) -> Relation | None:
    """HEAD against what ``remote`` last showed; None if qvc never saw it for this package."""
    tracked = load(repo).get(remote)
    if tracked is None or tracked.package != repo.package:
        return None
    ahead, behind = count_apart(repo, repo.head_id(), tracked.commit)
    return Relation(remote, tracked.latest, ahead, behind)
