"""The history a registry records: the commit records ``qvc push`` writes beside a package,
read and checked the same way by every clone.

A record is accepted only if it decodes under its name (:meth:`Commit.decode`: it hashes to
its name and is well formed), is canonical (its id is the one qvc computes), and each of its
parents is accepted too or already a local commit; the rest are refused, with the reason,
and their versions fall back to the parent inferred from pointer order. Records already in
the local repository are not downloaded again: a record's name vouches for its content.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from qvc.core.history import ancestor_ids, ancestors
from qvc.core.repo import Commit, Repo
from qvc.quilt.manifest import is_top_hash
from qvc.remote.transfer import parallel_map
from qvc.storage.base import ObjectNotFound
from qvc.storage.registry import Registry

log = logging.getLogger("qvc")


@dataclass(frozen=True)
class Refused:
    commit_id: str
    reason: str


@dataclass
class Recorded:
    """The accepted records of a package (id -> commit) and the refused ones."""

    commits: dict[str, Commit] = field(default_factory=dict)
    new: set[str] = field(default_factory=set)  # accepted ids the local repository lacks
    refused: list[Refused] = field(default_factory=list)

    def parents_first(self) -> Iterator[tuple[str, Commit]]:
        """The new records, each after its parents (so no local record names a missing one)."""
        done: set[str] = set()
        for start in sorted(self.new):
            stack, waiting = [start], set()  # waiting: its parents are being done first
            while stack:
                cid = stack[-1]
                if cid in done:
                    stack.pop()
                    continue
                # a parent already waiting would be a cycle (records hash to their names, so
                # none can occur): it is not waited for twice, so the walk always ends
                todo = [p for p in self.commits[cid].parents
                        if p in self.new and p not in done and p not in waiting]
                if todo:
                    stack.extend(todo)
                    waiting.add(cid)
                    continue
                stack.pop()
                done.add(cid)
                yield cid, self.commits[cid]

    def version_commits(self) -> dict[str, str]:
        """Top hash -> the commit of that version. Records sharing a top hash (content went
        back to an earlier state) resolve to the one no other of them descends from, then the
        newest, then the greatest id: the same answer in every clone."""
        by_top: dict[str, list[str]] = {}
        for cid, commit in self.commits.items():
            by_top.setdefault(commit.top_hash, []).append(cid)
        chosen = {}
        for top, ids in by_top.items():
            if len(ids) > 1:
                below = {a for cid in ids for a in self._ancestors(cid) if a != cid}
                ids = [cid for cid in ids if cid not in below] or ids
            chosen[top] = max(ids, key=lambda cid: (self.commits[cid].time_ns, cid))
        return chosen

    def _ancestors(self, start: str) -> set[str]:
        seen, stack = {start}, [start]
        while stack:
            commit = self.commits.get(stack.pop())
            for parent in commit.parents if commit else ():
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return seen


def read_recorded(repo: Repo, registry: Registry) -> Recorded:
    """Every record of ``repo``'s package in ``registry``, checked (see the module doc)."""
    name = repo.package
    ids = registry.record_ids(name)
    result = Recorded()
    local = {cid for cid in ids if is_top_hash(cid) and (repo.paths.commits / cid).is_file()}
    for cid in local:
        result.commits[cid] = repo.commit(cid)
    # one round trip per record: a few at once, for packages with hundreds of versions
    fetched = parallel_map(_reader(registry, name), [c for c in ids if c not in local])
    for cid, outcome in fetched:
        if isinstance(outcome, Commit):
            result.commits[cid] = outcome
            result.new.add(cid)
        else:
            result.refused.append(Refused(cid, outcome))
    _drop_orphans(repo, result)
    for refused in result.refused:
        log.warning("refused commit record %s in %s: %s", refused.commit_id[:12], registry.url,
                    refused.reason)
    return result


def _reader(registry: Registry, name: str) -> Callable[[str], tuple[str, Commit | str]]:
    def read(cid: str) -> tuple[str, Commit | str]:
        """(id, the commit) or (id, why it is refused)."""
        if not is_top_hash(cid):
            return cid, "not a commit id"
        try:
            data = registry.read_record(name, cid)
        except ObjectNotFound:
            return cid, "listed but not readable"
        try:
            commit = Commit.decode(data, cid)
        except (ValueError, TypeError) as exc:
            return cid, str(exc)
        if commit.id != cid:
            return cid, "not in canonical form"
        return cid, commit

    return read


def _drop_orphans(repo: Repo, result: Recorded) -> None:
    """Refuse records whose ancestry cannot be completed (a parent neither accepted nor
    local), repeatedly, since refusing one orphans its children."""
    while True:
        orphans = [cid for cid, c in result.commits.items()
                   if any(p not in result.commits and not (repo.paths.commits / p).is_file()
                          for p in c.parents)]
        if not orphans:
            return
        for cid in orphans:
            del result.commits[cid]
            result.new.discard(cid)
            result.refused.append(Refused(cid, "a parent's record is missing or refused"))


def only_stand_ins(repo: Repo, ours: str | None, theirs: str | None) -> bool:
    """Whether every commit of ``ours``' ancestry that ``theirs``' lacks is a stand-in a fetch
    made for an unrecorded version (its parent inferred from pointer order) whose version
    ``theirs``' history records: history seen before the registry recorded it, not local
    work, so moving to ``theirs`` drops nothing."""
    if ours is None or theirs is None:
        return False
    recorded = ancestor_ids(repo, theirs)
    tops = {repo.commit(cid).top_hash for cid in recorded}
    return all(cid in recorded or ("pointer" in c.extra and c.top_hash in tops)
               for cid, c in ancestors(repo, ours))
