"""kill -9 in the middle of ``qvc commit``: the next ``status`` and ``commit`` work, no earlier
commit is lost, and every commit still reads back with intact objects.

Deterministic kills use the ``QVC_CRASH_AT=<point>[:n]`` hook of :mod:`qvc.sysio.crashpoints`; a
second test kills real ``commit -a`` processes after seeded random delays.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

from qvc.core.repo import Repo
from qvc.quilt.hashing import hash_file
from tests.conftest import Qvc, run_qvc_process

POINTS = [
    "add.after_object:1", "add.after_object:3", "add.before_index", "add.after_index",
    "commit.start", "commit.after_manifest", "commit.after_commit_record",
    "commit.after_pointer", "commit.after_latest", "commit.after_head", "commit.after_index",
]
META = '{"stage": "second"}'


def make_base(root: Path, qvc: Callable[..., Any], seed: int = 5) -> dict[str, bytes]:
    """A committed work tree of 40 small files and one 1 MiB file, then uncommitted edits,
    deletions and a staged new file. Returns the work tree's files (what must survive)."""
    rng = random.Random(seed)
    root.mkdir()
    for i in range(40):
        path = root / f"d{i % 4}" / f"f{i}.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(rng.randbytes(rng.randint(0, 2000)))
    (root / "big.bin").write_bytes(rng.randbytes(1 << 20))
    qvc("init", "crash/pkg", cwd=root)
    qvc("add", ".")
    qvc("commit", "-m", "base", "--meta", '{"stage": "base"}')
    for i in (1, 5, 9, 13, 17):
        (root / f"d{i % 4}" / f"f{i}.txt").write_bytes(b"edited %d" % i)
    (root / "d2" / "f2.txt").unlink()
    (root / "d3" / "f3.txt").unlink()
    (root / "new.txt").write_text("new\n")
    qvc("add", "new.txt")
    return snapshot(root)


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and ".qvc" not in p.relative_to(root).parts}


def crash_env(point: str | None = None, listing: Path | None = None,
              processes: str = "0") -> dict[str, str]:
    """The environment of a crashing run; ``processes`` > 1 forces add and commit to split
    their work between forked processes however few the files (the parent is the one
    killed: its children finish or die on their own)."""
    env = dict(os.environ, QVC_ADD_PROCESSES=processes, QVC_COMMIT_PROCESSES=processes)
    if point:
        env["QVC_CRASH_AT"] = point
    if listing:
        env["QVC_CRASH_LIST"] = str(listing)
    return env


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The top hash the interrupted commit must end with, and the points a commit passes."""
    root = tmp_path_factory.mktemp("reference") / "work"
    make_base(root, _ProcessQvc(root))
    listing = root.parent / "points.txt"
    done = run_qvc_process("commit", "-a", "-m", "second", "--meta", META, cwd=root,
                           env=crash_env(listing=listing))
    assert done.returncode == 0, done.stderr
    return {"top": done.stdout.strip(), "points": listing.read_text().split()}


class _ProcessQvc:
    """Just enough of the ``qvc`` fixture for a module-scoped fixture (no capsys there)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(self, *args: str, cwd: Path | None = None) -> None:
        done = run_qvc_process(*args, cwd=cwd or self.root)
        assert done.returncode == 0, done.stderr


def assert_every_commit_reads_back(root: Path, qvc: Qvc) -> list[str]:
    """Each commit in the log: manifest verified against its name, every object present and
    intact, every physical key pointing at those bytes, every pointer at a stored manifest."""
    repo = Repo(root)
    tops = [e["top_hash"] for e in json.loads(qvc("log", "--json", cwd=root).out)]
    for top in tops:
        assert qvc("ls", top).out
        manifest = repo.manifest(top)
        for entry in manifest.walk():
            assert repo.objects.verify(entry.hash, entry.size) is None, entry.logical_key
            physical = Path(unquote(urlparse(entry.physical_key).path))
            assert hash_file(physical, entry.hash.type) == entry.hash
    for pointer, top in repo.registry.versions(repo.package):
        assert repo.registry.has_manifest(top), pointer
    return tops


def test_commit_passes_every_crash_point(reference: dict[str, Any]) -> None:
    reached = {p.split(":")[0] for p in POINTS}
    assert reached == set(reference["points"])


@pytest.mark.parametrize("processes", ["1", "3"])
@pytest.mark.parametrize("point", POINTS)
def test_kill_at_crash_point(point: str, processes: str, tmp_path: Path, qvc: Qvc,
                             reference: dict[str, Any]) -> None:
    root = tmp_path / "work"
    files = make_base(root, qvc)
    base = json.loads(qvc("log", "--json").out)[0]["top_hash"]
    done = run_qvc_process("commit", "-a", "-m", "second", "--meta", META, cwd=root,
                           env=crash_env(point, processes=processes))
    assert done.returncode == -signal.SIGKILL, (point, done.stderr)
    assert snapshot(root) == files  # a commit never touches the work tree

    status = json.loads(qvc("status", "--json", cwd=root).out)
    assert status["head"] in (base, reference["top"])
    assert base in assert_every_commit_reads_back(root, qvc)

    again = qvc("commit", "-a", "-m", "second", "--meta", META, ok=False)
    if again.code == 0:
        assert again.out.strip() == reference["top"]
    else:  # the killed commit had already moved HEAD
        assert again.code == 5 and status["head"] == reference["top"], again.err
    assert json.loads(qvc("status", "--json").out)["clean"] is True
    assert assert_every_commit_reads_back(root, qvc) == [reference["top"], base]
    latest = Repo(root).registry.read_latest("crash/pkg")
    assert latest is not None and latest.top_hash == reference["top"]
    assert snapshot(root) == files


def test_random_kills_during_commit_all(tmp_path: Path, qvc: Qvc) -> None:
    rng = random.Random(1234)
    root = tmp_path / "work"
    make_base(root, qvc)
    qvc("commit", "-m", "settle")
    history = [e["top_hash"] for e in json.loads(qvc("log", "--json").out)]
    for round_ in range(6):
        for i in range(0, 40, 3):
            path = root / f"d{i % 4}" / f"f{i}.txt"
            if path.exists():
                path.write_bytes(rng.randbytes(rng.randint(1, 3000)))
        listing = tmp_path / f"points-{round_}.txt"
        proc = subprocess.Popen([sys.executable, "-m", "qvc", "commit", "-a", "-m", f"r{round_}"],
                                cwd=root, env=crash_env(listing=listing),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while not listing.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)  # interpreter start-up is not what we want to interrupt
        time.sleep(rng.uniform(0, 0.04))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        tops = assert_every_commit_reads_back(root, qvc)
        assert tops[-len(history):] == history  # nothing earlier lost
        result = qvc("commit", "-a", "-m", f"r{round_}", ok=False)
        assert result.code in (0, 5), result.err
        status = json.loads(qvc("status", "--json").out)
        assert status["clean"] is True, status
        history = assert_every_commit_reads_back(root, qvc)
        head = Repo(root).manifest(history[0])
        for key, data in snapshot(root).items():
            assert head.entries[key].size == len(data)
