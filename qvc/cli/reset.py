"""qvc reset: point HEAD at another commit (--soft, --mixed or --hard)."""

from __future__ import annotations

import typer

from qvc.cli.app import repo_here
from qvc.cli.render import JSON_OPTION, emit_json, progress_bar, short
from qvc.errors import UsageError


def reset(
    rev: str | None = typer.Argument(None, help="Commit to move HEAD to (default HEAD)."),
    soft: bool = typer.Option(False, "--soft", help="Move HEAD only; keep the index."),
    mixed: bool = typer.Option(False, "--mixed",
                               help="Move HEAD and reset the index (the default)."),
    hard: bool = typer.Option(False, "--hard",
                              help="Also make the work tree's tracked files equal to REV."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Move HEAD to REV; --mixed (default) also resets the index, --hard the work tree too.
    Untracked files are never deleted; 'qvc reflog' lists where HEAD was."""
    from qvc.ops import reset as reset_op

    if soft + mixed + hard > 1:
        raise UsageError("give at most one of --soft, --mixed and --hard",
                         "e.g. 'qvc reset --hard REV'")
    mode: reset_op.Mode = "soft" if soft else "hard" if hard else "mixed"
    with progress_bar("reset", "file") as progress:
        result = reset_op.reset(repo_here(), rev, mode, progress=progress)
    if as_json:
        emit_json({"mode": result.mode, "top_hash": result.top_hash, "commit": result.commit_id,
                   "previous": result.previous, "written": result.written,
                   "removed": result.removed})
        return
    typer.echo(f"HEAD is now at {short(result.top_hash)} (was {short(result.previous)})")
    if mode == "hard":
        typer.echo(f"{len(result.written)} file(s) written, {len(result.removed)} removed")
