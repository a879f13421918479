"""qvc diff: what changed between two commits, or a commit and the work tree."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from qvc.cli.app import repo_here
from qvc.cli.render import emit_json, path_text
from qvc.errors import UsageError

if TYPE_CHECKING:
    from qvc.ops import diff as diff_op
    from qvc.quilt.manifest import Entry


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
        typer.echo(f"{label:<9} {path_text(key)}{'  ' + detail if detail else ''}")
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
