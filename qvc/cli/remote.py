"""Commands: remote (add, list, remove, default) and config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from qvc.cli.app import app, emit_json, repo_here
from qvc.errors import NothingToDo, UsageError

if TYPE_CHECKING:
    from qvc.remote import remotes

remote_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                         help="Manage the registries this work tree pushes to and pulls from.")
app.add_typer(remote_app, name="remote")


@remote_app.command("add")
def remote_add(
    name: str = typer.Argument(..., help="A short name, e.g. origin."),
    url: str = typer.Argument(..., help="s3://bucket, or a folder (path or file:// URL)."),
    dest: str | None = typer.Option(None, "--dest", help="Data prefix in the bucket "
                                    "(default: <namespace>/<name>)."),
    endpoint_url: str | None = typer.Option(None, "--endpoint-url",
                                            help="S3-compatible endpoint, e.g. http://minio:9000."),
    profile: str | None = typer.Option(None, "--profile", help="AWS profile for this remote."),
    default: bool | None = typer.Option(None, "--default/--no-default",
                                        help="Make it the default remote (the first one is)."),
    probe: bool = typer.Option(True, "--probe/--no-probe",
                               help="Check conditional writes and versioning of an S3 bucket."),
) -> None:
    """Add a named remote registry."""
    from qvc.remote import remotes

    repo = repo_here()
    spec = remotes.make_spec(name, url, dest, endpoint_url, profile)
    remotes.check_new_name(repo, name)
    if probe and spec.is_s3:
        spec = remotes.with_probe(spec, remotes.probe(spec))
    remotes.add_remote(repo, spec, default=default)
    is_default = remotes.default_remote(repo) == name
    typer.echo(f"Added remote {name} -> {_where(spec)}" + (" (default)" if is_default else ""))


@remote_app.command("list")
def remote_list(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """List remotes; the default one is marked with '*'."""
    from qvc.remote import remotes

    repo = repo_here()
    known = remotes.remotes(repo)
    default = remotes.default_remote(repo)
    if as_json:
        emit_json({"default": default,
                   "remotes": [{"name": n, **s.as_config()} for n, s in known.items()]})
        return
    for name, spec in known.items():
        typer.echo(f"{'*' if name == default else ' '} {name}\t{_where(spec)}")


@remote_app.command("remove")
def remote_remove(name: str = typer.Argument(..., help="The remote to forget.")) -> None:
    """Forget a remote (nothing in the registry is touched)."""
    from qvc.remote import remotes

    remotes.remove_remote(repo_here(), name)
    typer.echo(f"Removed remote {name}")


@remote_app.command("default")
def remote_default(name: str = typer.Argument(..., help="The remote to use by default.")) -> None:
    """Make a remote the default for push, fetch, pull and status."""
    from qvc.remote import remotes

    remotes.set_default(repo_here(), name)
    typer.echo(f"Default remote is now {name}")


@app.command("config")
def config(
    key: str | None = typer.Argument(None, help="Setting name, e.g. default_remote_registry."),
    value: str | None = typer.Argument(None, help="New value (omit to print the current one)."),
    global_: bool = typer.Option(False, "--global", help="Your user settings, for every "
                                 "work tree (default: this work tree's .qvc/config.json)."),
    unset: bool = typer.Option(False, "--unset", help="Remove the setting."),
    list_: bool = typer.Option(False, "--list", "-l", help="Show every setting."),
    as_json: bool = typer.Option(False, "--json", help="With --list: print as JSON."),
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


def _where(spec: remotes.RemoteSpec) -> str:
    extras = [f"dest={spec.dest}" if spec.dest else "",
              f"endpoint={spec.endpoint_url}" if spec.endpoint_url else "",
              f"profile={spec.profile}" if spec.profile else ""]
    return " ".join([spec.url, *filter(None, extras)])


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)
