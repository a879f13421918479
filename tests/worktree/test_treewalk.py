"""The work-tree walk gives the same files, stats and skipped paths whether it stats them in
this process alone or splits them with forked children (large trees, on Linux)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from qvc.worktree.ignore import IgnoreRules


def _tree(root: Path) -> None:
    for d in range(7):
        folder = root / f"d{d}" / ("deep" if d % 2 else "")
        folder.mkdir(parents=True, exist_ok=True)
        for f in range(40 + d):
            (folder / f"f{f:03d}.txt").write_text(f"{d}/{f}\n")
        (root / f"d{d}" / "zz.txt").write_text("after the subfolder\n")
    (root / "top.txt").write_text("top\n")
    (root / "link.txt").symlink_to(root / "top.txt")
    (root / "d1" / "dirlink").symlink_to(root / "d2", target_is_directory=True)
    os.mkfifo(root / "d3" / "pipe")
    (root / ".qvcignore").write_text("*.tmp\n")
    (root / "d4" / "x.tmp").write_text("ignored\n")


_SCRIPT = """
import json, os, sys
from pathlib import Path
from qvc.worktree.ignore import IgnoreRules
from qvc.worktree.treewalk import walk
forks = []
os.register_at_fork(after_in_parent=lambda: forks.append(1))
root = Path(sys.argv[1])
w = walk(root, IgnoreRules(root))
print(json.dumps({"keys": w.keys, "stats": w.stats.values.tolist(), "skipped": sorted(w.skipped),
                  "forks": len(forks)}))
"""


def _walk(root: Path, processes: int) -> dict[str, Any]:
    """Walk in a process of its own: the suite's own threads (a moto server) rightly stop
    the walk from forking."""
    env = {**os.environ, "QVC_WALK_PROCESSES": str(processes)}
    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(root)], env=env, check=True,
                          capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks on Linux only")
@pytest.mark.parametrize("processes", [2, 4])
def test_a_forked_walk_equals_a_walk_in_one_process(tmp_path: Path, processes: int) -> None:
    _tree(tmp_path)
    alone = _walk(tmp_path, 1)
    split = _walk(tmp_path, processes)
    assert (alone["forks"], split["forks"]) == (0, processes - 1)
    assert split["keys"] == alone["keys"]
    assert split["stats"] == alone["stats"]
    assert split["skipped"] == alone["skipped"] == ["d1/dirlink", "d3/pipe", "link.txt"]
    keys = alone["keys"]
    assert len(keys) == 7 * 40 + 21 + 7 + 2  # files, zz.txt per folder, top + .qvcignore
    assert keys == sorted(keys, key=lambda k: k.split("/"))
    assert "d4/x.tmp" not in keys


def test_a_folder_swapped_for_a_link_after_listing_is_not_read_through(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qvc.worktree import treewalk

    tree, outside = tmp_path / "tree", tmp_path / "outside"
    (tree / "data").mkdir(parents=True)
    outside.mkdir()
    (tree / "data" / "a.txt").write_text("inside\n")
    (outside / "a.txt").write_text("outside\n")
    listing = treewalk._Listing()
    treewalk._list_folder(tree, str(tree), None, IgnoreRules(tree), "", False, listing)
    (tree / "data").rename(tmp_path / "moved")
    (tree / "data").symlink_to(outside, target_is_directory=True)
    modes, _ = treewalk._stat_all(str(tree), listing.segments, len(listing.keys))
    assert listing.keys == ["data/a.txt"]
    assert modes[0] == treewalk._GONE  # counted as gone: the folder listed is not the one there now


def test_files_changed_between_listing_and_stat_are_dropped_or_skipped(tmp_path: Path) -> None:
    from qvc.worktree import treewalk

    for name in ("a.txt", "b.txt", "c.txt", "d.txt"):
        (tmp_path / name).write_text(name)
    listing = treewalk._Listing()
    treewalk._list_folder(tmp_path, str(tmp_path), None, IgnoreRules(tmp_path), "", False,
                          listing)
    (tmp_path / "b.txt").unlink()
    (tmp_path / "c.txt").unlink()
    (tmp_path / "c.txt").symlink_to(tmp_path / "a.txt")
    (tmp_path / "d.txt").unlink()
    (tmp_path / "d.txt").mkdir()
    found = treewalk._stat_listing(tmp_path, listing)
    assert found.keys == ["a.txt"]
    assert found.skipped == ["c.txt"]
    assert [st.size for st in found.stats] == [5]  # a.txt's size


def test_a_file_gone_between_listing_and_stat_is_left_out(tmp_path: Path) -> None:
    """Only a vanished file (no other change): it was once an OverflowError (a mode of -1)."""
    from qvc.worktree import treewalk

    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(name)
    listing = treewalk._Listing()
    treewalk._list_folder(tmp_path, str(tmp_path), None, IgnoreRules(tmp_path), "", False,
                          listing)
    (tmp_path / "b.txt").unlink()
    found = treewalk._stat_listing(tmp_path, listing)
    assert found.keys == ["a.txt"]
    assert found.skipped == []


@pytest.mark.parametrize("rules", [
    ["*.tmp", "__pycache__/", "/top.txt", "d2/f00*.txt", "deep/"],
    ["*.txt", "!f001.txt", "zz.*"],  # a negation: checked one name at a time
    ["# only a comment", ""],
    ["d[13]/**/f0?5.txt", "**/zz.txt"],
])
def test_the_combined_ignore_check_agrees_with_the_one_by_one_check(
        tmp_path: Path, rules: list[str]) -> None:
    _tree(tmp_path)
    (tmp_path / ".qvcignore").write_text("\n".join(rules) + "\n")
    (tmp_path / "d5" / ".qvcignore").write_text("f01*\n")
    combined = IgnoreRules(tmp_path)
    one_by_one = IgnoreRules(tmp_path)
    ignored = 0
    for folder in ["", "d1", "d1/deep", "d2", "d3/deep", "d5", "d5/deep", "d6"]:
        names = sorted(os.listdir(tmp_path / folder))
        prefix = folder + "/" if folder else ""
        expected = {n for n in names if one_by_one.ignored(prefix + n)}
        assert combined.ignored_files(folder, names) == expected
        ignored += len(expected)
    assert ignored >= 10  # d5's own rule alone ignores f010-f019
