"""An untracked or ignored file holding content where an incoming file goes: checkout, pull
and merge refuse alike (one rule, qvc.core.workspace.untracked_in_the_way), and ``--force``
overwrites it. On a directory registry and a moto bucket."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Qvc
from tests.ops.test_push import commit_all
from tests.ops.test_team import registry, start  # noqa: F401  (the registry fixture)


def _incoming(qvc: Qvc, alice: Path) -> None:
    """Alice publishes v2 with secrets.env, a name Bob's work tree ignores."""
    (alice / "secrets.env").write_text("published\n")
    commit_all(qvc, alice, "v2")
    qvc("push", cwd=alice)


def test_pull_refuses_to_overwrite_an_ignored_file_as_checkout_does(
        qvc: Qvc, tmp_path: Path, registry: str) -> None:  # noqa: F811
    alice, bob = start(qvc, tmp_path, registry, "alice", "bob")
    _incoming(qvc, alice)
    (bob / ".qvcignore").write_text("*.env\n")
    (bob / "secrets.env").write_text("bob's own, never committed\n")
    result = qvc("pull", cwd=bob, ok=False)
    assert result.code == 6, result.err
    assert "secrets.env" in result.err and "--force" in result.err
    assert (bob / "secrets.env").read_text() == "bob's own, never committed\n"
    qvc("pull", "--force", cwd=bob)
    assert (bob / "secrets.env").read_text() == "published\n"


def test_checkout_refuses_an_ignored_file_in_the_way(qvc: Qvc, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "a.txt").write_text("a\n")
    (work / "secrets.env").write_text("v1\n")
    qvc("init", "test/pkg", cwd=work)
    commit_all(qvc, work, "v1")
    first = qvc("log", "--json", cwd=work).out
    qvc("rm", "secrets.env", cwd=work)
    qvc("commit", "-m", "v2", cwd=work)
    (work / ".qvcignore").write_text("*.env\n")
    (work / "secrets.env").write_text("local, never committed\n")
    top = json.loads(first)[0]["top_hash"]
    result = qvc("checkout", top, cwd=work, ok=False)
    assert result.code == 6 and "secrets.env" in result.err, result.err
    assert (work / "secrets.env").read_text() == "local, never committed\n"
