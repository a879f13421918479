"""Story tests of qvc checkout: going back, refusing to lose work, and catching damage."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import Qvc


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of the work tree (outside .qvc/) and its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and ".qvc" not in p.parts}


def two_versions(work: Path, qvc: Qvc) -> tuple[str, str, dict[str, bytes]]:
    """v1 = the work fixture; v2 changes, adds and deletes files. Returns (v1, v2, v1 files)."""
    qvc("add", ".", cwd=work)
    v1 = qvc("commit", "-m", "v1").out.strip()
    files_v1 = snapshot(work)
    (work / "README.md").write_text("# changed\n")
    (work / "data" / "new.bin").write_bytes(os.urandom(3000))
    (work / "data" / "nested" / "deep.txt").unlink()
    qvc("add", ".")
    v2 = qvc("commit", "-m", "v2").out.strip()
    return v1, v2, files_v1


def object_of(work: Path, qvc: Qvc, rev: str, key: str) -> Path:
    entry = next(e for e in json.loads(qvc("ls", rev, "--json", cwd=work).out)
                 if e["logical_key"] == key)
    from qvc.core.repo import Repo
    from qvc.quilt.hashing import Hash

    return Repo(work).objects.path(Hash(**entry["hash"]))


def test_checkout_restores_old_version_and_keeps_untracked(work: Path, qvc: Qvc) -> None:
    v1, v2, files_v1 = two_versions(work, qvc)
    (work / "notes.txt").write_text("mine, untracked\n")
    out = json.loads(qvc("checkout", v1[:10], "--json").out)
    assert out["top_hash"] == v1
    assert snapshot(work) == {**files_v1, "notes.txt": b"mine, untracked\n"}
    assert not (work / "data" / "new.bin").exists()
    status = json.loads(qvc("status", "--json").out)
    assert status["clean"] is False and status["untracked"] == ["notes.txt"]
    assert status["modified"] == [] and status["staged"] == {"added": [], "modified": [],
                                                             "deleted": []}
    # committing now starts from v1, as git checkout + commit would
    (work / "README.md").write_text("# branch from v1\n")
    v3 = json.loads(qvc("commit", "-a", "-m", "v3", "--json").out)
    assert v3["parent"] == v1
    qvc("checkout", v2)
    assert (work / "data" / "new.bin").exists() and not (work / "data" / "nested").exists()


def test_checkout_refuses_to_lose_uncommitted_work(work: Path, qvc: Qvc) -> None:
    v1, v2, files_v1 = two_versions(work, qvc)
    (work / "README.md").write_text("# precious edit\n")
    (work / "data" / "nested").mkdir(exist_ok=True)
    (work / "data" / "nested" / "deep.txt").write_text("untracked, in the way\n")
    before = snapshot(work)
    result = qvc("checkout", v1, ok=False)
    assert result.code == 6
    assert "README.md" in result.err and "data/nested/deep.txt" in result.err
    assert snapshot(work) == before
    assert json.loads(qvc("log", "-n", "1", "--json").out)[0]["top_hash"] == v2
    qvc("checkout", v1, "--force")
    assert snapshot(work) == files_v1


def test_checkout_does_not_rewrite_identical_files(work: Path, qvc: Qvc) -> None:
    v1, _, _ = two_versions(work, qvc)
    values = work / "data" / "values.csv"
    inode = values.stat().st_ino
    out = json.loads(qvc("checkout", v1, "--json").out)
    assert "data/values.csv" not in out["written"] and out["unchanged"] == 1
    assert values.stat().st_ino == inode


def test_checkout_paths_restores_and_stages_only_them(work: Path, qvc: Qvc) -> None:
    v1, v2, files_v1 = two_versions(work, qvc)
    qvc("checkout", v1, "--", "README.md", "data/nested")
    assert (work / "README.md").read_bytes() == files_v1["README.md"]
    assert (work / "data" / "nested" / "deep.txt").exists()
    assert (work / "data" / "new.bin").exists()
    status = json.loads(qvc("status", "--json").out)
    assert status["staged"] == {"added": ["data/nested/deep.txt"], "modified": ["README.md"],
                                "deleted": []}
    assert json.loads(qvc("log", "-n", "1", "--json").out)[0]["top_hash"] == v2
    missing = qvc("checkout", v1, "--", "no/such/file", ok=False)
    assert missing.code == 4


def test_checkout_catches_corrupt_object(work: Path, qvc: Qvc) -> None:
    v1, _, _ = two_versions(work, qvc)
    obj = object_of(work, qvc, v1, "README.md")
    obj.chmod(0o644)
    data = bytearray(obj.read_bytes())
    data[0] ^= 0x01
    obj.write_bytes(bytes(data))
    before = snapshot(work)
    result = qvc("checkout", v1, ok=False)
    assert result.code == 8
    assert "README.md" in result.err and "corrupt" in result.err
    assert snapshot(work) == before


def test_checkout_missing_object_names_it(work: Path, qvc: Qvc) -> None:
    v1, _, _ = two_versions(work, qvc)
    object_of(work, qvc, v1, "data/nested/deep.txt").unlink()
    before = snapshot(work)
    result = qvc("checkout", v1, ok=False)
    assert result.code == 8 and "data/nested/deep.txt" in result.err
    assert "fetch" in result.err
    assert snapshot(work) == before


def test_checkout_unknown_revision(work: Path, qvc: Qvc) -> None:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "v1")
    assert qvc("checkout", "nosuchtag", ok=False).code == 2
