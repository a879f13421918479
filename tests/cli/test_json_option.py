"""Every ``--json`` option is documented, and every command that has one answers an error with a
JSON document on stdout (and the usual two lines on stderr)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer.main

from qvc.cli import app
from tests.conftest import Qvc


def json_commands() -> dict[str, str | None]:
    """``"remote list"`` -> the help of its ``--json`` option, for every command that has one."""
    found: dict[str, str | None] = {}

    def visit(group: object, path: list[str]) -> None:
        for name, cmd in getattr(group, "commands", {}).items():
            if hasattr(cmd, "commands"):
                visit(cmd, path + [name])
                continue
            for param in cmd.params:
                if "--json" in getattr(param, "opts", []):
                    found[" ".join(path + [name])] = param.help

    visit(typer.main.get_command(app), [])
    return found


# One failing command line per command with --json, run from a folder that is no work tree.
FAILING = {
    "init": ["init", "bad/x/y"], "add": ["add", "x"], "status": ["status"],
    "commit": ["commit", "-m", "x"], "log": ["log"], "show": ["show"], "ls": ["ls"],
    "config": ["config", "user.name"], "checkout": ["checkout", "HEAD"], "reset": ["reset"],
    "restore": ["restore", "x"], "reflog": ["reflog"], "diff": ["diff"], "tag": ["tag"],
    "verify": ["verify"], "gc": ["gc"], "push": ["push"], "clone": ["clone", "s3://b", "x/y"],
    "fetch": ["fetch"], "pull": ["pull"], "merge": ["merge", "HEAD"], "delete": ["delete", "x/y"],
    "remote list": ["remote", "list"],
    "sparse set": ["sparse", "set", "x"], "sparse add": ["sparse", "add", "x"],
    "sparse list": ["sparse", "list"], "sparse disable": ["sparse", "disable"],
}


def test_every_json_option_has_the_shared_help() -> None:
    found = json_commands()
    assert len(found) >= 20
    assert set(found.values()) == {found["status"]} and "JSON" in (found["status"] or "")


def test_the_failure_table_covers_every_json_command() -> None:
    assert set(FAILING) == set(json_commands())


@pytest.mark.parametrize("command", sorted(FAILING))
def test_an_error_with_json_is_a_json_document_on_stdout(command: str, tmp_path: Path,
                                                         qvc: Qvc) -> None:
    result = qvc(*FAILING[command], "--json", cwd=tmp_path, ok=False)
    assert result.code != 0
    doc = json.loads(result.out)
    assert doc["exit_code"] == result.code
    assert doc["error"] and f"error: {doc['error']}" in result.err
    assert doc["hint"] and f"hint: {doc['hint']}" in result.err


def test_a_usage_error_with_json_is_a_json_document(tmp_path: Path, qvc: Qvc) -> None:
    result = qvc("commit", "--json", cwd=tmp_path, ok=False)  # -m is missing
    doc = json.loads(result.out)
    assert result.code == doc["exit_code"] == 2
    assert "--message" in doc["error"] and doc["hint"] == "see 'qvc commit --help'"


def test_without_json_an_error_prints_nothing_on_stdout(tmp_path: Path, qvc: Qvc) -> None:
    result = qvc("status", cwd=tmp_path, ok=False)
    assert result.code == 3 and result.out == "" and "not a qvc work tree" in result.err


def test_json_after_double_dash_is_a_path_not_the_option(work: Path, qvc: Qvc) -> None:
    result = qvc("checkout", "HEAD", "--", "--json", cwd=work, ok=False)
    assert result.out == ""


def test_commit_json_lists_keys_like_add(work: Path, qvc: Qvc) -> None:
    qvc("add", ".", cwd=work)
    first = json.loads(qvc("commit", "-m", "one", "--json").out)
    assert first["added"] == ["README.md", "data/nested/deep.txt", "data/values.csv"]
    assert first["modified"] == first["deleted"] == first["renamed"] == []
    (work / "README.md").write_text("# changed\n")
    (work / "data" / "values.csv").rename(work / "values.csv")
    (work / "data" / "nested" / "deep.txt").unlink()
    qvc("add", ".")
    second = json.loads(qvc("commit", "-m", "two", "--json").out)
    assert second["modified"] == ["README.md"] and second["added"] == []
    assert second["deleted"] == ["data/nested/deep.txt"]
    assert second["renamed"] == [{"from": "data/values.csv", "to": "values.csv"}]

