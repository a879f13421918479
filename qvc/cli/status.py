"""qvc status: staged, modified, deleted and untracked files, and the remote's state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from qvc.cli.app import repo_here
from qvc.cli.render import emit_json, short

if TYPE_CHECKING:
    from qvc.remote.tracking import Relation


def status(as_json: bool = typer.Option(False, "--json", help="Print the status as JSON.")) -> None:
    """Show staged, modified, deleted and untracked files."""
    from qvc.ops import status as status_op

    result = status_op.status(repo_here())
    s = result.status
    if as_json:
        emit_json({
            "package": result.package, "head": result.head, "clean": s.clean,
            "staged": {"added": s.staged_added, "modified": s.staged_modified,
                       "deleted": s.staged_deleted},
            "modified": s.modified, "deleted": s.deleted, "untracked": s.untracked,
            "skipped": s.skipped, "remote": _remote_json(result.remote),
            "latest": result.latest, "older_version": result.latest is not None,
            "interrupted_clone": result.interrupted_clone,
        })
        return
    typer.echo(f"On package {result.package}, HEAD {short(result.head)}")
    if result.interrupted_clone:
        typer.echo("A clone here was interrupted; 'qvc pull' finishes it")
    if result.latest is not None:
        typer.echo(f"HEAD is at an older version ({short(result.head)}); "
                   "'qvc checkout latest' returns")
    if result.remote is not None:
        typer.echo(_remote_line(result.remote))
    staged = ([("new file", k) for k in s.staged_added]
              + [("modified", k) for k in s.staged_modified]
              + [("deleted", k) for k in s.staged_deleted])
    _section("Changes to be committed:", staged)
    _section("Changes not staged for commit:",
             [("modified", k) for k in s.modified] + [("deleted", k) for k in s.deleted])
    _section("Untracked files:", [("", k) for k in s.untracked])
    _section("Skipped (symlinks and special files are not tracked):", [("", k) for k in s.skipped])
    if s.clean:
        typer.echo("nothing to commit, working tree clean")


def _remote_json(rel: Relation | None) -> dict[str, Any] | None:
    if rel is None:
        return None
    return {"name": rel.remote, "latest": rel.latest, "state": rel.state,
            "ahead": rel.ahead, "behind": rel.behind, "rewritten": rel.rewritten}


def _remote_line(rel: Relation) -> str:
    seen = "as of the last fetch or push"
    if rel.rewritten:
        return (f"'{rel.remote}' was rewritten (a forced push?): {rel.ahead} local commit(s) "
                f"are not in it; your history and '{rel.remote}' have diverged ({seen})")
    if rel.state == "diverged":
        return (f"Your history and '{rel.remote}' have diverged ({seen}): {rel.ahead} and "
                f"{rel.behind} different commit(s)")
    if rel.state == "ahead":
        return f"Ahead of '{rel.remote}' by {rel.ahead} commit(s) ({seen}); 'qvc push' publishes"
    if rel.state == "behind":
        return f"Behind '{rel.remote}' by {rel.behind} commit(s) ({seen}); 'qvc pull' updates"
    return f"Up to date with '{rel.remote}' ({seen})"


def _section(title: str, rows: list[tuple[str, str]]) -> None:
    if not rows:
        return
    typer.echo(title)
    for label, key in sorted(rows, key=lambda r: r[1]):
        typer.echo(f"  {label + ':':<12}{key}" if label else f"  {key}")
