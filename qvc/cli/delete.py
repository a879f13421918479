"""qvc delete: remove a package (or one version) from a registry."""

from __future__ import annotations

from pathlib import Path

import typer

from qvc.cli.render import JSON_OPTION, emit_json, short


def delete(
    name: str = typer.Argument(..., help="Package name namespace/name."),
    registry: str | None = typer.Option(None, "--registry", help="Remote name or registry URL."),
    rev: str | None = typer.Option(None, "--rev", help="Delete only this version (top hash)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Delete a package (or one version) from a registry: pointers only, never data."""
    from qvc.core.repo import Repo, find_root
    from qvc.ops import delete as delete_op
    from qvc.remote import target

    root = find_root(Path.cwd())
    result = delete_op.delete(target.resolve(Repo(root) if root else None, registry).registry,
                              name, rev)
    if as_json:
        emit_json({"package": result.package, "registry": result.registry,
                   "top_hash": result.top_hash, "pointers": result.pointers,
                   "latest": result.latest})
        return
    what = f"version {short(result.top_hash)} of {name}" if result.top_hash else name
    typer.echo(f"Deleted {what} from {result.registry} ({len(result.pointers)} pointer(s))")
    if result.top_hash and result.latest:
        typer.echo(f"latest is now {short(result.latest)}")
