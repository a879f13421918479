"""The typer application and helpers shared by the command modules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from qvc import __version__
from qvc.errors import InvalidJSON

if TYPE_CHECKING:
    from qvc.core.repo import Repo

app = typer.Typer(
    add_completion=False,
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


def parse_json(text: str, what: str = "--meta") -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidJSON(f"{what} is not valid JSON: {exc}") from None


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def short(top_hash: str | None) -> str:
    return top_hash[:12] if top_hash else "-"
