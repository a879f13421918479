"""Commands for moving through history: checkout, diff, tag, verify, gc."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from qvc.cli.app import app, emit_json, repo_here, short
from qvc.errors import IntegrityError, UsageError
from qvc.ops import gc as gc_op
from qvc.sysio.progress import CountProgress

if TYPE_CHECKING:
    from qvc.ops import diff as diff_op
    from qvc.ops import verify as verify_op
    from qvc.quilt.manifest import Entry


@contextmanager
def _bar(desc: str, unit: str) -> Iterator[CountProgress | None]:
    """A progress callback ``(done, total)`` drawing a bar on stderr, on a terminal only."""
    if not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(desc=desc, unit=unit, unit_scale=True, unit_divisor=1024 if unit == "B" else 1000,
              leave=False, file=sys.stderr) as bar:
        def update(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        yield update


@app.command()
def checkout(
    rev: str = typer.Argument(..., help="Commit to check out (top hash, tag, HEAD~N, latest)."),
    paths: list[str] | None = typer.Argument(None, help="Only restore these paths (after --)."),
    force: bool = typer.Option(False, "--force", "-f",
                               help="Discard uncommitted changes in the way."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Bring the work tree (or PATHs) to a commit; refuses to overwrite uncommitted work."""
    from qvc.ops import checkout as checkout_op

    with _bar("checkout", "file") as progress:
        result = checkout_op.checkout(repo_here(), rev, paths or None, cwd=Path.cwd(),
                                      force=force, progress=progress)
    if as_json:
        emit_json({"top_hash": result.top_hash, "commit": result.commit_id,
                   "paths_only": result.paths_only, "written": result.written,
                   "removed": result.removed, "unchanged": result.unchanged})
        return
    what = "Restored paths from" if result.paths_only else "HEAD is now at"
    typer.echo(f"{what} {short(result.top_hash)}: {len(result.written)} written, "
               f"{len(result.removed)} removed, {result.unchanged} unchanged")


def _version(entry: Entry) -> dict[str, Any]:
    return {"size": entry.size, "hash": entry.hash.as_dict()}


def _diff_json(r: diff_op.DiffResult) -> dict[str, Any]:
    old, new, c = r.old.entries, r.new.entries, r.changes
    return {
        "from": r.old_top, "to": r.new_top,
        "added": [{"logical_key": k, **_version(new[k])} for k in c.added],
        "removed": [{"logical_key": k, **_version(old[k])} for k in c.removed],
        "modified": [{"logical_key": k, "old": _version(old[k]), "new": _version(new[k])}
                     for k in c.modified],
        "meta_changed": [{"logical_key": k, "old": old[k].meta, "new": new[k].meta}
                         for k in c.meta_changed],
        "renamed": [{"from": a, "to": b, **_version(new[b])} for a, b in c.renamed],
        "header_changed": c.header_changed,
    }


@app.command()
def diff(
    revs: list[str] | None = typer.Argument(None, help="No REV: HEAD vs work tree; one: REV vs "
                                            "work tree; two: first vs second."),
    stat: bool = typer.Option(False, "--stat", help="Only a summary per file and totals."),
    text: bool = typer.Option(False, "--text", help="Unified diffs of small text files."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show added, removed, modified, renamed files and metadata changes."""
    from qvc.ops import diff as diff_op

    if revs and len(revs) > 2:
        raise UsageError("diff takes at most two revisions", "qvc diff [REV [REV]]")
    repo = repo_here()
    result = diff_op.diff_revs(repo, revs or [])
    if as_json:
        emit_json(_diff_json(result))
        return
    rows = _diff_rows(result)
    for label, key, detail, pair in rows:
        typer.echo(f"{label:<9} {key}{'  ' + detail if detail else ''}")
        if text and not stat:
            lines = diff_op.text_diff(repo, result, *pair)
            if lines:
                typer.echo("".join(lines).rstrip("\n"))
    if result.changes.header_changed:
        typer.echo("package metadata changed")
    if stat or not rows:
        typer.echo(f"{len(rows)} file(s) changed" if rows else "no differences")


def _diff_rows(r: diff_op.DiffResult) -> list[tuple[str, str, str, tuple[str | None, str | None]]]:
    """(label, key, detail, (old key, new key)) for each change, for the text output."""
    old, new, c = r.old.entries, r.new.entries, r.changes
    rows: list[tuple[str, str, str, tuple[str | None, str | None]]] = []
    rows += [("added", k, f"{new[k].size} bytes", (None, k)) for k in c.added]
    rows += [("removed", k, f"{old[k].size} bytes", (k, None)) for k in c.removed]
    rows += [("modified", k, f"{old[k].size} -> {new[k].size} bytes, "
              f"{old[k].hash.hex[:12]} -> {new[k].hash.hex[:12]}", (k, k)) for k in c.modified]
    rows += [("meta", k, f"{old[k].meta} -> {new[k].meta}", (k, k)) for k in c.meta_changed]
    rows += [("renamed", f"{a} -> {b}", "", (a, b)) for a, b in c.renamed]
    return rows


@app.command()
def tag(
    name: str | None = typer.Argument(None, help="Tag name."),
    rev: str | None = typer.Argument(None, help="Commit to tag (default HEAD)."),
    list_: bool = typer.Option(False, "--list", "-l", help="List tags."),
    delete: bool = typer.Option(False, "--delete", "-d", help="Delete the tag NAME."),
    force: bool = typer.Option(False, "--force", "-f", help="Move an existing tag."),
    as_json: bool = typer.Option(False, "--json"),
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


@app.command()
def verify(
    rev: str | None = typer.Argument(None, help="Only this commit (default: all reachable)."),
    everything: bool = typer.Option(False, "--all", help="Every commit and manifest stored here."),
    remote: bool = typer.Option(False, "--remote", help="Check the remote's copies instead "
                                "(existence, size, S3 checksum; nothing is downloaded)."),
    do_repair: bool = typer.Option(False, "--repair", help="Fetch intact copies of damaged "
                                   "objects from the remote."),
    registry: str | None = typer.Option(None, "--registry", help="Remote name or URL for "
                                        "--remote and --repair (default: the default remote)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Re-hash manifests and objects; report what is missing or corrupt (exit 8)."""
    from qvc.ops import verify as verify_op

    repo = repo_here()
    with _bar("verify", "B") as progress:
        if remote:
            result = verify_op.verify_remote(repo, rev, registry, progress)
        else:
            result = verify_op.verify(repo, rev, everything=everything, progress=progress)
    repaired = 0
    if do_repair and not remote and not result.ok:
        repaired = verify_op.repair_all(repo, result, registry)
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
            typer.echo(f"{result.not_downloaded} object(s) of older registry versions are not "
                       "downloaded yet (checkout fetches them when needed)")
    if not result.ok:
        hint = ("push the versions again from a work tree whose objects verify" if remote else
                "'qvc verify --repair' fetches intact copies from a remote that has them")
        raise IntegrityError(f"{len(result.problems)} problem(s) found", hint)


def _print_problems(problems: list[verify_op.Problem]) -> None:
    for p in problems:
        typer.echo(f"{p.kind}: {p.detail}")
        for top, key in p.entries:
            typer.echo(f"    {key}  (version {short(top)})")


def _problem_json(p: verify_op.Problem) -> dict[str, Any]:
    return {"kind": p.kind, "detail": p.detail, "size": p.size,
            "hash": p.hash.as_dict() if p.hash else None,
            "entries": [{"top_hash": top, "logical_key": key} for top, key in p.entries]}


@app.command()
def gc(
    dry_run: bool = typer.Option(False, "--dry-run", "-n", help="Only report what would go."),
    grace: float | None = typer.Option(None, "--grace", min=0, help="Keep unreferenced files "
                                       "younger than SECONDS (default 3600; remote: 86400)."),
    reflog_expire: float = typer.Option(gc_op.DEFAULT_REFLOG_EXPIRE, "--reflog-expire", min=0,
                                        help="Reflog entries older than SECONDS stop keeping "
                                        "commits alive."),
    remote: bool = typer.Option(False, "--remote", help="Abort unfinished multipart uploads "
                                "on the remote instead."),
    registry: str | None = typer.Option(None, "--registry", help="Remote name or URL for "
                                        "--remote (default: the default remote)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Delete local objects no commit, tag, pointer, reflog entry or index row uses."""
    if remote:
        _gc_remote(registry, gc_op.DEFAULT_REMOTE_GRACE if grace is None else grace, dry_run,
                   as_json)
        return
    result = gc_op.gc(repo_here(), dry_run=dry_run,
                      grace=gc_op.DEFAULT_GRACE if grace is None else grace,
                      reflog_expire=reflog_expire)
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
