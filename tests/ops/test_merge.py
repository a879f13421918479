"""Story tests of qvc merge and of qvc pull on diverged history: two clones of one registry
(a folder and a moto bucket) change the same package and bring their work together."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qvc.core.merge import ABSENT, merge
from qvc.quilt.hashing import sha256_bytes
from qvc.quilt.manifest import Entry, Manifest
from qvc.storage import open_store
from qvc.storage.registry import Registry
from tests.conftest import Qvc
from tests.ops.test_push import commit_all, files

NAME = "test/pkg"


@pytest.fixture(params=["folder", "s3"])
def team(request: pytest.FixtureRequest, work: Path, qvc: Qvc,
         tmp_path: Path) -> tuple[Path, Path, str]:
    """(Alice's work tree, Bob's clone, the registry both push to), at one shared version."""
    if request.param == "folder":
        url = str(tmp_path / "registry")
    else:
        url = request.getfixturevalue("bucket")
    commit_all(qvc, work, "v1")
    qvc("remote", "add", "origin", url, cwd=work)
    qvc("push", cwd=work)
    bob = tmp_path / "bob"
    qvc("clone", url, NAME, str(bob), cwd=tmp_path)
    return work, bob, url


def log(qvc: Qvc, tree: Path) -> list[dict[str, object]]:
    return list(json.loads(qvc("log", "--json", cwd=tree).out))


def head(qvc: Qvc, tree: Path) -> str:
    return str(log(qvc, tree)[0]["top_hash"])


def state(tree: Path) -> tuple[dict[str, bytes], bytes, bytes]:
    """Everything a refused merge must leave alone: files, index and HEAD."""
    return files(tree), (tree / ".qvc/index").read_bytes(), (tree / ".qvc/HEAD").read_bytes()


def diverge(qvc: Qvc, alice: Path, bob: Path) -> None:
    """Alice changes README.md and pushes; Bob adds a file and commits on the same base."""
    (alice / "README.md").write_text("# alice\n")
    commit_all(qvc, alice, "alice edits the readme")
    qvc("push", cwd=alice)
    (bob / "bob.csv").write_text("b,2\n")
    commit_all(qvc, bob, "bob adds a file")


def test_pull_merges_diverged_work_that_pushes_and_fast_forwards(
        team: tuple[Path, Path, str], qvc: Qvc, tmp_path: Path) -> None:
    alice, bob, url = team
    diverge(qvc, alice, bob)
    refused = qvc("push", cwd=bob, ok=False)
    assert refused.code == 6
    pulled = json.loads(qvc("pull", "--json", cwd=bob).out)
    assert pulled["merged"] and pulled["updated"] == ["README.md"]
    assert (bob / "README.md").read_text() == "# alice\n"
    assert (bob / "bob.csv").read_text() == "b,2\n"
    assert json.loads(qvc("status", "--json", cwd=bob).out)["clean"]
    record = json.loads((bob / ".qvc/commits" / pulled["merged"]).read_text())
    assert record["merged"] and record["parent"]  # two parents
    qvc("push", cwd=bob)
    merged = head(qvc, bob)
    assert Registry(open_store(url)).read_latest(NAME).top_hash == merged  # type: ignore[union-attr]
    again = qvc("pull", cwd=alice).out
    assert again.startswith("Fast-forward")
    assert files(alice) == files(bob)
    assert head(qvc, alice) == merged
    fresh = tmp_path / "fresh"
    qvc("clone", url, NAME, str(fresh), cwd=tmp_path)
    assert files(fresh) == files(bob)


def test_pull_ff_only_keeps_refusing(team: tuple[Path, Path, str], qvc: Qvc) -> None:
    alice, bob, _ = team
    diverge(qvc, alice, bob)
    before = state(bob)
    refused = qvc("pull", "--ff-only", cwd=bob, ok=False)
    assert refused.code == 6 and "diverged" in refused.err
    assert state(bob) == before


def conflicting(qvc: Qvc, alice: Path, bob: Path) -> str:
    """Both change data/values.csv differently; Bob has fetched Alice's version. Returns it."""
    (alice / "data/values.csv").write_text("a,b\n1,alice\n")
    commit_all(qvc, alice, "alice")
    qvc("push", cwd=alice)
    (bob / "data/values.csv").write_text("a,b\n1,bob\n")
    (bob / "bob.txt").write_text("only bob\n")
    commit_all(qvc, bob, "bob")
    qvc("fetch", cwd=bob)
    return head(qvc, alice)


def test_conflict_is_refused_with_the_path_listed_and_nothing_touched(
        team: tuple[Path, Path, str], qvc: Qvc) -> None:
    alice, bob, _ = team
    theirs = conflicting(qvc, alice, bob)
    before = state(bob)
    refused = qvc("pull", cwd=bob, ok=False)
    assert refused.code == 6
    assert "data/values.csv" in refused.err and "ours 10 B" in refused.err
    assert f"qvc merge {theirs[:12]} --theirs data/values.csv" in refused.err
    assert state(bob) == before
    refused = qvc("merge", theirs[:12], cwd=bob, ok=False)
    assert refused.code == 6 and state(bob) == before


@pytest.mark.parametrize("side", ["--theirs", "--ours"])
def test_conflict_resolved_with_a_side(team: tuple[Path, Path, str], qvc: Qvc,
                                       side: str) -> None:
    alice, bob, _ = team
    theirs = conflicting(qvc, alice, bob)
    done = json.loads(qvc("merge", theirs[:12], side, "data/values.csv", "--json",
                          cwd=bob).out)
    assert done["state"] == "merged"
    assert done["resolved"] == {"data/values.csv": side[2:]}
    wanted = "a,b\n1,alice\n" if side == "--theirs" else "a,b\n1,bob\n"
    assert (bob / "data/values.csv").read_text() == wanted
    assert (bob / "bob.txt").exists()
    assert json.loads(qvc("status", "--json", cwd=bob).out)["clean"]
    qvc("push", cwd=bob)
    assert qvc("pull", cwd=alice).out.startswith("Fast-forward")
    assert (alice / "data/values.csv").read_text() == wanted


def test_conflict_resolved_by_edit_add_and_merge_again(team: tuple[Path, Path, str],
                                                       qvc: Qvc) -> None:
    alice, bob, _ = team
    theirs = conflicting(qvc, alice, bob)
    qvc("merge", theirs[:12], cwd=bob, ok=False)
    (bob / "data/values.csv").write_text("a,b\n1,both\n")
    qvc("add", "data/values.csv", cwd=bob)
    done = json.loads(qvc("merge", theirs[:12], "--json", cwd=bob).out)
    assert done["resolved"] == {"data/values.csv": "staged"}
    assert (bob / "data/values.csv").read_text() == "a,b\n1,both\n"
    assert json.loads(qvc("status", "--json", cwd=bob).out)["clean"]
    assert qvc("merge", theirs[:12], cwd=bob).out.startswith("Already up to date")


def test_delete_against_change_is_a_conflict(team: tuple[Path, Path, str], qvc: Qvc) -> None:
    alice, bob, _ = team
    (alice / "README.md").unlink()
    qvc("commit", "-a", "-m", "alice drops the readme", cwd=alice)
    qvc("push", cwd=alice)
    theirs = head(qvc, alice)
    (bob / "README.md").write_text("# bob keeps it\n")
    commit_all(qvc, bob, "bob edits the readme")
    refused = qvc("pull", cwd=bob, ok=False)
    assert refused.code == 6 and "README.md (ours" in refused.err
    assert "theirs deleted" in refused.err
    qvc("merge", theirs[:12], "--theirs", "README.md", cwd=bob)
    assert not (bob / "README.md").exists()


def test_remote_deletion_of_an_unchanged_file_is_taken(team: tuple[Path, Path, str],
                                                       qvc: Qvc) -> None:
    alice, bob, _ = team
    (alice / "README.md").unlink()
    qvc("commit", "-a", "-m", "alice drops the readme", cwd=alice)
    qvc("push", cwd=alice)
    (bob / "bob.txt").write_text("bob\n")
    commit_all(qvc, bob, "bob adds")
    pulled = json.loads(qvc("pull", "--json", cwd=bob).out)
    assert pulled["removed"] == ["README.md"] and not (bob / "README.md").exists()
    assert (bob / "bob.txt").exists()


def test_package_metadata_conflict(team: tuple[Path, Path, str], qvc: Qvc) -> None:
    alice, bob, _ = team
    qvc("commit", "-m", "alice meta", "--meta", '{"owner": "alice"}', cwd=alice)
    qvc("push", cwd=alice)
    theirs = head(qvc, alice)
    qvc("commit", "-m", "bob meta", "--meta", '{"owner": "bob"}', cwd=bob)
    refused = qvc("pull", cwd=bob, ok=False)
    assert refused.code == 6 and "package metadata" in refused.err
    qvc("merge", theirs[:12], "--theirs", ".", cwd=bob)
    shown = json.loads(qvc("log", "--json", cwd=bob).out)[0]
    assert Registry(open_store(str(bob / ".qvc"))).read_manifest(
        str(shown["top_hash"])).user_meta == {"owner": "alice"}


def test_entry_metadata_conflict(team: tuple[Path, Path, str], qvc: Qvc) -> None:
    alice, bob, _ = team
    qvc("add", "README.md", "--meta", '{"by": "alice"}', cwd=alice)
    qvc("commit", "-m", "alice", cwd=alice)
    qvc("push", cwd=alice)
    qvc("add", "README.md", "--meta", '{"by": "bob"}', cwd=bob)
    qvc("commit", "-m", "bob", cwd=bob)
    refused = qvc("pull", cwd=bob, ok=False)
    assert refused.code == 6 and "README.md" in refused.err


def test_quilt3_browses_the_merge_version(team: tuple[Path, Path, str], qvc: Qvc,
                                         tmp_path: Path) -> None:
    quilt3 = pytest.importorskip("quilt3")
    alice, bob, _ = team
    diverge(qvc, alice, bob)
    qvc("pull", cwd=bob)
    top = head(qvc, bob)
    pkg = quilt3.Package.browse(NAME, registry=(bob / ".qvc").as_uri(), top_hash=top)
    assert pkg.top_hash == top
    pkg.fetch(str(tmp_path / "q3") + "/")
    assert files(tmp_path / "q3") == files(bob)


# the pure three-way merge -----------------------------------------------------------------


def _entry(key: str, data: bytes, meta: dict[str, object] | None = None) -> Entry:
    return Entry(key, f"file:///objects/{key}", len(data), sha256_bytes(data), meta or {})


def _manifest(*entries: Entry, user_meta: object = ABSENT) -> Manifest:
    header: dict[str, object] = {"version": "v0"}
    if user_meta is not ABSENT:
        header["user_meta"] = user_meta
    return Manifest(header=header, entries={e.logical_key: e for e in entries})


def test_three_way_rules() -> None:
    a, b, c = _entry("a", b"a"), _entry("b", b"b"), _entry("c", b"c")
    base = _manifest(a, b, c, user_meta={"v": 1})
    ours = _manifest(_entry("a", b"a2"), b, _entry("d", b"d"), user_meta={"v": 1})
    theirs = _manifest(a, _entry("b", b"b2"), _entry("d", b"d"),
                       _entry("c", b"c", {"x": 1}), user_meta={"v": 2})
    result = merge(base, ours, theirs)
    assert result.files == {"b": _entry("b", b"b2")}  # a: ours only; d: the same on both
    assert [(c.key, c.ours, c.theirs) for c in result.conflicts] == [
        ("c", None, _entry("c", b"c", {"x": 1}))]  # deleted here, changed there
    assert result.user_meta == {"v": 2} and result.user_meta_changed


def test_physical_keys_do_not_make_changes() -> None:
    a = _entry("a", b"a")
    moved = Entry("a", "file:///elsewhere/a", a.size, a.hash, {})
    result = merge(_manifest(a), _manifest(moved), _manifest(a, _entry("b", b"b")))
    assert result.files == {"b": _entry("b", b"b")} and not result.conflicts


def test_a_file_on_one_side_and_a_folder_on_the_other_is_refused(
        team: tuple[Path, Path, str], qvc: Qvc) -> None:
    alice, bob, _ = team
    (alice / "report").write_text("a file\n")
    commit_all(qvc, alice, "alice")
    qvc("push", cwd=alice)
    (bob / "report").mkdir()
    (bob / "report/part.txt").write_text("a folder\n")
    commit_all(qvc, bob, "bob")
    before = state(bob)
    refused = qvc("pull", cwd=bob, ok=False)
    assert refused.code == 6 and "report" in refused.err and "file and a folder" in refused.err
    assert state(bob) == before


def test_objects_missing_locally_come_from_the_default_remote(
        team: tuple[Path, Path, str], qvc: Qvc) -> None:
    alice, bob, url = team
    (alice / "README.md").write_text("# two\n")
    commit_all(qvc, alice, "two")
    two = head(qvc, alice)
    (alice / "README.md").write_text("# three\n")
    commit_all(qvc, alice, "three")
    qvc("push", cwd=alice)
    (bob / "bob.txt").write_text("bob\n")
    commit_all(qvc, bob, "bob")
    qvc("fetch", cwd=bob)  # downloads the data of latest (three) only
    qvc("remote", "remove", "origin", cwd=bob)
    before = state(bob)
    refused = qvc("merge", two[:12], cwd=bob, ok=False)
    assert refused.code == 8 and "README.md" in refused.err and state(bob) == before
    qvc("remote", "add", "origin", url, cwd=bob)
    qvc("merge", two[:12], cwd=bob)
    assert (bob / "README.md").read_text() == "# two\n"


def test_uncommitted_changes_in_the_way_are_refused_and_kept(team: tuple[Path, Path, str],
                                                             qvc: Qvc) -> None:
    alice, bob, _ = team
    diverge(qvc, alice, bob)
    (bob / "README.md").write_text("# bob, not committed\n")  # the merge writes README.md
    before = state(bob)
    refused = qvc("pull", cwd=bob, ok=False)
    assert refused.code == 6 and "uncommitted changes: README.md" in refused.err
    assert state(bob) == before
    qvc("add", "README.md", cwd=bob)
    before = state(bob)
    refused = qvc("pull", cwd=bob, ok=False)
    assert refused.code == 6 and "staged changes: README.md" in refused.err
    assert state(bob) == before
    qvc("restore", "--staged", "README.md", cwd=bob)
    qvc("restore", "README.md", cwd=bob)  # the edit given up: the merge goes ahead
    qvc("pull", cwd=bob)
    assert (bob / "README.md").read_text() == "# alice\n"


def test_uncommitted_changes_elsewhere_stay_uncommitted(team: tuple[Path, Path, str],
                                                        qvc: Qvc) -> None:
    """As in git: a change to a file the merge leaves alone stays in the work tree, unstaged,
    and out of the merge commit."""
    alice, bob, _ = team
    diverge(qvc, alice, bob)
    committed = (bob / "data/values.csv").read_bytes()
    (bob / "data/values.csv").write_text("a,b\n5,5\n")
    (bob / "notes.txt").write_text("untracked\n")
    pulled = json.loads(qvc("pull", "--json", cwd=bob).out)
    assert pulled["merged"] and pulled["updated"] == ["README.md"]
    assert (bob / "data/values.csv").read_text() == "a,b\n5,5\n"
    status = json.loads(qvc("status", "--json", cwd=bob).out)
    assert status["modified"] == ["data/values.csv"] and status["untracked"] == ["notes.txt"]
    qvc("restore", "data/values.csv", cwd=bob)
    assert (bob / "data/values.csv").read_bytes() == committed  # the merge commit's version


def test_a_fast_forward_pull_keeps_changes_it_does_not_touch(team: tuple[Path, Path, str],
                                                             qvc: Qvc) -> None:
    """The same rule as merge: refused where the pull writes, kept elsewhere."""
    alice, bob, _ = team
    (alice / "README.md").write_text("# alice\n")
    commit_all(qvc, alice, "alice edits the readme")
    qvc("push", cwd=alice)
    (bob / "README.md").write_text("# bob, not committed\n")
    before = state(bob)
    refused = qvc("pull", cwd=bob, ok=False)
    assert refused.code == 6 and "README.md" in refused.err and state(bob) == before
    qvc("restore", "README.md", cwd=bob)
    (bob / "data/values.csv").write_text("a,b\n5,5\n")
    pulled = json.loads(qvc("pull", "--json", cwd=bob).out)
    assert not pulled["merged"] and (bob / "README.md").read_text() == "# alice\n"
    assert (bob / "data/values.csv").read_text() == "a,b\n5,5\n"
    assert json.loads(qvc("status", "--json", cwd=bob).out)["modified"] == ["data/values.csv"]
