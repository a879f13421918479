"""The command line: the only place that imports typer, prints, or exits.

Each command parses its arguments, calls one operation, and renders the result. The table
below registers every command, in the order ``qvc --help`` lists them, from the module named
after it; a command imports its operation when it runs, so loading the table stays cheap.
Errors are caught in exactly one place, :func:`main`, which maps them to exit codes.
"""

from __future__ import annotations

import copy
import errno
import gc as collector  # the name gc is the command's module, below
import logging
import os
import shlex
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
    sparse,
    status,
    tag,
    verify,
)
from qvc.cli.app import app
from qvc.cli.render import json_printed
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
app.command("hook")(hooks.hook)
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
app.add_typer(sparse.group, name="sparse")
sparse.group.command("set")(sparse.set_)
sparse.group.command("add")(sparse.add)
sparse.group.command("list")(sparse.list_)
sparse.group.command("disable")(sparse.disable)

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
    command = typer.main.get_command(_table_for(sys.argv[1:] if argv is None else argv))
    as_json = _wants_json(sys.argv[1:] if argv is None else argv)
    json_printed(reset=True)
    try:
        code = command.main(args=argv, prog_name="qvc", standalone_mode=False)
        if code == 130:  # typer turns Ctrl-C into a silent typer.Exit(130)
            raise KeyboardInterrupt
        return code if isinstance(code, int) else 0  # typer.Exit(n) arrives as a return value
    except QvcError as exc:
        return _error(exc.message, exc.hint, exc.exit_code, as_json)
    except _EXITS as exc:
        return int(getattr(exc, "exit_code", 1))
    except _CLICK_ERRORS as exc:
        exc.show()  # type: ignore[attr-defined]
        code = int(getattr(exc, "exit_code", 2))
        if as_json:
            ctx = getattr(exc, "ctx", None)
            _json_error(exc.format_message(),  # type: ignore[attr-defined]
                        f"see '{ctx.command_path if ctx else 'qvc'} --help'", code)
        return code
    except _ABORTS:
        return _error("interrupted", _interrupted_hint(sys.argv[1:] if argv is None else argv),
                      130, as_json)
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug, not the user's mistake
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            # a write not mapped where it happened: a full disk is still exit 9, never a bug
            from qvc.sysio.fileio import os_error

            full = os_error(exc, exc.filename or "a file")
            if isinstance(full, QvcError):
                return _error(full.message, full.hint, full.exit_code, as_json)
        if os.environ.get("QVC_DEBUG"):
            raise
        return _error(f"internal error: {type(exc).__name__}: {exc}", "this is a bug in qvc; "
                      "run again with QVC_DEBUG=1 for a traceback and report it", 1, as_json)
    finally:
        logger.removeHandler(handler)


def _table_for(args: list[str]) -> typer.Typer:
    """The command table to build for ``args``: typer builds each command's options from its
    function's signature, about 20 ms for the whole table, so a command named first is built
    alone (same usage, help and errors); anything else (root help, a group, a mistyped name)
    gets the whole table."""
    info = next((c for c in app.registered_commands if args and c.name == args[0]), None)
    if info is None:
        return app
    alone = copy.copy(app)  # the same settings and root callback (--version)
    alone.registered_commands, alone.registered_groups = [info], []
    return alone


def _wants_json(argv: list[str]) -> bool:
    """Whether ``--json`` is among the options (not after ``--``, where paths begin)."""
    return "--json" in argv[:argv.index("--")] if "--" in argv else "--json" in argv


_RESUMABLE = frozenset(("push", "pull", "fetch"))


def _interrupted_hint(args: list[str]) -> str:
    """A transfer keeps what it finished (and S3 its uploaded parts): the same command line
    picks up from there."""
    verb = next((arg for arg in args if not arg.startswith("-")), None)
    if verb in _RESUMABLE:
        return f"run '{shlex.join(['qvc', *args])}' again to resume"
    return "the repository is consistent; run the command again"


def _error(message: str, hint: str, code: int, as_json: bool) -> int:
    """Report an error on stderr (and, for ``--json``, as a JSON document on stdout)."""
    typer.echo(f"error: {message}", err=True)
    if hint:
        typer.echo(f"hint: {hint}", err=True)
    if as_json:
        _json_error(message, hint, code)
    return code


def _json_error(message: str, hint: str, code: int) -> None:
    import json

    if json_printed():
        return  # the command's own document says what went wrong; stdout holds one document
    typer.echo(json.dumps({"error": message, "hint": hint or None, "exit_code": code},
                          ensure_ascii=False))


def run() -> None:
    code = main()
    if code == 130:
        # Transfer threads blocked in a request would hold the interpreter's exit until it
        # ends; the main thread has released its locks and said what happened: leave now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    # Whatever is left dies with the process: frozen, it is not walked once more by the
    # garbage collection at interpreter exit (10-25 ms after a clone of 2,000 entries).
    collector.freeze()
    sys.exit(code)
