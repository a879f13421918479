"""qvc commit: record the staged files as a new package version."""

from __future__ import annotations

from typing import Any

import typer

from qvc.cli.app import repo_here
from qvc.cli.render import JSON_OPTION, emit_json, parse_json


def commit(
    message: str = typer.Option(..., "--message", "-m", help="Commit message."),
    meta: str | None = typer.Option(None, "--meta",
                                    help="JSON package metadata (replaces the parent's)."),
    stage_all: bool = typer.Option(False, "--all", "-a",
                                   help="Stage changes to tracked files first."),
    workflow: str | None = typer.Option(
        None, "--workflow", help="Check the version against this workflow of the default "
        "remote's registry, and record it (default: the 'workflow' setting)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Record the staged files as a new package version; prints its top hash."""
    from qvc.ops import commit as commit_op

    kwargs: dict[str, Any] = {}
    if meta is not None:
        kwargs["meta"] = parse_json(meta)
    result = commit_op.commit(repo_here(), message, stage_all=stage_all, workflow=workflow,
                              **kwargs)
    if as_json:
        emit_json({"top_hash": result.top_hash, "commit": result.commit_id,
                   "parent": result.parent_top_hash, "pointer": result.pointer,
                   "added": result.added, "modified": result.modified, "deleted": result.deleted,
                   "renamed": [{"from": a, "to": b} for a, b in result.renamed]})
        return
    typer.echo(result.top_hash)
    for a, b in result.renamed:
        typer.echo(f"renamed   {a} -> {b}", err=True)
    typer.echo(f"{len(result.added)} added, {len(result.modified)} modified, "
               f"{len(result.deleted)} deleted"
               + (f", {len(result.renamed)} renamed" if result.renamed else ""), err=True)
