"""History walks through both parents of a merge, and merge bases, on hand-made graphs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from qvc.core import history
from qvc.core.repo import Commit, Repo
from qvc.errors import RepositoryError


def top(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def graph(repo: Repo, edges: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Commits named by label, in dict order (parents first), time increasing."""
    ids: dict[str, str] = {}
    for n, (label, parents) in enumerate(edges.items()):
        first = ids[parents[0]] if parents else None
        second = ids[parents[1]] if len(parents) > 1 else None
        ids[label] = repo.write_commit(Commit(top(label), first, n, "a", label, {}, second))
    return ids


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo.init(tmp_path / "work", "test/history")


def test_a_merge_reaches_both_lines_once_each_newest_first(repo: Repo) -> None:
    c = graph(repo, {"a": (), "b": ("a",), "c": ("a",), "m": ("b", "c"), "d": ("m",)})
    walked = [commit.message for _, commit in history.ancestors(repo, c["d"])]
    assert walked == ["d", "m", "c", "b", "a"]
    assert history.count_apart(repo, c["d"], c["c"]) == (3, 0)
    assert history.is_ancestor(repo, c["c"], c["d"])
    assert not history.is_ancestor(repo, c["d"], c["c"])


def test_merge_base_of_diverged_and_criss_crossed_lines(repo: Repo) -> None:
    c = graph(repo, {"a": (), "b": ("a",), "c": ("a",), "x": ("b",), "y": ("c",),
                     "m1": ("x", "y"), "m2": ("y", "x")})
    assert history.merge_base(repo, c["x"], c["y"]) == c["a"]
    assert history.merge_base(repo, c["b"], c["x"]) == c["b"]
    assert history.merge_base(repo, c["m1"], c["m2"]) == c["y"]  # both x and y: the newest
    lonely = repo.write_commit(Commit(top("z"), None, 99, "a", "z"))
    assert history.merge_base(repo, c["a"], lonely) is None


def test_a_record_that_does_not_hash_to_its_name_is_refused(repo: Repo) -> None:
    c = graph(repo, {"a": (), "b": ("a",)})
    record = repo.paths.commits / c["b"]
    raw = json.loads(record.read_bytes())
    raw["parent"] = c["b"]  # a record naming itself as parent: a loop, if it were believed
    record.chmod(0o644)
    record.write_bytes(json.dumps(raw, sort_keys=True, separators=(",", ":")).encode())
    with pytest.raises(RepositoryError, match="missing or damaged"):
        list(history.ancestors(repo, c["b"]))


def test_records_without_a_second_parent_keep_their_old_names(repo: Repo) -> None:
    commit = Commit(top("a"), None, 1, "a", "m", {})
    old_form = {"top_hash": top("a"), "parent": None, "time_ns": 1, "author": "a",
                "message": "m", "extra": {}}
    encoded = json.dumps(old_form, sort_keys=True, separators=(",", ":")).encode()
    assert commit.encode() == encoded
    assert commit.id == hashlib.sha256(encoded).hexdigest()


def test_walks_end_even_on_a_cycle_no_record_can_hold() -> None:
    """Records hash to their names, so no stored history can loop; the walk over fetched
    records keeps its own guard anyway (here fed a loop directly, bypassing decode)."""
    import threading

    from qvc.remote.recorded import Recorded

    a, b, c = top("ca"), top("cb"), top("cc")
    recorded = Recorded(commits={a: Commit(top("a"), b, 1, "x", "a"),
                                 b: Commit(top("b"), a, 2, "x", "b", {}, c),
                                 c: Commit(top("c"), c, 3, "x", "c")},
                        new={a, b, c})
    walked: list[str] = []
    worker = threading.Thread(target=lambda: walked.extend(
        cid for cid, _ in recorded.parents_first()), daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "the walk loops"
    assert sorted(walked) == sorted([a, b, c])


def test_parents_come_first_when_a_merge_names_an_ancestor_of_its_other_parent() -> None:
    from qvc.remote.recorded import Recorded

    base, side = top("base"), top("side")
    merge = top("merge")
    recorded = Recorded(commits={base: Commit(top("a"), None, 1, "x", "a"),
                                 side: Commit(top("b"), base, 2, "x", "b"),
                                 merge: Commit(top("m"), base, 3, "x", "m", {}, side)},
                        new={base, side, merge})
    order = [cid for cid, _ in recorded.parents_first()]
    assert order.index(base) < order.index(side) < order.index(merge)
