"""Every user mistake gives an exit code from the README table, one line of what happened, a
hint, and never a traceback -- checked in a real process, as a user or script sees it."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Qvc, run_qvc_process


@dataclass
class Case:
    argv: list[str]
    code: int
    says: str  # a fragment of the one-line error
    cwd: str = "work"  # "work", "outside", "sub" (a folder of the work tree)
    setup: Callable[[Path], object] | None = None
    hint: bool = True


def unreadable(root: Path) -> None:
    (root / "locked.txt").write_text("secret")
    (root / "locked.txt").chmod(0)


CASES = {
    "not a repository": Case(["status"], 3, "not a qvc work tree", cwd="outside"),
    "not a repository (log)": Case(["log"], 3, "not a qvc work tree", cwd="outside"),
    "bad package name": Case(["init", "bad name/x"], 2, "invalid package name", cwd="outside"),
    "package name with 3 parts": Case(["init", "a/b/c"], 2, "invalid package name",
                                      cwd="outside"),
    "init inside a work tree": Case(["init", "x/y"], 3, "already inside", cwd="sub"),
    "path outside the work tree": Case(["add", "../elsewhere.txt"], 4, "outside the work tree"),
    "absolute path outside": Case(["add", "/etc/hostname"], 4, "outside the work tree"),
    "missing path": Case(["add", "no-such-file.txt"], 4, "did not match any file"),
    "invalid JSON meta on add": Case(["add", "README.md", "--meta", "{bad"], 2, "not valid JSON"),
    "invalid JSON meta on commit": Case(["commit", "-m", "x", "--meta", "[1,"], 2,
                                        "not valid JSON"),
    "NaN in meta": Case(["add", "README.md", "--meta", '{"a": NaN}'], 2, "NaN"),
    "unreadable file": Case(["add", "locked.txt"], 9, "permission denied", setup=unreadable),
    "bad REV": Case(["show", "no-such-rev"], 2, "no-such-rev"),
    "too-short prefix": Case(["show", "abcde"], 2, "unknown revision 'abcde'"),
    "unknown prefix": Case(["ls", "abcdef"], 2, "abcdef"),
    "HEAD~N beyond history": Case(["show", "HEAD~5"], 2, "HEAD~5"),
    "no commits yet": Case(["show"], 3, "no commits", setup=lambda root: None),
    "nothing to commit": Case(["commit", "-m", "again"], 5, "nothing to commit"),
    "rm of untracked path": Case(["rm", "untracked.txt"], 4, "not tracked",
                                 setup=lambda root: (root / "untracked.txt").write_text("u")),
    "empty path on add": Case(["add", ""], 2, "empty path"),
    "empty path on rm": Case(["rm", ""], 2, "empty path"),
    "5,000-character path": Case(["add", "x" * 5000], 4, "too long"),
    "5,000-character path on rm": Case(["rm", "d/" * 2500 + "f"], 4, "too long"),
    "deeply nested --meta": Case(["add", "README.md", "--meta", '{"a":' * 5000 + "1"
                                  + "}" * 5000], 2, "nested too deeply"),
    "demo on a file": Case(["demo", "README.md"], 2, "is a file"),
    "path inside .qvc": Case(["add", ".qvc/HEAD"], 4, ".qvc"),
    "unknown command": Case(["frobnicate"], 2, "No such command", hint=False),
    "unknown option": Case(["status", "--frobnicate"], 2, "No such option", hint=False),
    "missing argument": Case(["add"], 2, "Missing argument", hint=False),
}


@pytest.fixture
def places(tmp_path: Path, qvc: Qvc) -> dict[str, Path]:
    root = tmp_path / "work"
    (root / "sub").mkdir(parents=True)
    (root / "README.md").write_text("# r\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    qvc("init", "test/errors", cwd=root)
    return {"work": root, "sub": root / "sub", "outside": outside}


@pytest.mark.parametrize("name", list(CASES))
def test_user_mistake(name: str, places: dict[str, Path], qvc: Qvc) -> None:
    case = CASES[name]
    root = places["work"]
    if name != "no commits yet":
        qvc("add", ".", cwd=root)
        qvc("commit", "-m", "first")
    if case.setup is unreadable and os.geteuid() == 0:
        pytest.skip("root can read a file with mode 000")
    if case.setup is not None:
        case.setup(root)
    done = run_qvc_process(*case.argv, cwd=places[case.cwd])
    assert done.returncode == case.code, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert case.says.lower() in done.stderr.lower()
    if case.hint:
        lines = done.stderr.strip().split("\n")
        assert len(lines) == 2, done.stderr
        assert lines[0].startswith("error: ") and lines[1].startswith("hint: ")
    assert done.stdout == ""


def test_unreadable_file_inside_a_folder_add(places: dict[str, Path], qvc: Qvc) -> None:
    if os.geteuid() == 0:
        pytest.skip("root can read a file with mode 000")
    root = places["work"]
    unreadable(root)
    try:
        done = run_qvc_process("add", ".", cwd=root)
        assert done.returncode == 9 and "locked.txt" in done.stderr
        assert "Traceback" not in done.stderr
    finally:
        (root / "locked.txt").chmod(0o644)
