"""qvc gc: delete what nothing uses, here or (unfinished uploads) on a remote."""

from __future__ import annotations

import typer

from qvc.cli.app import repo_here
from qvc.cli.render import emit_json


def gc(
    dry_run: bool = typer.Option(False, "--dry-run", "-n", help="Only report what would go."),
    grace: float | None = typer.Option(None, "--grace", min=0, help="Keep unreferenced files "
                                       "younger than SECONDS (default 3600; remote: 86400)."),
    reflog_expire: float | None = typer.Option(None, "--reflog-expire", min=0,
                                               help="Reflog entries older than SECONDS stop "
                                               "keeping commits alive (default 7776000: 90 "
                                               "days)."),
    remote: bool = typer.Option(False, "--remote", help="Abort unfinished multipart uploads "
                                "on the remote instead."),
    registry: str | None = typer.Option(None, "--registry", help="Remote name or URL for "
                                        "--remote (default: the default remote)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Delete local objects no commit, tag, pointer, reflog entry or index row uses."""
    from qvc.ops import gc as gc_op  # not at start-up: it loads the repository core

    if remote:
        _gc_remote(registry, gc_op.DEFAULT_REMOTE_GRACE if grace is None else grace, dry_run,
                   as_json)
        return
    result = gc_op.gc(repo_here(), dry_run=dry_run,
                      grace=gc_op.DEFAULT_GRACE if grace is None else grace,
                      reflog_expire=gc_op.DEFAULT_REFLOG_EXPIRE if reflog_expire is None
                      else reflog_expire)
    if as_json:
        emit_json({"dry_run": result.dry_run, "objects_removed": result.objects_removed,
                   "temp_removed": result.temp_removed, "bytes_freed": result.bytes_freed,
                   "objects_kept": result.objects_kept, "kept_young": result.kept_young,
                   "removed": result.removed})
        return
    verb = "Would free" if dry_run else "Freed"
    typer.echo(f"{verb} {result.bytes_freed} bytes: {result.objects_removed} object(s), "
               f"{result.temp_removed} temp file(s); kept {result.objects_kept} object(s)"
               + (f", {result.kept_young} recent file(s)" if result.kept_young else ""))


def _gc_remote(registry: str | None, grace: float, dry_run: bool, as_json: bool) -> None:
    from qvc.ops import gc as gc_op

    result = gc_op.gc_remote(repo_here(), registry, grace=grace, dry_run=dry_run)
    if as_json:
        emit_json({"remote": result.remote, "dry_run": result.dry_run,
                   "aborted": result.aborted, "kept_young": result.kept_young})
        return
    for key in result.aborted:
        typer.echo(f"{'would abort' if dry_run else 'aborted'} upload of {key}")
    typer.echo(f"{len(result.aborted)} unfinished upload(s) "
               f"{'to abort' if dry_run else 'aborted'} on {result.remote}; "
               f"{result.kept_young} recent one(s) kept")
