"""qvc init: start tracking the current folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from qvc.cli.render import JSON_OPTION, emit_json

if TYPE_CHECKING:
    from qvc.git.gitlink import GitLink  # dulwich loads only where git is needed


def init(
    name: str | None = typer.Argument(
        None, help="Package name namespace/name (default: <user>/<folder>)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Start tracking the current folder as a Quilt package."""
    from qvc.ops import init as init_op

    result = init_op.init(Path.cwd(), name)
    git = result.git
    if as_json:
        emit_json({"root": str(result.root), "package": result.package,
                   **({"git": {"root": str(git.git_root), "written": [str(p) for p in git.written]}}
                      if git else {})})
        return
    typer.echo(f"Initialized qvc repository for {result.package} in {result.root}/.qvc")
    if git is not None:
        _explain_git_link(git)


def _explain_git_link(git: GitLink) -> None:
    written = ", ".join(str(p.relative_to(git.git_root)) for p in git.written)
    typer.echo(f"Inside the git work tree {git.git_root}; wrote {written or 'nothing new'}")
    typer.echo("  .qvc/ and the data files stay out of git (.gitignore); git tracks qvc.pin, "
               "the data\n  version, which qvc updates on every commit, checkout and pull.")
    typer.echo("  Commit qvc.pin, .gitignore and .qvcignore with your code, then run "
               "'qvc install-hooks'\n  so git checks and follows the pinned data.")
    if git.data_is_git_root:
        typer.echo("  warning: this folder is the git root, so git now ignores everything "
                   "here;\n  un-ignore code below the qvc block in .gitignore and list it "
                   "in .qvcignore.")
