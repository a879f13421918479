"""qvc's own temp files (``.<name>.<pid>-<n>.qvc-tmp``) that a killed checkout or pull left:
never listed by ``status``, never committed by ``add .``, removed by the next status or pull
once their process is gone; and a killed clone is finished by the ``qvc pull`` its hints name."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import Qvc
from tests.ops.test_clone_overlap import clone_killed_after_files
from tests.ops.test_push import commit_all, files

NAME = "test/pkg"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temp_files_are_neither_listed_nor_committed_and_status_removes_them(
        work: Path, qvc: Qvc) -> None:
    commit_all(qvc, work, "v1")
    dead, live = _dead_pid(), subprocess.Popen([sys.executable, "-c", "input()"],
                                               stdin=subprocess.PIPE)
    stale = [work / f".a.csv.{dead}-0.qvc-tmp", work / "data" / f".b.bin.{dead}-3.qvc-tmp"]
    busy = work / f".c.txt.{live.pid}-0.qvc-tmp"  # another command writing right now
    try:
        for path in [*stale, busy]:
            path.write_text("half a file\n")
        status = json.loads(qvc("status", "--json", cwd=work).out)
        assert status["clean"], status
        assert status["untracked"] == [] and status["skipped"] == []
        assert not any(p.exists() for p in stale)  # the status (it could lock) removed them
        assert busy.exists()
        qvc("add", ".", cwd=work, ok=False)
        keys = qvc("ls", "--json", cwd=work, ok=False).out
        assert "qvc-tmp" not in keys
        assert "nothing to commit" in qvc("commit", "-m", "x", cwd=work, ok=False).err
    finally:
        live.kill()
        live.wait()


def test_pull_removes_stale_temp_files(tmp_path: Path, work: Path, qvc: Qvc) -> None:
    commit_all(qvc, work, "v1")
    registry = str(tmp_path / "registry")
    qvc("push", registry, cwd=work)
    qvc("clone", registry, NAME, "other", cwd=tmp_path)
    (work / "new.txt").write_text("v2\n")
    commit_all(qvc, work, "v2")
    qvc("push", registry, cwd=work)
    stale = tmp_path / "other" / f".new.txt.{_dead_pid()}-0.qvc-tmp"
    stale.write_text("half a file\n")
    qvc("pull", cwd=tmp_path / "other")
    assert not stale.exists()
    assert files(tmp_path / "other") == files(work)


def test_a_killed_clone_says_qvc_pull_finishes_it_and_it_does(tmp_path: Path, work: Path,
                                                              qvc: Qvc) -> None:
    (work / "more.txt").write_text("more\n")
    registry, clone = clone_killed_after_files(tmp_path, work, qvc)
    (clone / "more.txt").write_bytes(b"")  # a kill in the middle of writing
    again = qvc("clone", registry, NAME, "dst", cwd=tmp_path, ok=False)
    assert again.code == 2 and "interrupted" in again.err
    assert "'qvc pull'" in again.err
    said = qvc("status", cwd=clone).out
    assert "interrupted; 'qvc pull' finishes it" in said
    assert json.loads(qvc("status", "--json", cwd=clone).out)["interrupted_clone"] is True
    qvc("pull", cwd=clone)  # as the hint says, word for word (origin is the default remote)
    assert files(clone) == files(work)
    status = json.loads(qvc("status", "--json", cwd=clone).out)
    assert status["clean"] and status["interrupted_clone"] is False
