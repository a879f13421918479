"""qvc push: publish every commit the registry lacks and move its latest."""

from __future__ import annotations

import typer

from qvc.cli.app import repo_here
from qvc.cli.render import JSON_OPTION, TransferBar, emit_json, short, size


def push(
    remote: str | None = typer.Argument(None, help="Remote name or registry URL."),
    dest: str | None = typer.Option(None, "--dest", help="Data prefix in the registry's bucket."),
    force: bool = typer.Option(False, "--force",
                               help="Replace the remote latest even if it is not in your history "
                               "(or the remote ignores conditional writes)."),
    no_copy: bool = typer.Option(False, "--no-copy",
                                 help="Write manifests and pointers only; keep physical keys."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Push every commit the registry lacks, then move its latest to HEAD."""
    from qvc.ops import push as push_op
    from qvc.remote import target

    repo = repo_here()
    where = target.resolve(repo, remote, dest=dest)
    with TransferBar("push") as bar:
        result = push_op.push(repo, where, force=force, copy=not no_copy, progress=bar)
    if as_json:
        emit_json({"top_hash": result.top_hash, "uploaded": result.uploaded,
                   "skipped": result.skipped, "bytes": result.bytes_uploaded,
                   "copied": result.copied, "bytes_copied": result.bytes_copied,
                   "streamed": result.streamed, "bytes_client": result.bytes_client,
                   "remote": result.remote, "package": result.package,
                   "versions_written": result.versions_written})
        return
    if not result.versions_written and not result.moved_latest:
        typer.echo(f"Everything up-to-date ({result.package} {short(result.top_hash)} "
                   f"in {result.remote})")
        return
    typer.echo(f"Pushed {result.package} {short(result.top_hash)} to {result.remote}: "
               f"{len(result.versions_written)} version(s), {result.uploaded} object(s) "
               f"uploaded ({size(result.bytes_uploaded)}), {result.copied} copied server-side "
               f"({size(result.bytes_copied)}), {result.skipped} already there; "
               f"{size(result.bytes_client)} through this machine")
    if result.streamed:
        typer.echo(f"{result.streamed} object(s) in S3 went through this machine: their bucket "
                   "is reached with other credentials or another endpoint")
