"""kill -9 at every write step of push, clone, pull, checkout and gc, and stale locks.

Each command runs as a real process with ``QVC_CRASH_AT=<point>[:n]`` (see qvc.sysio.crashpoints),
which SIGKILLs it there: no ``finally``, no flush, exactly a ``kill -9``. Points are first
listed with ``QVC_CRASH_LIST`` so every step the command passes is crashed at, and a step that
disappears from the code fails the test. Afterwards: the next command works, ``qvc verify`` is
clean, no acknowledged commit is lost, and a registry never has a pointer whose manifest, or a
manifest (that a pointer names) whose data, is missing. ``qvc commit`` has its own crash
tests in tests/ops/test_commit_crash.py.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from qvc.storage import open_store
from qvc.storage.registry import Registry
from tests.conftest import Qvc, S3Server
from tests.reliability.helpers import registry_problems, run_qvc

NAME = "test/pkg"


def listed_points(args: list[str], cwd: Path, tmp: Path) -> list[str]:
    """The crash points a successful run of ``qvc ARGS`` passes, in order (dry run in a copy
    is the caller's job: this run really happens)."""
    listing = tmp / "points.txt"
    listing.unlink(missing_ok=True)
    done = run_qvc(*args, cwd=cwd, env={"QVC_CRASH_LIST": str(listing)})
    assert done.returncode == 0, done.stderr
    return listing.read_text().split() if listing.exists() else []


def occurrences(points: list[str]) -> list[str]:
    """``name:n`` for the first and the last time each point is reached."""
    chosen: list[str] = []
    for name in dict.fromkeys(points):
        count = points.count(name)
        chosen += [f"{name}:1"] + ([f"{name}:{count}"] if count > 1 else [])
    return chosen


def crash(args: list[str], cwd: Path, point: str) -> None:
    died = run_qvc(*args, cwd=cwd, env={"QVC_CRASH_AT": point})
    assert died.returncode == -signal.SIGKILL, f"{point} not reached: {died.stderr}"


def tops(qvc: Qvc, work: Path) -> list[str]:
    return [c["top_hash"] for c in json.loads(qvc("log", "--json", cwd=work).out)]


def commit_ids(qvc: Qvc, work: Path) -> list[str]:
    return [c["commit"] for c in json.loads(qvc("log", "--json", cwd=work).out)]


def verify_clean(qvc: Qvc, work: Path, *rev: str) -> None:
    result = qvc("verify", *rev, cwd=work, ok=False)
    assert result.code == 0, result.out + result.err


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and ".qvc" not in p.relative_to(root).parts}


def latest(url: str) -> str | None:
    found = Registry(open_store(url)).read_latest(NAME)
    return found.top_hash if found else None


def assert_registry_closed(url: str) -> None:
    closure = registry_problems(url)
    assert not closure.problems, closure.problems


def assert_nothing_staged(qvc: Qvc, tree: Path, point: str) -> None:
    """What the user sees right after a kill: nothing staged that they did not stage, and a
    plain commit has nothing to record."""
    staged = json.loads(qvc("status", "--json", cwd=tree).out)["staged"]
    assert staged == {"added": [], "modified": [], "deleted": []}, (point, staged)
    committed = qvc("commit", "-m", "right after the kill", cwd=tree, ok=False)
    assert committed.code == 5 and "nothing to commit" in committed.err, (point, committed.err)


def two_commits(work: Path, qvc: Qvc) -> None:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "one", cwd=work)
    for i in range(3):
        (work / f"new{i}.txt").write_text(f"new file {i}\n")
    (work / "README.md").write_text("# changed\n")
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "two", cwd=work)


# push ----------------------------------------------------------------------------------------

PUSH_POINTS = {"push.after_object", "push.after_manifest", "push.after_records",
               "push.after_pointers", "push.after_latest"}


_buckets = itertools.count()


def registry_url(kind: str, folder: Path, request: pytest.FixtureRequest) -> str:
    """A fresh registry: ``folder`` itself, or a new bucket on the moto server."""
    if kind == "folder":
        return str(folder)
    server: S3Server = request.getfixturevalue("s3")
    return server.bucket(f"crash-{os.getpid()}-{next(_buckets)}")


def push_points(kind: str, tmp_path: Path, request: pytest.FixtureRequest,
                qvc: Qvc) -> list[str]:
    """The crash points of pushing two fresh commits, from a throw-away run."""
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "a.txt").write_text("a\n")
    qvc("init", NAME, cwd=probe)
    two_commits(probe, qvc)
    url = registry_url(kind, tmp_path / "probe-registry", request)
    points = listed_points(["push", url], probe, tmp_path)
    assert set(points) >= PUSH_POINTS, points
    return occurrences(points)


@pytest.mark.parametrize("kind", ["folder", pytest.param("s3", marks=pytest.mark.slow)])
def test_push_killed_at_every_step(kind: str, tmp_path: Path, work: Path, qvc: Qvc,
                                   request: pytest.FixtureRequest) -> None:
    for n, point in enumerate(push_points(kind, tmp_path, request, qvc)):
        tree = tmp_path / f"w{n}"
        tree.mkdir()
        (tree / "a.txt").write_text(f"tree {n}\n")
        qvc("init", NAME, cwd=tree)
        url = registry_url(kind, tmp_path / f"r{n}", request)
        two_commits(tree, qvc)
        acknowledged = tops(qvc, tree)
        crash(["push", url], tree, point)
        assert_registry_closed(url)
        assert latest(url) in (None, acknowledged[0]), point
        if latest(url) is not None:  # what the killed push published clones
            qvc("clone", url, NAME, str(tmp_path / f"early{n}"), cwd=tmp_path)
            verify_clean(qvc, tmp_path / f"early{n}", "HEAD")
        qvc("push", url, cwd=tree)
        assert latest(url) == acknowledged[0], point
        assert_registry_closed(url)
        listed = {top for _, top in Registry(open_store(url)).versions(NAME)}
        assert set(acknowledged) <= listed, point
        assert tops(qvc, tree) == acknowledged
        verify_clean(qvc, tree)
        fresh = tmp_path / f"fresh{n}"
        qvc("clone", url, NAME, str(fresh), cwd=tmp_path)
        assert commit_ids(qvc, fresh) == commit_ids(qvc, tree), point  # the recorded history


# clone and pull ------------------------------------------------------------------------------


@pytest.fixture
def published(tmp_path: Path, work: Path, qvc: Qvc) -> tuple[str, dict[str, bytes]]:
    """A folder registry holding two versions of test/pkg; returns it and latest's files."""
    url = str(tmp_path / "registry")
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "one", cwd=work)
    qvc("push", url, cwd=work)
    for i in range(3):
        (work / f"new{i}.txt").write_text(f"new file {i}\n")
    (work / "data" / "values.csv").write_text("a,b\n3,4\n")
    (work / "README.md").unlink()
    qvc("commit", "-a", "-m", "two", cwd=work)
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "three", cwd=work)
    qvc("push", url, cwd=work)
    return url, files(work)


def test_clone_killed_at_every_step(tmp_path: Path, qvc: Qvc,
                                    published: tuple[str, dict[str, bytes]]) -> None:
    url, expected = published
    points = listed_points(["clone", url, NAME, "probe"], tmp_path, tmp_path)
    assert {"clone.after_init", "fetch.after_manifest", "fetch.after_object",
            "pull.after_files", "head.after_index", "head.after_pointers"} <= set(points)
    for n, point in enumerate(occurrences(points)):
        target = tmp_path / f"c{n}"
        crash(["clone", url, NAME, target.name], tmp_path, point)
        if (target / ".qvc").is_dir():
            # the clone's repository exists: finishing it is a pull from the registry
            qvc("pull", url, cwd=target)
        else:
            qvc("clone", url, NAME, target.name, cwd=tmp_path)
        assert files(target) == expected, point
        verify_clean(qvc, target, "HEAD")  # older versions' data is not downloaded
        assert json.loads(qvc("status", "--json", cwd=target).out)["clean"], point


def test_pull_killed_at_every_step(tmp_path: Path, work: Path, qvc: Qvc,
                                   published: tuple[str, dict[str, bytes]]) -> None:
    url, _ = published
    base = tmp_path / "base"
    qvc("clone", url, NAME, str(base), "--rev", _first_version(url), cwd=tmp_path)
    (work / "later.txt").write_text("pushed after the clone\n")
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "four", cwd=work)
    qvc("push", url, cwd=work)
    expected = files(work)
    probe = _copy_tree(base, tmp_path / "probe")
    points = listed_points(["pull"], probe, tmp_path)
    assert {"fetch.after_manifest", "fetch.after_object", "pull.after_files",
            "head.after_index", "head.after_pointers"} <= set(points)
    for n, point in enumerate(occurrences(points)):
        tree = _copy_tree(base, tmp_path / f"p{n}")
        history = tops(qvc, tree)
        crash(["pull"], tree, point)
        assert set(history) <= set(tops(qvc, tree)), point
        assert_nothing_staged(qvc, tree, point)
        qvc("pull", cwd=tree)
        assert files(tree) == expected, point
        verify_clean(qvc, tree, "HEAD")
        assert json.loads(qvc("status", "--json", cwd=tree).out)["clean"], point


def _first_version(url: str) -> str:
    return Registry(open_store(url)).versions(NAME)[0][1]


def _copy_tree(source: Path, dest: Path) -> Path:
    subprocess.run(["cp", "-a", str(source), str(dest)], check=True)
    return dest


# checkout and gc -----------------------------------------------------------------------------


def test_checkout_killed_at_every_step(tmp_path: Path, work: Path, qvc: Qvc) -> None:
    two_commits(work, qvc)
    old, new = tops(qvc, work)[1], tops(qvc, work)[0]
    qvc("checkout", old, cwd=work)
    old_files = files(work)
    qvc("checkout", new, cwd=work)
    probe = _copy_tree(work, tmp_path / "probe")
    points = listed_points(["checkout", old], probe, tmp_path)
    assert {"checkout.before_files", "checkout.write_file", "checkout.after_files",
            "head.after_index", "head.after_head"} <= set(points)
    for n, point in enumerate(occurrences(points)):
        tree = _copy_tree(work, tmp_path / f"k{n}")
        crash(["checkout", old], tree, point)
        for key, data in files(tree).items():  # each file whole: old or new content
            assert data in (old_files.get(key), files(work).get(key)), (point, key)
        assert_nothing_staged(qvc, tree, point)
        qvc("checkout", "--force", old, cwd=tree)
        assert files(tree) == old_files, point
        assert tops(qvc, tree)[0] == old
        qvc("show", new, cwd=tree)  # the commit checked out from is still there
        verify_clean(qvc, tree)


def test_gc_killed_mid_delete(tmp_path: Path, work: Path, qvc: Qvc) -> None:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "one", cwd=work)
    for i in range(4):  # staged, then unstaged: objects nothing refers to
        (work / f"junk{i}.bin").write_bytes(os.urandom(100))
    qvc("add", ".", cwd=work)
    for i in range(4):
        (work / f"junk{i}.bin").unlink()
    qvc("add", ".", cwd=work)
    acknowledged = tops(qvc, work)
    before = files(work)
    crash(["gc", "--grace", "0"], work, "gc.delete:2")
    assert tops(qvc, work) == acknowledged
    verify_clean(qvc, work)
    qvc("gc", "--grace", "0", cwd=work)
    verify_clean(qvc, work)
    assert files(work) == before


# stale locks ---------------------------------------------------------------------------------


def test_stale_lock_of_a_killed_command_is_cleared_with_a_message(tmp_path: Path, work: Path,
                                                                  qvc: Qvc) -> None:
    two_commits(work, qvc)
    old = tops(qvc, work)[1]
    crash(["checkout", old], work, "checkout.before_files")  # dies holding the lock
    assert (work / ".qvc" / "lock").read_text().strip(), "the lock records its holder"
    status = run_qvc("status", cwd=work)
    assert status.returncode == 0, status.stderr
    result = run_qvc("checkout", old, cwd=work)
    assert result.returncode == 0, result.stderr
    told = status.stderr + result.stderr  # whichever command took the lock first says so
    assert told.count("cleared a stale lock") == 1, told
    assert "pid" in told
    again = run_qvc("checkout", old, cwd=work)
    assert "stale lock" not in again.stderr  # a normal exit leaves no stale record


def hold_lock(work: Path, seconds: float) -> subprocess.Popen[str]:
    """A live process holding ``work``'s repository lock for ``seconds``."""
    code = ("import sys, time; from pathlib import Path; from qvc.core.repo import Repo\n"
            "with Repo(Path(sys.argv[1])).lock():\n"
            "    print('locked', flush=True); time.sleep(float(sys.argv[2]))\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(work), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


@pytest.mark.slow
def test_a_live_lock_is_never_cleared(work: Path, qvc: Qvc) -> None:
    """A held lock makes a writer wait, then fail with exit 6 naming the holder (10 s)."""
    qvc("add", ".", cwd=work)
    holder = hold_lock(work, 30)
    try:
        result = run_qvc("commit", "-m", "blocked", cwd=work)
        assert result.returncode == 6, result.stderr
        assert "locked by pid" in result.stderr and str(holder.pid) in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        holder.kill()
        holder.wait()
    assert qvc("log", "--json", cwd=work).out.strip() == "[]"



@pytest.mark.slow
def test_push_killed_between_multipart_parts(tmp_path: Path, work: Path, qvc: Qvc,
                                             s3: S3Server) -> None:
    """A kill -9 after the first part of a multipart upload: no process is left to abort it,
    nothing in the registry points at it, and the next push completes by resuming it, leaving
    nothing for 'gc --remote' to abort."""
    url = s3.bucket(f"crash-{os.getpid()}-{next(_buckets)}")
    big = os.urandom(17 * 2**20)  # three parts of the 8 MiB chunk size
    (work / "big.bin").write_bytes(big)
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "big", cwd=work)
    acknowledged = tops(qvc, work)
    crash(["push", url], work, "push.after_part")
    assert latest(url) is None
    assert_registry_closed(url)
    client, name = s3.client(), url.removeprefix("s3://")
    orphans = client.list_multipart_uploads(Bucket=name).get("Uploads", [])
    assert [u["Key"] for u in orphans] == ["test/pkg/big.bin"]
    qvc("remote", "add", "origin", url, cwd=work)
    qvc("push", cwd=work)
    assert latest(url) == acknowledged[0]
    assert_registry_closed(url)
    qvc("clone", url, NAME, "copy", cwd=tmp_path)
    assert (tmp_path / "copy" / "big.bin").read_bytes() == big
    assert not client.list_multipart_uploads(Bucket=name).get("Uploads")
    done = json.loads(qvc("gc", "--remote", "--json", cwd=work).out)
    assert done["aborted"] == []
