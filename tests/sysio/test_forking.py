"""Work split between forked processes: the same answers as one process, and a child that
fails costs only time (its share is done again, and its error raised, by the parent).

Splitting forks only while no other thread runs, and this suite runs a moto server thread,
so the checks that must see forks run qvc in a process of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from qvc.sysio import forking

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="work is split with fork on Linux only")

_COUNT_FORKS = """
import json, os, sys
forks = []
os.register_at_fork(after_in_parent=lambda: forks.append(1))
from qvc.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "forks": len(forks)}), file=sys.stderr)
"""


def _qvc(tree: Path, *args: str, env: dict[str, str]) -> dict[str, Any]:
    """Run qvc in its own process; its exit code and how many times it forked."""
    done = subprocess.run([sys.executable, "-c", _COUNT_FORKS, *args], cwd=tree,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          check=False)
    result: dict[str, Any] = json.loads(done.stderr.strip().splitlines()[-1])
    result["out"], result["err"] = done.stdout, done.stderr
    return result


def _tree(root: Path) -> None:
    for folder in range(6):
        sub = root / f"d{folder}"
        sub.mkdir(parents=True)
        for i in range(50):
            (sub / f"f{i:03d}.txt").write_bytes(b"%d\n" % (i % 17))  # duplicates across shares
    (root / "d3" / "empty.bin").write_bytes(b"")
    (root / "d4" / "large.bin").write_bytes(bytes(range(256)) * (9 * 1024 * 4))  # 9 MiB


def _state(tree: Path) -> tuple[bytes, str]:
    """The manifest committed in ``tree`` and its top hash."""
    top = (tree / ".qvc" / ".quilt" / "named_packages" / "test" / "split" / "latest")
    top_hash = top.read_text()
    return (tree / ".qvc" / ".quilt" / "packages" / top_hash).read_bytes(), top_hash


@pytest.mark.parametrize("processes", [2, 3])
def test_add_and_commit_split_between_processes_equal_one_process(
        tmp_path: Path, processes: int) -> None:
    answers = []
    for run, count in (("alone", 1), ("split", processes)):
        tree = tmp_path / run
        _tree(tree)
        env = {"QVC_ADD_PROCESSES": str(count), "QVC_COMMIT_PROCESSES": str(count),
               "QVC_WALK_PROCESSES": "1"}
        assert _qvc(tree, "init", "test/split", env=env)["code"] == 0
        added = _qvc(tree, "add", ".", env=env)
        committed = _qvc(tree, "commit", "-m", "one", env=env)
        assert (added["code"], committed["code"]) == (0, 0), added["err"] + committed["err"]
        flusher = 1 if count > 1 else 0  # add starts the disk writeback early, in a fork
        assert (added["forks"], committed["forks"]) == (count - 1 + flusher, count - 1)
        first = _state(tree)
        for i in (3, 60, 170):  # staged in the same process: rows not in the index's order
            (tree / f"d{i // 50}" / f"f{i % 50:03d}.txt").write_bytes(b"changed %d\n" % i)
        (tree / "d5" / "f007.txt").unlink()
        assert _qvc(tree, "commit", "-a", "-m", "two", env=env)["code"] == 0
        assert _qvc(tree, "verify", env=env)["code"] == 0
        answers.append([(manifest.replace(str(tree).encode(), b"TREE"), top)
                        for manifest, top in (first, _state(tree))])
    assert answers[0] == answers[1]
    assert len(answers[0][0][0].splitlines()) == 1 + 6 * 50 + 2
    assert len(answers[0][1][0].splitlines()) == 1 + 6 * 50 + 1


_FAILING_SHARE = """
import os, sys
from qvc.errors import QvcError
from qvc.core.objectbatch import add_files
from qvc.sysio.filestat import FileStat
from qvc.core.objects import ObjectStore
root = sys.argv[1]
store = ObjectStore(__import__("pathlib").Path(root) / "objects")
store.tmp.mkdir(parents=True)
items = [(i, f"{root}/f{i}", FileStat.of(os.lstat(f"{root}/f{i}"))) for i in range(40)]
got = []
try:
    for tag, h, st in add_files(store, items):
        got.append(tag)
except QvcError as exc:
    print(got == list(range(len(got))), len(got), exc.message)
"""


def test_a_child_that_fails_has_its_share_redone_and_its_error_raised(tmp_path: Path) -> None:
    for i in range(40):
        (tmp_path / f"f{i}").write_bytes(b"%d" % i)
    (tmp_path / "f35").unlink()  # in the second share, done by a child, which fails on it
    (tmp_path / "f35").mkdir()  # (a file gone or turned into a link is skipped, not an error)
    env = {**os.environ, "QVC_ADD_PROCESSES": "2"}
    done = subprocess.run([sys.executable, "-c", _FAILING_SHARE, str(tmp_path)], env=env,
                          capture_output=True, text=True, check=True)
    in_order, staged, message = done.stdout.strip().split(" ", 2)
    assert in_order == "True" and 0 < int(staged) < 35, "the first share, in order"
    assert message == f"Is a directory : {tmp_path}/f35"


def test_cut_keeps_order_and_gives_the_first_share_its_weight() -> None:
    items = list(range(100))
    assert forking.cut(items, 1) == [items]
    shares = forking.cut(items, 3, first=0.5)
    assert sum(shares, []) == items
    assert [len(s) for s in shares] == [20, 40, 40]
    assert [len(s) for s in forking.cut(items[:5], 4)] == [1, 1, 2, 1]


def _answer(share: list[int]) -> bytes:
    if 13 in share:
        os.kill(os.getpid(), 9)  # a child killed midway
    if 7 in share:
        raise ValueError("a child's error")
    return bytes(share)


def test_children_that_die_or_raise_give_no_answer() -> None:
    shares = [[1, 2], [3, 4], [7, 8], [13, 14]]
    with forking.Split(shares, _answer) as split:
        answers = list(split.answers())
    assert answers == [([3, 4], bytes([3, 4])), ([7, 8], None), ([13, 14], None)]


def test_leaving_early_stops_the_children() -> None:
    shares = [[0], [1], [2]]
    with forking.Split(shares, _answer) as split:
        children = [c.pid for c in split._children if c is not None]
    for pid in children:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaped
