"""qvc restore: bring back work-tree files from the index, or unstage paths."""

from __future__ import annotations

from pathlib import Path

import typer

from qvc.cli.app import repo_here
from qvc.cli.render import JSON_OPTION, emit_json, progress_bar


def restore(
    paths: list[str] = typer.Argument(..., help="Files or folders to restore."),
    staged: bool = typer.Option(False, "--staged",
                                help="Unstage: set the index rows back to HEAD's (or SOURCE's)."),
    source: str | None = typer.Option(None, "--source", "-s",
                                      help="Take the versions from this commit."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Discard unstaged edits of PATHs (their files get the staged version), or with
    --staged unstage them (the files are not touched)."""
    from qvc.ops import restore as restore_op

    with progress_bar("restore", "file") as progress:
        result = restore_op.restore(repo_here(), paths, cwd=Path.cwd(), staged=staged,
                                    source=source, progress=progress)
    if as_json:
        emit_json({"staged": result.staged, "written": result.written,
                   "unstaged": result.unstaged})
        return
    if staged:
        typer.echo(f"Unstaged {len(result.unstaged)} path(s)")
    else:
        typer.echo(f"Restored {len(result.written)} file(s)")
