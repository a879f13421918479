"""Commands that tie a data folder to its git repository: install-hooks, uninstall-hooks,
and the ``hook`` plumbing git runs. The operations import dulwich, so they load lazily:
other commands never pay for it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from qvc.errors import ConflictError, QvcError, UsageError

if TYPE_CHECKING:
    from qvc.git.gitlink import GitLink
    from qvc.ops.hooks import HookReport


HOOK_NAMES = ("pre-commit", "pre-push", "post-checkout", "post-merge", "sync")


def install_hooks(
    pre_commit: bool = typer.Option(False, "--pre-commit",
                                    help="Add qvc's hooks to .pre-commit-config.yaml instead."),
) -> None:
    """Make git check and follow the pinned data (hooks in .git/hooks, chained to any
    hook already there)."""
    from qvc.ops import install_hooks as op

    if pre_commit:
        result = op.add_precommit_config(Path.cwd())
        _linked(result.linked)
        verb = "created" if result.created else "updated" if result.changed else "already has"
        typer.echo(f"{verb} {result.path}" + ("" if result.changed else " qvc's hooks"))
        if result.comments_lost:
            typer.echo("note: the file was rewritten as plain YAML; its comments were lost",
                       err=True)
        typer.echo(f"now run: {result.command}")
        return
    installed = op.install_hooks(Path.cwd())
    _linked(installed.linked)
    for name in installed.installed:
        chained = f" (runs the previous hook first: {name}.pre-qvc)" \
            if name in installed.chained else ""
        typer.echo(f"installed {installed.hooks_dir / name}{chained}")


def _linked(link: GitLink | None) -> None:
    if link is not None:
        written = ", ".join(str(p.relative_to(link.git_root)) for p in link.written)
        typer.echo(f"linked the data folder to git: wrote {written}; commit them")


def uninstall_hooks() -> None:
    """Remove qvc's git hooks and restore the hooks they chained to."""
    from qvc.ops import install_hooks as op

    result = op.uninstall_hooks(Path.cwd())
    for name in result.removed:
        restored = f" (restored the previous {name})" if name in result.restored else ""
        typer.echo(f"removed {result.hooks_dir / name}{restored}")
    for name in result.foreign:
        typer.echo(f"left {result.hooks_dir / name} alone: it is not qvc's", err=True)
    if not result.removed:
        typer.echo("no qvc hooks were installed")


def hook(
    name: str = typer.Argument(..., help="pre-commit, pre-push, post-checkout, post-merge, sync"),
    args: list[str] = typer.Argument(None, help="The arguments git passes to the hook."),
) -> None:
    """Run a git hook: 'qvc hook sync' fetches and checks out the pinned data version; the
    installed hooks call the others."""
    from qvc.ops import hooks

    if name not in HOOK_NAMES:
        raise UsageError(f"unknown hook {name!r}", "hooks: " + ", ".join(HOOK_NAMES))
    args = args or []
    if name == "pre-commit":
        _finish(hooks.pre_commit_check(Path.cwd()), "git commit")
    elif name == "pre-push":
        stdin = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
        _finish(hooks.pre_push_check(Path.cwd(), stdin), "git push")
    elif _branch_checkout(name, args):
        try:  # git cannot undo a checkout or merge: warn, never fail
            report = hooks.sync(Path.cwd())
        except QvcError as exc:
            typer.echo(f"qvc: warning: data not synced: {exc.message}", err=True)
            return
        _show(report, "warning: data not synced")


def _branch_checkout(name: str, args: list[str]) -> bool:
    """False for a post-checkout of files only (flag 0), which leaves HEAD and pins alone."""
    if name not in ("post-checkout", "sync"):
        return True
    flag = args[2] if len(args) >= 3 else os.environ.get("PRE_COMMIT_CHECKOUT_TYPE", "1")
    return flag != "0"


def _finish(report: HookReport, what: str) -> None:
    _show(report, f"{what} refused")
    if not report.ok:
        raise ConflictError(f"{what} refused: the code and its pinned data do not agree",
                            f"fix it as shown above, or skip the check once: {what} --no-verify")


def _show(report: HookReport, title: str) -> None:
    for note in report.notes:
        typer.echo(f"qvc: {note}", err=True)
    if report.ok:
        return
    typer.echo(f"qvc: {title}:", err=True)
    for problem in report.problems:
        typer.echo(f"  {problem.message}", err=True)
        for path in problem.paths:
            typer.echo(f"      {path}", err=True)
        if problem.fix:
            typer.echo(f"    fix: {problem.fix}", err=True)
