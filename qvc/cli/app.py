"""The typer application (its name, help and --version) and how a command finds its repository.

The commands themselves are registered in the table in :mod:`qvc.cli`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from qvc import __version__

if TYPE_CHECKING:
    from qvc.core.repo import Repo

app = typer.Typer(
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Version data folders as Quilt packages, the git way.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"qvc {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
) -> None:
    """qvc tracks a folder of data files; every commit is a Quilt package version."""


def repo_here() -> Repo:
    from qvc.core.repo import Repo

    return Repo.find(Path.cwd())

