"""Every user mistake gives an exit code from the README table, one line of what happened, a
hint, and never a traceback -- checked in a real process, as a user or script sees it."""

from __future__ import annotations

import os
import re
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
    avoid: str = ""  # a fragment the error and hint must not contain


def unreadable(root: Path) -> None:
    (root / "locked.txt").write_text("secret")
    (root / "locked.txt").chmod(0)


def pushed(root: Path) -> None:
    """The work tree's commit pushed to the folder registry ``../reg``."""
    assert run_qvc_process("push", "../reg", cwd=root).returncode == 0


def dirty_after_two_commits(root: Path) -> None:
    (root / "README.md").write_text("# two\n")
    assert run_qvc_process("commit", "-a", "-m", "two", cwd=root).returncode == 0
    (root / "README.md").write_text("# uncommitted\n")


def corrupt_readme_object(root: Path) -> None:
    from qvc.core.repo import Repo

    repo = Repo(root)
    head = repo.head()
    assert head is not None
    path = repo.objects.path(repo.manifest(head.top_hash).entries["README.md"].hash)
    path.chmod(0o644)
    path.write_bytes(b"# R\n")  # same size, other content
    (root / "README.md").unlink()


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
    "unknown tag": Case(["checkout", "no-such-tag"], 2, "unknown revision 'no-such-tag'"),
    "unknown tag on a registry": Case(["delete", "test/errors", "--registry", "../reg", "--rev",
                                       "v1"], 2, "unknown revision 'v1'", setup=pushed),
    "unknown tag to clone": Case(["clone", "../reg", "test/errors", "dest", "--rev", "v1.0"], 2,
                                 "unknown revision 'v1.0'", cwd="outside", setup=pushed),
    "unknown version on a registry": Case(["delete", "test/errors", "--registry", "../reg",
                                           "--rev", "abcdef"], 2,
                                          "unknown revision 'abcdef'", setup=pushed),
    "uncommitted changes in the way": Case(["checkout", "HEAD~1"], 6, "uncommitted",
                                           setup=dirty_after_two_commits),
    "no such package (clone)": Case(["clone", "../reg", "nobody/nothing", "dest"], 7,
                                    "no package nobody/nothing", cwd="outside", setup=pushed),
    "no such package (delete)": Case(["delete", "nobody/nothing", "--registry", "../reg"], 7,
                                     "no package nobody/nothing", setup=pushed,
                                     avoid="top hash"),
    "corrupt object": Case(["restore", "README.md"], 8, "README.md",
                           setup=corrupt_readme_object),
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
    assert not case.avoid or case.avoid not in done.stderr  # a hint that fits the error


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


README = Path(__file__).resolve().parents[2] / "README.md"


def documented_codes() -> dict[int, str]:
    """The README's exit-code table: code -> meaning."""
    text = README.read_text(encoding="utf-8").split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", text, re.MULTILINE)
    return {int(code): meaning for code, meaning in rows}


def test_readme_table_matches_the_error_classes() -> None:
    import qvc.errors as errors

    documented = documented_codes()
    in_docstring = {int(c) for c in re.findall(r"^(\d+) ", errors.__doc__ or "", re.MULTILINE)}
    assert in_docstring == set(documented)
    classes = [c for c in vars(errors).values()
               if isinstance(c, type) and issubclass(c, errors.QvcError)]
    assert {c.exit_code for c in classes} <= set(documented)
    assert errors.NoSuchPackage.exit_code == 7 and "package" in documented[7]
    assert errors.BadRevision.exit_code == 2 and "unknown revision" in documented[2]


def test_every_documented_error_code_has_a_case() -> None:
    tested = {case.code for case in CASES.values()}
    untested = set(documented_codes()) - tested - {0, 1, 130}  # success, a bug, Ctrl-C
    assert not untested, f"no case exits with {sorted(untested)}"
