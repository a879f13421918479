"""The pin: a small text file, tracked by git, naming the data version the code uses.

``qvc.pin`` sits at the root of a qvc work tree that lives inside a git work tree. It holds
the package name, the top hash of qvc's HEAD and the registry URL it is shared through:

    # qvc pin: the data version this code uses. ...
    package: team/data
    top_hash: 4f1c...
    remote: s3://bucket

A visible file at the data folder's root (rather than a line in some repository-wide file)
keeps each data folder self-describing, shows up in code review as a one-line diff, and lets
one git repository hold several data folders. Its presence is what makes a work tree
"git-linked": :func:`refresh` rewrites it whenever HEAD moves and leaves unlinked trees alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qvc.errors import BadManifest
from qvc.quilt.manifest import is_top_hash, validate_package_name
from qvc.sysio.fileio import atomic_write

if TYPE_CHECKING:
    from qvc.core.repo import Repo

PIN_FILE = "qvc.pin"
_HEADER = ("# qvc pin: the data version this code uses. Written by qvc on every commit, "
           "checkout and pull;\n# commit it with your code. See 'qvc install-hooks'.\n")
_KEYS = ("package", "top_hash", "remote")


@dataclass(frozen=True)
class Pin:
    package: str
    top_hash: str | None  # None before the first qvc commit
    remote: str | None = None  # registry URL; None = the reader's default remote

    def dumps(self) -> bytes:
        lines = [f"package: {self.package}", f"top_hash: {self.top_hash or ''}",
                 f"remote: {self.remote or ''}"]
        return (_HEADER + "\n".join(lines) + "\n").encode()


def parse(data: bytes, source: str = PIN_FILE) -> Pin:
    """Parse pin text (from the work tree, the git index or a git commit).

    The text may come from anyone who can push code, so every value is validated; unknown
    keys are ignored so that later versions can add some.
    """
    values: dict[str, str] = {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _damaged(source, "it is not UTF-8 text") from None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise _damaged(source, f"line {line[:40]!r} is not 'key: value'")
        if key.strip() in _KEYS:
            values[key.strip()] = value.strip()
    if "package" not in values:
        raise _damaged(source, "it names no package")
    top = values.get("top_hash") or None
    if top is not None and not is_top_hash(top):
        raise _damaged(source, f"{top[:70]!r} is not a top hash")
    return Pin(validate_package_name(values["package"]), top, values.get("remote") or None)


def _damaged(source: str, why: str) -> BadManifest:
    return BadManifest(f"{source} is damaged: {why}",
                       "restore it from git (git checkout -- qvc.pin) or rewrite it with "
                       "'qvc install-hooks'")


def path_of(root: Path) -> Path:
    return root / PIN_FILE


def read(root: Path) -> Pin | None:
    """The pin of work tree ``root``, or None if it has none (the tree is not git-linked)."""
    try:
        data = path_of(root).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return parse(data, str(path_of(root)))


def write(root: Path, pin: Pin) -> bool:
    """Write ``pin`` unless the file already says exactly that; True if it was written.

    Skipping identical writes keeps the file's stat unchanged, so git sees no change.
    """
    target = path_of(root)
    data = pin.dumps()
    try:
        if not target.is_symlink() and target.read_bytes() == data:
            return False
    except (FileNotFoundError, NotADirectoryError):
        pass
    atomic_write(target, data)  # replaces a symlink standing there instead of following it
    return True


def current(repo: Repo, previous: Pin | None = None) -> Pin:
    """The pin describing ``repo`` now: its HEAD and its default remote.

    With no default remote configured, the remote of ``previous`` is kept, so that a
    collaborator without remotes does not erase where the team shares the data.
    """
    from qvc.remote.remotes import default_remote, remotes  # remotes imports repo: import late

    head = repo.head()
    known = remotes(repo)
    name = default_remote(repo)
    remote = known[name].url if name in known else (previous.remote if previous else None)
    return Pin(repo.package, head.top_hash if head else None, remote)


def refresh(repo: Repo) -> bool:
    """Rewrite the pin of a git-linked work tree after its HEAD moved; True if it changed."""
    if not path_of(repo.root).exists() and not path_of(repo.root).is_symlink():
        return False
    try:
        previous = read(repo.root)
    except BadManifest:
        previous = None  # a damaged pin is replaced by a correct one
    return write(repo.root, current(repo, previous))
