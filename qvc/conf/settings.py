"""Settings as ``qvc config`` sees them: per work tree first, then per user.

User-level values live in :mod:`qvc.conf.userconfig`. Work-tree values live in the repository's
``.qvc/config.json`` under ``"settings"``; they accept the same keys and win over user values,
like ``git config`` without ``--global``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qvc.conf import userconfig
from qvc.core.repo import Repo
from qvc.errors import NotARepository
from qvc.quilt.urls import normalize_registry_url

REPO_SECTION = "settings"


@dataclass(frozen=True)
class Setting:
    key: str
    value: Any
    scope: str  # "repo" or "global"


def get(repo: Repo | None, key: str) -> Any:
    """The effective value of ``key``: the work tree's, else the user's, else None."""
    userconfig.check_key(key)
    if repo is not None:
        value = repo.config.get(REPO_SECTION, {}).get(key)
        if value is not None:
            return value
    return userconfig.get(key)


def set_value(repo: Repo | None, key: str, value: str | None, *, global_: bool) -> Setting:
    """Set (or with None unset) ``key`` at user level or in the work tree ``repo``."""
    userconfig.check_key(key)
    if value is not None:
        value = _validate(key, value)
    if global_:
        userconfig.update(**{key: value})
        return Setting(key, value, "global")
    if repo is None:
        raise NotARepository(
            "not in a qvc work tree, so there is no repository setting to change",
            "pass --global to change your user settings",
        )
    config = dict(repo.config)
    section = dict(config.get(REPO_SECTION, {}))
    if value is None:
        section.pop(key, None)
    else:
        section[key] = value
    config[REPO_SECTION] = section
    repo.save_config(config)
    return Setting(key, value, "repo")


def listing(repo: Repo | None) -> list[Setting]:
    """Every value set, user-level first, then the work tree's, each sorted by key."""
    found = [Setting(k, v, "global") for k, v in sorted(userconfig.load().items())]
    if repo is not None:
        section = repo.config.get(REPO_SECTION, {})
        found += [Setting(k, v, "repo") for k, v in sorted(section.items())]
    return found


def _validate(key: str, value: str) -> Any:
    if key == "default_remote_registry":
        return normalize_registry_url(value)
    return value
