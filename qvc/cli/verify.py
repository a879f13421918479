"""qvc verify: re-hash manifests and objects, here or on a remote."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from qvc.cli.app import repo_here
from qvc.cli.render import JSON_OPTION, emit_json, path_text, progress_bar, short
from qvc.errors import IntegrityError, QvcError

if TYPE_CHECKING:
    from qvc.ops import verify as verify_op


def verify(
    rev: str | None = typer.Argument(None, help="Only this commit (default: all reachable)."),
    everything: bool = typer.Option(False, "--all", help="Every commit and manifest stored here."),
    remote: bool = typer.Option(False, "--remote", help="Check the remote's copies instead "
                                "(existence, size, S3 checksum; nothing is downloaded)."),
    do_repair: bool = typer.Option(False, "--repair", help="Fetch intact copies of damaged "
                                   "objects from the remote."),
    registry: str | None = typer.Option(None, "--registry", help="Remote name or URL for "
                                        "--remote and --repair (default: the default remote)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Re-hash manifests and objects; report what is missing or corrupt (exit 8)."""
    from qvc.ops import verify as verify_op

    repo = repo_here()
    with progress_bar("verify", "B") as progress:
        if remote:
            result = verify_op.verify_remote(repo, rev, registry, progress)
        else:
            result = verify_op.verify(repo, rev, everything=everything, progress=progress)
    repaired = 0
    left: QvcError | None = None
    if do_repair and not remote and not result.ok:
        try:
            for _ in range(2):  # a repaired manifest may name objects that need repair in turn
                outcome = verify_op.repair_all(repo, result, registry)
                repaired, left = repaired + outcome.fetched, outcome.unrepaired()
                result = verify_op.verify(repo, rev, everything=everything)
                if result.ok:
                    break
        except QvcError as exc:  # no remote, unreachable: still report what verify found
            left = exc
            result = verify_op.verify(repo, rev, everything=everything)
    if as_json:
        emit_json({"ok": result.ok, "commits": result.commits, "manifests": result.manifests,
                   "objects": result.objects, "bytes": result.bytes, "repaired": repaired,
                   "not_downloaded": result.not_downloaded,
                   "problems": [_problem_json(p) for p in result.problems]})
    else:
        _print_problems(result.problems)
        if repaired:
            typer.echo(f"repaired {repaired} object(s) from the remote")
        typer.echo(f"checked {result.commits} version(s), {result.manifests} manifest(s), "
                   f"{result.objects} object(s), {result.bytes} bytes")
        if result.not_downloaded:
            typer.echo(f"{result.not_downloaded} object(s) of older registry versions or of "
                       "keys outside the sparse selection are not downloaded (checkout and "
                       "'qvc sparse add PATH' fetch them when needed)")
    if result.ok:
        return  # everything damaged was repaired; a version the remote lacked needed nothing
    if left is not None:
        raise left
    hint = ("push the versions again from a work tree whose objects verify" if remote else
            "'qvc verify --repair' fetches intact copies from a remote that has them")
    raise IntegrityError(f"{len(result.problems)} problem(s) found", hint)


def _print_problems(problems: list[verify_op.Problem]) -> None:
    for p in problems:
        typer.echo(f"{p.kind}: {p.detail}")
        for top, key in p.entries:
            typer.echo(f"    {path_text(key)}  (version {short(top)})")


def _problem_json(p: verify_op.Problem) -> dict[str, Any]:
    return {"kind": p.kind, "detail": p.detail, "size": p.size,
            "hash": p.hash.as_dict() if p.hash else None,
            "entries": [{"top_hash": top, "logical_key": key} for top, key in p.entries]}
