"""Moving HEAD: the one way a command points the work tree at another commit.

Every command that changes which commit the work tree is at (checkout, pull, clone, build,
merge) ends with :func:`move_head`, in this order, each step durable before the next:

1. the index, already describing the new commit (``head`` column and ``staged`` column equal
   to it, stats of the files just written);
2. the local registry's pointers for versions that became reachable, then ``latest``;
3. ``HEAD`` and its reflog line (the commit point);
4. whatever the caller keeps in step with HEAD outside ``.qvc/`` (a git work tree's pin).

A kill before step 3 leaves an index saved for a commit HEAD does not name; the next
:meth:`Repo.load_index` sees that and makes every row the user had not staged follow HEAD
again (:meth:`Index.follow_head`), so nothing appears staged that the user did not stage.

``qvc reset --soft`` moves HEAD while the staged column stays as the user left it, which the
repair above cannot tell from rows nobody staged; :func:`move_head_keep_staged` first saves an
index that marks every row as staged, so a kill at any step leaves exactly that column.

``qvc commit`` is the other exception, by design: its index already holds the commit being
made, so HEAD moves first (:func:`commit_head`) and the index follows; a kill between the two
leaves an index whose staged rows equal the new HEAD, which the same repair makes clean.
"""

from __future__ import annotations

from collections.abc import Callable

from qvc.core import history
from qvc.core.index import Index, Row
from qvc.core.indexfile import Version
from qvc.core.repo import Repo
from qvc.sysio import crashpoints

AfterHead = Callable[[Repo], object]


def move_head(repo: Repo, commit_id: str, index: Index, reason: str, *,
              record_pointers: bool, after_head: AfterHead | None) -> None:
    """Point HEAD at ``commit_id`` whose tree ``index`` already describes (the caller holds
    the lock and has written and flushed the work-tree files). ``record_pointers`` gives
    versions fetched from a remote their local pointers; ``after_head`` runs last."""
    index.head = commit_id
    repo.save_index(index)
    crashpoints.reach("head.after_index")
    if record_pointers:
        _record_pointers(repo, commit_id)
        crashpoints.reach("head.after_pointers")
    repo.set_head(commit_id, reason)
    crashpoints.reach("head.after_head")
    if after_head is not None:
        after_head(repo)


def move_head_keep_staged(repo: Repo, commit_id: str, index: Index, reason: str, *,
                          after_head: AfterHead | None) -> None:
    """Point HEAD at ``commit_id`` keeping ``index``'s staged column exactly as it is (the
    caller holds the lock; ``index`` is the current one, its head column HEAD's).

    1. an index for no commit whose head column differs from the staged one in every row
       (staged rows: none; keys staged for deletion: a version), so whichever commit HEAD
       names when a kill strikes, :meth:`Index.follow_head` keeps every staged row as it is;
    2. ``HEAD`` and its reflog line;
    3. the index for ``commit_id``, then ``after_head``.
    """
    old = repo.head()
    old_entries = repo.manifest(old.top_hash).entries if old else {}
    target = repo.manifest(repo.commit(commit_id).top_hash)
    marked = Index()
    for key in list(index.keys()):
        row = index.row(key)
        if row is not None and row.staged is not None:
            marked.rows[key] = Row(row.staged, None, row.stat)
    for entries in (target.entries, old_entries):
        for key, entry in entries.items():
            if key not in marked.rows:
                marked.rows[key] = Row(None, Version.of(entry), None)
    repo.save_index(marked)
    crashpoints.reach("head.after_marked_index")
    repo.set_head(commit_id, reason)
    crashpoints.reach("head.after_head")
    index.reset_head(commit_id, target)
    repo.save_index(index)
    if after_head is not None:
        after_head(repo)


def commit_head(repo: Repo, commit_id: str, index: Index, reason: str, *,
                after_head: AfterHead | None) -> None:
    """HEAD to a commit just made of exactly ``index``'s staged column, then the index."""
    repo.set_head(commit_id, reason)
    crashpoints.reach("commit.after_head")
    index.committed(commit_id)
    repo.save_index(index)
    if after_head is not None:
        after_head(repo)


def _record_pointers(repo: Repo, target_id: str) -> None:
    """Give each version reachable from ``target_id`` that the local registry does not list
    a pointer, oldest first, then move ``latest`` to the target if it is not already there."""
    name = repo.package
    listed = {top for _, top in repo.registry.versions(name)}
    for _, commit in reversed(list(history.ancestors(repo, target_id))):
        if commit.top_hash not in listed:
            repo.registry.write_pointer(name, commit.top_hash, commit.time_ns // 10**9)
            listed.add(commit.top_hash)
    top = repo.commit(target_id).top_hash
    repo.registry.set_latest(name, top, repo.registry.read_latest(name), force=True)
