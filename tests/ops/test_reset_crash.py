"""kill -9 at every crash point of ``qvc reset`` (soft, mixed, hard): right after the kill,
``status`` shows nothing staged the user did not stage (for --soft: exactly the index the
user had), a plain commit records nothing unintended, the work tree keeps every untracked
file, and running the reset again completes it.

The pattern of tests/reliability/test_crashes.py: the points a successful run passes are
listed first (``QVC_CRASH_LIST``), then a fresh repository is killed at each of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Qvc
from tests.reliability.test_crashes import crash, files, listed_points, occurrences, verify_clean

NOTHING = {"added": [], "modified": [], "deleted": []}
EXPECTED_POINTS = {
    "soft": {"head.after_marked_index", "head.after_head"},
    "mixed": {"head.after_index", "head.after_head"},
    "hard": {"checkout.before_files", "checkout.write_file", "checkout.after_files",
             "head.after_index", "head.after_head"},
}


def prepare(root: Path, qvc: Qvc) -> tuple[str, str]:
    """Commits "one" and "two", then: a.txt staged back to its version in one (so the
    staged version equals the reset's target, which a naive repair would take for a row
    nobody staged), b.txt edited and staged, s.txt new and staged, c.txt edited but not
    staged, u.txt untracked. Returns the top hashes of one and two."""
    (root / "d").mkdir(parents=True)
    (root / "a.txt").write_text("a1\n")
    (root / "b.txt").write_text("b1\n")
    (root / "d" / "c.txt").write_text("c1\n")
    qvc("init", "crash/reset", cwd=root)
    qvc("add", ".")
    one = qvc("commit", "-m", "one").out.strip()
    (root / "a.txt").write_text("a2\n")
    (root / "n.txt").write_text("new in two\n")
    qvc("add", ".")
    two = qvc("commit", "-m", "two").out.strip()
    (root / "a.txt").write_text("a1\n")
    (root / "b.txt").write_text("b2\n")
    (root / "s.txt").write_text("staged\n")
    qvc("add", "a.txt", "b.txt", "s.txt")
    (root / "d" / "c.txt").write_text("c2, not staged\n")
    (root / "u.txt").write_text("untracked\n")
    return one, two


def status(qvc: Qvc, root: Path) -> dict[str, Any]:
    return json.loads(qvc("status", "--json", cwd=root).out)  # type: ignore[no-any-return]


@pytest.mark.parametrize("mode", ["soft", "mixed", "hard"])
def test_reset_killed_at_every_step(mode: str, tmp_path: Path, qvc: Qvc) -> None:
    probe = tmp_path / "probe"
    one, two = prepare(probe, qvc)
    before, before_files = status(qvc, probe), files(probe)
    args = ["reset", f"--{mode}", one[:10]]
    points = listed_points(args, probe, tmp_path)
    assert EXPECTED_POINTS[mode] <= set(points), points
    after, after_files = status(qvc, probe), files(probe)
    assert after["head"] == one
    if mode == "soft":
        assert after["staged"] == {"added": ["n.txt", "s.txt"], "modified": ["b.txt"],
                                   "deleted": []}
    for n, point in enumerate(occurrences(points)):
        tree = tmp_path / f"t{n}"
        prepare(tree, qvc)
        crash(args, tree, point)
        seen = status(qvc, tree)
        assert seen["head"] in (one, two), point
        moved = seen["head"] == one
        if mode == "soft":  # the index is exactly the user's, whichever HEAD it is against
            assert seen["staged"] == (after if moved else before)["staged"], point
        elif moved:
            assert seen["staged"] == NOTHING, point
        else:  # not reset yet, or its index saved: the user's staging, or none of it
            assert seen["staged"] in (before["staged"], NOTHING), point
        if mode != "hard":
            assert files(tree) == before_files, point
        assert (tree / "u.txt").read_text() == "untracked\n", point
        if seen["staged"] == NOTHING:
            committed = qvc("commit", "-m", "right after the kill", cwd=tree, ok=False)
            assert committed.code == 5 and "nothing to commit" in committed.err, point
        qvc(*args, cwd=tree)
        done = status(qvc, tree)
        assert done["head"] == one and done["staged"] == after["staged"], point
        if mode == "hard":
            assert files(tree) == after_files, point
            assert done == after, point
        verify_clean(qvc, tree)
