"""qvc reset: point HEAD at another commit, with git's three depths.

* ``soft``: HEAD only; the index keeps what is staged, so ``status`` shows the difference
  between the new HEAD and the index as staged;
* ``mixed`` (the default): HEAD and the index; work-tree files are not touched, so ``status``
  shows how they differ from the new HEAD (stat cache kept where a key's version does not
  change, so that status stays fast);
* ``hard``: HEAD, the index and the work tree: the files of REV's keys are written as
  checkout writes them (every object verified before any file is touched) and tracked files
  REV lacks are removed. Untracked files are never deleted, and an untracked file standing
  where REV has a different one stops the reset before anything changes.

HEAD moves the one way (qvc.core.head), so a kill at any step leaves a repository whose
``status`` shows nothing staged that the user did not stage; the reflog keeps the commit
HEAD left (``HEAD@{1}``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from qvc.core.head import move_head, move_head_keep_staged
from qvc.core.index import Index
from qvc.core.indexfile import Version
from qvc.core.repo import Repo
from qvc.core.workspace import differs
from qvc.errors import DirtyWorkTree
from qvc.git import pin
from qvc.ops.checkout import put_files
from qvc.quilt.manifest import Manifest
from qvc.sysio.filestat import FileStat
from qvc.sysio.progress import CountProgress

Mode = Literal["soft", "mixed", "hard"]


@dataclass
class ResetResult:
    mode: Mode
    commit_id: str
    top_hash: str
    previous: str | None  # top hash HEAD was at
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def reset(repo: Repo, rev: str | None, mode: Mode = "mixed", *,
          progress: CountProgress | None = None) -> ResetResult:
    """Move HEAD to REV (default HEAD) and, by ``mode``, the index and the work tree."""
    with repo.lock():
        commit_id = repo.resolve(rev)
        top = repo.commit(commit_id).top_hash
        old = repo.head()
        result = ResetResult(mode, commit_id, top, old.top_hash if old else None)
        index = repo.load_index()
        reason = f"reset: moving to {rev or 'HEAD'}"
        if mode == "soft":
            move_head_keep_staged(repo, commit_id, index, reason, after_head=pin.refresh)
            return result
        target = repo.manifest(top)
        stats: dict[str, FileStat] = {}
        if mode == "hard":
            _refuse_untracked(repo, index, target, rev or "HEAD")
            doomed = sorted(k for k in index.tracked() if k not in target.entries)
            writes, stats = put_files(repo, index, target.entries, doomed, top, progress)
            result.written, result.removed = sorted(writes), doomed
        move_head(repo, commit_id, _index_of(index, commit_id, target, stats), reason,
                  record_pointers=False, after_head=pin.refresh)
    return result


def _index_of(current: Index, commit_id: str, target: Manifest,
              stats: dict[str, FileStat]) -> Index:
    """An index whose staged and head columns are ``target``'s; a file's stat is ``stats``'
    (files just written) or, where the key's staged version does not change, the one the
    current index holds (the file was already known to hold that version)."""
    index = Index()
    index.reset_head(commit_id, target)
    for key, entry in target.entries.items():
        version = Version.of(entry)
        st = stats.get(key)
        if st is None and (row := current.rows.get(key)) is not None and row.staged == version:
            st = row.stat
        index.stage(key, version, st)
    return index


def _refuse_untracked(repo: Repo, index: Index, target: Manifest, rev: str) -> None:
    """DirtyWorkTree if an untracked file stands where ``target`` has another one."""
    blocked = sorted(key for key, entry in target.entries.items()
                     if not index.is_tracked(key) and not index.skips(key)
                     and differs(repo.root, key, entry))
    if blocked:
        more = f" and {len(blocked) - 10} more" if len(blocked) > 10 else ""
        raise DirtyWorkTree(
            f"reset --hard would overwrite {len(blocked)} untracked file(s): "
            + ", ".join(blocked[:10]) + more + "; nothing was changed",
            f"move them out of the way, then run 'qvc reset --hard {rev}' again")


