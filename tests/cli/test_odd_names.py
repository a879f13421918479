"""File names quilt3 accepts but that are odd to show: a backslash is tracked and travels
through both kinds of registry like any name (quilt3 reads it back); a name with a control
character is not tracked, and status and add say why; human output quotes such names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qvc.cli.render import path_text
from tests.conftest import Qvc

quilt3 = pytest.importorskip("quilt3")

BACKSLASH = "a\\..\\..\\b.txt"  # one file name on POSIX, as quilt3 takes it
NEWLINE = "new\nline.txt"


@pytest.fixture(params=["folder", "s3"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "folder":
        return str(tmp_path / "registry")
    return str(request.getfixturevalue("bucket"))


def test_path_text_quotes_only_odd_names() -> None:
    assert path_text("data/é 1.csv") == "data/é 1.csv"
    assert path_text(BACKSLASH) == '"a\\\\..\\\\..\\\\b.txt"'
    assert path_text(NEWLINE) == '"new\\nline.txt"'
    assert path_text("x\x1b[2J") == '"x\\x1b[2J"'
    assert path_text(os.fsdecode(b"bad\xff")) == '"bad\\xff"'


def test_a_backslash_name_is_tracked_pushed_and_cloned(work: Path, qvc: Qvc, registry: str,
                                                        tmp_path: Path) -> None:
    (work / BACKSLASH).write_text("odd\n")
    status = qvc("status").out
    assert f"  {path_text(BACKSLASH)}\n" in status and "Skipped" not in status
    qvc("add", ".")
    qvc("commit", "-m", "odd names")
    assert path_text(BACKSLASH) in qvc("ls").out.splitlines()
    qvc("push", registry)
    qvc("clone", registry, "test/pkg", str(tmp_path / "copy"), cwd=tmp_path)
    assert (tmp_path / "copy" / BACKSLASH).read_text() == "odd\n"
    assert sorted(os.listdir(tmp_path / "copy")) == sorted(os.listdir(work))
    if not registry.startswith("s3://"):
        browsed = quilt3.Package.browse("test/pkg", registry=Path(registry).as_uri())
        assert browsed[BACKSLASH].deserialize(func=bytes) == b"odd\n"  # type: ignore[arg-type]


def test_a_control_character_name_is_reported_with_its_reason(work: Path, qvc: Qvc) -> None:
    (work / NEWLINE).write_text("x")
    os.symlink("README.md", work / "link")
    status = qvc("status").out
    assert "Skipped (symlinks and special files are not tracked):\n  link\n" in status
    assert ("Skipped (names that cannot be a logical key):\n"
            f"  {path_text(NEWLINE)}  (control character in logical key)\n") in status
    assert "new\nline" not in status  # never printed raw
    added = qvc("add", ".")
    assert "1 file(s) not added" in added.err and path_text(NEWLINE) in added.err
    assert "new\nline" not in added.err
    qvc("commit", "-m", "good names only")
    assert "line.txt" not in qvc("ls").out
