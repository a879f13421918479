"""qvc pull: fetch, then fast-forward HEAD and the work tree."""

from __future__ import annotations

import typer

from qvc.cli.app import repo_here
from qvc.cli.fetch import fetch_json, notes
from qvc.cli.merge import describe
from qvc.cli.render import JSON_OPTION, TransferBar, emit_json, short


def pull(
    remote: str | None = typer.Argument(None, help="Remote name or registry URL."),
    ff_only: bool = typer.Option(False, "--ff-only",
                                 help="Refuse diverged history instead of merging it."),
    force: bool = typer.Option(False, "--force", "-f",
                               help="Overwrite uncommitted changes and untracked or ignored "
                                    "files in the way."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Fetch, then fast-forward HEAD and the work tree to the remote's latest, or merge it
    when the histories have diverged."""
    from qvc.ops import pull as pull_op
    from qvc.remote import target

    repo = repo_here()
    with TransferBar("pull") as bar:
        result = pull_op.pull(repo, target.resolve(repo, remote), ff_only=ff_only,
                              force=force, progress=bar)
    if as_json:
        emit_json({**fetch_json(result.fetch), "old_head": result.old_head,
                   "head": result.new_head, "updated": result.updated,
                   "removed": result.removed,
                   "merged": result.merge.commit_id if result.merge else None})
        return
    if result.merge is not None:
        typer.echo(describe(result.merge))
        return
    notes(result.fetch)
    if not result.changed:
        typer.echo(f"Already up to date ({short(result.new_head)})")
        return
    typer.echo(f"Fast-forward {short(result.old_head)}..{short(result.new_head)}: "
               f"{len(result.updated)} file(s) updated, {len(result.removed)} removed")
