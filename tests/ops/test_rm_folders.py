"""qvc rm of a folder removes the folders it empties, and never one that still holds a file."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import Qvc


@pytest.fixture
def committed(work: Path, qvc: Qvc) -> Path:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "first")
    return work


def test_rm_of_a_folder_removes_the_emptied_folders(committed: Path, qvc: Qvc) -> None:
    out = qvc("rm", "data").out
    assert "rm 'data/nested/deep.txt'" in out and "rm 'data/values.csv'" in out
    assert not (committed / "data").exists()
    assert (committed / "README.md").exists()


def test_rm_of_the_last_file_removes_its_folders(committed: Path, qvc: Qvc) -> None:
    qvc("rm", "data/nested/deep.txt")
    assert not (committed / "data" / "nested").exists()
    assert (committed / "data" / "values.csv").exists()


def test_rm_keeps_a_folder_with_an_untracked_file(committed: Path, qvc: Qvc) -> None:
    (committed / "data" / "nested" / "mine.txt").write_text("untracked\n")
    qvc("rm", "data")
    assert (committed / "data" / "nested" / "mine.txt").read_text() == "untracked\n"
    assert not (committed / "data" / "values.csv").exists()


def test_rm_keeps_a_folder_with_an_ignored_file(committed: Path, qvc: Qvc) -> None:
    (committed / ".qvcignore").write_text("*.tmp\n")
    (committed / "data" / "scratch.tmp").write_text("ignored\n")
    qvc("rm", "data")
    assert (committed / "data" / "scratch.tmp").exists()
    assert not (committed / "data" / "nested").exists()


def test_rm_cached_keeps_folders_and_files(committed: Path, qvc: Qvc) -> None:
    qvc("rm", "--cached", "data")
    assert (committed / "data" / "nested" / "deep.txt").exists()


def test_rm_never_removes_a_folder_through_a_link(committed: Path, qvc: Qvc,
                                                  tmp_path: Path) -> None:
    """``data`` became a link to an outside folder with an empty ``nested``: removing the
    folders of data/nested/deep.txt must not reach through the link."""
    outside = tmp_path / "outside"
    (outside / "nested").mkdir(parents=True)
    shutil.rmtree(committed / "data")
    os.symlink(outside, committed / "data")
    qvc("rm", ".")
    assert (outside / "nested").is_dir() and (committed / "data").is_symlink()
