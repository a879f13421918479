"""qvc clone: copy a package from a registry into a new work tree."""

from __future__ import annotations

from pathlib import Path

import typer

from qvc.cli.render import JSON_OPTION, TransferBar, emit_json, short, size


def clone(
    registry: str = typer.Argument(..., help="Registry: s3://bucket or a folder."),
    name: str = typer.Argument(..., help="Package name namespace/name."),
    folder: Path | None = typer.Argument(None, help="Folder to create (default: the name part)."),
    rev: str | None = typer.Option(None, "--rev", help="Version to check out (top hash)."),
    as_json: bool = JSON_OPTION,
    path: list[str] | None = typer.Option(
        None, "--path", help="Only this key or folder (repeatable): a sparse work tree."),
) -> None:
    """Copy a package from a registry into a new work tree (remote 'origin')."""
    from qvc.ops import clone as clone_op

    with TransferBar("clone") as bar:
        result = clone_op.clone(registry, name, folder, rev=rev, progress=bar, paths=path)
    if as_json:
        emit_json({"root": str(result.root), "package": result.package, "remote": result.remote,
                   "top_hash": result.top_hash, "files": result.files,
                   "downloaded": result.objects, "bytes": result.bytes,
                   "sparse": list(result.sparse) if result.sparse is not None else None})
        return
    only = f", sparse: {' '.join(result.sparse)}" if result.sparse is not None else ""
    typer.echo(f"Cloned {result.package} {short(result.top_hash)} into {result.root} "
               f"({result.files} files, {size(result.bytes)} downloaded{only})")
