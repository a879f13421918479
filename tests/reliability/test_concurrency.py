"""Concurrent qvc processes: serialized, or one fails with its own exit code; nothing lost.

Processes are started together and run for real (``python -m qvc``), so the repository lock
and the registry's compare-and-swap are what keeps them apart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from qvc.storage import open_store
from qvc.storage.registry import Registry
from tests.conftest import Qvc, S3Server
from tests.faultproxy import FaultProxy
from tests.reliability.helpers import assert_clean_error, registry_problems

NAME = "test/pkg"


def together(*runs: tuple[Sequence[str], Path]) -> list[subprocess.CompletedProcess[str]]:
    """Start every ``qvc ARGS`` in its folder at once; wait for all of them."""
    procs = [subprocess.Popen([sys.executable, "-m", "qvc", *args], cwd=cwd, env=dict(os.environ),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for args, cwd in runs]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def log_tops(qvc: Qvc, work: Path) -> list[str]:
    return [c["top_hash"] for c in json.loads(qvc("log", "--json", cwd=work).out)]


def assert_sound(qvc: Qvc, work: Path) -> None:
    verified = qvc("verify", cwd=work, ok=False)
    assert verified.code == 0, verified.out + verified.err


@pytest.mark.parametrize("round_", range(3))
def test_two_commits_in_one_work_tree(work: Path, qvc: Qvc, round_: int) -> None:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "base", cwd=work)
    (work / "README.md").write_text(f"# round {round_}\n")
    (work / "data" / "values.csv").write_text(f"a,b\n{round_},0\n")
    results = together((["commit", "-a", "-m", "A", "--json"], work),
                       (["commit", "-a", "-m", "B", "--json"], work))
    codes = sorted(r.returncode for r in results)
    assert set(codes) <= {0, 5, 6} and 0 in codes, [r.stderr for r in results]
    for r in results:
        assert "Traceback" not in r.stderr
    history = log_tops(qvc, work)
    for r in results:
        if r.returncode == 0:  # acknowledged: must be in history
            assert json.loads(r.stdout)["top_hash"] in history
    assert json.loads(qvc("status", "--json", cwd=work).out)["clean"]
    assert_sound(qvc, work)


def test_commit_racing_gc_loses_nothing(work: Path, qvc: Qvc) -> None:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "base", cwd=work)
    for i in range(4):
        (work / f"file{i}.bin").write_bytes(os.urandom(2000))
        (work / "README.md").write_text(f"# {i}\n")
        qvc("add", f"file{i}.bin", cwd=work)
        results = together((["commit", "-a", "-m", f"c{i}", "--json"], work),
                           (["gc", "--grace", "0"], work))
        for r in results:
            assert r.returncode in (0, 6), r.stderr
        if results[0].returncode == 6:
            qvc("commit", "-a", "-m", f"c{i} again", cwd=work)
        assert_sound(qvc, work)
    assert json.loads(qvc("status", "--json", cwd=work).out)["clean"]
    assert len(log_tops(qvc, work)) == 5


def diverging_clones(tmp_path: Path, work: Path, qvc: Qvc, url: str) -> tuple[Path, Path]:
    """Two work trees cloned from ``url``, each with its own new commit on top."""
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "base", cwd=work)
    qvc("push", url, cwd=work)
    trees = []
    for name in ("alice", "bob"):
        qvc("clone", url, NAME, name, cwd=tmp_path)
        (tmp_path / name / f"{name}.txt").write_text(f"{name}'s change\n")
        qvc("add", ".", cwd=tmp_path / name)
        qvc("commit", "-m", name, cwd=tmp_path / name)
        trees.append(tmp_path / name)
    return trees[0], trees[1]


_buckets = iter(range(1_000_000))


@pytest.mark.parametrize("kind", ["folder", "s3"])
def test_two_work_trees_push_the_same_package(tmp_path: Path, work: Path, qvc: Qvc, kind: str,
                                              request: pytest.FixtureRequest) -> None:
    if kind == "folder":
        url = str(tmp_path / "registry")
    else:
        server: S3Server = request.getfixturevalue("s3")
        url = server.bucket(f"race-{os.getpid()}-{next(_buckets)}")
    alice, bob = diverging_clones(tmp_path, work, qvc, url)
    results = together((["push", url], alice), (["push", url], bob))
    codes = sorted(r.returncode for r in results)
    assert codes == [0, 6], [r.stderr for r in results]
    loser = results[0] if results[0].returncode == 6 else results[1]
    assert "Traceback" not in loser.stderr and "hint:" in loser.stderr
    winner = alice if results[0].returncode == 0 else bob
    found = Registry(open_store(url)).read_latest(NAME)
    assert found is not None and found.top_hash == log_tops(qvc, winner)[0]
    closure = registry_problems(url)
    assert not closure.problems, closure.problems
    listed = [top for pointer, top in closure.versions[NAME] if pointer != "latest"]
    assert len(listed) == len(set(listed)) == 2  # base and the winner; the loser took its own back


def test_racing_pushes_to_an_endpoint_ignoring_conditional_writes_are_refused(
        tmp_path: Path, work: Path, qvc: Qvc, proxy: FaultProxy, proxied_bucket: str) -> None:
    """Where If-None-Match / If-Match are dropped, 'latest' has no compare-and-swap: two racing
    pushes would both succeed and one version would silently stop being latest. Once the
    remote's probe has found that out, both pushes are refused; --force is the way through."""
    alice, bob = diverging_clones(tmp_path, work, qvc, proxied_bucket)
    proxy.add("strip_conditions", times=None)
    for tree in (alice, bob):
        added = qvc("remote", "add", "careless", proxied_bucket, "--endpoint-url", proxy.url,
                    cwd=tree)
        assert "ignores conditional writes" in added.err
    registry = Registry(open_store(proxied_bucket))
    base = registry.read_latest(NAME)
    results = together((["push", "careless"], alice), (["push", "careless"], bob))
    for result in results:
        assert_clean_error(result.returncode, result.stderr, 7, "ignores conditional writes",
                           "--force")
    assert registry.read_latest(NAME) == base
    assert len(registry.versions(NAME)) == 2  # base and latest: nothing of theirs was listed
    qvc("push", "careless", "--force", cwd=bob)
    found = registry.read_latest(NAME)
    assert found is not None and found.top_hash == log_tops(qvc, bob)[0]
    assert not registry_problems(proxied_bucket).problems
