"""qvc fetch: download a remote's versions, leaving the work tree alone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from qvc.cli.app import repo_here
from qvc.cli.render import JSON_OPTION, TransferBar, emit_json, short

if TYPE_CHECKING:
    from qvc.ops import fetch as fetch_op


def fetch(
    remote: str | None = typer.Argument(None, help="Remote name or registry URL."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Download the remote's versions (manifests, and the data of its latest); the work tree
    is left alone."""
    from qvc.ops import fetch as fetch_op
    from qvc.remote import target

    repo = repo_here()
    with TransferBar("fetch") as bar:
        result = fetch_op.fetch(repo, target.resolve(repo, remote), progress=bar)
    if as_json:
        emit_json(fetch_json(result))
        return
    typer.echo(f"Fetched {len(result.new_versions)} new version(s) of {result.package} from "
               f"{result.remote}; latest is {short(result.latest)}")
    notes(result)


def notes(result: fetch_op.FetchResult) -> None:
    """A rewritten remote history (refused records and skipped versions were logged as
    warnings when read)."""
    if result.rewritten is not None:
        typer.echo(f"{result.remote} was rewritten (a forced push?): {result.rewritten} local "
                   "commit(s) are not in it")


def fetch_json(result: fetch_op.FetchResult) -> dict[str, Any]:
    return {"remote": result.remote, "package": result.package, "latest": result.latest,
            "new_versions": result.new_versions, "downloaded": result.objects,
            "bytes": result.bytes, "rewritten": result.rewritten,
            "refused": [{"commit": r.commit_id, "reason": r.reason} for r in result.refused],
            "skipped": [{"top_hash": top, "reason": why} for top, why in result.skipped.items()]}
