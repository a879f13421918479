"""What qvc's git hooks check and do: code and data never drift apart.

* pre-commit: a git commit is refused while a linked data folder has changes qvc has not
  committed, while the pin git is about to record differs from the data, or while the git
  index holds files that qvc tracks (data must not enter git).
* pre-push: every pin in the pushed commits names a version the remote registry has (pushed
  first when the ``push.hooks`` setting is true).
* post-checkout / post-merge ("sync"): the data folder follows the pin of the checked-out
  code, fetching the version when needed, and never overwriting uncommitted data.

A data folder is linked when git tracks its ``qvc.pin`` or ``qvc init`` recorded it in the
git config. Checks return a :class:`HookReport`; only the CLI prints. Nothing here touches
the network except the pre-push check, a sync that must fetch, and the pre-commit check of a
data folder with a ``workflow`` setting (HEAD against that workflow of its default remote).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from qvc.core.repo import DOT, Repo
from qvc.errors import BadManifest, QvcError, RepositoryError
from qvc.git import pin as pins
from qvc.git.gitlink import GitRepo, link_work_tree
from qvc.ops.status import status


@dataclass
class Problem:
    """One reason a hook refuses: what is wrong, the paths involved, and the fixing command."""

    message: str
    paths: list[str] = field(default_factory=list)
    fix: str = ""


@dataclass
class HookReport:
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what a hook did, or warnings

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Folder:
    """A linked data folder: its path relative to the git root, and its qvc repo if set up."""

    rel: str
    root: Path
    repo: Repo | None

    def shown(self, key: str = "") -> str:
        """A path as the user sees it from the git root."""
        return "/".join(p for p in (self.rel, key) if p) or "."

    def cd(self, command: str) -> str:
        return f"(cd {self.rel} && {command})" if self.rel else command


def discover(start: Path) -> GitRepo:
    git = GitRepo.discover(start)
    if git is None:
        raise RepositoryError(f"not inside a git work tree: {start}",
                              "run this inside a git repository ('git init' creates one)")
    return git


def linked_folders(git: GitRepo) -> list[Folder]:
    folders = []
    for rel in git.linked_folders():
        root = git.root / rel if rel else git.root
        repo = Repo(root) if (root / DOT).is_dir() else None
        folders.append(Folder(rel, root, repo))
    return folders


# pre-commit ----------------------------------------------------------------------------------


def pre_commit_check(start: Path) -> HookReport:
    """Problems that should stop a git commit (see the module docstring)."""
    git = discover(start)
    report = HookReport()
    staged = list(git.index_paths())
    for folder in linked_folders(git):
        if folder.repo is None:
            report.notes.append(f"{folder.shown()} is pinned but has no qvc repository here; "
                                "its data was not checked (run 'qvc hook sync' to get it)")
            continue
        report.problems += _uncommitted(folder, folder.repo)
        report.problems += _staged_data(folder, folder.repo, staged)
        report.problems += _stale_pin(git, folder, folder.repo)
        report.problems += _workflow(folder, folder.repo)
    return report


def _workflow(folder: Folder, repo: Repo) -> list[Problem]:
    """With a ``workflow`` setting, HEAD's version must pass that workflow of the default
    remote's registry (the only pre-commit check that reads the network)."""
    from qvc.conf import settings
    from qvc.remote import target, workflows

    chosen = settings.get(repo, "workflow")
    head = repo.head()
    if not chosen or head is None:
        return []
    try:
        checker = workflows.prepare(target.resolve(repo, None).registry, str(chosen))
        if checker is not None:
            checker.validate(repo.package, repo.registry.read_manifest(head.top_hash))
    except QvcError as exc:
        return [Problem(f"{folder.shown()}: {exc.message}",
                        fix=folder.cd("qvc commit -m MESSAGE --meta JSON"))]
    return []


def _uncommitted(folder: Folder, repo: Repo) -> list[Problem]:
    s = status(repo).status
    rows = ([f"modified: {folder.shown(k)}" for k in s.modified + s.staged_modified]
            + [f"deleted:  {folder.shown(k)}" for k in s.deleted + s.staged_deleted]
            + [f"new:      {folder.shown(k)}" for k in s.staged_added + s.untracked])
    if not rows:
        return []
    pin_path = folder.shown(pins.PIN_FILE)
    return [Problem(
        f"{folder.shown()} has data changes that qvc has not committed",
        sorted(set(rows), key=lambda r: r[10:]),
        folder.cd("qvc add . && qvc commit -m 'MESSAGE'") + f" && git add {pin_path}"
        + "   (or list scratch files in .qvcignore)")]


def _staged_data(folder: Folder, repo: Repo, staged: list[str]) -> list[Problem]:
    prefix = folder.rel + "/" if folder.rel else ""
    tracked = repo.load_index().tracked()
    internal, data = [], []
    for path in staged:
        if not path.startswith(prefix):
            continue
        key = path[len(prefix):]
        if key == DOT or key.startswith(DOT + "/"):
            internal.append(path)
        elif key in tracked:
            data.append(path)
    problems = []
    if data:
        problems.append(Problem("files that qvc tracks are staged in git (data must not enter "
                                "git)", data, "git rm --cached -- " + " ".join(_quote(data))))
    if internal:
        problems.append(Problem("qvc's internal files are staged in git", internal[:5],
                                f"git rm -r --cached -- {folder.shown(DOT)}"))
    return problems


def _stale_pin(git: GitRepo, folder: Folder, repo: Repo) -> list[Problem]:
    head = repo.head()
    top = head.top_hash if head else None
    pin_path = folder.shown(pins.PIN_FILE)
    on_disk = _parse(_file(folder), pin_path)
    if on_disk is None or on_disk.top_hash != top:
        what = "is missing or damaged" if on_disk is None else f"pins {_short(on_disk.top_hash)}"
        return [Problem(
            f"{pin_path} {what} but {folder.shown()} holds {_short(top)}", [pin_path],
            "qvc hook sync   (the data follows the pin), or "
            + folder.cd(f"qvc checkout {_short(top)}") + "   (the pin follows the data)")]
    staged = _parse(git.index_blob(pin_path), f"{pin_path} (staged)")
    if staged is None or staged.top_hash != top:
        what = "is not staged" if staged is None else f"as staged pins {_short(staged.top_hash)}"
        return [Problem(f"{pin_path} {what}, but the data is at {_short(top)}", [pin_path],
                        f"git add {pin_path}")]
    return []


def _parse(data: bytes | None, source: str) -> pins.Pin | None:
    if data is None:
        return None
    try:
        return pins.parse(data, source)
    except BadManifest:
        return None


def _short(top: str | None) -> str:
    return top[:12] if top else "no version"


def _quote(paths: list[str]) -> list[str]:
    return [f"'{p}'" if any(c in p for c in " '\"$`\\") else p for p in paths]


# pre-push ------------------------------------------------------------------------------------


def pushed_commits(stdin: str) -> list[str]:
    """Local commit ids being pushed: from git's pre-push input lines, or from the
    environment the pre-commit framework sets (PRE_COMMIT_TO_REF)."""
    found = []
    for line in stdin.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[1].strip("0"):
            found.append(parts[1])
    if not found and os.environ.get("PRE_COMMIT_TO_REF"):
        found.append(os.environ["PRE_COMMIT_TO_REF"])
    return found


def pre_push_check(start: Path, stdin: str = "") -> HookReport:
    """Every pin in the pushed commits must name a version its remote registry holds."""
    git = discover(start)
    report = HookReport()
    commits = pushed_commits(stdin)
    for folder in linked_folders(git):
        path = folder.shown(pins.PIN_FILE)
        blobs = [git.blob_at(c, path) for c in commits] if commits else [_file(folder)]
        seen: set[tuple[str | None, str]] = set()
        for blob in blobs:
            pinned = _parse(blob, path)
            if pinned is None or pinned.top_hash is None:
                continue
            if (pinned.remote, pinned.top_hash) not in seen:
                seen.add((pinned.remote, pinned.top_hash))
                problem = _check_remote(folder, pinned, report)
                report.problems += [problem] if problem else []
    return report


def _file(folder: Folder) -> bytes | None:
    try:
        return pins.path_of(folder.root).read_bytes()
    except FileNotFoundError:
        return None


def _check_remote(folder: Folder, pinned: pins.Pin, report: HookReport) -> Problem | None:
    from qvc.conf import settings  # remotes may need boto3: only pre-push pays for it
    from qvc.remote import target

    assert pinned.top_hash is not None
    top = pinned.top_hash
    try:
        remote = target.resolve(folder.repo, pinned.remote)
        registry = remote.registry
        if registry.has_manifest(top):
            return None
        where = remote.spec.url
        if folder.repo is not None and _true(settings.get(folder.repo, "push.hooks")):
            from qvc.ops.push import push

            push(folder.repo, remote)  # HEAD's history, so the pin's version when it is in it
            if registry.has_manifest(top):
                report.notes.append(f"{folder.shown()}: pushed {top[:12]} to {where}")
                return None
    except QvcError as exc:
        return Problem(f"{folder.shown()}: cannot check the pinned version {top[:12]}: "
                       f"{exc.message}", [], exc.hint + "; or skip the check: git push --no-verify")
    return Problem(
        f"{folder.shown()}: the pinned version {top[:12]} of {pinned.package} is not in {where}",
        [], folder.cd("qvc push") + "   (or set 'qvc config push.hooks true' to push it "
        "from this hook)")


def _true(value: object) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes", "on")


# post-checkout / post-merge ------------------------------------------------------------------


def sync(start: Path) -> HookReport:
    """Bring every linked data folder to the version its pin names (see the module doc)."""
    git = discover(start)
    report = HookReport()
    for folder in linked_folders(git):
        try:
            pinned = pins.read(folder.root)
        except BadManifest as exc:
            report.problems.append(Problem(exc.message, [], exc.hint))
            continue
        if pinned is None or pinned.top_hash is None:
            continue
        try:
            _sync_one(folder, pinned, report)
        except QvcError as exc:
            report.problems.append(Problem(f"{folder.shown()}: {exc.message}", [], exc.hint))
    return report


def _sync_one(folder: Folder, pinned: pins.Pin, report: HookReport) -> None:
    from qvc.ops.checkout import checkout

    top = pinned.top_hash
    assert top is not None
    repo = folder.repo or _bootstrap(folder, pinned, report)
    if repo is None:
        return
    head = repo.head()
    if head is not None and head.top_hash == top:
        return
    if repo.package != pinned.package:
        report.problems.append(Problem(
            f"{folder.shown()} holds {repo.package} but the pin names {pinned.package}", [],
            "fix the pin or the folder's package name; the data was left as it is"))
        return
    dirty = status(repo).status.dirty_tracked
    if dirty:
        report.problems.append(Problem(
            f"{folder.shown()} has uncommitted data changes: not switching it to the pinned "
            f"version {top[:12]}", [folder.shown(k) for k in dirty],
            folder.cd(f"qvc add . && qvc commit -m 'MESSAGE' && qvc checkout {top[:12]}")
            + f"   (or discard them: qvc checkout --force {top[:12]})"))
        return
    if not repo.registry.has_manifest(top):
        _fetch(folder, repo, pinned)
    # The pin is git's: rewriting it (say, a newer format or a remote it left empty) would
    # make the checked-out code look changed and stop git from switching away again.
    result = checkout(repo, top, cwd=repo.root, refresh_pin=False)
    report.notes.append(f"{folder.shown()}: data now at {top[:12]} ({len(result.written)} "
                        f"written, {len(result.removed)} removed)")


def _fetch(folder: Folder, repo: Repo, pinned: pins.Pin) -> None:
    from qvc.ops.fetch import fetch
    from qvc.remote import target

    assert pinned.top_hash is not None
    fetch(repo, target.resolve(repo, pinned.remote), rev=pinned.top_hash)


def _bootstrap(folder: Folder, pinned: pins.Pin, report: HookReport) -> Repo | None:
    """A qvc repository for a pinned folder that has none yet (a fresh clone of the code)."""
    from qvc.remote import remotes

    if pinned.remote is None:
        report.notes.append(
            f"{folder.shown()} pins {_short(pinned.top_hash)} of {pinned.package} but names no "
            "registry: get it with 'qvc clone REGISTRY "
            f"{pinned.package} --rev {_short(pinned.top_hash)}'")
        return None
    repo = Repo.init(folder.root, pinned.package)
    link_work_tree(repo.root, repo.package)
    remotes.add_remote(repo, remotes.make_spec("origin", pinned.remote), default=True)
    report.notes.append(f"{folder.shown()}: created a qvc repository for {pinned.package} "
                        f"with remote origin {pinned.remote}")
    return repo
