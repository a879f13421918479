"""A work tree that changes while qvc reads it: files vanish, folders become links. qvc skips
what is gone, never reads through a link, and never fails with an internal error."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from qvc.core.objectbatch import add_files
from qvc.core.objects import ObjectStore
from qvc.worktree.ignore import IgnoreRules
from qvc.worktree.treeread import TreeReader
from qvc.worktree.treewalk import walk
from tests.conftest import Qvc, run_qvc_process
from tests.reliability.helpers import contains_bytes

SECRET = b"outside secret\n"


def _store(tmp_path: Path) -> ObjectStore:
    store = ObjectStore(tmp_path / "objects")
    store.tmp.mkdir(parents=True)
    return store


def test_a_folder_swapped_for_a_link_between_walk_and_read_is_not_read(tmp_path: Path) -> None:
    root, outside = tmp_path / "tree", tmp_path / "outside"
    (root / "data").mkdir(parents=True)
    outside.mkdir()
    (root / "data" / "a.txt").write_bytes(b"inside\n")
    (outside / "a.txt").write_bytes(SECRET)
    (root / "top.txt").write_bytes(b"top\n")
    tree = walk(root, IgnoreRules(root))
    assert tree.keys == ["data/a.txt", "top.txt"]
    (root / "data").rename(tmp_path / "moved")
    (root / "data").symlink_to(outside, target_is_directory=True)  # same size as inside
    store = _store(tmp_path)
    with TreeReader(root) as reader:
        got = list(add_files(store, [(k, f"{root}/{k}", st) for k, st in tree.items()],
                             opener=reader.open))
    assert [key for key, _, _ in got] == ["top.txt"]  # data/a.txt is simply not there
    assert contains_bytes(store.root, SECRET) == []


def test_a_file_gone_between_walk_and_read_is_skipped(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (root / name).write_text(name)
    tree = walk(root, IgnoreRules(root))
    (root / "b.txt").unlink()
    with TreeReader(root) as reader:
        got = list(add_files(_store(tmp_path), [(k, f"{root}/{k}", st)
                                                for k, st in tree.items()], opener=reader.open))
    assert [key for key, _, _ in got] == ["a.txt", "c.txt"]


def test_add_of_a_folder_behind_a_link_swapped_in_repeatedly_never_commits_outside(
        tmp_path: Path, qvc: Qvc) -> None:
    """A real race: a thread swaps a folder for a link to outside content and back while
    ``add`` runs; whatever interleaving happens, the outside bytes never reach the store."""
    root, outside = tmp_path / "work", tmp_path / "outside"
    (root / "data").mkdir(parents=True)
    outside.mkdir()
    for i in range(200):
        (root / "data" / f"f{i:03d}.txt").write_bytes(b"inside %03d\n" % i)
        (outside / f"f{i:03d}.txt").write_bytes(SECRET)
    qvc("init", "test/race", cwd=root)
    stop = threading.Event()

    def swapper() -> None:
        real, link = root / "data", root / "data.real"
        while not stop.is_set():
            real.rename(link)
            real.symlink_to(outside, target_is_directory=True)
            time.sleep(0.0005)
            real.unlink()
            link.rename(real)
            time.sleep(0.0005)

    thread = threading.Thread(target=swapper)
    thread.start()
    try:
        for _ in range(15):
            result = run_qvc_process("add", ".", cwd=root)
            assert "internal error" not in result.stderr, result.stderr
    finally:
        stop.set()
        thread.join()
    assert contains_bytes(root / ".qvc", SECRET) == []


def test_status_add_and_commit_survive_a_temp_file_writer(tmp_path: Path, qvc: Qvc) -> None:
    """Files appear and vanish while status, add and commit -a walk the tree: no internal
    error (a vanished file was once an OverflowError)."""
    root = tmp_path / "work"
    (root / "logs").mkdir(parents=True)
    for i in range(300):
        (root / f"keep{i:03d}.txt").write_text(f"{i}\n")
    qvc("init", "test/race", cwd=root)
    qvc("add", ".", cwd=root)
    qvc("commit", "-m", "first", cwd=root)
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(root / "logs")])
    try:
        for argv in (["status"], ["add", "."], ["commit", "-a", "-m", "x"]) * 4:
            result = run_qvc_process(*argv, cwd=root)
            assert result.returncode in (0, 5), result.stderr
            assert "internal error" not in result.stderr, result.stderr
    finally:
        writer.kill()
        writer.wait()


_WRITER = """
import os, sys
folder = sys.argv[1]
i = 0
while True:
    for j in range(50):
        with open(os.path.join(folder, f"t{i}-{j}.tmp"), "w") as f:
            f.write("x" * j)
    for j in range(50):
        os.unlink(os.path.join(folder, f"t{i}-{j}.tmp"))
    i += 1
"""
