"""The one exception root of qvc.

Every error a user can cause is a :class:`QvcError` subclass that carries an exit code and a
hint ("what happened, what to do next"). The CLI catches ``QvcError`` in exactly one place and
prints ``error: <message>`` and ``hint: <hint>``; the Python API lets it propagate.

Exit codes (documented in README.md, stable for scripts):

====  =====================================================================
0     success
1     unexpected internal error (a bug: please report it)
2     usage: bad arguments, bad package name, bad JSON, unknown revision
3     repository: not a qvc work tree, already one, no commits yet, damaged state file
4     path: outside the work tree, missing, unreadable, symlink, unsafe name
5     nothing to do: nothing to commit, nothing staged
6     conflict: lock held, uncommitted changes in the way, remote moved on, merge conflict
7     remote: unreachable, no credentials, access denied, no such bucket or package
8     integrity: hash mismatch, corrupt or hostile manifest, missing object
9     resources: disk full, permission denied
130   interrupted (Ctrl-C)
====  =====================================================================
"""

from __future__ import annotations

import shutil


class QvcError(Exception):
    """Root of every error qvc raises on purpose."""

    exit_code = 1
    default_hint = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = self.default_hint if hint is None else hint

    def __str__(self) -> str:
        return self.message


class UsageError(QvcError):
    exit_code = 2


class InvalidName(UsageError):
    default_hint = "package names look like 'namespace/name' (letters, digits, '_' and '-')"


class InvalidJSON(UsageError):
    default_hint = 'pass a JSON object, e.g. --meta \'{"rows": 10}\''


class BadRevision(UsageError):
    default_hint = ("use a top hash (6+ characters), 'latest', 'HEAD', 'HEAD~N' or a tag; "
                    "see 'qvc log'")


class RepositoryError(QvcError):
    exit_code = 3


class NotARepository(RepositoryError):
    default_hint = "run 'qvc init' here first, or cd into a qvc work tree"


class AlreadyARepository(RepositoryError):
    default_hint = "this folder is already tracked; use the existing repository"


class NoCommits(RepositoryError):
    default_hint = "make a first commit with 'qvc add .' and 'qvc commit -m MESSAGE'"


class PathError(QvcError):
    exit_code = 4


class NothingToDo(QvcError):
    exit_code = 5


class ConflictError(QvcError):
    exit_code = 6


class LockHeld(ConflictError):
    default_hint = "another qvc command is running here; wait for it to finish and try again"


class DirtyWorkTree(ConflictError):
    default_hint = ("commit your changes first ('qvc commit -a -m MESSAGE'), or pass --force "
                    "to discard them")


class RemoteConflict(ConflictError):
    default_hint = "run 'qvc pull' to bring in the remote version, or push with --force"


class MergeConflict(ConflictError):
    """Both sides of a merge changed the same keys differently; nothing was changed."""


class RemoteError(QvcError):
    exit_code = 7


class NoSuchPackage(RemoteError):
    default_hint = "check the package name and the registry URL (see 'qvc remote list')"


class CredentialsError(RemoteError):
    default_hint = (
        "configure AWS credentials (aws configure, AWS_PROFILE or AWS_ACCESS_KEY_ID) "
        "or log in with qvc.login()"
    )


class IntegrityError(QvcError):
    exit_code = 8


class BadManifest(IntegrityError):
    default_hint = "the manifest is damaged or unsafe; fetch it again or ask its author"


class CorruptObject(IntegrityError):
    default_hint = ("run 'qvc verify' to list damage; 'qvc verify --repair' fetches intact "
                    "copies from the default remote")


class ResourceError(QvcError):
    exit_code = 9


class Interrupted(QvcError):
    """Ctrl-C, raised where the next step to finish the job is known (e.g. a kept clone)."""

    exit_code = 130


class NoRemote(UsageError):
    default_hint = (
        "add one with 'qvc remote add origin s3://bucket' (or a folder), pass a registry URL, "
        "or set 'qvc config --global default_remote_registry URL'"
    )


class MissingEntry(PathError, KeyError):
    """A logical key that is not in a package (also a KeyError, as dict-like access expects)."""

    default_hint = "list the package's logical keys with p.keys() or p.walk()"


class SameFile(PathError, shutil.SameFileError):
    """A copy whose source and destination are one file (also shutil.SameFileError, as in
    quilt3)."""

    default_hint = "fetch to another path: the data is already there"


class InvalidValue(UsageError, ValueError):
    """A bad argument value (also a ValueError, where quilt3 raises one for the same mistake)."""


class InvalidType(UsageError, TypeError):
    """An argument of the wrong type (also a TypeError, as in quilt3)."""


class MissingExtra(UsageError):
    """An optional dependency (pandas, pyarrow) that a data format needs is not installed."""

    default_hint = "install qvc's data-frame extra: pip install 'qvc[pandas]'"


class WorkflowError(UsageError):
    """A registry's workflow config is invalid, or a package fails its workflow's checks."""

    default_hint = ("fix the package metadata (or the message) the workflow names, or choose "
                    "another workflow")
