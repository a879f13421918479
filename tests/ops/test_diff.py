"""Story tests of qvc diff: commits against commits, and commits against the work tree."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Qvc


def test_diff_between_commits_finds_every_kind_of_change(work: Path, qvc: Qvc) -> None:
    (work / "old_name.bin").write_bytes(b"\x00moved bytes\xff" * 100)
    (work / "gone.txt").write_text("bye\n")
    qvc("add", ".", cwd=work)
    v1 = qvc("commit", "-m", "v1").out.strip()
    (work / "old_name.bin").rename(work / "data" / "new_name.bin")
    (work / "gone.txt").unlink()
    (work / "added.txt").write_text("hi\n")
    (work / "README.md").write_text("# changed, longer\n")
    qvc("add", ".")
    qvc("add", "data/values.csv", "--meta", '{"rows": 1}')
    v2 = qvc("commit", "-m", "v2").out.strip()

    d = json.loads(qvc("diff", v1, v2, "--json").out)
    assert (d["from"], d["to"]) == (v1, v2)
    assert [a["logical_key"] for a in d["added"]] == ["added.txt"]
    assert [r["logical_key"] for r in d["removed"]] == ["gone.txt"]
    assert d["renamed"][0]["from"] == "old_name.bin"
    assert d["renamed"][0]["to"] == "data/new_name.bin"
    (modified,) = d["modified"]
    assert modified["logical_key"] == "README.md"
    assert (modified["old"]["size"], modified["new"]["size"]) == (8, 18)
    assert modified["old"]["hash"] != modified["new"]["hash"]
    assert d["meta_changed"] == [{"logical_key": "data/values.csv", "old": {},
                                  "new": {"user_meta": {"rows": 1}}}]

    text = qvc("diff", v1, v2, "--text").out
    assert "-# hello" in text and "+# changed, longer" in text
    assert "old_name.bin -> data/new_name.bin" in text
    assert "1 file" not in qvc("diff", v1, v1).out and "no differences" in qvc("diff", v1, v1).out
    assert "5 file(s) changed" in qvc("diff", v1, v2, "--stat").out


def test_diff_work_tree_against_head_and_rev(work: Path, qvc: Qvc) -> None:
    qvc("add", ".", cwd=work)
    v1 = qvc("commit", "-m", "v1").out.strip()
    assert json.loads(qvc("diff", "--json").out)["modified"] == []
    (work / "data" / "values.csv").write_text("a,b\n3,4\n")
    (work / "README.md").unlink()
    (work / "untracked.txt").write_text("not part of any diff\n")
    d = json.loads(qvc("diff", "--json").out)
    assert d["to"] is None and d["from"] == v1
    assert [m["logical_key"] for m in d["modified"]] == ["data/values.csv"]
    assert [r["logical_key"] for r in d["removed"]] == ["README.md"]
    assert d["added"] == []
    assert "+3,4" in qvc("diff", "--text").out
    qvc("add", "untracked.txt")
    qvc("commit", "-a", "-m", "v2")
    since_v1 = json.loads(qvc("diff", v1, "--json").out)
    assert [a["logical_key"] for a in since_v1["added"]] == ["untracked.txt"]


def test_diff_too_many_revisions(work: Path, qvc: Qvc) -> None:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "v1")
    assert qvc("diff", "HEAD", "HEAD", "HEAD", ok=False).code == 2
