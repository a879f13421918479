"""qvc sparse: which keys of the package the work tree holds (set, add, list, disable)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from qvc.cli.app import repo_here
from qvc.cli.render import JSON_OPTION, emit_json

if TYPE_CHECKING:
    from qvc.ops import sparse as sparse_op

group = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                    help="Choose which keys or folders of the package this work tree holds.")


def set_(
    paths: list[str] = typer.Argument(..., help="Keys or folders to hold (others are left out)."),
    force: bool = typer.Option(False, "--force", help="Discard changes to files left out."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Hold only these keys and folders: write those newly selected, remove those left out."""
    from qvc.ops import sparse as sparse_op

    _render(sparse_op.change(repo_here(), paths, cwd=Path.cwd(), force=force), as_json)


def add(
    paths: list[str] = typer.Argument(..., help="Keys or folders to hold as well."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Hold these keys and folders too (their data is fetched if not stored)."""
    from qvc.ops import sparse as sparse_op

    _render(sparse_op.change(repo_here(), paths, cwd=Path.cwd(), add=True), as_json)


def list_(as_json: bool = JSON_OPTION) -> None:
    """Show the selection ('all' when the work tree holds every key)."""
    from qvc.ops import sparse as sparse_op

    _render(sparse_op.show(repo_here()), as_json, listing=True)


def disable(
    as_json: bool = JSON_OPTION,
) -> None:
    """Hold every key again (fetching and writing what was left out)."""
    from qvc.ops import sparse as sparse_op

    _render(sparse_op.change(repo_here(), None, cwd=Path.cwd()), as_json)


def _render(result: sparse_op.SparseResult, as_json: bool, listing: bool = False) -> None:
    paths = list(result.paths) if result.paths is not None else None
    if as_json:
        emit_json({"sparse": paths, "written": result.written, "removed": result.removed})
        return
    if listing:
        typer.echo("all" if paths is None else "\n".join(paths))
        return
    typer.echo(f"Wrote {len(result.written)} file(s), removed {len(result.removed)}; "
               + ("the work tree holds every key" if paths is None
                  else "selected: " + " ".join(paths)))
