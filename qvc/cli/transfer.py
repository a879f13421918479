"""Commands that talk to registries: push, clone, fetch, pull, delete."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import typer

from qvc.cli.app import app, emit_json, repo_here, short

if TYPE_CHECKING:
    from qvc.ops import clone as clone_op


class Bar:
    """A tqdm bar of bytes (objects in the postfix) on a terminal's stderr; silent when piped."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._bar: Any = None
        self._lock = threading.Lock()
        self._objects = [0, 0]

    def __enter__(self) -> Bar:
        if sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=0, unit="B", unit_scale=True, unit_divisor=1024,
                             desc=self.what, file=sys.stderr, leave=False)
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.close()

    def start(self, objects: int, nbytes: int) -> None:
        with self._lock:
            self._objects[1] += objects
            if self._bar is not None:
                self._bar.total += nbytes
                self._show()

    def advance(self, nbytes: int) -> None:
        if self._bar is not None:
            with self._lock:
                self._bar.update(nbytes)

    def object_done(self) -> None:
        with self._lock:
            self._objects[0] += 1
            if self._bar is not None:
                self._show()

    def _show(self) -> None:
        self._bar.set_postfix_str(f"{self._objects[0]}/{self._objects[1]} objects", refresh=False)


def size(nbytes: int) -> str:
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{nbytes} B"


@app.command()
def push(
    remote: str | None = typer.Argument(None, help="Remote name or registry URL."),
    dest: str | None = typer.Option(None, "--dest", help="Data prefix in the registry's bucket."),
    force: bool = typer.Option(False, "--force",
                               help="Replace the remote latest even if it is not in your history "
                               "(or the remote ignores conditional writes)."),
    no_copy: bool = typer.Option(False, "--no-copy",
                                 help="Write manifests and pointers only; keep physical keys."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Push every commit the registry lacks, then move its latest to HEAD."""
    from qvc.ops import push as push_op
    from qvc.remote import target

    repo = repo_here()
    where = target.resolve(repo, remote, dest=dest)
    with Bar("push") as bar:
        result = push_op.push(repo, where, force=force, copy=not no_copy, progress=bar)
    if as_json:
        emit_json({"top_hash": result.top_hash, "uploaded": result.uploaded,
                   "skipped": result.skipped, "bytes": result.bytes_uploaded,
                   "remote": result.remote, "package": result.package,
                   "versions_written": result.versions_written})
        return
    if not result.versions_written and not result.moved_latest:
        typer.echo(f"Everything up-to-date ({result.package} {short(result.top_hash)} "
                   f"in {result.remote})")
        return
    typer.echo(f"Pushed {result.package} {short(result.top_hash)} to {result.remote}: "
               f"{len(result.versions_written)} version(s), {result.uploaded} object(s) "
               f"uploaded ({size(result.bytes_uploaded)}), {result.skipped} already there")


@app.command()
def clone(
    registry: str = typer.Argument(..., help="Registry: s3://bucket or a folder."),
    name: str = typer.Argument(..., help="Package name namespace/name."),
    folder: Path | None = typer.Argument(None, help="Folder to create (default: the name part)."),
    rev: str | None = typer.Option(None, "--rev", help="Version to check out (top hash)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Copy a package from a registry into a new work tree (remote 'origin')."""
    from qvc.ops import clone as clone_op

    with Bar("clone") as bar:
        result = clone_op.clone(registry, name, folder, rev=rev, progress=bar)
    if as_json:
        emit_json({"root": str(result.root), "package": result.package, "remote": result.remote,
                   "top_hash": result.top_hash, "files": result.files,
                   "downloaded": result.objects, "bytes": result.bytes})
        return
    typer.echo(f"Cloned {result.package} {short(result.top_hash)} into {result.root} "
               f"({result.files} files, {size(result.bytes)} downloaded)")


@app.command()
def fetch(
    remote: str | None = typer.Argument(None, help="Remote name or registry URL."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Download the remote's versions (manifests, and the data of its latest); the work tree
    is left alone."""
    from qvc.ops import clone as clone_op
    from qvc.remote import target

    repo = repo_here()
    with Bar("fetch") as bar:
        result = clone_op.fetch(repo, target.resolve(repo, remote), progress=bar)
    if as_json:
        emit_json(_fetch_json(result))
        return
    typer.echo(f"Fetched {len(result.new_versions)} new version(s) of {result.package} from "
               f"{result.remote}; latest is {short(result.latest)}")


def _fetch_json(result: clone_op.FetchResult) -> dict[str, Any]:
    return {"remote": result.remote, "package": result.package, "latest": result.latest,
            "new_versions": result.new_versions, "downloaded": result.objects,
            "bytes": result.bytes}


@app.command()
def pull(
    remote: str | None = typer.Argument(None, help="Remote name or registry URL."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Fetch, then fast-forward HEAD and the work tree to the remote's latest."""
    from qvc.ops import clone as clone_op
    from qvc.remote import target

    repo = repo_here()
    with Bar("pull") as bar:
        result = clone_op.pull(repo, target.resolve(repo, remote), progress=bar)
    if as_json:
        emit_json({**_fetch_json(result.fetch), "old_head": result.old_head,
                   "head": result.new_head, "updated": result.updated,
                   "removed": result.removed})
        return
    if not result.changed:
        typer.echo(f"Already up to date ({short(result.new_head)})")
        return
    typer.echo(f"Fast-forward {short(result.old_head)}..{short(result.new_head)}: "
               f"{len(result.updated)} file(s) updated, {len(result.removed)} removed")


@app.command()
def delete(
    name: str = typer.Argument(..., help="Package name namespace/name."),
    registry: str | None = typer.Option(None, "--registry", help="Remote name or registry URL."),
    rev: str | None = typer.Option(None, "--rev", help="Delete only this version (top hash)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
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
