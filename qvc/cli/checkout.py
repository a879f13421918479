"""qvc checkout: bring the work tree (or some paths) to a commit."""

from __future__ import annotations

from pathlib import Path

import typer

from qvc.cli.app import repo_here
from qvc.cli.render import JSON_OPTION, emit_json, progress_bar, short


def checkout(
    rev: str = typer.Argument(..., help="Commit to check out (top hash, tag, HEAD~N, latest)."),
    paths: list[str] | None = typer.Argument(None, help="Only restore these paths (after --)."),
    force: bool = typer.Option(False, "--force", "-f",
                               help="Discard uncommitted changes in the way."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Bring the work tree (or PATHs) to a commit; refuses to overwrite uncommitted work."""
    from qvc.ops import checkout as checkout_op

    with progress_bar("checkout", "file") as progress:
        result = checkout_op.checkout(repo_here(), rev, paths or None, cwd=Path.cwd(),
                                      force=force, progress=progress)
    if as_json:
        emit_json({"top_hash": result.top_hash, "commit": result.commit_id,
                   "paths_only": result.paths_only, "written": result.written,
                   "removed": result.removed, "unchanged": result.unchanged})
        return
    what = "Restored paths from" if result.paths_only else "HEAD is now at"
    typer.echo(f"{what} {short(result.top_hash)}: {len(result.written)} written, "
               f"{len(result.removed)} removed, {result.unchanged} unchanged")
