"""Who a commit is by: the work tree's qvc setting, then the user's, then git's identity."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Qvc
from tests.git.test_git_hooks import git


def last_author(qvc: Qvc, data: Path, text: str) -> str:
    (data / "values.csv").write_text(text)
    qvc("commit", "-a", "-m", text, cwd=data)
    return str(qvc("log", "-n", "1", "--json", cwd=data).out)


def test_work_tree_setting_wins_then_global_then_git(tmp_path: Path, qvc: Qvc) -> None:
    code = tmp_path / "code"
    data = code / "data"
    data.mkdir(parents=True)
    git("init", "-q", "-b", "main", str(code), cwd=tmp_path)
    git("config", "user.name", "Git User", cwd=code)
    (data / "values.csv").write_text("0\n")
    qvc("init", "test/data", cwd=data)
    qvc("add", ".", cwd=data)
    qvc("commit", "-m", "v0", cwd=data)
    assert "Test Author <author@example.com>" in qvc("log", "-n", "1", cwd=data).out

    qvc("config", "--global", "user.name", "Global User", cwd=data)
    qvc("config", "--global", "user.email", "global@example.com", cwd=data)
    assert "Global User <global@example.com>" in last_author(qvc, data, "1\n")

    qvc("config", "user.name", "Tree User", cwd=data)
    qvc("config", "user.email", "tree@example.com", cwd=data)
    assert "Tree User <tree@example.com>" in last_author(qvc, data, "2\n")

    qvc("config", "--unset", "user.email", cwd=data)  # each part falls back on its own
    assert "Tree User <global@example.com>" in last_author(qvc, data, "3\n")
