"""Commands of the local repository: init, add, rm, status, commit, log, show, ls, and the
demo."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from qvc.cli.app import app, emit_json, parse_json, repo_here, short

if TYPE_CHECKING:
    from qvc.core.repo import Commit
    from qvc.git.gitlink import GitLink  # dulwich loads only where git is needed
    from qvc.quilt.manifest import Manifest
    from qvc.remote.tracking import Relation


@app.command()
def init(
    name: str | None = typer.Argument(
        None, help="Package name namespace/name (default: <user>/<folder>)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Start tracking the current folder as a Quilt package."""
    from qvc.ops import init as init_op

    result = init_op.init(Path.cwd(), name)
    git = result.git
    if as_json:
        emit_json({"root": str(result.root), "package": result.package,
                   **({"git": {"root": str(git.git_root), "written": [str(p) for p in git.written]}}
                      if git else {})})
        return
    typer.echo(f"Initialized qvc repository for {result.package} in {result.root}/.qvc")
    if git is not None:
        _explain_git_link(git)


def _explain_git_link(git: GitLink) -> None:
    written = ", ".join(str(p.relative_to(git.git_root)) for p in git.written)
    typer.echo(f"Inside the git work tree {git.git_root}; wrote {written or 'nothing new'}")
    typer.echo("  .qvc/ and the data files stay out of git (.gitignore); git tracks qvc.pin, "
               "the data\n  version, which qvc updates on every commit, checkout and pull.")
    typer.echo("  Commit qvc.pin, .gitignore and .qvcignore with your code, then run "
               "'qvc install-hooks'\n  so git checks and follows the pinned data.")
    if git.data_is_git_root:
        typer.echo("  warning: this folder is the git root, so git now ignores everything "
                   "here;\n  un-ignore code below the qvc block in .gitignore and list it "
                   "in .qvcignore.")


@app.command()
def add(
    paths: list[str] = typer.Argument(..., help="Files or folders to stage ('.' for everything)."),
    force: bool = typer.Option(False, "--force", "-f",
                               help="Add paths even if .qvcignore ignores them."),
    meta: str | None = typer.Option(None, "--meta", help="JSON user metadata for the files."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Stage files for the next commit (copies them into the object store)."""
    from qvc.ops import add as add_op

    kwargs: dict[str, Any] = {}
    if meta is not None:
        kwargs["meta"] = parse_json(meta)
    result = add_op.add(repo_here(), paths, cwd=Path.cwd(), force=force, **kwargs)
    if as_json:
        emit_json({"added": result.added, "updated": result.updated,
                   "removed": result.removed, "unchanged": result.unchanged})


@app.command()
def rm(
    paths: list[str] = typer.Argument(..., help="Tracked files or folders."),
    cached: bool = typer.Option(False, "--cached", help="Untrack only; keep the files."),
    force: bool = typer.Option(False, "--force", "-f", help="Delete even uncommitted content."),
) -> None:
    """Stop tracking files (and delete them, unless --cached)."""
    from qvc.ops import add as add_op

    result = add_op.rm(repo_here(), paths, cwd=Path.cwd(), cached=cached, force=force)
    for key in result.removed:
        typer.echo(f"rm '{key}'")


@app.command()
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
        })
        return
    typer.echo(f"On package {result.package}, HEAD {short(result.head)}")
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
            "ahead": rel.ahead, "behind": rel.behind}


def _remote_line(rel: Relation) -> str:
    seen = "as of the last fetch or push"
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


@app.command()
def commit(
    message: str = typer.Option(..., "--message", "-m", help="Commit message."),
    meta: str | None = typer.Option(None, "--meta",
                                    help="JSON package metadata (replaces the parent's)."),
    stage_all: bool = typer.Option(False, "--all", "-a",
                                   help="Stage changes to tracked files first."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Record the staged files as a new package version; prints its top hash."""
    from qvc.ops import commit as commit_op

    kwargs: dict[str, Any] = {}
    if meta is not None:
        kwargs["meta"] = parse_json(meta)
    result = commit_op.commit(repo_here(), message, stage_all=stage_all, **kwargs)
    if as_json:
        emit_json({"top_hash": result.top_hash, "commit": result.commit_id,
                   "parent": result.parent_top_hash, "pointer": result.pointer,
                   "added": result.added, "modified": result.modified, "deleted": result.deleted})
        return
    typer.echo(result.top_hash)
    typer.echo(f"{result.added} added, {result.modified} modified, {result.deleted} deleted",
               err=True)


def _iso(time_ns: int) -> str:
    return datetime.datetime.fromtimestamp(time_ns / 1e9, datetime.timezone.utc).isoformat()


def commit_json(commit_id: str, commit: Commit, parent_top: str | None) -> dict[str, Any]:
    return {"top_hash": commit.top_hash, "commit": commit_id, "parent": parent_top,
            "message": commit.message, "time": _iso(commit.time_ns), "author": commit.author,
            **({"extra": commit.extra} if commit.extra else {})}


@app.command()
def log(
    limit: int | None = typer.Option(None, "-n", "--max-count", help="Show at most N commits."),
    rev: str | None = typer.Argument(None, help="Start from REV instead of HEAD."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show the commit history, newest first."""
    from qvc.ops import log as log_op

    entries = log_op.log(repo_here(), limit, rev)
    if as_json:
        emit_json([commit_json(e.commit_id, e.commit, e.parent_top_hash) for e in entries])
        return
    for e in entries:
        c = e.commit
        typer.echo(f"commit {c.top_hash}")
        typer.echo(f"Author: {c.author}")
        typer.echo(f"Date:   {_iso(c.time_ns)}")
        if e.parent_top_hash:
            typer.echo(f"Parent: {e.parent_top_hash}")
        for key, value in sorted(c.extra.items()):
            typer.echo(f"{key.replace('_', ' ').title()}: {value}")
        typer.echo(f"\n    {c.message}\n")


def entries_json(manifest: Manifest) -> list[dict[str, Any]]:
    return [{"logical_key": e.logical_key, "size": e.size, "hash": e.hash.as_dict(),
             "meta": e.meta, "physical_key": e.physical_key} for e in manifest.walk()]


@app.command()
def show(
    rev: str | None = typer.Argument(None, help="Revision (default HEAD)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show a commit's header and its entries."""
    from qvc.ops import log as log_op

    result = log_op.show(repo_here(), rev)
    c, m = result.commit, result.manifest
    parent = repo_here().commit(c.parent).top_hash if c.parent else None
    if as_json:
        emit_json({**commit_json(result.commit_id, c, parent), "header": m.header,
                   "user_meta": m.user_meta, "entries": entries_json(m)})
        return
    typer.echo(f"commit {c.top_hash}\nAuthor: {c.author}\nDate:   {_iso(c.time_ns)}")
    typer.echo(f"\n    {c.message}\n")
    if "user_meta" in m.header:
        typer.echo(f"Package metadata: {m.header['user_meta']}")
    for e in m.walk():
        meta = f"  {e.user_meta}" if e.meta.get("user_meta") not in (None, {}) else ""
        typer.echo(f"{e.size:>12}  {e.logical_key}{meta}")


@app.command("ls")
def ls_(
    rev: str | None = typer.Argument(None, help="Revision (default HEAD)."),
    long: bool = typer.Option(False, "--long", "-l", help="Show size and hash too."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List the logical keys of a commit."""
    from qvc.ops import log as log_op

    m = log_op.show(repo_here(), rev).manifest
    if as_json:
        emit_json(entries_json(m))
        return
    for e in m.walk():
        typer.echo(f"{e.size:>12}  {e.hash.value}  {e.logical_key}" if long else e.logical_key)


@app.command()
def demo(
    folder: Path | None = typer.Argument(
        None, help="An empty folder to work in (default: a new temp folder)."),
) -> None:
    """Show the main job on sample data: track, commit, push to a folder registry, clone back."""
    import tempfile

    from qvc.ops import demo as demo_op

    target = folder or Path(tempfile.mkdtemp(prefix="qvc-demo-"))
    result = demo_op.demo(target.resolve())
    for number, (what, outcome) in enumerate(result.steps, start=1):
        typer.echo(f"{number}. {what}\n   -> {outcome}")
    typer.echo(f"\nAll checks passed. Explore it: cd {result.folder / 'dataset'} && qvc log")
