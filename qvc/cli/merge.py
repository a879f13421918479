"""qvc merge: join another line of history into HEAD."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from qvc.cli.app import repo_here
from qvc.cli.render import JSON_OPTION, emit_json, short

if TYPE_CHECKING:
    from qvc.ops.merge import MergeOutcome


def merge(
    rev: str = typer.Argument(..., help="Commit to merge (top hash, tag, HEAD~N, latest)."),
    ours: list[str] = typer.Option([], "--ours", help="Resolve conflicts under PATH with "
                                   "HEAD's version ('.' for every key).", metavar="PATH"),
    theirs: list[str] = typer.Option([], "--theirs", help="Resolve conflicts under PATH with "
                                     "REV's version ('.' for every key).", metavar="PATH"),
    message: str | None = typer.Option(None, "--message", "-m", help="The merge's message."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Merge REV into HEAD: a fast-forward when possible, else a commit with two parents.
    Conflicts change nothing; they are listed with how to resolve them."""
    from qvc.ops import merge as merge_op

    result = merge_op.merge(repo_here(), rev, ours=ours, theirs=theirs, message=message,
                            cwd=Path.cwd())
    if as_json:
        emit_json({"state": result.state, "rev": result.rev, "old_head": result.old_head,
                   "head": result.new_head, "commit": result.commit_id, "base": result.base,
                   "updated": result.updated, "removed": result.removed,
                   "resolved": result.resolved})
        return
    typer.echo(describe(result))


def describe(result: MergeOutcome) -> str:
    """One line for a merge outcome (also used by ``qvc pull``)."""
    if result.state == "up-to-date":
        return f"Already up to date ({short(result.new_head)})"
    counts = f"{len(result.updated)} file(s) updated, {len(result.removed)} removed"
    if result.state == "fast-forward":
        return f"Fast-forward {short(result.old_head)}..{short(result.new_head)}: {counts}"
    return (f"Merged {result.rev} into {short(result.old_head)}: {short(result.new_head)} "
            f"(two parents), {counts}")
