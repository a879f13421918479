"""A qvc repository: the ``.qvc/`` folder of a work tree.

``.qvc/`` is a Quilt local registry (``.qvc/.quilt/...``) plus qvc's own state: the object
store, the index, commit records (which carry the parent links Quilt lacks), HEAD, tags, the
reflog and the repository config. See docs/design.md for the layout and write ordering.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qvc.core import reflog, sparse
from qvc.core.index import Index
from qvc.core.objects import ObjectStore
from qvc.core.sparse import Selection
from qvc.errors import (
    AlreadyARepository,
    BadManifest,
    BadRevision,
    NoCommits,
    NotARepository,
    RepositoryError,
)
from qvc.quilt.manifest import Manifest, is_top_hash, validate_package_name
from qvc.storage.local import LocalStore
from qvc.storage.registry import Registry
from qvc.sysio.fileio import atomic_write, fsync_dir, os_error
from qvc.sysio.lockfile import RepoLock

DOT = ".qvc"
_HEAD_N = re.compile(r"(?:HEAD(?:@\{(\d+)\})?|@(?:\{(\d+)\})?)(~(\d*))?")
_HEX = re.compile(r"[0-9a-f]{6,64}")
_UNKNOWN_HINT = ("list tags with 'qvc tag --list' and versions with 'qvc log --all --oneline'; "
                 "a top hash is given by 6 or more of its hex characters")
log = logging.getLogger("qvc")
_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Commit:
    """qvc's record of one commit: a top hash plus the history Quilt manifests do not keep.

    Named by the SHA-256 of its canonical JSON (:meth:`encode`), so a record's name vouches
    for its content and parents: history is a graph no record can make cyclic. ``merged`` is
    a merge's second parent; it is left out of the JSON when there is none, so records of
    commits made before merges existed keep their names.
    """

    top_hash: str
    parent: str | None
    time_ns: int
    author: str
    message: str
    extra: dict[str, Any] = field(default_factory=dict)
    merged: str | None = None

    @property
    def id(self) -> str:
        return hashlib.sha256(self.encode()).hexdigest()

    @property
    def parents(self) -> tuple[str, ...]:
        return tuple(p for p in (self.parent, self.merged) if p is not None)

    def encode(self) -> bytes:
        fields = asdict(self)
        if fields["merged"] is None:
            del fields["merged"]
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes, commit_id: str) -> Commit:
        """The record stored under ``commit_id``; ValueError unless it is a well-formed
        record whose canonical JSON hashes to that name."""
        if hashlib.sha256(data).hexdigest() != commit_id:
            raise ValueError("the record does not hash to its name")
        raw = json.loads(data)
        if not isinstance(raw, dict) or set(raw) - _COMMIT_FIELDS or \
                not set(raw) >= _REQUIRED:
            raise ValueError("not a commit record")
        commit = cls(**raw)
        if not is_top_hash(commit.top_hash) or not all(
                isinstance(p, str) and is_top_hash(p) for p in commit.parents) or \
                not isinstance(commit.time_ns, int) or not isinstance(commit.author, str) or \
                not isinstance(commit.message, str) or not isinstance(commit.extra, dict):
            raise ValueError("a commit record field has the wrong type")
        return commit


_COMMIT_FIELDS = frozenset(("top_hash", "parent", "time_ns", "author", "message", "extra",
                            "merged"))
_REQUIRED = _COMMIT_FIELDS - {"extra", "merged"}


def find_root(start: Path | None = None) -> Path | None:
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / DOT).is_dir():
            return folder
    return None


def default_name(folder: Path) -> str:
    """``<user>/<folder>``, each reduced to letters, digits, '_' and '-'."""

    def clean(text: str, fallback: str) -> str:
        text = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")
        return text or fallback

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "user"
    return f"{clean(user, 'user')}/{clean(folder.resolve().name, 'data')}"


@dataclass(frozen=True)
class Layout:
    """The named paths of ``.qvc/`` (docs/design.md draws the tree). Commands use these names,
    never paths built by hand; the Quilt registry inside (``.qvc/.quilt/``) is reached through
    :class:`Registry` only."""

    dot: Path

    @property
    def objects(self) -> Path:
        return self.dot / "objects"

    @property
    def stamps(self) -> Path:
        """Verification stamps of large objects (qvc.core.objects.ObjectStore.stamp)."""
        return self.dot / "verified"

    @property
    def commits(self) -> Path:
        return self.dot / "commits"

    @property
    def tags(self) -> Path:
        return self.dot / "tags"

    @property
    def head(self) -> Path:
        return self.dot / "HEAD"

    @property
    def reflog(self) -> Path:
        return self.dot / "logs" / "HEAD"

    @property
    def index(self) -> Path:
        return self.dot / "index"

    @property
    def config(self) -> Path:
        return self.dot / "config.json"

    @property
    def fetched(self) -> Path:
        """One empty file per commit that a fetch brought in (not made here): checkout gets
        their objects on demand, so their absence is not damage."""
        return self.dot / "fetched"

    @property
    def lock(self) -> Path:
        return self.dot / "lock"

    @property
    def tmp(self) -> Path:
        """Scratch files of commands (a manifest being written), on the same filesystem."""
        return self.dot / "tmp"

    @property
    def parts_cache(self) -> Path:
        """HEAD's per-entry top-hash parts, kept so a re-commit need not re-serialize."""
        return self.dot / "cache" / "parts"

    @property
    def reflink_cache(self) -> Path:
        """Whether the objects' filesystem takes reflinks (qvc.sysio.reflink.supported_kept)."""
        return self.dot / "cache" / "reflink"

    @property
    def cloning(self) -> Path:
        """Present while a clone fills its work tree: its files are the clone's own."""
        return self.dot / "CLONING"

    @property
    def sparse(self) -> Path:
        """The sparse selection (qvc.core.sparse); absent: the work tree holds every key."""
        return self.dot / "sparse"

    @property
    def tracking(self) -> Path:
        """What each remote's ``latest`` was when last fetched."""
        return self.dot / "tracking.json"


class Repo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.dot = root / DOT
        self.paths = Layout(self.dot)
        self.objects = ObjectStore(self.paths.objects, self.paths.stamps)
        self.registry = Registry(LocalStore(self.dot))
        self._config: dict[str, Any] | None = None

    # discovery and creation ------------------------------------------------------------------

    @classmethod
    def find(cls, start: Path | None = None) -> Repo:
        root = find_root(start)
        if root is None:
            raise NotARepository(f"not a qvc work tree: {(start or Path.cwd()).resolve()}")
        return cls(root)

    @classmethod
    def init(cls, folder: Path, name: str | None = None) -> Repo:
        folder = folder.resolve()
        existing = find_root(folder)
        if existing is not None:
            raise AlreadyARepository(f"{folder} is already inside the qvc work tree {existing}")
        package = validate_package_name(name) if name else default_name(folder)
        repo = cls(folder)
        paths = repo.paths
        for folder_path in (paths.objects / "tmp", paths.commits, paths.tags, paths.reflog.parent,
                            paths.tmp):
            folder_path.mkdir(parents=True, exist_ok=True)
        # the 256 fan-out folders up front: made in the middle of writing objects, each one
        # made ext4 create the files after it about 3x slower (bench/README.md); a folder
        # missing later (deleted by hand) is made again with its next object (ObjectStore)
        for i in range(256):
            (paths.objects / f"{i:02x}").mkdir(exist_ok=True)
        repo.save_config({"package": package, "remotes": {}, "default_remote": None})
        Index().save(repo.paths.index)
        fsync_dir(folder)
        return repo

    # config ----------------------------------------------------------------------------------

    @property
    def config(self) -> dict[str, Any]:
        if self._config is None:
            try:
                config = json.loads(self.paths.config.read_bytes())
            except (OSError, ValueError):  # missing, a folder, not JSON, not UTF-8
                config = None
            if not isinstance(config, dict) or not isinstance(config.get("package"), str) \
                    or not isinstance(config.get("remotes", {}), dict):
                raise RepositoryError(f"{self.dot}/config.json is missing or damaged",
                                      "restore it or run 'qvc init' in a fresh folder")
            self._config = config
        return self._config

    def save_config(self, config: dict[str, Any]) -> None:
        atomic_write(self.paths.config, (json.dumps(config, indent=2) + "\n").encode())
        self._config = config

    @property
    def package(self) -> str:
        return str(self.config["package"])

    def lock(self) -> RepoLock:
        return RepoLock(self.paths.lock)

    # index -----------------------------------------------------------------------------------

    def load_index(self) -> Index:
        """The index, repaired if an interrupted command saved it for another HEAD: rows the
        user had not staged follow HEAD (see qvc.core.head)."""
        index = Index.load(self.paths.index)
        head = self.head_id()
        if head is not None and index.head is None and not self.paths.index.exists():
            log.warning("the index was missing; rebuilt from HEAD (files staged but not "
                        "committed must be added again: see 'qvc status')")
        if index.head != head:
            index.follow_head(head, self.manifest(self.commit(head).top_hash) if head else None)
        index.sparse = self.selection()
        return index

    def selection(self) -> Selection | None:
        """The keys this work tree holds (qvc.core.sparse); None: all of them."""
        return sparse.read(self.paths.sparse)

    def save_index(self, index: Index) -> None:
        index.save(self.paths.index)

    # commits and refs ------------------------------------------------------------------------

    def head_id(self) -> str | None:
        """The commit HEAD names, None before the first commit; RepositoryError if the HEAD
        file is not a commit id (a folder, binary, truncated)."""
        try:
            value = self.paths.head.read_bytes().strip()
        except FileNotFoundError:
            return None
        except OSError:
            value = b"?"
        if not value:
            return None
        text = value.decode("ascii", errors="replace")
        if not is_top_hash(text):
            raise RepositoryError(
                f"{self.paths.head} is damaged: it does not hold a commit id",
                "'qvc reflog' lists the commits HEAD was at; write the newest one's id into "
                ".qvc/HEAD (or clone the package again)")
        return text

    def head(self) -> Commit | None:
        head = self.head_id()
        return self.commit(head) if head else None

    def commit(self, commit_id: str) -> Commit:
        try:
            return Commit.decode((self.paths.commits / commit_id).read_bytes(), commit_id)
        except (OSError, ValueError, TypeError):
            raise RepositoryError(f"commit record {commit_id[:12]} is missing or damaged",
                                  "run 'qvc verify' to check the repository") from None

    def write_commit(self, commit: Commit, *, fetched: bool = False) -> str:
        """Store ``commit``'s record; with ``fetched``, one that came from a registry, marked
        so unless this repository already had it."""
        path = self.paths.commits / commit.id
        mark = fetched and not path.exists()
        atomic_write(path, commit.encode())
        if mark:
            self.paths.fetched.mkdir(exist_ok=True)
            atomic_write(self.paths.fetched / commit.id, b"")
        return commit.id

    def fetched_commits(self) -> set[str]:
        """Ids of the commits fetched from a registry rather than made here."""
        try:
            return {p.name for p in self.paths.fetched.iterdir() if is_top_hash(p.name)}
        except FileNotFoundError:
            return set()

    def set_head(self, commit_id: str | None, reason: str) -> None:
        """Write HEAD and its reflog line. Commands move HEAD through qvc.core.head, which
        writes the index and pointers first."""
        old = self.head_id()
        atomic_write(self.paths.head, (commit_id or "").encode())
        line = json.dumps({"old": old, "new": commit_id, "time": time.time(), "reason": reason})
        reflog = self.paths.reflog
        try:
            fd = os.open(reflog, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, (line + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:  # HEAD has moved; say what could not be recorded
            raise os_error(exc, reflog) from exc

    def history(self, start: str | None = None) -> Iterator[tuple[str, Commit]]:
        """(commit id, commit) from ``start`` (default HEAD) back through first parents
        (every ancestor, merges included: :mod:`qvc.core.history`)."""
        current = start or self.head_id()
        seen: set[str] = set()
        while current:
            if current in seen:  # impossible for records that hash to their names
                raise RepositoryError(f"the history of {current[:12]} loops back to itself",
                                      "run 'qvc verify' to check the repository")
            seen.add(current)
            commit = self.commit(current)
            yield current, commit
            current = commit.parent

    def all_commits(self) -> Iterator[tuple[str, Commit]]:
        for commit_id in self.commit_ids():
            yield commit_id, self.commit(commit_id)

    def commit_ids(self) -> list[str]:
        """The ids of every stored commit record; RepositoryError if the folder is gone."""
        try:
            return [name for name in os.listdir(self.paths.commits) if is_top_hash(name)]
        except OSError:
            raise RepositoryError(
                f"{self.paths.commits} is missing or not a folder: the commit records are lost",
                "clone the package again ('qvc clone REGISTRY NAME DIR') and copy your "
                "uncommitted files over") from None

    def manifest(self, top_hash: str) -> Manifest:
        """A version's manifest from the local registry; a damaged one is BadManifest whose
        hint is the command that fetches an intact copy."""
        try:
            return self.registry.read_manifest(top_hash)
        except BadManifest as exc:
            raise BadManifest(exc.message, "'qvc verify --repair' replaces it with the "
                              "remote's copy (checked against its top hash)") from None

    # tags ------------------------------------------------------------------------------------

    def tags(self) -> dict[str, str]:
        try:
            return {p.name: p.read_bytes().decode("ascii", errors="replace").strip()
                    for p in sorted(self.paths.tags.iterdir()) if not p.name.startswith(".")}
        except FileNotFoundError:
            return {}
        except OSError:
            raise RepositoryError(f"{self.paths.tags} is damaged (not a folder of tags)",
                                  "move it away; 'qvc tag NAME' then starts a new one") from None

    def set_tag(self, name: str, commit_id: str) -> None:
        if not _TAG.fullmatch(name) or name in ("HEAD", "latest"):
            raise BadRevision(f"invalid tag name {name!r}",
                              "tags use letters, digits, '.', '_' and '-'")
        clash = self.versions_starting(name)
        if clash:
            raise BadRevision(
                f"tag name {name!r} is also the start of the top hash of version "
                f"{clash[0][:12]}, so it would be ambiguous",
                "pick a name that is not a hex prefix of a version, e.g. 'v-' followed by it")
        self.paths.tags.mkdir(exist_ok=True)  # moved away after damage: start a new one
        atomic_write(self.paths.tags / name, commit_id.encode())

    def delete_tag(self, name: str) -> str:
        """Remove tag ``name``; returns the commit id it named."""
        commit_id = self.tags().get(name)
        if commit_id is None:
            raise BadRevision(f"no tag {name!r}", "list tags with 'qvc tag --list'")
        (self.paths.tags / name).unlink()
        fsync_dir(self.paths.tags)
        return commit_id

    # revisions -------------------------------------------------------------------------------

    def resolve(self, rev: str | None) -> str:
        """Commit id for REV: HEAD, HEAD~N, HEAD@{N} (N moves ago, see :mod:`qvc.core.reflog`),
        latest, a tag (``tags/NAME`` says it is one), or a top hash (6+ hex char prefix).
        A tag that is also a version's hex prefix is ambiguous: BadRevision names both."""
        rev = rev or "HEAD"
        match = _HEAD_N.fullmatch(rev)
        if match:
            return self._walk_back(rev, self._head_at(rev, match.group(1) or match.group(2)),
                                   match.group(3), match.group(4))
        if rev == "latest":
            latest = self.registry.read_latest(self.package)
            if latest is None:
                raise NoCommits("there are no commits yet")
            return self.commit_for(latest.top_hash)
        tags = self.tags()
        if rev.startswith("tags/"):
            if rev[5:] not in tags:
                raise BadRevision(f"unknown revision {rev!r}: there is no tag {rev[5:]!r}",
                                  "list tags with 'qvc tag --list'")
            return tags[rev[5:]]
        if rev in tags:
            versions = self.versions_starting(rev)
            if versions:
                raise BadRevision(
                    f"ambiguous revision {rev!r}: tag {rev} (version "
                    f"{self.commit(tags[rev]).top_hash[:12]}) and the top hash of version "
                    f"{versions[0][:12]}",
                    f"say 'tags/{rev}' for the tag, or give the version's full top hash")
            return tags[rev]
        if not _HEX.fullmatch(rev.lower()):
            raise BadRevision(f"unknown revision {rev!r}", _UNKNOWN_HINT)
        found = self.versions_starting(rev)
        if not found:
            raise BadRevision(f"unknown revision {rev!r}: no version's top hash starts with it",
                              "versions of a remote come in with 'qvc fetch'; " + _UNKNOWN_HINT)
        if len(found) > 1:
            raise BadRevision(f"ambiguous revision {rev!r}: the top hashes of "
                              f"{len(found)} versions start with it",
                              "give more hex characters of the top hash")
        return self.commit_for(found[0])

    def versions_starting(self, prefix: str) -> list[str]:
        """Top hashes of the local registry's versions that ``prefix`` (6+ hex) begins."""
        prefix = prefix.lower()
        return self.registry.find(prefix) if _HEX.fullmatch(prefix) else []

    def _head_at(self, rev: str, moves_ago: str | None) -> str:
        """HEAD, or where it was ``moves_ago`` moves ago."""
        if moves_ago is None:
            head = self.head_id()
            if head is None:
                raise NoCommits("there are no commits yet")
            return head
        moves = reflog.read(self.paths.reflog)
        n = int(moves_ago)
        found = moves[n].new if n < len(moves) else None
        if found is None:
            raise BadRevision(f"{rev}: the reflog lists {len(moves)} move(s) of HEAD",
                              "list them with 'qvc reflog'")
        return found

    def _walk_back(self, rev: str, start: str, tilde: str | None, count: str | None) -> str:
        """``start`` followed ``count`` first parents back (``~`` alone: one)."""
        steps = int(count or (1 if tilde else 0))
        head = start
        for taken in range(steps):
            parent = self.commit(head).parent
            if parent is None:
                raise BadRevision(f"{rev}: history has only {taken + 1} commit(s)")
            head = parent
        return head

    def commit_for(self, top_hash: str) -> str:
        """The newest commit whose top hash is ``top_hash`` (reachable from HEAD if possible)."""
        for commit_id, commit in self.history():
            if commit.top_hash == top_hash:
                return commit_id
        found = [(c.time_ns, cid) for cid, c in self.all_commits() if c.top_hash == top_hash]
        if found:
            return max(found)[1]
        raise BadRevision(f"no commit has top hash {top_hash[:12]}",
                          "it may be a registry version: fetch it with 'qvc fetch'")
