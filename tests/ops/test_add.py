"""Staging and history through the CLI: add/rm, metadata, same-second commits, REV forms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Qvc


def status(qvc: Qvc) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(qvc("status", "--json").out)
    return result


def show(qvc: Qvc, rev: str = "HEAD") -> dict[str, Any]:
    result: dict[str, Any] = json.loads(qvc("show", rev, "--json").out)
    return result


@pytest.fixture
def committed(work: Path, qvc: Qvc) -> Path:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "first")
    return work


def test_rm_deletes_and_untracks(committed: Path, qvc: Qvc) -> None:
    out = qvc("rm", "data/values.csv").out
    assert "rm 'data/values.csv'" in out
    assert not (committed / "data" / "values.csv").exists()
    assert status(qvc)["staged"]["deleted"] == ["data/values.csv"]
    qvc("commit", "-m", "gone")
    assert "data/values.csv" not in qvc("ls").out


def test_rm_cached_keeps_the_file_as_untracked(committed: Path, qvc: Qvc) -> None:
    qvc("rm", "--cached", "data")
    assert (committed / "data" / "values.csv").read_text() == "a,b\n1,2\n"
    result = status(qvc)
    assert result["staged"]["deleted"] == ["data/nested/deep.txt", "data/values.csv"]
    assert result["untracked"] == ["data/nested/deep.txt", "data/values.csv"]


def test_rm_refuses_to_lose_uncommitted_content(committed: Path, qvc: Qvc) -> None:
    (committed / "README.md").write_text("edited, not committed\n")
    (committed / "new.txt").write_text("staged only\n")
    qvc("add", "new.txt")
    for path in ("README.md", "new.txt", "."):
        refused = qvc("rm", path, ok=False)
        assert refused.code == 6, refused.err
        assert "not committed" in refused.err and "--force" in refused.err
    assert (committed / "README.md").exists() and (committed / "new.txt").exists()
    qvc("rm", "--force", "README.md", "new.txt")
    assert not (committed / "README.md").exists() and not (committed / "new.txt").exists()
    assert status(qvc)["staged"] == {"added": [], "modified": [], "deleted": ["README.md"]}


def test_rm_of_an_untracked_path_is_an_error(committed: Path, qvc: Qvc) -> None:
    (committed / "loose.txt").write_text("x")
    result = qvc("rm", "loose.txt", ok=False)
    assert result.code == 4 and "not tracked" in result.err
    assert (committed / "loose.txt").exists()


def test_add_of_deleted_tracked_paths_stages_the_deletion(committed: Path, qvc: Qvc) -> None:
    (committed / "README.md").unlink()
    (committed / "data" / "nested" / "deep.txt").unlink()
    assert status(qvc)["deleted"] == ["README.md", "data/nested/deep.txt"]
    qvc("add", "README.md")
    qvc("add", "data/nested")  # the folder is gone too
    assert status(qvc)["staged"]["deleted"] == ["README.md", "data/nested/deep.txt"]
    qvc("commit", "-m", "deleted")
    assert qvc("ls").out.split() == ["data/values.csv"]


def test_entry_meta_lives_under_user_meta_and_survives_edits(committed: Path, qvc: Qvc) -> None:
    meta = {"rows": 1, "unit": "µm", "ratio": 0.25}
    qvc("add", "data/values.csv", "--meta", json.dumps(meta))
    qvc("commit", "-m", "meta")
    entries = {e["logical_key"]: e for e in show(qvc)["entries"]}
    assert entries["data/values.csv"]["meta"] == {"user_meta": meta}
    assert entries["README.md"]["meta"] == {}
    (committed / "data" / "values.csv").write_text("a,b\n3,4\n5,6\n")
    qvc("commit", "-a", "-m", "edit keeps meta")
    entries = {e["logical_key"]: e for e in show(qvc)["entries"]}
    assert entries["data/values.csv"]["meta"] == {"user_meta": meta}
    qvc("add", "data/values.csv", "--meta", "null")  # null clears it
    qvc("commit", "-m", "cleared")
    assert {e["logical_key"]: e for e in show(qvc)["entries"]}["data/values.csv"]["meta"] == {}


def test_package_meta_goes_to_the_header_and_is_inherited(committed: Path, qvc: Qvc) -> None:
    assert "user_meta" not in show(qvc)["header"]
    (committed / "README.md").write_text("v2\n")
    qvc("add", ".")
    qvc("commit", "-m", "with meta", "--meta", '{"k": "v", "n": [1, 2.5]}')
    header = show(qvc)["header"]
    assert header == {"version": "v0", "user_meta": {"k": "v", "n": [1, 2.5]},
                      "message": "with meta"}
    (committed / "README.md").write_text("v3\n")
    qvc("commit", "-a", "-m", "inherits")
    assert show(qvc)["header"]["user_meta"] == {"k": "v", "n": [1, 2.5]}
    qvc("commit", "-m", "meta only", "--meta", '{"k": "w"}')  # a metadata-only commit
    assert show(qvc)["user_meta"] == {"k": "w"}


def test_commits_in_the_same_second_are_all_kept(committed: Path, qvc: Qvc) -> None:
    tops = [show(qvc)["top_hash"]]
    for i in range(3):
        (committed / "README.md").write_text(f"version {i}\n")
        tops.append(qvc("commit", "-a", "-m", f"quick {i}").out.strip())
    log = json.loads(qvc("log", "--json").out)
    assert [e["top_hash"] for e in log] == tops[::-1]
    assert [e["parent"] for e in log] == tops[::-1][1:] + [None]
    named = committed / ".qvc/.quilt/named_packages/test/pkg"
    pointers = sorted(p.name for p in named.iterdir() if p.name != "latest")
    assert len(pointers) == 4
    assert sorted((named / p).read_text() for p in pointers) == sorted(tops)
    assert (named / "latest").read_text() == tops[-1]
    assert len(json.loads(qvc("log", "-n", "2", "--json").out)) == 2


def test_revision_forms(committed: Path, qvc: Qvc) -> None:
    first = show(qvc)["top_hash"]
    (committed / "README.md").write_text("second\n")
    second = qvc("commit", "-a", "-m", "second").out.strip()
    for rev, expected in [(first, first), (second[:6], second), (first[:6].upper(), first),
                          ("latest", second), ("HEAD", second), ("HEAD~1", first),
                          ("HEAD~0", second), ("HEAD~", first)]:
        assert show(qvc, rev)["top_hash"] == expected, rev
    assert qvc("ls", first[:10]).out.split()[0] == "README.md"
    assert json.loads(qvc("log", "HEAD~1", "--json").out)[0]["top_hash"] == first
    for bad in ("HEAD~2", first[:5], "zzzzzz", "0" * 64, "nonsense-rev"):
        result = qvc("show", bad, ok=False)
        assert result.code == 2, (bad, result.err)
        assert result.err.startswith("error: ") and "hint: " in result.err


def test_nothing_to_commit_at_start_and_after(work: Path, qvc: Qvc) -> None:
    result = qvc("commit", "-m", "empty", cwd=work, ok=False)
    assert result.code == 5 and "nothing" in result.err
    qvc("add", ".")
    qvc("commit", "-m", "first")
    qvc("add", ".")
    assert qvc("commit", "-m", "again", ok=False).code == 5
    assert qvc("commit", "-a", "-m", "again", ok=False).code == 5


def test_add_reports_what_it_did(committed: Path, qvc: Qvc) -> None:
    (committed / "README.md").write_text("changed\n")
    (committed / "new.txt").write_text("new\n")
    (committed / "data" / "values.csv").unlink()
    result = json.loads(qvc("add", ".", "--json").out)
    assert result["added"] == ["new.txt"]
    assert result["updated"] == ["README.md"]
    assert result["removed"] == ["data/values.csv"]
    assert result["unchanged"] == 1


def test_add_from_a_subfolder_and_relative_paths(committed: Path, qvc: Qvc) -> None:
    (committed / "data" / "nested" / "more.txt").write_text("m\n")
    (committed / "top.txt").write_text("t\n")
    qvc("add", "more.txt", "../../top.txt", cwd=committed / "data" / "nested")
    assert status(qvc)["staged"]["added"] == ["data/nested/more.txt", "top.txt"]


def test_returning_to_an_earlier_state_is_a_new_commit(committed: Path, qvc: Qvc) -> None:
    first = show(qvc)["top_hash"]
    (committed / "README.md").write_text("other\n")
    second = qvc("commit", "-a", "-m", "first").out.strip()
    (committed / "README.md").write_text("# hello\n")
    third = qvc("commit", "-a", "-m", "first").out.strip()
    assert third == first != second  # same files, message and meta: the same package version
    log = json.loads(qvc("log", "--json").out)
    assert [e["top_hash"] for e in log] == [first, second, first]
    assert show(qvc, "HEAD~2")["top_hash"] == first
    assert show(qvc, first[:8])["commit"] == log[0]["commit"]  # the newest commit of that hash


@pytest.mark.parametrize("processes", ["1", "2"])  # threads; forked processes when allowed
def test_add_reports_progress_up_to_the_total(tmp_path: Path, processes: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from qvc.core.repo import Repo
    from qvc.ops import add as add_op
    from qvc.ops import init as init_op

    monkeypatch.setenv("QVC_ADD_PROCESSES", processes)
    root = tmp_path / "work"
    for i in range(600):
        folder = root / f"d{i % 6}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i}.txt").write_text(f"{i}\n")
    init_op.init(root, "test/progress")
    repo = Repo.find(root)

    def added(paths: list[str]) -> list[tuple[int, int]]:
        seen: list[tuple[int, int]] = []
        add_op.add(repo, paths, cwd=root, progress=lambda done, total: seen.append((done, total)))
        return seen

    seen = added(["."])
    done = [d for d, _ in seen]
    assert done == sorted(done) and len(set(done)) >= 3  # several steps, never backwards
    assert {total for _, total in seen} == {600} and seen[-1] == (600, 600)
    for i in range(0, 600, 2):  # half of the files change; the rest count as done unread
        (root / f"d{i % 6}" / f"f{i}.txt").write_text(f"changed {i}\n")
    seen = added(["d0", "d1", "d3/f3.txt"])
    done = [d for d, _ in seen]
    assert done == sorted(done) and seen[-1] == (201, 201)
