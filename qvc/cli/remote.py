"""qvc remote: the registries this work tree pushes to and pulls from (add, list, remove,
default)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from qvc.cli.app import repo_here
from qvc.cli.render import JSON_OPTION, emit_json

if TYPE_CHECKING:
    from qvc.remote import remotes

group = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                    help="Manage the registries this work tree pushes to and pulls from.")


def add(
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


def list_(as_json: bool = JSON_OPTION) -> None:
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


def remove(name: str = typer.Argument(..., help="The remote to forget.")) -> None:
    """Forget a remote (nothing in the registry is touched)."""
    from qvc.remote import remotes

    remotes.remove_remote(repo_here(), name)
    typer.echo(f"Removed remote {name}")


def default(name: str = typer.Argument(..., help="The remote to use by default.")) -> None:
    """Make a remote the default for push, fetch, pull and status."""
    from qvc.remote import remotes

    remotes.set_default(repo_here(), name)
    typer.echo(f"Default remote is now {name}")


def _where(spec: remotes.RemoteSpec) -> str:
    extras = [f"dest={spec.dest}" if spec.dest else "",
              f"endpoint={spec.endpoint_url}" if spec.endpoint_url else "",
              f"profile={spec.profile}" if spec.profile else ""]
    return " ".join([spec.url, *filter(None, extras)])
