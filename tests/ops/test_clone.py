"""Story tests of clone, fetch, pull and delete, and of safe work-tree materialization."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from qvc.errors import PathError
from qvc.quilt.hashing import sha256_bytes
from qvc.quilt.manifest import Entry, Manifest
from qvc.worktree.materialize import remove_entry, write_entry
from tests.conftest import Qvc
from tests.ops.test_push import commit_all, files


@pytest.fixture
def shared(work: Path, qvc: Qvc, tmp_path: Path) -> tuple[Path, Path, str]:
    """(author's work tree, a clone of it, the folder registry between them)."""
    registry = str(tmp_path / "registry")
    commit_all(qvc, work, "v1")
    qvc("remote", "add", "origin", registry, cwd=work)
    qvc("push", cwd=work)
    clone = tmp_path / "clone"
    qvc("clone", registry, "test/pkg", str(clone), cwd=tmp_path)
    return work, clone, registry


def publish_v2(qvc: Qvc, work: Path) -> str:
    (work / "README.md").write_text("# v2\n")
    (work / "data/nested/deep.txt").unlink()
    (work / "data/new.txt").write_text("new\n")
    top = commit_all(qvc, work, "v2")
    qvc("push", cwd=work)
    return top


def test_fetch_then_pull_fast_forwards(shared: tuple[Path, Path, str], qvc: Qvc) -> None:
    work, clone, _ = shared
    top = publish_v2(qvc, work)
    before = files(clone)
    fetched = json.loads(qvc("fetch", "--json", cwd=clone).out)
    assert fetched["latest"] == top and fetched["new_versions"] == [top]
    assert files(clone) == before  # fetch leaves the work tree alone
    assert "Behind 'origin' by 1 commit" in qvc("status", cwd=clone).out
    pulled = json.loads(qvc("pull", "--json", cwd=clone).out)
    assert pulled["head"] == top and pulled["removed"] == ["data/nested/deep.txt"]
    assert files(clone) == files(work)
    assert not (clone / "data/nested").exists()
    status = json.loads(qvc("status", "--json", cwd=clone).out)
    assert status["clean"] and status["remote"]["state"] == "up-to-date"
    log = [e["top_hash"] for e in json.loads(qvc("log", "--json", cwd=clone).out)]
    assert log == [e["top_hash"] for e in json.loads(qvc("log", "--json", cwd=work).out)]
    assert qvc("pull", cwd=clone).out.startswith("Already up to date")


def test_pull_refuses_to_overwrite_uncommitted_changes(shared: tuple[Path, Path, str],
                                                       qvc: Qvc) -> None:
    work, clone, _ = shared
    (clone / "README.md").write_text("# my unsaved edit\n")
    publish_v2(qvc, work)
    refused = qvc("pull", cwd=clone, ok=False)
    assert refused.code == 6 and "README.md" in refused.err
    assert (clone / "README.md").read_text() == "# my unsaved edit\n"
    assert (clone / "data/nested/deep.txt").exists()


def test_pull_refuses_untracked_file_in_the_way(shared: tuple[Path, Path, str], qvc: Qvc) -> None:
    work, clone, _ = shared
    (clone / "data/new.txt").write_text("mine, untracked\n")
    publish_v2(qvc, work)
    refused = qvc("pull", cwd=clone, ok=False)
    assert refused.code == 6 and "data/new.txt" in refused.err
    assert (clone / "data/new.txt").read_text() == "mine, untracked\n"


def test_pull_refuses_divergence(shared: tuple[Path, Path, str], qvc: Qvc) -> None:
    work, clone, _ = shared
    publish_v2(qvc, work)
    (clone / "local.txt").write_text("local\n")
    commit_all(qvc, clone, "local work")
    refused = qvc("pull", "--ff-only", cwd=clone, ok=False)
    assert refused.code == 6 and "diverged" in refused.err
    assert "diverged" in qvc("status", cwd=clone).out


def test_clone_refuses_non_empty_folder(shared: tuple[Path, Path, str], qvc: Qvc,
                                        tmp_path: Path) -> None:
    _, _, registry = shared
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("keep\n")
    refused = qvc("clone", registry, "test/pkg", str(taken), cwd=tmp_path, ok=False)
    assert refused.code == 2
    assert os.listdir(taken) == ["keep.txt"]


def write_registry_package(root: Path, name: str, manifest: Manifest) -> str:
    """Store a hand-made package (as another tool would) in a folder registry."""
    top = manifest.top_hash()
    (root / ".quilt/packages").mkdir(parents=True, exist_ok=True)
    (root / ".quilt/packages" / top).write_bytes(manifest.dumps())
    pointers = root / ".quilt/named_packages" / name
    pointers.mkdir(parents=True, exist_ok=True)
    (pointers / "1700000000").write_text(top)
    (pointers / "latest").write_text(top)
    return top


def test_clone_legacy_sha256_package(tmp_path: Path, qvc: Qvc) -> None:
    registry = tmp_path / "legacy"
    data = b"written by an old quilt3\n"
    (registry / "old/pkg").mkdir(parents=True)
    (registry / "old/pkg/file.txt").write_bytes(data)
    entry = Entry("file.txt", (registry / "old/pkg/file.txt").as_uri(), len(data),
                  sha256_bytes(data))
    top = write_registry_package(registry, "old/pkg", Manifest(entries={"file.txt": entry}))
    result = json.loads(qvc("clone", str(registry), "old/pkg", "--json", cwd=tmp_path).out)
    assert result["top_hash"] == top
    assert (tmp_path / "pkg/file.txt").read_bytes() == data


def test_clone_refuses_hostile_physical_key(tmp_path: Path, qvc: Qvc) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours\n")
    entry = Entry("stolen.txt", secret.as_uri(), secret.stat().st_size,
                  sha256_bytes(secret.read_bytes()))
    registry = tmp_path / "hostile"
    write_registry_package(registry, "evil/pkg", Manifest(entries={"stolen.txt": entry}))
    refused = qvc("clone", str(registry), "evil/pkg", cwd=tmp_path, ok=False)
    assert refused.code == 8 and "points outside" in refused.err
    assert not (tmp_path / "pkg").exists()


def test_corrupt_remote_object_never_reaches_work_tree(shared: tuple[Path, Path, str],
                                                       qvc: Qvc, tmp_path: Path) -> None:
    _, _, registry = shared
    (Path(registry) / "test/pkg/README.md").write_text("# tampered\n")
    refused = qvc("clone", registry, "test/pkg", str(tmp_path / "bad"), cwd=tmp_path, ok=False)
    assert refused.code == 8
    assert not (tmp_path / "bad").exists()


def test_delete_version_then_package(shared: tuple[Path, Path, str], qvc: Qvc) -> None:
    work, _, registry = shared
    v1 = json.loads(qvc("log", "--json", cwd=work).out)[0]["top_hash"]
    v2 = publish_v2(qvc, work)
    out = json.loads(qvc("delete", "test/pkg", "--registry", registry, "--rev", v2[:10],
                         "--json", cwd=work).out)
    assert out["latest"] == v1 and "latest" in out["pointers"]
    qvc("delete", "test/pkg", "--registry", registry, cwd=work)
    assert not list((Path(registry) / ".quilt/named_packages/test/pkg").iterdir())
    assert (Path(registry) / ".quilt/packages" / v2).is_file()  # data and manifests stay
    gone = qvc("delete", "test/pkg", "--registry", registry, cwd=work, ok=False)
    assert gone.code == 7 and "no package test/pkg" in gone.err


def test_write_entry_never_follows_links(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    source = tmp_path / "object"
    source.write_bytes(b"payload")
    (root / "link").symlink_to(outside)
    with pytest.raises(PathError):
        write_entry(root, "link/file.txt", source)
    assert not list(outside.iterdir())
    (root / "target.txt").symlink_to(outside / "victim.txt")
    write_entry(root, "target.txt", source)
    assert not (root / "target.txt").is_symlink() and not (outside / "victim.txt").exists()
    st = write_entry(root, "a/b/c.txt", source)
    assert st.size == 7 and (root / "a/b/c.txt").read_bytes() == b"payload"
    remove_entry(root, "a/b/c.txt")
    assert not (root / "a").exists()
