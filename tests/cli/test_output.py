"""What people read: status folds untracked folders, hashes are 12 hex characters, metadata is
JSON, show names parents, commit reports renames, diff shows package metadata before and after."""

from __future__ import annotations

import json
import re
from pathlib import Path

from qvc.quilt.hashing import Hash
from tests.conftest import Qvc


def fresh(tmp_path: Path, qvc: Qvc) -> Path:
    """An initialised work tree with nothing committed: one top file, two folders."""
    root = tmp_path / "fresh"
    for key in ("top.txt", "raw/a/1.bin", "raw/a/2.bin", "raw/b.bin", "notes/n.md"):
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_text(key)
    qvc("init", "test/fresh", cwd=root)
    return root


def untracked(out: str) -> list[str]:
    lines = out.splitlines()
    start = lines.index("Untracked files:") + 1
    return [line.strip() for line in lines[start:] if line.startswith("  ")]


def test_status_on_a_fresh_folder_folds_folders_and_says_no_commits_yet(tmp_path: Path,
                                                                         qvc: Qvc) -> None:
    root = fresh(tmp_path, qvc)
    out = qvc("status", cwd=root).out
    assert out.startswith("On package test/fresh\n\nNo commits yet\n") and "HEAD -" not in out
    assert [k for k in untracked(out) if k != ".qvcignore"] == ["notes/", "raw/", "top.txt"]


def test_status_folds_only_folders_without_tracked_files(tmp_path: Path, qvc: Qvc) -> None:
    root = fresh(tmp_path, qvc)
    qvc("add", "raw/a/1.bin", cwd=root)
    out = qvc("status", cwd=root).out
    assert "raw/" not in untracked(out) and "raw/a/2.bin" in untracked(out)
    assert "raw/b.bin" in untracked(out) and "notes/" in untracked(out)


def test_status_untracked_files_all_and_no(tmp_path: Path, qvc: Qvc) -> None:
    root = fresh(tmp_path, qvc)
    every = untracked(qvc("status", "--untracked-files=all", cwd=root).out)
    assert {"raw/a/1.bin", "raw/a/2.bin", "raw/b.bin", "notes/n.md", "top.txt"} <= set(every)
    assert untracked(qvc("status", "-uall", cwd=root).out) == every
    assert "Untracked files:" not in qvc("status", "-u", "no", cwd=root).out
    bad = qvc("status", "--untracked-files=some", cwd=root, ok=False)
    assert bad.code == 2 and "--untracked-files" in bad.err


def test_status_json_lists_every_untracked_file(tmp_path: Path, qvc: Qvc) -> None:
    root = fresh(tmp_path, qvc)
    doc = json.loads(qvc("status", "--json", cwd=root).out)
    assert doc["head"] is None
    assert {"raw/a/1.bin", "raw/a/2.bin", "raw/b.bin", "notes/n.md"} <= set(doc["untracked"])


def test_ls_long_shows_entry_hashes_as_12_hex(work: Path, qvc: Qvc) -> None:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "one")
    entries = {e["logical_key"]: e for e in json.loads(qvc("ls", "--json").out)}
    for line in qvc("ls", "-l").out.splitlines():
        size, digest, key = line.split()
        h = entries[key]["hash"]
        assert re.fullmatch(r"[0-9a-f]{12}", digest)
        assert digest == Hash(h["type"], h["value"]).hex[:12]


def test_show_prints_metadata_as_json_and_its_parent(work: Path, qvc: Qvc) -> None:
    qvc("add", "--meta", '{"unit": "m", "ok": true}', "README.md", cwd=work)
    qvc("commit", "-m", "one", "--meta", '{"source": "lab", "n": null}')
    first = json.loads(qvc("show", "--json").out)["top_hash"]
    out = qvc("show").out
    assert 'Package metadata: {"n": null, "source": "lab"}' in out
    assert re.search(r'README\.md  \{"ok": true, "unit": "m"\}', out)
    assert "Parent:" not in out
    (work / "README.md").write_text("# changed\n")
    qvc("commit", "-a", "-m", "two")
    assert f"\nParent: {first[:12]}\n" in qvc("show").out
    assert f"Parent: {first[:12]}\n" in qvc("log").out


def test_show_and_log_name_both_parents_of_a_merge(work: Path, qvc: Qvc) -> None:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "base")
    (work / "README.md").write_text("# ours\n")
    qvc("commit", "-a", "-m", "theirs")
    theirs = json.loads(qvc("show", "--json").out)["top_hash"]
    qvc("checkout", "HEAD~1")
    (work / "data" / "values.csv").write_text("a,b\n3,4\n")
    qvc("commit", "-a", "-m", "ours")
    ours = json.loads(qvc("show", "--json").out)["top_hash"]
    merged = json.loads(qvc("merge", theirs, "--json").out)
    assert merged["state"] == "merged"
    line = f"Merge:  {ours[:12]} {theirs[:12]}"
    assert line in qvc("show").out.splitlines()
    assert line in qvc("log", "-n", "1").out.splitlines()
    assert json.loads(qvc("show", "--json").out)["parents"] == [ours, theirs]


def test_commit_reports_renames_as_diff_does(work: Path, qvc: Qvc) -> None:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "one")
    (work / "data" / "values.csv").rename(work / "values.csv")
    qvc("add", ".")
    diff_line = "renamed   data/values.csv -> values.csv"
    assert diff_line in qvc("diff").out.splitlines()
    result = qvc("commit", "-m", "move")
    assert diff_line in result.err.splitlines()
    assert "0 added, 0 modified, 0 deleted, 1 renamed" in result.err


def test_diff_shows_old_and_new_package_metadata(work: Path, qvc: Qvc) -> None:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "one", "--meta", '{"v": 1}')
    qvc("commit", "-m", "two", "--meta", '{"v": 2, "note": "é"}')
    out = qvc("diff", "HEAD~1", "HEAD").out
    assert 'package metadata: {"v": 1} -> {"note": "é", "v": 2}' in out.splitlines()
    doc = json.loads(qvc("diff", "HEAD~1", "HEAD", "--json").out)
    assert doc["header_changed"] and doc["user_meta"] == {"old": {"v": 1},
                                                          "new": {"v": 2, "note": "é"}}
