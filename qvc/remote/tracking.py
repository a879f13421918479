"""Remote-tracking state: what each named remote's ``latest`` was when qvc last saw it.

Kept in ``.qvc/tracking.json`` (``{remote: {url, package, latest, commit, time, dropped}}``),
written by push and fetch under the repository lock. ``status`` compares HEAD with it to say
ahead, behind or diverged without talking to the remote; the answer is as fresh as the last
fetch or push, like git's remote-tracking branches. ``dropped`` is a commit the remote showed
before and its latest no longer descends from (a forced push rewrote it): while HEAD still
holds it, the histories have diverged whatever the counts say.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass

from qvc.core.history import count_apart, is_ancestor
from qvc.core.repo import Repo
from qvc.remote.recorded import only_stand_ins
from qvc.sysio.fileio import atomic_write


@dataclass(frozen=True)
class Tracked:
    remote: str
    url: str
    package: str
    latest: str | None  # the remote's latest top hash, None if it had no such package
    commit: str | None  # the local commit record of that version
    time: float
    dropped: str | None = None  # a commit seen there before that its latest no longer holds


@dataclass(frozen=True)
class Relation:
    """HEAD compared with a tracked remote version."""

    remote: str
    latest: str | None
    ahead: int  # local commits the remote lacks
    behind: int  # remote commits HEAD lacks
    rewritten: bool = False  # the remote dropped commits HEAD holds (a forced push)

    @property
    def state(self) -> str:
        if self.ahead and (self.behind or self.rewritten):
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


def record(repo: Repo, remote: str, url: str, latest: str | None, commit: str | None, *,
           dropped: str | None = None) -> Tracked:
    """Remember ``remote``'s latest (the caller holds the repository lock)."""
    rows = {name: asdict(t) for name, t in load(repo).items()}
    tracked = Tracked(remote, url, repo.package, latest, commit, time.time(), dropped)
    rows[remote] = asdict(tracked)
    atomic_write(repo.paths.tracking, (json.dumps(rows, indent=2, sort_keys=True) + "\n").encode())
    return tracked


def relation(repo: Repo, remote: str) -> Relation | None:
    """HEAD against what ``remote`` last showed; None if qvc never saw it for this package."""
    tracked = load(repo).get(remote)
    if tracked is None or tracked.package != repo.package:
        return None
    head = repo.head_id()
    ahead, behind = count_apart(repo, head, tracked.commit)
    if ahead and only_stand_ins(repo, head, tracked.commit):
        ahead = 0  # fetched before the registry recorded history: nothing of ours is missing
    rewritten = tracked.dropped is not None and head is not None and \
        _has(repo, tracked.dropped) and is_ancestor(repo, tracked.dropped, head)
    return Relation(remote, tracked.latest, ahead, behind, rewritten)


def dropped(repo: Repo, remote: str, new_commit: str | None) -> str | None:
    """The commit ``remote`` showed before that ``new_commit``, its latest now, does not
    descend from: the remote was rewritten. One dropped earlier is kept while HEAD still
    holds it. None if nothing was dropped."""
    tracked = load(repo).get(remote)
    if tracked is None or tracked.package != repo.package:
        return None
    head = repo.head_id()
    earlier = tracked.dropped if head is not None and tracked.dropped is not None and \
        _has(repo, tracked.dropped) and is_ancestor(repo, tracked.dropped, head) else None
    for seen in (earlier, tracked.commit):
        if seen is not None and _has(repo, seen) and (new_commit is None or not (
                is_ancestor(repo, seen, new_commit) or only_stand_ins(repo, seen, new_commit))):
            return seen
    return None


def _has(repo: Repo, commit_id: str) -> bool:
    return (repo.paths.commits / commit_id).is_file()
