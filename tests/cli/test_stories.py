"""Story tests of the local repository through the command line."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Qvc


def test_add_commit_log_show(work: Path, qvc: Qvc) -> None:
    qvc("add", ".", cwd=work)
    top = qvc("commit", "-m", "first").out.strip()
    assert len(top) == 64
    (work / "README.md").write_text("# changed\n")
    status = json.loads(qvc("status", "--json").out)
    assert status["modified"] == ["README.md"]
    top2 = qvc("commit", "-a", "-m", "second").out.strip()
    log = json.loads(qvc("log", "--json").out)
    assert [e["top_hash"] for e in log] == [top2, top]
    assert log[0]["parent"] == top
    shown = json.loads(qvc("show", "HEAD~1", "--json").out)
    assert shown["top_hash"] == top
    keys = qvc("ls", top[:8]).out.split()
    assert keys == ["README.md", "data/nested/deep.txt", "data/values.csv"]


def test_nothing_to_commit_exit_code(work: Path, qvc: Qvc) -> None:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "first")
    result = qvc("commit", "-m", "again", ok=False)
    assert result.code == 5
    assert "nothing to commit" in result.err
