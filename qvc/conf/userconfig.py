"""User-level settings, shared by ``qvc config --global`` and ``qvc.config()``.

Stored as JSON in the platform's user config folder (``$XDG_CONFIG_HOME/qvc/config.json`` on
Linux), or wherever ``QVC_CONFIG_DIR`` points. Data that is not configuration (the per-user
default registry, catalog credentials) lives in the user data folder (``QVC_DATA_DIR``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from qvc.errors import RepositoryError, UsageError
from qvc.sysio.fileio import atomic_write

KNOWN_KEYS = {
    "default_remote_registry":
        "registry used when a work tree names no remote (s3://bucket or a folder)",
    "navigator_url": "Quilt catalog URL used by qvc.login()",
    "registryUrl": "Quilt catalog API URL (read from the catalog's config.json)",
    "user.name": "author name recorded in commits",
    "user.email": "author email recorded in commits",
    "default_local_registry": "registry used by Package.build() outside a work tree",
    "default_install_location": "folder Package.install() downloads files to",
    "workflow":
        "registry workflow commits are checked against ('qvc commit -m MESSAGE --workflow ID')",
    "push.hooks": "pre-push hook pushes the pinned version when it is missing (true/false)",
}


def config_dir() -> Path:
    env = os.environ.get("QVC_CONFIG_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("qvc", appauthor=False))


def data_dir() -> Path:
    env = os.environ.get("QVC_DATA_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("qvc", appauthor=False))


def config_path() -> Path:
    return config_dir() / "config.json"


def load() -> dict[str, Any]:
    try:
        data = json.loads(config_path().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError:
        raise RepositoryError(
            f"the config file {config_path()} is not valid JSON", "fix or delete it"
        ) from None
    return data if isinstance(data, dict) else {}


def save(values: dict[str, Any]) -> None:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (json.dumps(values, indent=2, sort_keys=True) + "\n").encode(), mode=0o600)


def get(key: str) -> Any:
    return load().get(key)


def update(**values: Any) -> dict[str, Any]:
    """Set (or, with None, remove) keys and persist; returns the whole config."""
    for key in values:
        check_key(key)
    current = load()
    for key, value in values.items():
        if value is None:
            current.pop(key, None)
        else:
            current[key] = value
    save(current)
    return current


def check_key(key: str) -> None:
    if key not in KNOWN_KEYS:
        raise UsageError(f"unknown setting {key!r}",
                         "known settings: " + ", ".join(sorted(KNOWN_KEYS)))
