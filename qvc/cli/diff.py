"""qvc diff: what changed between two commits, or a commit and the work tree."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from qvc.cli.app import repo_here
from qvc.cli.render import JSON_OPTION, emit_json, entry_hash, meta_text, path_text
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
        **({"user_meta": {"old": r.old.user_meta, "new": r.new.user_meta}}
           if c.header_changed else {}),
    }


def diff(
    revs: list[str] | None = typer.Argument(None, help="No REV: HEAD vs work tree; one: REV vs "
                                            "work tree; two: first vs second."),
    stat: bool = typer.Option(False, "--stat", help="Only a summary per file and totals."),
    text: bool = typer.Option(False, "--text", help="Unified diffs of small text files."),
    as_json: bool = JSON_OPTION,
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
        typer.echo(_header_line(result))
    if stat or not rows:
        typer.echo(f"{len(rows)} file(s) changed" if rows else "no differences")


def _header_line(r: diff_op.DiffResult) -> str:
    """The package metadata before and after; the rest of the header if that is what changed."""
    old, new = r.old.user_meta, r.new.user_meta
    if old == new:
        old, new = ({k: v for k, v in m.header.items() if k != "message"} for m in (r.old, r.new))
        return f"package header: {meta_text(old)} -> {meta_text(new)}"
    return f"package metadata: {meta_text(old)} -> {meta_text(new)}"


def _diff_rows(r: diff_op.DiffResult) -> list[tuple[str, str, str, tuple[str | None, str | None]]]:
    """(label, key, detail, (old key, new key)) for each change, for the text output."""
    old, new, c = r.old.entries, r.new.entries, r.changes
    rows: list[tuple[str, str, str, tuple[str | None, str | None]]] = []
    rows += [("added", k, f"{new[k].size} bytes", (None, k)) for k in c.added]
    rows += [("removed", k, f"{old[k].size} bytes", (k, None)) for k in c.removed]
    rows += [("modified", k, f"{old[k].size} -> {new[k].size} bytes, "
              f"{entry_hash(old[k].hash)} -> {entry_hash(new[k].hash)}", (k, k))
             for k in c.modified]
    rows += [("meta", k, f"{meta_text(old[k].meta)} -> {meta_text(new[k].meta)}", (k, k))
             for k in c.meta_changed]
    rows += [("renamed", f"{a} -> {b}", "", (a, b)) for a, b in c.renamed]
    return rows
