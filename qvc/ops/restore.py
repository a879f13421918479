"""qvc restore: bring back files from the index, or index rows from a commit (``git restore``).

* without ``staged``: the work-tree files of PATHs get the index's (staged) version, or
  ``source``'s; that discards their unstaged edits, which is what naming them asks for. Files
  are written as checkout writes them: every object verified before any file is touched,
  never through a symbolic link;
* with ``staged``: the index rows of PATHs go back to HEAD's (or ``source``'s) version, which
  unstages them; work-tree files are not touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from qvc.core.index import Index
from qvc.core.indexfile import Version
from qvc.core.repo import Repo
from qvc.errors import PathError
from qvc.ops.checkout import put_files
from qvc.quilt.manifest import Entry
from qvc.sysio.progress import CountProgress
from qvc.worktree.paths import to_key, under


@dataclass
class RestoreResult:
    staged: bool
    written: list[str] = field(default_factory=list)  # work-tree files rewritten
    unstaged: list[str] = field(default_factory=list)  # index rows changed


def restore(repo: Repo, paths: list[str], *, cwd: Path, staged: bool = False,
            source: str | None = None, progress: CountProgress | None = None) -> RestoreResult:
    """Restore PATHs' files (or, with ``staged``, their index rows); each PATH must match."""
    with repo.lock():
        index = repo.load_index()
        prefixes = [to_key(repo.root, cwd, path) for path in paths]
        result = RestoreResult(staged)
        if staged:
            result.unstaged = _unstage(repo, index, prefixes, paths, source)
        else:
            result.written = _rewrite(repo, index, prefixes, paths, source, progress)
        repo.save_index(index)
    return result


def _source_entries(repo: Repo, source: str | None) -> dict[str, Entry]:
    commit_id = repo.resolve(source) if source is not None else repo.head_id()
    return repo.manifest(repo.commit(commit_id).top_hash).entries if commit_id else {}


def _unstage(repo: Repo, index: Index, prefixes: list[str], paths: list[str],
             source: str | None) -> list[str]:
    """Set the staged column of the matched keys to the source's version (absent: the key
    is staged for deletion, or dropped if HEAD lacks it too). Returns the keys changed."""
    entries = _source_entries(repo, source)
    keys = _matching(list(index.keys()) + list(entries), prefixes, paths)
    changed = []
    for key in keys:
        row, entry = index.row(key), entries.get(key)
        version = Version.of(entry) if entry is not None else None
        if row is not None and row.staged == version:
            continue
        changed.append(key)
        if version is not None:
            index.stage(key, version, None)
        elif row is not None and row.head is None:
            index.rows.pop(key)
        else:
            index.stage_delete(key)
    return changed


def _rewrite(repo: Repo, index: Index, prefixes: list[str], paths: list[str],
             source: str | None, progress: CountProgress | None) -> list[str]:
    """Write the matched keys' files from the index (or the source commit); the index
    records the stat of each file that now holds its staged version."""
    if source is not None:
        entries = _source_entries(repo, source)
    else:
        entries = {key: Entry(key, "", v.size, v.hash, v.meta)
                   for key, v in index.staged_items()}
    keys = _matching(list(entries), prefixes, paths)
    wanted = {key: entries[key] for key in keys}
    head = repo.head()
    writes, stats = put_files(repo, index, wanted, [], head.top_hash if head else "", progress)
    for key, st in stats.items():
        if index.staged_version(key) == Version.of(wanted[key]):
            index.set_stat(key, st)
    return sorted(writes)


def _matching(keys: list[str], prefixes: list[str], paths: list[str]) -> list[str]:
    """The keys under any prefix; PathError naming a path that matches none."""
    found: set[str] = set()
    for prefix, path in zip(prefixes, paths, strict=True):
        matched = [key for key in keys if under(key, prefix)]
        if not matched:
            raise PathError(f"{path} did not match any file known to qvc",
                            "list tracked files with 'qvc ls' and changes with 'qvc status'")
        found.update(matched)
    return sorted(found)
