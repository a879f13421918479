"""qvc add and qvc rm: stage files, or stop tracking them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from qvc.cli.app import repo_here
from qvc.cli.render import JSON_OPTION, emit_json, parse_json, path_text, progress_bar


def add(
    paths: list[str] = typer.Argument(..., help="Files or folders to stage ('.' for everything)."),
    force: bool = typer.Option(False, "--force", "-f",
                               help="Add paths even if .qvcignore ignores them."),
    meta: str | None = typer.Option(None, "--meta", help="JSON user metadata for the files."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Stage files for the next commit (copies them into the object store)."""
    from qvc.ops import add as add_op

    kwargs: dict[str, Any] = {}
    if meta is not None:
        kwargs["meta"] = parse_json(meta)
    with progress_bar("add", "file") as progress:
        result = add_op.add(repo_here(), paths, cwd=Path.cwd(), force=force, progress=progress,
                            **kwargs)
    if result.unnamable:
        typer.echo(f"warning: {len(result.unnamable)} file(s) not added: their names cannot be "
                   "a logical key", err=True)
        for name, why in result.unnamable:
            typer.echo(f"  {path_text(name)}  ({why})", err=True)
    if as_json:
        emit_json({"added": result.added, "updated": result.updated,
                   "removed": result.removed, "unchanged": result.unchanged})


def rm(
    paths: list[str] = typer.Argument(..., help="Tracked files or folders."),
    cached: bool = typer.Option(False, "--cached", help="Untrack only; keep the files."),
    force: bool = typer.Option(False, "--force", "-f", help="Delete even uncommitted content."),
) -> None:
    """Stop tracking files (and delete them, unless --cached)."""
    from qvc.ops import add as add_op

    result = add_op.rm(repo_here(), paths, cwd=Path.cwd(), cached=cached, force=force)
    for key in result.removed:
        typer.echo(f"rm '{path_text(key)}'")
