"""The command line: the only place that imports typer, prints, or exits.

Each command parses its arguments, calls one operation, and renders the result. The table
below registers every command, in the order ``qvc --help`` lists them, from the module named
after it; a command imports its operation when it runs, so loading the table stays cheap.
Errors are caught in exactly one place, :func:`main`, which maps them to exit codes.
"""

from __future__ import annotations

import errno
import logging
import os
import sys

import typer

from qvc.cli import (
    add,
    checkout,
    clone,
    commit,
    config,
    delete,
    demo,
    diff,
    fetch,
    gc,
    hooks,
    init,
    log,
    merge,
    pull,
    push,
    reflog,
    remote,
    reset,
    restore,
    status,
    tag,
    verify,
)
from qvc.cli.app import app
from qvc.errors import QvcError

app.command("init")(init.init)
app.command("add")(add.add)
app.command("rm")(add.rm)
app.command("status")(status.status)
app.command("commit")(commit.commit)
app.command("log")(log.log)
app.command("show")(log.show)
app.command("ls")(log.ls_)
app.command("demo")(demo.demo)
app.command("config")(config.config)
app.command("checkout")(checkout.checkout)
app.command("reset")(reset.reset)
app.command("restore")(restore.restore)
app.command("reflog")(reflog.reflog)
app.command("diff")(diff.diff)
app.command("tag")(tag.tag)
app.command("verify")(verify.verify)
app.command("gc")(gc.gc)
app.command("install-hooks")(hooks.install_hooks)
app.command("uninstall-hooks")(hooks.uninstall_hooks)
app.command("hook", hidden=True)(hooks.hook)
app.command("push")(push.push)
app.command("clone")(clone.clone)
app.command("fetch")(fetch.fetch)
app.command("pull")(pull.pull)
app.command("merge")(merge.merge)
app.command("delete")(delete.delete)
app.add_typer(remote.group, name="remote")
remote.group.command("add")(remote.add)
remote.group.command("list")(remote.list_)
remote.group.command("remove")(remote.remove)
remote.group.command("default")(remote.default)

if hasattr(typer, "TyperException"):  # typer vendors its own click; errors derive from these
    _CLICK_ERRORS: tuple[type[Exception], ...] = (typer.TyperException,)
    _EXITS: tuple[type[Exception], ...] = (typer.Exit,)
    _ABORTS: tuple[type[BaseException], ...] = (KeyboardInterrupt, typer.Abort)
else:  # pragma: no cover - older typer on top of the click package
    import click

    _CLICK_ERRORS = (click.ClickException,)
    _EXITS = (click.exceptions.Exit,)
    _ABORTS = (KeyboardInterrupt, click.exceptions.Abort)


class _WarningFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def main(argv: list[str] | None = None) -> int:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_WarningFormatter())
    logger = logging.getLogger("qvc")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if os.environ.get("QVC_VERBOSE") else logging.WARNING)
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="qvc", standalone_mode=False)
        return code if isinstance(code, int) else 0  # typer.Exit(n) arrives as a return value
    except QvcError as exc:
        _error(exc.message, exc.hint)
        return exc.exit_code
    except _EXITS as exc:
        return int(getattr(exc, "exit_code", 1))
    except _CLICK_ERRORS as exc:
        exc.show()  # type: ignore[attr-defined]
        return int(getattr(exc, "exit_code", 2))
    except _ABORTS:
        _error("interrupted", "the repository is consistent; run the command again")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug, not the user's mistake
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            # a write not mapped where it happened: a full disk is still exit 9, never a bug
            from qvc.sysio.fileio import os_error

            full = os_error(exc, exc.filename or "a file")
            _error(str(full), getattr(full, "hint", ""))
            return getattr(full, "exit_code", 9)
        if os.environ.get("QVC_DEBUG"):
            raise
        _error(f"internal error: {type(exc).__name__}: {exc}",
               "this is a bug in qvc; run again with QVC_DEBUG=1 for a traceback and report it")
        return 1
    finally:
        logger.removeHandler(handler)


def _error(message: str, hint: str) -> None:
    typer.echo(f"error: {message}", err=True)
    if hint:
        typer.echo(f"hint: {hint}", err=True)


def run() -> None:
    sys.exit(main())
