"""qvc gc: delete what nothing uses, here or (unfinished uploads) on a remote."""

from __future__ import annotations

import typer

from qvc.cli.app import repo_here
from qvc.cli.render import JSON_OPTION, emit_json
from qvc.errors import UsageError


def gc(
    dry_run: bool = typer.Option(False, "--dry-run", "-n", help="Only report what would go."),
    grace: str | None = typer.Option(None, "--grace", metavar="DURATION",
                                     help="Keep unreferenced files younger than DURATION: "
                                     "seconds, or a number with s, m, h, d or w (default 1h; "
                                     "remote: 1d)."),
    reflog_expire: str | None = typer.Option(None, "--reflog-expire", metavar="DURATION",
                                             help="Reflog entries older than DURATION stop "
                                             "keeping commits alive (default 90d)."),
    remote: bool = typer.Option(False, "--remote", help="Abort unfinished multipart uploads "
                                "on the remote instead."),
    registry: str | None = typer.Option(None, "--registry", help="Remote name or URL for "
                                        "--remote (default: the default remote)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Delete local objects no commit, tag, pointer, reflog entry or index row uses."""
    from qvc.ops import gc as gc_op  # not at start-up: it loads the repository core

    grace_s = None if grace is None else seconds(grace, "--grace")
    expire_s = None if reflog_expire is None else seconds(reflog_expire, "--reflog-expire")
    if remote:
        _gc_remote(registry, gc_op.DEFAULT_REMOTE_GRACE if grace_s is None else grace_s, dry_run,
                   as_json)
        return
    result = gc_op.gc(repo_here(), dry_run=dry_run,
                      grace=gc_op.DEFAULT_GRACE if grace_s is None else grace_s,
                      reflog_expire=gc_op.DEFAULT_REFLOG_EXPIRE if expire_s is None
                      else expire_s)
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


UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def seconds(duration: str, option: str) -> float:
    """``90d`` (s, m, h, d, w) or plain seconds as a number of seconds, >= 0."""
    text = duration.strip().lower()
    unit = UNITS.get(text[-1:], 0) if text else 0
    try:
        value = float(text[:-1] if unit else text) * (unit or 1)
    except ValueError:
        value = -1.0
    if not (0 <= value < float("inf")):  # also refuses nan
        raise UsageError(f"{option} {duration!r} is not a duration",
                         "give seconds or a number with s, m, h, d or w, e.g. "
                         "'qvc gc --dry-run --grace 2h --reflog-expire 90d'")
    return value


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
