"""qvc log, show and ls: commits and their entries, rendered the same way."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

import typer

from qvc.cli.app import repo_here
from qvc.cli.render import JSON_OPTION, emit_json, entry_hash, meta_text, path_text, short

if TYPE_CHECKING:
    from qvc.core.repo import Commit
    from qvc.ops.log import LogEntry
    from qvc.quilt.manifest import Manifest


def log(
    limit: int | None = typer.Option(None, "-n", "--max-count", help="Show at most N commits."),
    rev: str | None = typer.Argument(None, help="Start from REV instead of HEAD."),
    every_ref: bool = typer.Option(False, "--all", help="Start from HEAD, every tag, every "
                                   "remote-tracking commit and every commit of the reflog."),
    oneline: bool = typer.Option(False, "--oneline", help="One line per commit."),
    graph: bool = typer.Option(False, "--graph", help="Draw the history graph (merges too), "
                               "one line per commit."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show the commit history, newest first."""
    from qvc.ops import log as log_op

    repo = repo_here()
    entries = log_op.log(repo, limit, rev, every_ref=every_ref, every_parent=graph)
    code = log_op.code_commits(repo) if not (graph or oneline) else {}
    if as_json:
        emit_json([{**commit_json(e.commit_id, e.commit, e.parent_top_hash),
                    "parents": list(e.parent_top_hashes),
                    **({"git_commit": code[e.commit.top_hash]}
                       if e.commit.top_hash in code else {})} for e in entries])
        return
    if graph:
        _graph(entries)
        return
    if oneline:
        for e in entries:
            typer.echo(_oneline(e.commit))
        return
    for e in entries:
        c = e.commit
        typer.echo(f"commit {c.top_hash}")
        typer.echo(f"Author: {c.author}")
        typer.echo(f"Date:   {_iso(c.time_ns)}")
        if e.parent_top_hash:
            inferred = " (inferred from the registry's pointer order: not recorded)" \
                if c.extra.get("inferred_parent") else ""
            typer.echo(f"{_parents_line(e.parent_top_hashes)}{inferred}")
        if c.top_hash in code:
            typer.echo(f"Git Commit: {code[c.top_hash]}")
        for key, value in sorted(c.extra.items()):
            if key in ("inferred_parent", "git_commit"):  # git_commit: HEAD before the code
                continue                                  # commit; the line above names it
            typer.echo(f"{key.replace('_', ' ').title()}: {value}")
        typer.echo(f"\n    {c.message}\n")


def _parents_line(parents: tuple[str, ...]) -> str:
    """``Parent: <12 hex>``, or git's ``Merge: <first> <second>`` for a merge."""
    label = "Merge:  " if len(parents) > 1 else "Parent: "
    return label + " ".join(short(p) for p in parents)


def _oneline(commit: Commit) -> str:
    return f"{commit.top_hash[:12]} {commit.message.splitlines()[0] if commit.message else ''}"


def _graph(entries: list[LogEntry]) -> None:
    from qvc.cli.graph import draw

    known = {e.commit_id for e in entries}  # a limited log draws the lines it shows
    rows = [(e.commit_id, [p for p in e.commit.parents if p in known]) for e in entries]
    for text, number in draw(rows):
        typer.echo(text if number is None else f"{text} {_oneline(entries[number].commit)}")


def show(
    rev: str | None = typer.Argument(None, help="Revision (default HEAD)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a commit's header and its entries."""
    from qvc.ops import log as log_op

    result = log_op.show(repo_here(), rev)
    c, m, parents = result.commit, result.manifest, result.parent_top_hashes
    if as_json:
        emit_json({**commit_json(result.commit_id, c, parents[0] if c.parent else None),
                   "parents": list(parents), "header": m.header, "user_meta": m.user_meta,
                   "entries": entries_json(m)})
        return
    typer.echo(f"commit {c.top_hash}")
    if parents:
        typer.echo(_parents_line(parents))
    typer.echo(f"Author: {c.author}\nDate:   {_iso(c.time_ns)}")
    typer.echo(f"\n    {c.message}\n")
    if "user_meta" in m.header:
        typer.echo(f"Package metadata: {meta_text(m.header['user_meta'])}")
    for e in m.walk():
        meta = f"  {meta_text(e.user_meta)}" if e.meta.get("user_meta") not in (None, {}) else ""
        typer.echo(f"{e.size:>12}  {path_text(e.logical_key)}{meta}")


def ls_(
    rev: str | None = typer.Argument(None, help="Revision (default HEAD)."),
    long: bool = typer.Option(False, "--long", "-l", help="Show size and hash too."),
    as_json: bool = JSON_OPTION,
    remote: bool = typer.Option(False, "--remote",
                                help="List a version of the default remote (REV: a top hash, "
                                "default its latest), reading its manifest only."),
) -> None:
    """List the logical keys of a commit."""
    from qvc.ops import log as log_op

    if remote:
        m = log_op.remote_manifest(repo_here(), rev)
    else:
        m = log_op.show(repo_here(), rev).manifest
    if as_json:
        emit_json(entries_json(m))
        return
    for e in m.walk():
        key = path_text(e.logical_key)
        typer.echo(f"{e.size:>12}  {entry_hash(e.hash)}  {key}" if long else key)


def _iso(time_ns: int) -> str:
    return datetime.datetime.fromtimestamp(time_ns / 1e9, datetime.timezone.utc).isoformat()


def commit_json(commit_id: str, commit: Commit, parent_top: str | None) -> dict[str, Any]:
    return {"top_hash": commit.top_hash, "commit": commit_id, "parent": parent_top,
            "message": commit.message, "time": _iso(commit.time_ns), "author": commit.author,
            "inferred_parent": bool(commit.extra.get("inferred_parent")),
            **({"extra": commit.extra} if commit.extra else {})}


def entries_json(manifest: Manifest) -> list[dict[str, Any]]:
    return [{"logical_key": e.logical_key, "size": e.size, "hash": e.hash.as_dict(),
             "meta": e.meta, "physical_key": e.physical_key} for e in manifest.walk()]
