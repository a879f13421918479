"""kill -9 at every step of ``qvc merge`` and of a ``qvc pull`` that merges diverged history
(the pattern of tests/reliability/test_crashes.py). Afterwards nothing is staged that the user
did not stage, a plain commit has nothing to record, nothing committed is lost, and the same
merge or pull run again completes with the files the uninterrupted run gives."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import Qvc
from tests.reliability.test_crashes import (
    assert_nothing_staged,
    crash,
    files,
    listed_points,
    occurrences,
    tops,
    verify_clean,
)

MERGE_POINTS = {"merge.after_files", "commit.after_commit_record", "commit.after_latest",
                "head.after_index", "head.after_pointers", "head.after_head"}


def copy_tree(source: Path, dest: Path) -> Path:
    subprocess.run(["cp", "-a", str(source), str(dest)], check=True)
    return dest


def commit_all(qvc: Qvc, tree: Path, message: str) -> None:
    qvc("add", ".", cwd=tree)
    qvc("commit", "-m", message, cwd=tree)


def check_recovery(qvc: Qvc, tree: Path, args: list[str], point: str, history: list[str],
                   expected: dict[str, bytes]) -> None:
    crash(args, tree, point)
    assert set(history) <= set(tops(qvc, tree)), point
    assert_nothing_staged(qvc, tree, point)
    qvc(*args, cwd=tree)
    assert files(tree) == expected, point
    assert json.loads(qvc("status", "--json", cwd=tree).out)["clean"], point
    assert set(history) <= set(tops(qvc, tree)), point
    verify_clean(qvc, tree, "HEAD")


def test_merge_killed_at_every_step(tmp_path: Path, work: Path, qvc: Qvc) -> None:
    commit_all(qvc, work, "base")
    qvc("tag", "base", cwd=work)
    (work / "README.md").write_text("# theirs\n")
    (work / "data/nested/deep.txt").unlink()
    (work / "data/theirs.txt").write_text("added by them\n")
    qvc("commit", "-a", "-m", "theirs", cwd=work)
    commit_all(qvc, work, "theirs adds")
    qvc("tag", "theirs", cwd=work)
    qvc("checkout", "base", cwd=work)
    (work / "data/values.csv").write_text("a,b\n9,9\n")
    (work / "ours.txt").write_text("added by us\n")
    commit_all(qvc, work, "ours")
    probe = copy_tree(work, tmp_path / "probe")
    points = listed_points(["merge", "theirs"], probe, tmp_path)
    assert set(points) >= MERGE_POINTS, points
    expected = files(probe)
    assert expected["README.md"] == b"# theirs\n" and "data/nested/deep.txt" not in expected
    history = tops(qvc, work)
    for n, point in enumerate(occurrences(points)):
        tree = copy_tree(work, tmp_path / f"m{n}")
        check_recovery(qvc, tree, ["merge", "theirs"], point, history, expected)


def test_merging_pull_killed_at_every_step(tmp_path: Path, work: Path, qvc: Qvc) -> None:
    url = str(tmp_path / "registry")
    commit_all(qvc, work, "base")
    qvc("remote", "add", "origin", url, cwd=work)
    qvc("push", cwd=work)
    bob = tmp_path / "bob"
    qvc("clone", url, "test/pkg", str(bob), cwd=tmp_path)
    (work / "README.md").write_text("# alice\n")
    (work / "data/nested/deep.txt").unlink()
    qvc("commit", "-a", "-m", "alice", cwd=work)
    qvc("push", cwd=work)
    (bob / "bob.txt").write_text("bob\n")
    commit_all(qvc, bob, "bob")
    probe = copy_tree(bob, tmp_path / "probe")
    points = listed_points(["pull"], probe, tmp_path)
    assert MERGE_POINTS | {"fetch.after_manifest"} <= set(points), points
    expected = files(probe)
    assert expected["README.md"] == b"# alice\n" and "bob.txt" in expected
    history = tops(qvc, bob)
    for n, point in enumerate(occurrences(points)):
        tree = copy_tree(bob, tmp_path / f"p{n}")
        check_recovery(qvc, tree, ["pull"], point, history, expected)
