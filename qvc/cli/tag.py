"""qvc tag: name a commit, list tags, or delete one."""

from __future__ import annotations

import typer

from qvc.cli.app import repo_here
from qvc.cli.render import JSON_OPTION, emit_json, short
from qvc.errors import UsageError


def tag(
    name: str | None = typer.Argument(None, help="Tag name."),
    rev: str | None = typer.Argument(None, help="Commit to tag (default HEAD)."),
    list_: bool = typer.Option(False, "--list", "-l", help="List tags."),
    delete: bool = typer.Option(False, "--delete", "-d", help="Delete the tag NAME."),
    force: bool = typer.Option(False, "--force", "-f", help="Move an existing tag."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Name a commit (usable wherever a revision is), list tags, or delete one."""
    from qvc.ops import tag as tag_op

    repo = repo_here()
    if list_ or (name is None and not delete):
        tags = tag_op.list_tags(repo)
        if as_json:
            emit_json([{"name": t.name, "commit": t.commit_id, "top_hash": t.top_hash}
                       for t in tags])
        for t in [] if as_json else tags:
            typer.echo(f"{t.name:<20} {short(t.top_hash)}")
        return
    if name is None:
        raise UsageError("tag -d needs the NAME of the tag to delete", "qvc tag -d NAME")
    t = tag_op.delete(repo, name) if delete else tag_op.create(repo, name, rev, force=force)
    if as_json:
        emit_json({"name": t.name, "commit": t.commit_id, "top_hash": t.top_hash,
                   "deleted": delete})
    else:
        typer.echo(f"{'Deleted tag' if delete else 'Tagged'} {t.name} ({short(t.top_hash)})")
