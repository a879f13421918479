"""Where a repository's content already sits in S3: the registries it was cloned or fetched
from.

A version cloned or fetched from an S3 registry is stored there with a manifest whose physical
keys are S3 objects. Pushing a commit built on it to another bucket the same client reaches
(same endpoint and credentials) can then copy every object whose content that manifest names
(same hash and size) server-side, instead of uploading the local copy; only content changed
locally goes through the client. The copy itself checks the hash (S3's checksums), so an
object replaced in the source since is caught and uploaded from the local copy instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from qvc.core.repo import Commit, Repo
from qvc.errors import QvcError
from qvc.quilt.hashing import Hash
from qvc.remote import tracking
from qvc.remote.remotes import RemoteSpec, make_spec, open_spec_store, remotes
from qvc.storage import Store
from qvc.storage.registry import Registry

log = logging.getLogger("qvc")

Origins = dict[tuple[Hash, int], str]


def origin_keys(repo: Repo, target: Store, commits: Iterable[Commit]) -> Origins:
    """(hash, size) -> S3 physical key, for the content of ``commits`` (the versions about to
    be pushed to ``target``) and of their parents, as stored by every registry the repository
    tracked (cloned or fetched from) that is an S3 bucket reached like ``target``. Registries
    that cannot be read are skipped: their content is uploaded as usual."""
    if not target.capabilities.remote or not target.url.startswith("s3://"):
        return {}
    wanted: set[str] = set()
    for commit in commits:
        wanted.add(commit.top_hash)
        for parent in commit.parents:
            if (repo.paths.commits / parent).is_file():
                wanted.add(repo.commit(parent).top_hash)
    found: Origins = {}
    known = remotes(repo)
    for tracked in tracking.load(repo).values():
        if tracked.package != repo.package or tracked.url == target.url:
            continue
        if not tracked.url.startswith("s3://"):
            continue
        spec = known.get(tracked.remote)
        if spec is None or spec.url != tracked.url:
            spec = make_spec(None, tracked.url)
        tops = wanted | ({tracked.latest} if tracked.latest else set())
        try:
            _learn(found, spec, target, repo.package, tops)
        except QvcError as exc:
            log.info("not copying from %s server-side: %s", tracked.url, exc.message)
    return found


def _learn(found: Origins, spec: RemoteSpec, target: Store, name: str, tops: set[str]) -> None:
    from qvc.storage.s3copy import same_connection  # boto3 only when S3 is used

    store = open_spec_store(spec)
    if not same_connection(store, target):
        return
    registry = Registry(store)
    held = {top for _, top in registry.versions(name)} & tops
    for top in sorted(held):
        for entry in registry.read_manifest(top).entries.values():
            if entry.physical_key.startswith("s3://"):
                found.setdefault((entry.hash, entry.size), entry.physical_key)
