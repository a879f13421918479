"""qvc config: read or change settings."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from qvc.cli.render import JSON_OPTION, emit_json
from qvc.errors import NothingToDo, UsageError


def config(
    key: str | None = typer.Argument(None, help="Setting name, e.g. default_remote_registry."),
    value: str | None = typer.Argument(None, help="New value (omit to print the current one)."),
    global_: bool = typer.Option(False, "--global", help="Your user settings, for every "
                                 "work tree (default: this work tree's .qvc/config.json)."),
    unset: bool = typer.Option(False, "--unset", help="Remove the setting."),
    list_: bool = typer.Option(False, "--list", "-l", help="Show every setting."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Read or change settings (user-level with --global, else this work tree's)."""
    from qvc.conf import settings
    from qvc.core.repo import Repo, find_root

    root = find_root(Path.cwd())
    repo = Repo(root) if root is not None else None
    if list_:
        found = settings.listing(None if global_ else repo)
        if as_json:
            emit_json([{"key": s.key, "value": s.value, "scope": s.scope} for s in found])
        for s in [] if as_json else found:
            typer.echo(f"{s.key}={_text(s.value)}\t({s.scope})")
        return
    if key is None:
        raise UsageError("name a setting, or pass --list", "e.g. qvc config --list")
    if unset and value is not None:
        raise UsageError("pass either a value or --unset, not both")
    if unset or value is not None:
        settings.set_value(repo, key, None if unset else value, global_=global_)
        return
    current = settings.get(None if global_ else repo, key)
    if current is None:
        scope = " --global" if global_ else ""
        raise NothingToDo(f"{key} is not set", f"set it with 'qvc config{scope} {key} VALUE'")
    typer.echo(_text(current))


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)
