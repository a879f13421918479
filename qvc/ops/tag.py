"""qvc tag: local names for commits, usable wherever a revision is.

Tags live in ``.qvc/tags/<name>`` (one commit id each). Quilt's registry layout has no tags,
so they stay local; a registry only ever sees ordinary timestamp pointers.
"""

from __future__ import annotations

from dataclasses import dataclass

from qvc.core.repo import Repo
from qvc.errors import ConflictError, RepositoryError


@dataclass(frozen=True)
class Tag:
    name: str
    commit_id: str
    top_hash: str


def create(repo: Repo, name: str, rev: str | None = None, *, force: bool = False) -> Tag:
    """Point tag ``name`` at REV (default HEAD); an existing tag moves only with ``force``."""
    with repo.lock():
        commit_id = repo.resolve(rev)
        top = repo.commit(commit_id).top_hash
        current = repo.tags().get(name)
        if current is not None and current != commit_id and not force:
            at = repo.commit(current).top_hash[:12]
            raise ConflictError(f"tag {name!r} already exists (at {at})",
                                "use 'qvc tag -f NAME REV' to move it, or pick another name")
        repo.set_tag(name, commit_id)
    return Tag(name, commit_id, top)


def delete(repo: Repo, name: str) -> Tag:
    """Remove tag ``name`` (the commit and its data stay until ``qvc gc`` finds them unused)."""
    with repo.lock():
        commit_id = repo.delete_tag(name)
    return Tag(name, commit_id, _top_or_empty(repo, commit_id))


def list_tags(repo: Repo) -> list[Tag]:
    return [Tag(name, cid, _top_or_empty(repo, cid)) for name, cid in repo.tags().items()]


def _top_or_empty(repo: Repo, commit_id: str) -> str:
    """The commit's top hash; empty if its record is damaged (``qvc verify`` reports that)."""
    try:
        return repo.commit(commit_id).top_hash
    except RepositoryError:
        return ""
