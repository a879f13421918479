"""Walking history: ancestors through every parent (a merge has two), and where two lines of
history meet.

Commit records are named by the hash of their content, parents included, so the graph cannot
have a cycle; the walks still keep a set of what they saw, so a damaged store cannot make them
loop (a record that does not hash to its name is refused when read).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator

from qvc.core.repo import Commit, Repo


def ancestors(repo: Repo, start: str | None) -> Iterator[tuple[str, Commit]]:
    """``start`` and every commit reachable through its parents, each once, newest first
    (by commit time; ties by id, so every clone walks in the same order)."""
    if start is None:
        return
    seen = {start}
    heap = [_key(start, repo.commit(start))]
    while heap:
        _, commit_id, commit = heapq.heappop(heap)
        yield commit_id, commit
        for parent in commit.parents:
            if parent not in seen:
                seen.add(parent)
                heapq.heappush(heap, _key(parent, repo.commit(parent)))


def ancestor_ids(repo: Repo, start: str | None) -> set[str]:
    return {commit_id for commit_id, _ in ancestors(repo, start)}


def reachable_from(repo: Repo, starts: Iterable[str]) -> dict[str, Commit]:
    """Every commit reachable from any of ``starts`` through its parents, each read once."""
    found: dict[str, Commit] = {}
    todo = list(dict.fromkeys(starts))
    while todo:
        commit_id = todo.pop()
        if commit_id not in found:
            commit = found[commit_id] = repo.commit(commit_id)
            todo.extend(p for p in commit.parents if p not in found)
    return found


def children_first(commits: dict[str, Commit]) -> list[str]:
    """The ids of ``commits`` with every commit before its parents, newest first where the
    graph leaves a choice (by time, ties by id: every clone draws the same order)."""
    waiting = dict.fromkeys(commits, 0)
    for commit in commits.values():
        for parent in commit.parents:
            if parent in waiting:
                waiting[parent] += 1
    heap = [_key(c, commits[c])[:2] for c, n in waiting.items() if n == 0]
    heapq.heapify(heap)
    order: list[str] = []
    while heap:
        _, commit_id = heapq.heappop(heap)
        order.append(commit_id)
        for parent in commits[commit_id].parents:
            if parent in waiting:
                waiting[parent] -= 1
                if waiting[parent] == 0:
                    heapq.heappush(heap, _key(parent, commits[parent])[:2])
    return order


def is_ancestor(repo: Repo, maybe: str, of: str) -> bool:
    """Whether ``maybe`` is ``of`` or one of its ancestors."""
    return any(commit_id == maybe for commit_id, _ in ancestors(repo, of))


def count_apart(repo: Repo, ours: str | None, theirs: str | None) -> tuple[int, int]:
    """(commits only in ``ours``' ancestry, commits only in ``theirs``')."""
    mine, other = ancestor_ids(repo, ours), ancestor_ids(repo, theirs)
    return len(mine - other), len(other - mine)


def merge_base(repo: Repo, ours: str, theirs: str) -> str | None:
    """The best common ancestor of two commits: one that no other common ancestor descends
    from; among several (criss-cross merges), the newest. None if the histories never met."""
    common = ancestor_ids(repo, ours) & ancestor_ids(repo, theirs)
    if not common:
        return None
    below: set[str] = set()
    for commit_id in common:
        if commit_id not in below:
            below.update(c for c, _ in ancestors(repo, commit_id) if c != commit_id)
    best = [(_key(c, repo.commit(c))) for c in common - below]
    return min(best)[1]


def _key(commit_id: str, commit: Commit) -> tuple[tuple[int, str], str, Commit]:
    return (-commit.time_ns, commit_id), commit_id, commit
