"""qvc demo: the main job on sample data."""

from __future__ import annotations

from pathlib import Path

import typer


def demo(
    folder: Path | None = typer.Argument(
        None, help="An empty folder to work in (default: a new temp folder)."),
) -> None:
    """Show the main job on sample data: track, commit, push to a folder registry, clone back."""
    import tempfile

    from qvc.ops import demo as demo_op

    target = folder or Path(tempfile.mkdtemp(prefix="qvc-demo-"))
    result = demo_op.demo(target.resolve())
    for number, (what, outcome) in enumerate(result.steps, start=1):
        typer.echo(f"{number}. {what}\n   -> {outcome}")
    typer.echo(f"\nAll checks passed. Explore it: cd {result.folder / 'dataset'} && qvc log")
