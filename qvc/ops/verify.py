"""qvc verify: re-hash local manifests and objects and say what is missing or damaged.

Each selected manifest is read back through the registry, which recomputes its top hash; each
object an entry names is re-hashed once however many entries share it. The result says which
entries of which versions are affected; :func:`repair_all` (``qvc verify --repair``) then
replaces those objects with verified copies from a remote that has the versions.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from qvc.core.repo import Repo
from qvc.errors import BadRevision, CorruptObject, QvcError
from qvc.ops.gc import local_manifests, reachable
from qvc.quilt.hashing import Hash
from qvc.quilt.manifest import Entry, Manifest
from qvc.remote import target, transfer
from qvc.storage import ObjectNotFound
from qvc.sysio.progress import CountProgress, NoProgress


@dataclass
class Problem:
    """One thing wrong: a damaged object (with every entry that uses it) or a bad manifest."""

    kind: str  # "missing", "wrong size", "hash mismatch", "bad manifest", "bad commit"
    detail: str
    hash: Hash | None = None
    size: int | None = None
    entries: list[tuple[str, str]] = field(default_factory=list)  # (top hash, logical key)
    top: str | None = None  # the version of a bad manifest


@dataclass
class VerifyResult:
    commits: int = 0
    manifests: int = 0
    objects: int = 0
    bytes: int = 0
    problems: list[Problem] = field(default_factory=list)
    not_downloaded: int = 0  # objects of registry versions nothing local needs yet

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(repo: Repo, rev: str | None = None, *, everything: bool = False,
           progress: CountProgress | None = None) -> VerifyResult:
    """Check REV's version, or (default) every version reachable from HEAD, tags and local
    pointers, or with ``everything`` every commit record and manifest stored locally.
    ``progress`` gets (bytes checked so far, bytes to check)."""
    result = VerifyResult()
    tops = _select(repo, rev, everything, result)
    uses: dict[tuple[Hash, int], list[tuple[str, str]]] = {}
    for top, manifest in _readable(tops, repo.manifest, result):
        for entry in manifest.entries.values():
            uses.setdefault((entry.hash, entry.size), []).append((top, entry.logical_key))
    result.objects = len(uses)
    result.bytes = sum(size for _, size in uses)
    _check_objects(repo, uses, result, progress, set() if rev else _remote_only(repo))
    return result


def _remote_only(repo: Repo) -> set[str]:
    """Versions that came from a registry (fetch wrote their commit records) and that neither
    HEAD, a tag nor a local commit needs: their objects may not be downloaded yet, and
    checkout fetches them on demand, so a missing one is not damage."""
    fetched: set[str] = set()
    local: set[str] = set()
    marked = repo.fetched_commits()
    for commit_id, commit in repo.all_commits():
        came = commit_id in marked or "pointer" in commit.extra  # the mark, or an older clone's
        (fetched if came else local).add(commit.top_hash)
    needed = {repo.commit(c).top_hash for c in [repo.head_id(), *repo.tags().values()] if c}
    return fetched - local - needed


def _select(repo: Repo, rev: str | None, everything: bool, result: VerifyResult) -> set[str]:
    if rev is not None:
        commit_id = repo.resolve(rev)
        result.commits = 1
        return {repo.commit(commit_id).top_hash}
    found = reachable(repo, set(_all_commit_ids(repo)) if everything else None)
    for commit_id in found.damaged:
        result.problems.append(Problem("bad commit", f"commit record {commit_id} is damaged"))
    result.commits = len(found.commits)
    return found.tops | (local_manifests(repo) if everything else set())


def _all_commit_ids(repo: Repo) -> list[str]:
    return repo.commit_ids()


def _check_objects(repo: Repo, uses: dict[tuple[Hash, int], list[tuple[str, str]]],
                   result: VerifyResult, progress: CountProgress | None,
                   remote_only: set[str]) -> None:
    """Re-hash each object once, in parallel (hashlib releases the GIL on large buffers).
    An object missing whose every use is a remote-only version or a key outside the sparse
    selection (qvc.core.sparse) was never needed here: not downloaded, not damage."""
    done = 0
    selection = repo.selection()

    def not_needed(top: str, key: str) -> bool:
        return top in remote_only or (selection is not None and not selection.selects(key))

    def check(item: tuple[Hash, int]) -> tuple[tuple[Hash, int], str | None]:
        try:
            return item, repo.objects.verify(*item)
        except OSError as exc:
            return item, f"unreadable ({exc.strerror})"

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 2)) as pool:
        for (h, size), problem in pool.map(check, sorted(uses, key=lambda u: u[0].value)):
            done += size
            if progress:
                progress(done, result.bytes)
            if problem == "missing" and all(not_needed(*use) for use in uses[(h, size)]):
                result.not_downloaded += 1
            elif problem:
                entries = sorted(uses[(h, size)])
                detail = f"object {h.hex[:12]} ({size} bytes) is {_wording(problem)}"
                result.problems.append(Problem(problem, detail, h, size, entries))


def _wording(problem: str) -> str:
    return {"missing": "missing", "wrong size": "truncated or overwritten (wrong size)",
            "hash mismatch": "corrupt (its content does not match its hash)"}.get(problem, problem)


def repair(repo: Repo, top: str, entries: list[Entry],
           remote: str | target.Target | None = None) -> int:
    """Replace the missing or corrupt objects of ``entries`` (of version ``top``) with verified
    copies from a remote (default: the work tree's default remote); returns objects fetched.

    A corrupt local copy is deleted only once the remote is known to hold the version.
    """
    resolved = remote if isinstance(remote, target.Target) else target.resolve(repo, remote)
    spec, registry = resolved.spec, resolved.registry
    try:
        theirs = registry.read_manifest(top)
    except BadRevision:
        raise _lacking(resolved, top) from None
    wanted = [theirs.entries[e.logical_key] for e in entries if e.logical_key in theirs.entries]
    transfer.check_remote_keys(registry.store, wanted, f"manifest {top[:12]} in {spec.url}")
    for entry in wanted:
        if repo.objects.verify(entry.hash, entry.size) not in (None, "missing"):
            repo.objects.path(entry.hash).unlink()
    fetched, _ = transfer.download(registry.store, repo.objects, wanted, NoProgress())
    return fetched


def _lacking(remote: target.Target, top: str) -> CorruptObject:
    return CorruptObject(f"{remote.label} does not have version {top[:12]}, so its damaged "
                         "objects cannot be repaired from there",
                         "repair from another remote: 'qvc verify --repair --registry REMOTE'")


@dataclass
class RepairResult:
    fetched: int = 0
    lacking: list[CorruptObject] = field(default_factory=list)  # a version the remote lacks

    def unrepaired(self) -> CorruptObject | None:
        """Why damage is left, if the remote lacked a version it was needed from."""
        return self.lacking[0] if self.lacking else None


def repair_all(repo: Repo, result: VerifyResult, remote: str | None = None) -> RepairResult:
    """Repair every damaged object ``result`` lists from a remote.

    An object shared by several versions needs fetching once, through any version the remote
    holds: versions are tried most-affected first, and one whose objects are intact by its
    turn (say, a version not pushed yet that shares them) needs nothing. A version the remote
    lacks is recorded, not raised, so the caller can re-verify and report what is left.
    """
    by_top: dict[str, set[str]] = {}
    for problem in result.problems:
        for top, key in problem.entries:
            by_top.setdefault(top, set()).add(key)
    done = RepairResult()
    bad = [p.top for p in result.problems if p.kind == "bad manifest" and p.top is not None]
    if not by_top and not bad:
        return done
    resolved = target.resolve(repo, remote)
    with repo.lock():
        for top in bad:
            done.fetched += _repair_manifest(repo, top, remote)
        for top, keys in sorted(by_top.items(), key=lambda item: (-len(item[1]), item[0])):
            manifest = repo.manifest(top)
            damaged = [e for e in (manifest.entries[k] for k in sorted(keys))
                       if repo.objects.verify(e.hash, e.size) is not None]
            if not damaged:
                continue
            if not resolved.registry.has_manifest(top):
                done.lacking.append(_lacking(resolved, top))
                continue
            done.fetched += repair(repo, top, damaged, resolved)
    return done


def _repair_manifest(repo: Repo, top: str, remote: str | None) -> int:
    """Replace the damaged local manifest ``top`` with the remote's copy, verified against
    its top hash; returns 1. Its objects are checked (and repaired) by the next pass."""
    resolved = target.resolve(repo, remote)
    try:
        data = resolved.registry.manifest_bytes(top)
    except ObjectNotFound:
        raise CorruptObject(f"{resolved.spec.name or resolved.spec.url} does not have version "
                            f"{top[:12]}, so its damaged manifest cannot be repaired from there",
                            "repair from another remote: 'qvc verify --repair --registry "
                            "REMOTE'") from None
    repo.registry.replace_manifest(top, data)
    return 1


def verify_remote(repo: Repo, rev: str | None = None, remote: str | None = None,
                  progress: CountProgress | None = None) -> VerifyResult:
    """Check a remote without downloading data: each version's manifest (top hash
    recomputed) and, per entry, that the object exists with the recorded size and, where the
    store keeps a SHA-256 checksum, the recorded hash. Versions: REV, else every pointer of
    this package on the remote. ``progress`` gets (bytes checked so far, bytes to check)."""
    registry = target.resolve(repo, remote).registry
    if rev is not None:
        tops = {repo.commit(repo.resolve(rev)).top_hash}
    else:
        tops = {top for _, top in registry.versions(repo.package)}
    result = VerifyResult(commits=len(tops))
    uses: dict[tuple[str, str | None, Hash, int], list[tuple[str, str]]] = {}
    for top, manifest in _readable(tops, registry.read_manifest, result):
        for e in manifest.entries.values():
            located = transfer.store_key(registry.store, e.physical_key)
            if located is None:
                result.problems.append(Problem("outside registry", e.physical_key, e.hash,
                                               e.size, [(top, e.logical_key)]))
                continue
            uses.setdefault((*located, e.hash, e.size), []).append((top, e.logical_key))
    result.objects, result.bytes = len(uses), sum(u[3] for u in uses)
    done = [0]
    lock = threading.Lock()

    def check(item: tuple[str, str | None, Hash, int]) -> str | None:
        info = registry.store.head(item[0], item[1])
        with lock:
            done[0] += item[3]
            if progress:
                progress(done[0], result.bytes)
        if info is None:
            return "missing"
        if transfer.checksum_matches(info, item[3], item[2]) is False:
            return "wrong size" if info.size != item[3] else "hash mismatch"
        return None

    for item, problem in zip(uses, transfer.parallel_map(check, list(uses)), strict=True):
        if problem:
            detail = f"remote object {item[0]} ({item[3]} bytes) is {_wording(problem)}"
            result.problems.append(Problem(problem, detail, item[2], item[3], sorted(uses[item])))
    return result


def _readable(tops: Iterable[str], read: Callable[[str], Manifest],
              result: VerifyResult) -> Iterator[tuple[str, Manifest]]:
    """(top, manifest) of each top hash in order; one that cannot be read is a problem."""
    for top in sorted(tops):
        try:
            manifest = read(top)
        except QvcError as exc:
            result.problems.append(Problem("bad manifest", f"{top}: {exc.message}", top=top))
            continue
        result.manifests += 1
        yield top, manifest
