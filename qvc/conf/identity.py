"""Who is committing: the one place the author of a commit is resolved.

Most specific first, as git does: the work tree's ``user.name`` / ``user.email`` settings
(``qvc config KEY VALUE``), then the user's (``qvc config --global``), then ``QVC_AUTHOR_NAME``
/ ``QVC_AUTHOR_EMAIL``, then git's author identity, then the login name at this host. Name and
email are resolved independently.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Callable

from qvc.conf import settings
from qvc.core.repo import Repo

GitIdentity = Callable[[], tuple[str | None, str | None]]


def author(repo: Repo | None, git_identity: GitIdentity) -> str:
    """``Name <email>`` for a commit in ``repo``. ``git_identity`` is asked only when a part is
    still missing after qvc's own settings (it returns git's (name, email), either may be
    None)."""
    name = _setting(repo, "user.name") or os.environ.get("QVC_AUTHOR_NAME") or None
    email = _setting(repo, "user.email") or os.environ.get("QVC_AUTHOR_EMAIL") or None
    if not (name and email):
        git_name, git_email = git_identity()
        name, email = name or git_name, email or git_email
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = "unknown"
    if not email:
        email = f"{name}@{socket.gethostname()}"
    return f"{name} <{email}>"


def _setting(repo: Repo | None, key: str) -> str | None:
    value = settings.get(repo, key)
    return value if isinstance(value, str) and value else None
