"""qvc reflog: where HEAD has been, newest first."""

from __future__ import annotations

import datetime

import typer

from qvc.cli.app import repo_here
from qvc.cli.render import JSON_OPTION, emit_json, short


def reflog(
    limit: int | None = typer.Option(None, "-n", "--max-count", help="Show at most N moves."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List HEAD's moves, newest first; 'HEAD@{N}' names where HEAD was N moves ago."""
    from qvc.ops import reflog as reflog_op

    entries = reflog_op.reflog(repo_here(), limit)
    if as_json:
        emit_json([{"name": e.name, "top_hash": e.top_hash, "commit": e.commit_id,
                    "time": _iso(e.time), "reason": e.reason} for e in entries])
        return
    for e in entries:
        typer.echo(f"{short(e.top_hash)} {e.name}: {e.reason}")


def _iso(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat()
