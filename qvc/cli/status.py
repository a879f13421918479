"""qvc status: staged, modified, deleted and untracked files, and the remote's state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from qvc.cli.app import repo_here
from qvc.cli.render import JSON_OPTION, emit_json, path_text, short
from qvc.errors import UsageError

if TYPE_CHECKING:
    from qvc.remote.tracking import Relation

UNTRACKED_MODES = ("normal", "all", "no")


def status(
    untracked_files: str = typer.Option(
        "normal", "--untracked-files", "-u", metavar="MODE",
        help="normal: an untracked folder shows as 'folder/'; all: every untracked file; "
        "no: none. --json always lists every untracked file."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show staged, modified, deleted and untracked files."""
    from qvc.ops import status as status_op

    if untracked_files not in UNTRACKED_MODES:
        raise UsageError(f"--untracked-files takes {', '.join(UNTRACKED_MODES)}, "
                         f"not {untracked_files!r}", "qvc status --untracked-files=all")

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
            "storage": result.storage,
            "sparse": list(result.sparse) if result.sparse is not None else None,
            "pinned": result.pinned,
            "interrupted_clone": result.interrupted_clone,
        })
        return
    if result.head is None:
        typer.echo(f"On package {result.package}\n\nNo commits yet\n")
    else:
        typer.echo(f"On package {result.package}, HEAD {short(result.head)}")
    if result.interrupted_clone:
        typer.echo("A clone here was interrupted; 'qvc pull' finishes it")
    typer.echo("Storage: " + ("reflinks (files share blocks with .qvc/objects)"
                              if result.storage == "reflink" else "copies (no reflinks here)")
               + ("" if result.sparse is None else "; sparse: " + " ".join(result.sparse)))
    if result.latest is not None:
        typer.echo(f"HEAD is at an older version ({short(result.head)}); "
                   "'qvc checkout latest' returns")
    if result.remote is not None:
        typer.echo(_remote_line(result.remote))
    if result.pinned is not None:
        typer.echo(f"qvc.pin pins {short(result.pinned)} but the data is at "
                   f"{short(result.head)}; 'qvc hook sync' brings the data to the pinned "
                   "version")
    staged = ([("new file", k) for k in s.staged_added]
              + [("modified", k) for k in s.staged_modified]
              + [("deleted", k) for k in s.staged_deleted])
    _section("Changes to be committed:", staged)
    _section("Changes not staged for commit:",
             [("modified", k) for k in s.modified] + [("deleted", k) for k in s.deleted])
    untracked = {"normal": result.untracked_folded, "all": s.untracked, "no": []}[untracked_files]
    _section("Untracked files:", [("", k) for k in untracked])
    from qvc.quilt.manifest import key_problem

    unnamable = {k: why for k in s.skipped if (why := key_problem(k))}
    _section("Skipped (symlinks and special files are not tracked):",
             [("", k) for k in s.skipped if k not in unnamable])
    _section("Skipped (names that cannot be a logical key):",
             [(f"({why})", k) for k, why in unnamable.items()], label_after=True)
    if s.clean:
        typer.echo("nothing to commit, working tree clean")
    elif untracked_files == "no" and not s.dirty_tracked:
        typer.echo("nothing to commit (untracked files not listed)")


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


def _section(title: str, rows: list[tuple[str, str]], *, label_after: bool = False) -> None:
    if not rows:
        return
    typer.echo(title)
    for label, key in sorted(rows, key=lambda r: r[1]):
        shown = path_text(key)
        if label_after:
            typer.echo(f"  {shown}  {label}")
        else:
            typer.echo(f"  {label + ':':<12}{shown}" if label else f"  {shown}")
