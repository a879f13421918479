"""Partial clones and sparse work trees (qvc.core.sparse), with two clones of one registry (a
folder and a moto bucket): keys outside the selection are never downloaded nor written, stay
exactly as in the parent through commit, pull, merge and push, and come in with
``qvc sparse add`` / ``disable``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qvc.core.repo import Repo
from qvc.quilt.hashing import Hash
from tests.conftest import Qvc
from tests.ops.test_push import commit_all, files

NAME = "test/pkg"
DATA = {
    "images/2023/a.bin": b"a" * 3000,
    "images/2024/b.bin": b"b" * 2000,
    "images/2024/c.bin": b"c" * 100,
    "labels.csv": b"key,label\n",
    "other/x.txt": b"x" * 5000,
}
SELECTED = {"images/2024/b.bin", "images/2024/c.bin", "labels.csv"}


@pytest.fixture(params=["folder", "s3"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "folder":
        return str(tmp_path / "registry")
    return str(request.getfixturevalue("bucket"))


def publish(qvc: Qvc, tmp_path: Path, registry: str) -> Path:
    alice = tmp_path / "alice"
    for key, data in DATA.items():
        (alice / key).parent.mkdir(parents=True, exist_ok=True)
        (alice / key).write_bytes(data)
    qvc("init", NAME, cwd=alice)
    commit_all(qvc, alice, "v1")
    qvc("remote", "add", "origin", registry, cwd=alice)
    qvc("push", cwd=alice)
    return alice


def sparse_clone(qvc: Qvc, tmp_path: Path, registry: str) -> tuple[Path, dict[str, Any]]:
    out = qvc("clone", registry, NAME, "bob", "--path", "images/2024/", "--path", "labels.csv",
              "--json", cwd=tmp_path).out
    return tmp_path / "bob", json.loads(out)


def entries(qvc: Qvc, root: Path, *args: str) -> dict[str, dict[str, Any]]:
    return {e["logical_key"]: e for e in json.loads(qvc("ls", "--json", *args, cwd=root).out)}


def stored(root: Path, key: str, entry: dict[str, Any]) -> bool:
    h = Hash(entry["hash"]["type"], entry["hash"]["value"])
    return Repo(root).objects.has(h, entry["size"])


def clean(qvc: Qvc, root: Path) -> bool:
    return bool(json.loads(qvc("status", "--json", cwd=root).out)["clean"])


def test_sparse_clone_commits_and_pushes_and_a_full_clone_pulls_it(
        qvc: Qvc, tmp_path: Path, registry: str) -> None:
    alice = publish(qvc, tmp_path, registry)
    bob, cloned = sparse_clone(qvc, tmp_path, registry)
    assert set(files(bob)) == SELECTED
    assert cloned["sparse"] == ["images/2024", "labels.csv"] and cloned["files"] == 3
    assert cloned["bytes"] == sum(len(DATA[k]) for k in SELECTED)
    v1 = entries(qvc, bob)
    assert set(v1) == set(DATA)  # the version holds every key
    assert not any(stored(bob, k, v1[k]) for k in DATA if k not in SELECTED)
    assert clean(qvc, bob)
    assert "not downloaded" in qvc("verify", cwd=bob).out  # not damage: exit 0
    assert qvc("sparse", "list", cwd=bob).out.split() == ["images/2024", "labels.csv"]

    (bob / "images/2024/b.bin").write_bytes(b"B" * 2000)
    (bob / "images/2024/new.bin").write_bytes(b"new")
    status = json.loads(qvc("status", "--json", cwd=bob).out)
    assert status["modified"] == ["images/2024/b.bin"] and status["deleted"] == []
    assert status["untracked"] == ["images/2024/new.bin"]
    commit_all(qvc, bob, "v2 from a sparse clone")
    assert clean(qvc, bob)
    v2 = entries(qvc, bob)
    for key in ("images/2023/a.bin", "other/x.txt"):  # kept exactly as in the parent
        assert v2[key] == v1[key]
    qvc("verify", cwd=bob)
    pushed = json.loads(qvc("push", "--json", cwd=bob).out)
    assert pushed["uploaded"] == 2 and pushed["bytes"] == 2003

    top1 = json.loads(qvc("log", "--json", cwd=alice).out)[0]["top_hash"]
    remote_v1 = entries(qvc, alice, "--remote", top1)
    remote_v2 = entries(qvc, bob, "--remote")
    for key in ("images/2023/a.bin", "other/x.txt"):  # same physical key in the registry
        assert remote_v2[key]["physical_key"] == remote_v1[key]["physical_key"]
        assert remote_v2[key]["hash"] == remote_v1[key]["hash"]

    pulled = json.loads(qvc("pull", "--json", cwd=alice).out)
    assert sorted(pulled["updated"]) == ["images/2024/b.bin", "images/2024/new.bin"]
    assert files(alice) == {**DATA, "images/2024/b.bin": b"B" * 2000,
                            "images/2024/new.bin": b"new"}
    assert clean(qvc, alice)
    qvc("verify", cwd=alice)


def test_files_outside_the_selection_are_neither_tracked_nor_untracked(
        qvc: Qvc, tmp_path: Path, registry: str) -> None:
    publish(qvc, tmp_path, registry)
    bob, _ = sparse_clone(qvc, tmp_path, registry)
    (bob / "other").mkdir()
    (bob / "other/x.txt").write_bytes(b"not the committed content")
    (bob / "elsewhere.txt").write_bytes(b"stray")
    assert clean(qvc, bob)
    changes = json.loads(qvc("diff", "--json", cwd=bob).out)
    assert not any(changes[k] for k in ("added", "removed", "modified", "renamed"))
    changes = json.loads(qvc("diff", "HEAD", "--json", cwd=bob).out)
    assert not any(changes[k] for k in ("added", "removed", "modified", "renamed"))
    qvc("add", ".", cwd=bob)
    assert qvc("commit", "-m", "nothing", cwd=bob, ok=False).code != 0
    refused = qvc("add", "other/x.txt", cwd=bob, ok=False)
    assert refused.code == 4 and "sparse selection" in refused.err
    assert "qvc sparse add other/x.txt" in refused.err
    # widening over a file that differs is refused; the stray file is kept
    blocked = qvc("sparse", "add", "other", cwd=bob, ok=False)
    assert blocked.code != 0 and "other/x.txt" in blocked.err
    assert (bob / "other/x.txt").read_bytes() == b"not the committed content"
    assert qvc("sparse", "list", cwd=bob).out.split() == ["images/2024", "labels.csv"]


def test_sparse_add_set_and_disable_fetch_write_and_remove(
        qvc: Qvc, tmp_path: Path, registry: str) -> None:
    publish(qvc, tmp_path, registry)
    bob, _ = sparse_clone(qvc, tmp_path, registry)
    added = json.loads(qvc("sparse", "add", "other", "--json", cwd=bob).out)
    assert added["written"] == ["other/x.txt"] and added["sparse"] == [
        "images/2024", "labels.csv", "other"]
    assert files(bob)["other/x.txt"] == DATA["other/x.txt"]
    assert clean(qvc, bob)
    (bob / "labels.csv").write_bytes(b"edited")
    refused = qvc("sparse", "set", "other", cwd=bob, ok=False)
    assert refused.code != 0 and "labels.csv" in refused.err
    assert (bob / "labels.csv").read_bytes() == b"edited"
    (bob / "labels.csv").write_bytes(DATA["labels.csv"])
    narrowed = json.loads(qvc("sparse", "set", "other", "--json", cwd=bob).out)
    assert sorted(narrowed["removed"]) == sorted(SELECTED)
    assert set(files(bob)) == {"other/x.txt"} and clean(qvc, bob)
    qvc("sparse", "disable", cwd=bob)
    assert files(bob) == DATA and clean(qvc, bob)
    assert qvc("sparse", "list", cwd=bob).out.strip() == "all"
    assert not (bob / ".qvc/sparse").exists()
    missing = qvc("sparse", "set", "nothing/here", cwd=bob, ok=False)
    assert missing.code == 4 and "qvc ls" in missing.err


def test_pull_checkout_and_merge_leave_unselected_keys_alone(
        qvc: Qvc, tmp_path: Path, registry: str) -> None:
    alice = publish(qvc, tmp_path, registry)
    bob, _ = sparse_clone(qvc, tmp_path, registry)
    v1 = entries(qvc, bob)
    # alice changes a selected and an unselected key; bob fast-forwards
    (alice / "other/x.txt").write_bytes(b"y" * 5000)
    (alice / "labels.csv").write_bytes(b"key,label\n1,cat\n")
    commit_all(qvc, alice, "v2")
    qvc("push", cwd=alice)
    pulled = json.loads(qvc("pull", "--json", cwd=bob).out)
    assert pulled["updated"] == ["labels.csv"] and pulled["bytes"] == 16
    assert set(files(bob)) == SELECTED and clean(qvc, bob)
    v2 = entries(qvc, bob)
    assert not stored(bob, "other/x.txt", v2["other/x.txt"])
    # diff between versions reads manifests only
    diff = qvc("diff", "HEAD~1", "HEAD", cwd=bob).out
    assert "other/x.txt" in diff and "labels.csv" in diff
    # back to v1 and forward again: only selected files are written
    top1 = json.loads(qvc("log", "--json", cwd=bob).out)[1]["top_hash"]
    qvc("checkout", top1, cwd=bob)
    assert files(bob)["labels.csv"] == DATA["labels.csv"] and set(files(bob)) == SELECTED
    assert clean(qvc, bob) and entries(qvc, bob) == v1
    qvc("checkout", "latest", cwd=bob)
    # diverged histories: alice edits an unselected key, bob a selected one; bob merges
    (alice / "images/2023/a.bin").write_bytes(b"A" * 3000)
    commit_all(qvc, alice, "v3 by alice")
    qvc("push", cwd=alice)
    (bob / "images/2024/c.bin").write_bytes(b"C" * 100)
    commit_all(qvc, bob, "v3 by bob")
    merged = json.loads(qvc("pull", "--json", cwd=bob).out)
    assert merged["merged"] is not None
    assert set(files(bob)) == SELECTED and clean(qvc, bob)
    head = entries(qvc, bob)
    assert not stored(bob, "images/2023/a.bin", head["images/2023/a.bin"])
    qvc("push", cwd=bob)
    qvc("pull", cwd=alice)
    assert files(alice)["images/2023/a.bin"] == b"A" * 3000
    assert files(alice)["images/2024/c.bin"] == b"C" * 100
    assert files(alice)["other/x.txt"] == b"y" * 5000
    assert clean(qvc, alice)


def test_ls_remote_reads_the_manifest_only(qvc: Qvc, tmp_path: Path, registry: str) -> None:
    publish(qvc, tmp_path, registry)
    bob, _ = sparse_clone(qvc, tmp_path, registry)
    assert set(qvc("ls", "--remote", cwd=bob).out.split()) == set(DATA)


def test_clone_path_matching_nothing_leaves_no_folder(qvc: Qvc, tmp_path: Path) -> None:
    registry = str(tmp_path / "registry")
    publish(qvc, tmp_path, registry)
    failed = qvc("clone", registry, NAME, "bob", "--path", "nope", cwd=tmp_path, ok=False)
    assert failed.code == 4 and "nope" in failed.err
    assert not (tmp_path / "bob").exists()
