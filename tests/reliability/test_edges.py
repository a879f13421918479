"""Bad input at the edges, one row per case: every command with wrong arguments, bad names,
bad URLs, a missing repository, missing credentials or an unreachable registry.

Each row runs ``python -m qvc`` as a separate process (so a traceback would show) and expects
the documented exit code (README.md's table, qvc/errors.py) with one ``error:`` line and a
``hint:`` line. Argument-syntax mistakes caught by the parser itself answer with its usage
text and exit 2 ("usage" rows).
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import Qvc, S3Server
from tests.reliability.helpers import assert_clean_error, run_qvc


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    code: int
    where: str = "repo"  # "bare": a plain folder; "repo": a work tree; "committed": with a commit
    words: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    usage: bool = False  # rejected by the argument parser (its own message format)


NO_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
                  "AWS_MAX_ATTEMPTS": "1"}
UNREACHABLE = {"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9", "AWS_ENDPOINT_URL":
               "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"}
HEX = "0" * 64

CASES: dict[str, Case] = {
    # the command line itself
    "no-such-command": Case(("frobnicate",), 2, usage=True),
    "unknown-option": Case(("status", "--frobnicate"), 2, usage=True),
    "commit-without-message": Case(("commit",), 2, usage=True),
    "gc-negative-grace": Case(("gc", "--grace", "-1"), 2, usage=True),
    "clone-missing-name": Case(("clone", "s3://bucket"), 2, "bare", usage=True),
    # missing repository
    "status-outside": Case(("status",), 3, "bare", ("not a qvc work tree",)),
    "add-outside": Case(("add", "."), 3, "bare"),
    "commit-outside": Case(("commit", "-m", "x"), 3, "bare"),
    "log-outside": Case(("log",), 3, "bare"),
    "push-outside": Case(("push", "s3://bucket"), 3, "bare"),
    "pull-outside": Case(("pull", "s3://bucket"), 3, "bare"),
    "verify-outside": Case(("verify",), 3, "bare"),
    "gc-outside": Case(("gc",), 3, "bare"),
    "init-twice": Case(("init", "test/pkg"), 3),
    # bad names
    "init-bad-name": Case(("init", "not a name"), 2, "bare", ("invalid package name",)),
    "init-three-parts": Case(("init", "a/b/c"), 2, "bare"),
    "init-dotdot": Case(("init", "../x"), 2, "bare"),
    "init-newline": Case(("init", "usr/pkg\n"), 2, "bare"),
    "clone-bad-name": Case(("clone", "s3://bucket", "../../etc"), 2, "bare"),
    "tag-bad-name": Case(("tag", "bad name!"), 2, "committed"),
    "remote-bad-name": Case(("remote", "add", "bad name", "s3://bucket"), 2),
    "remote-remove-unknown": Case(("remote", "remove", "nope"), 2),
    "config-unknown-key": Case(("config", "nosuchkey"), 2),
    # bad paths and revisions
    "add-missing-path": Case(("add", "missing.txt"), 4),
    "add-outside-tree": Case(("add", "../elsewhere"), 4),
    "commit-nothing-staged": Case(("commit", "-m", "x"), 5),
    "commit-bad-json": Case(("commit", "-m", "x", "--meta", "{bad"), 2, words=("JSON",)),
    "show-unknown-rev": Case(("show", "deadbeef"), 2, "committed"),
    "show-no-commits": Case(("show",), 3),
    "checkout-unknown-rev": Case(("checkout", HEX), 2, "committed"),
    "checkout-bad-head": Case(("checkout", "HEAD~9"), 2, "committed"),
    "diff-unknown-rev": Case(("diff", "nope"), 2, "committed"),
    # bad URLs and remotes
    "push-no-remote": Case(("push",), 2, "committed", ("no remote",)),
    "pull-no-remote": Case(("pull",), 2, "committed"),
    "fetch-unknown-remote": Case(("fetch", "nosuchremote"), 2, "committed"),
    "push-http-url": Case(("push", "http://example.com/x"), 2, "committed", ("scheme",)),
    "push-ftp-url": Case(("push", "ftp://example.com"), 2, "committed"),
    "push-bucket-prefix": Case(("push", "s3://bucket/prefix"), 2, "committed"),
    "push-empty-bucket": Case(("push", "s3://"), 2, "committed"),
    "push-bad-bucket": Case(("push", "s3://a"), 2, "committed"),
    "push-bucket-query": Case(("push", "s3://bucket?x=1"), 2, "committed"),
    "remote-add-bad-url": Case(("remote", "add", "origin", "ftp://x"), 2),
    "clone-bad-url": Case(("clone", "gopher://x", "test/pkg"), 2, "bare"),
    "clone-missing-folder-registry": Case(("clone", "/nonexistent/registry", "test/pkg"), 7,
                                          "bare"),
    "verify-remote-without-remote": Case(("verify", "--remote"), 2, "committed"),
    # credentials and reachability (S3 rows get a live moto endpoint unless overridden)
    "push-no-credentials": Case(("push", "s3://{bucket}"), 7, "committed", ("credentials",),
                                NO_CREDENTIALS),
    "clone-no-credentials": Case(("clone", "s3://{bucket}", "test/pkg"), 7, "bare",
                                 ("credentials",), NO_CREDENTIALS),
    "push-unreachable": Case(("push", "s3://{bucket}"), 7, "committed", ("cannot reach",),
                             UNREACHABLE),
    "clone-unreachable": Case(("clone", "s3://{bucket}", "test/pkg"), 7, "bare",
                              ("cannot reach",), UNREACHABLE),
    "push-no-such-bucket": Case(("push", "s3://no-such-bucket-here"), 7, "committed",
                                ("does not exist",)),
    "clone-no-such-package": Case(("clone", "s3://{bucket}", "nobody/nothing"), 7, "bare",
                                  ("no package",)),
}


def prepare(where: str, tmp_path: Path, qvc: Qvc) -> Path:
    folder = tmp_path / "here"
    folder.mkdir()
    (folder / "file.txt").write_text("content\n")
    if where in ("repo", "committed"):
        qvc("init", "test/pkg", cwd=folder)
    if where == "committed":
        qvc("add", ".", cwd=folder)
        qvc("commit", "-m", "first", cwd=folder)
    return folder


@pytest.mark.parametrize("name", sorted(CASES))
def test_edge(name: str, tmp_path: Path, qvc: Qvc, request: pytest.FixtureRequest) -> None:
    case = CASES[name]
    folder = prepare(case.where, tmp_path, qvc)
    args = list(case.args)
    if any("{bucket}" in a for a in args) or any(a.startswith("s3://no-such") for a in args):
        server: S3Server = request.getfixturevalue("s3")
        bucket = server.bucket(f"edge-{os.getpid()}-{abs(hash(name)) % 10**8}")[len("s3://"):]
        args = [a.replace("{bucket}", bucket) for a in args]
    before = sorted(p.name for p in folder.iterdir())
    result = run_qvc(*args, cwd=folder, env=case.env)
    if case.usage:
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr and re.search(r"(?i)error", result.stderr)
    else:
        assert_clean_error(result.returncode, result.stderr, case.code, *case.words)
    if case.where == "bare":  # a failed command leaves a plain folder as it was
        assert sorted(p.name for p in folder.iterdir()) == before
    assert_hints_name_real_commands(result.stderr)


@functools.cache
def commands(group: str = "") -> frozenset[str]:
    """The subcommands ``qvc [GROUP] --help`` lists."""
    text = run_qvc(*([group] if group else []), "--help", cwd=Path.cwd()).stdout
    listing = text.split("Commands:", 1)[1] if "Commands:" in text else ""
    return frozenset(re.findall(r"^  ([a-z][a-z-]*)", listing, re.MULTILINE))


def assert_hints_name_real_commands(err: str) -> None:
    """A hint that tells the user to run 'qvc X [Y]' must name a command that exists."""
    for top, sub in re.findall(r"'qvc ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", err):
        assert top in commands(), f"hint names no such command 'qvc {top}': {err}"
        if sub and commands(top):
            assert sub in commands(top), f"hint names no such command 'qvc {top} {sub}': {err}"
