"""Clone writes each work-tree file as soon as its object is verified, on one writer thread
beside the downloads: files shared by several keys, large files, a killed clone finished by a
pull, and the writer's first error stopping everything."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from qvc.core.objects import SMALL
from qvc.errors import PathError
from qvc.sysio.filestat import FileStat
from qvc.worktree.materialize import BackgroundWriter, TreeWriter
from tests.conftest import Qvc
from tests.ops.test_push import commit_all, files
from tests.reliability.helpers import run_qvc

NAME = "test/pkg"


def test_files_are_written_while_objects_still_arrive(tmp_path: Path, qvc: Qvc, bucket: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    for i in range(60):
        (work / f"d{i % 3}").mkdir(parents=True, exist_ok=True)
        (work / f"d{i % 3}" / f"f{i}.txt").write_text(f"file {i}\n")
    qvc("init", NAME, cwd=work)
    commit_all(qvc, work, "v1")
    qvc("push", bucket, cwd=work)
    monkeypatch.setenv("QVC_MAX_CONCURRENCY", "1")  # objects arrive one after the other
    clone = tmp_path / "clone"
    qvc("clone", bucket, NAME, str(clone), cwd=tmp_path)
    assert files(clone) == files(work)
    first_file = min(p.stat().st_mtime_ns for p in clone.rglob("*.txt"))
    store = clone / ".qvc/objects"
    objects = [p for p in store.rglob("*") if p.is_file() and p.parent != store / "tmp"]
    assert len(objects) == 60
    assert first_file < max(p.stat().st_mtime_ns for p in objects)


def test_clone_writes_every_key_of_a_shared_object_and_large_files(tmp_path: Path, work: Path,
                                                                   qvc: Qvc) -> None:
    (work / "copies").mkdir()
    for name in ("a.txt", "b.txt"):
        (work / "copies" / name).write_text("the same bytes\n")
    big = os.urandom(SMALL + 4096)
    (work / "big.bin").write_bytes(big)
    (work / "copies" / "big-again.bin").write_bytes(big)
    commit_all(qvc, work, "v1")
    registry = str(tmp_path / "registry")
    qvc("push", registry, cwd=work)
    clone = tmp_path / "clone"
    result = json.loads(qvc("clone", registry, NAME, str(clone), "--json", cwd=tmp_path).out)
    assert files(clone) == files(work)
    assert result["files"] == 7 and result["downloaded"] == 5  # two objects serve two keys each
    assert json.loads(qvc("status", "--json", cwd=clone).out)["clean"]
    assert qvc("verify", cwd=clone, ok=False).code == 0
    assert not (clone / ".qvc/CLONING").exists()


def clone_killed_after_files(tmp_path: Path, work: Path, qvc: Qvc) -> tuple[str, Path]:
    """``work`` committed and pushed to a folder registry, then a clone of it into
    ``tmp_path/dst`` killed once its files are written: (registry, clone)."""
    commit_all(qvc, work, "v1")
    registry = str(tmp_path / "registry")
    qvc("push", registry, cwd=work)
    died = run_qvc("clone", registry, NAME, "dst", cwd=tmp_path,
                   env={"QVC_CRASH_AT": "pull.after_files"})
    assert died.returncode == -signal.SIGKILL, died.stderr
    return registry, tmp_path / "dst"


def test_pull_finishes_a_clone_killed_while_writing_files(tmp_path: Path, work: Path,
                                                          qvc: Qvc) -> None:
    (work / "big.bin").write_bytes(os.urandom(SMALL + 1))
    registry, clone = clone_killed_after_files(tmp_path, work, qvc)
    # what a kill in the middle of writing leaves: a short file, an empty one
    with open(clone / "big.bin", "r+b") as f:
        f.truncate(1000)
    (clone / "README.md").write_bytes(b"")
    qvc("pull", registry, cwd=clone)
    assert files(clone) == files(work)
    assert json.loads(qvc("status", "--json", cwd=clone).out)["clean"]
    assert not (clone / ".qvc/CLONING").exists()


def test_pull_without_a_killed_clone_still_refuses_untracked_files(tmp_path: Path, work: Path,
                                                                   qvc: Qvc) -> None:
    commit_all(qvc, work, "v1")
    registry = str(tmp_path / "registry")
    qvc("push", registry, cwd=work)
    other = tmp_path / "other"
    other.mkdir()
    qvc("init", NAME, cwd=other)
    (other / "README.md").write_text("mine\n")
    refused = qvc("pull", registry, cwd=other, ok=False)
    assert refused.code == 6 and "README.md" in refused.err
    assert (other / "README.md").read_text() == "mine\n"


def _write(writer: TreeWriter, item: tuple[str, bytes]) -> list[tuple[str, FileStat]]:
    return [(item[0], writer.write(item[0], item[1]))]


def test_background_writer_returns_stats_and_stops_at_the_first_error(tmp_path: Path) -> None:
    with BackgroundWriter(tmp_path, _write) as writer:
        writer.put(("a/one.txt", b"1"), 1)
        writer.put(("a/two.txt", b"22"), 2)
        written = writer.finish()
    assert {k: st.size for k, st in written.items()} == {"a/one.txt": 1, "a/two.txt": 2}
    assert writer.backlog == 0
    (tmp_path / "file").write_text("a file where a folder should be\n")
    with BackgroundWriter(tmp_path, _write) as writer:
        writer.put(("file/x.txt", b"x"))
        writer.put(("later.txt", b"queued after the failing file"))
        with pytest.raises(PathError):
            writer.finish()
        with pytest.raises(PathError):  # producers are stopped too
            writer.put(("even-later.txt", b"x"))
    assert sorted(os.listdir(tmp_path)) == ["a", "file"]
