"""The enclosing git repository of a qvc work tree: the only module that imports dulwich.

What qvc needs from git is small: where the git work tree is, its HEAD commit, the user's
identity, the hooks folder, what the git index holds, a file of a commit, and ignore rules
that keep qvc's internals and data out of git. Everything else sees plain strings and paths.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dulwich.config import StackedConfig
from dulwich.errors import NotGitRepository, NotTreeError
from dulwich.index import ConflictedIndexEntry, Index
from dulwich.object_store import tree_lookup_path
from dulwich.objects import Blob, Commit
from dulwich.repo import Repo as DulwichRepo

from qvc.errors import BadManifest
from qvc.git.pin import PIN_FILE
from qvc.sysio.fileio import atomic_write

BEGIN = "# >>> qvc"
END = "# <<< qvc"
QVCIGNORE = ".qvcignore"
GITIGNORE = ".gitignore"
_SECTION = b"qvc"


@dataclass
class GitLink:
    """What ``qvc init`` wrote so git and qvc each keep their own files."""

    git_root: Path
    written: list[Path] = field(default_factory=list)
    data_is_git_root: bool = False


class GitRepo:
    """A non-bare git repository found around a path."""

    def __init__(self, repo: DulwichRepo) -> None:
        self._repo = repo
        self.root = Path(repo.path).resolve()

    @classmethod
    def discover(cls, start: Path) -> GitRepo | None:
        """The git work tree containing ``start`` (a folder), or None."""
        try:
            repo = DulwichRepo.discover(str(start))
        except (NotGitRepository, OSError):
            return None
        return None if repo.bare else cls(repo)

    def rel(self, path: Path) -> str:
        """``path`` relative to the git root, '/'-separated ('' for the root itself)."""
        rel = path.resolve().relative_to(self.root).as_posix()
        return "" if rel == "." else rel

    def head_commit(self) -> str | None:
        """The commit id HEAD names, or None on an unborn branch."""
        try:
            return self._repo.head().decode("ascii")
        except KeyError:
            return None

    def config(self) -> StackedConfig:
        return self._repo.get_config_stack()

    def hooks_dir(self) -> Path:
        """``core.hooksPath`` (relative to the work tree) or the common git folder's hooks/."""
        try:
            configured = self.config().get((b"core",), b"hooksPath")
        except KeyError:
            return Path(self._repo.commondir()).resolve() / "hooks"
        path = Path(os.path.expanduser(configured.decode()))
        return path if path.is_absolute() else self.root / path

    def linked_folders(self) -> list[str]:
        """Data folders (relative to the git root, '' for the root) linked to this repository:
        those whose pin the git index holds, plus those ``qvc init`` recorded in .git/config
        whose pin is not staged yet."""
        found = {p.rpartition("/")[0] for p in self.index_paths()
                 if p.rpartition("/")[2] == PIN_FILE}
        for section in self._repo.get_config().sections():
            if len(section) == 2 and section[0] == _SECTION:
                rel = section[1].decode("utf-8", "surrogateescape").strip("/")
                rel = "" if rel == "." else rel
                if (self.root / rel / PIN_FILE).is_file():
                    found.add(rel)
        return sorted(found)

    def record_link(self, rel: str) -> None:
        """Remember in .git/config (local, never shared) that ``rel`` is a linked data folder."""
        config = self._repo.get_config()
        section = (_SECTION, (rel or ".").encode("utf-8", "surrogateescape"))
        if config.has_section(section):
            return
        config.set(section, b"pin", PIN_FILE.encode())
        config.write_to_path()

    def _index(self) -> Index:
        # git points GIT_INDEX_FILE at a temporary index during 'git commit -a' or
        # 'git commit PATH'; hooks must judge that one, not .git/index.
        override = os.environ.get("GIT_INDEX_FILE")
        path = Path(override) if override else Path(self._repo.index_path())
        return Index(str(path if path.is_absolute() else Path.cwd() / path))

    def index_paths(self) -> Iterator[str]:
        """Every path the git index holds (what the next git commit will contain)."""
        for raw in self._index():
            yield raw.decode("utf-8", "surrogateescape")

    def index_blob(self, path: str) -> bytes | None:
        """The staged content of ``path`` (git-root relative), or None if not staged."""
        try:
            entry = self._index()[path.encode("utf-8", "surrogateescape")]
        except KeyError:
            return None
        chosen = (entry.this or entry.other) if isinstance(entry, ConflictedIndexEntry) else entry
        return self._blob(chosen.sha) if chosen is not None else None

    def blob_at(self, commit_id: str, path: str) -> bytes | None:
        """The content of ``path`` in commit ``commit_id``, or None if it has no such file."""
        try:
            commit = self._repo[commit_id.encode("ascii")]
            if not isinstance(commit, Commit):
                return None
            _, sha = tree_lookup_path(self._repo.__getitem__, commit.tree,
                                      path.encode("utf-8", "surrogateescape"))
        except (KeyError, ValueError, NotTreeError):
            return None
        return self._blob(sha)

    def pinning_commits(self, pin_path: str) -> dict[str, str]:
        """Top hash -> the oldest commit reachable from HEAD whose pin at ``pin_path``
        (git-root relative) names it: the code commit each data version was committed with.
        Only commits that change the pin are read; a damaged pin is passed over."""
        from qvc.git import pin

        if self.head_commit() is None:
            return {}
        found: dict[str, str] = {}
        raw_path = pin_path.encode("utf-8", "surrogateescape")
        for entry in self._repo.get_walker(include=[self._repo.head()], paths=[raw_path]):
            commit_id = entry.commit.id.decode("ascii")
            blob = self.blob_at(commit_id, pin_path)
            try:
                top = pin.parse(blob).top_hash if blob is not None else None
            except BadManifest:
                continue
            if top is not None:
                found[top] = commit_id  # newest first: the last one seen is the oldest
        return found

    def _blob(self, sha: bytes) -> bytes | None:
        obj = self._repo[sha]
        return obj.as_raw_string() if isinstance(obj, Blob) else None


def identity(start: Path | None = None) -> tuple[str | None, str | None]:
    """(name, email) git would use as author: GIT_AUTHOR_* first, then git config
    (the enclosing repository's, then ~/.gitconfig and the XDG one)."""
    name = os.environ.get("GIT_AUTHOR_NAME") or None
    email = os.environ.get("GIT_AUTHOR_EMAIL") or None
    if name and email:
        return name, email
    git = GitRepo.discover(start) if start is not None else None
    config = git.config() if git else StackedConfig(StackedConfig.default_backends())
    for value, key in ((name, b"name"), (email, b"email")):
        if value:
            continue
        try:
            found = config.get((b"user",), key).decode("utf-8", "replace")
        except KeyError:
            found = None
        name, email = (found, email) if key == b"name" else (name, found)
    return name, email


def set_block(path: Path, lines: list[str]) -> bool:
    """Make the qvc-managed block of an ignore file hold ``lines``, keeping every other line.

    Returns True if the file changed. The block is delimited by BEGIN/END markers so users can
    add their own rules above or below it.
    """
    try:
        old = path.read_text(encoding="utf-8") if not path.is_symlink() else ""
    except FileNotFoundError:
        old = ""
    kept: list[str] = []
    inside = False
    for line in old.splitlines():
        if line.startswith(BEGIN):
            inside = True
        elif line.startswith(END):
            inside = False
        elif not inside:
            kept.append(line)
    block = [lines[0], *lines[1:], END] if lines[0].startswith(BEGIN) else [BEGIN, *lines, END]
    text = "\n".join([*kept, *block]) + "\n" if kept else "\n".join(block) + "\n"
    if text == old:
        return False
    atomic_write(path, text.encode("utf-8"))
    return True


def write_ignore_rules(qvc_root: Path, git_root: Path) -> list[Path]:
    """Keep qvc internals and data out of git, and git's own files out of the package.

    * ``.qvc/.gitignore`` ignores all of ``.qvc/`` (objects, index, commits).
    * ``.gitignore`` at the data folder's root ignores everything in it except the pin and the
      two ignore files: data is versioned by qvc, so a new data file never shows up in
      ``git status`` or slips into a commit by ``git add .``.
    * ``.qvcignore`` keeps those three git-tracked files (and ``.git`` when the data folder is
      the git root) out of the package, so they never make the qvc work tree look changed.
    Returns the files that changed.
    """
    dot = qvc_root / ".qvc"
    keep = [f"/{GITIGNORE}", f"/{QVCIGNORE}", f"/{PIN_FILE}"]
    changes = [
        (dot / GITIGNORE, [f"{BEGIN} (qvc's internal files are never tracked by git)", "*"]),
        (qvc_root / GITIGNORE,
         [f"{BEGIN} (data files are versioned by qvc; git tracks only {PIN_FILE})", "/*",
          *("!" + k for k in keep)]),
        (qvc_root / QVCIGNORE,
         [f"{BEGIN} (files that link this folder to git stay out of the package)", *keep,
          *(["/.git"] if qvc_root.resolve() == git_root else [])]),
    ]
    return [path for path, lines in changes if set_block(path, lines)]


def link_work_tree(qvc_root: Path, package: str) -> GitLink | None:
    """If ``qvc_root`` is inside a git work tree, write the ignore rules and an initial pin.

    The pin names no version until the first ``qvc commit`` moves HEAD (every command that
    moves HEAD then refreshes it: :func:`qvc.git.pin.refresh`). Returns None when there is no
    git work tree around.
    """
    from qvc.git import pin

    git = GitRepo.discover(qvc_root)
    if git is None:
        return None
    link = GitLink(git.root, write_ignore_rules(qvc_root, git.root),
                   qvc_root.resolve() == git.root)
    if pin.read(qvc_root) is None and pin.write(qvc_root, pin.Pin(package, None)):
        link.written.append(pin.path_of(qvc_root))
    git.record_link(git.rel(qvc_root))
    return link
