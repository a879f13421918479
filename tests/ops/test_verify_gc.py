"""Story tests of qvc verify (finding damage) and qvc gc (freeing only what nothing uses)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from qvc.core.repo import Repo
from qvc.quilt.hashing import Hash
from tests.conftest import Qvc, S3Server


def object_path(work: Path, qvc: Qvc, rev: str, key: str) -> Path:
    entry = next(e for e in json.loads(qvc("ls", rev, "--json", cwd=work).out)
                 if e["logical_key"] == key)
    return Repo(work).objects.path(Hash(**entry["hash"]))


def all_objects(work: Path) -> set[str]:
    root = work / ".qvc" / "objects"
    return {p.relative_to(work / ".qvc").as_posix() for p in root.rglob("*")
            if p.is_file() and "tmp" not in p.relative_to(root).parts}


def flip_byte(path: Path) -> None:
    path.chmod(0o644)  # objects are read-only
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x20
    path.write_bytes(bytes(data))


def two_commits(work: Path, qvc: Qvc) -> tuple[str, str]:
    qvc("add", ".", cwd=work)
    v1 = qvc("commit", "-m", "v1").out.strip()
    (work / "README.md").write_text("# v2\n")
    v2 = qvc("commit", "-a", "-m", "v2").out.strip()
    return v1, v2


def test_verify_names_corrupt_and_missing_objects(work: Path, qvc: Qvc) -> None:
    v1, v2 = two_commits(work, qvc)
    clean = json.loads(qvc("verify", "--json").out)
    assert clean["ok"] and clean["commits"] == 2 and clean["objects"] == 4

    flip_byte(object_path(work, qvc, v1, "README.md"))
    result = qvc("verify", ok=False)
    assert result.code == 8
    assert "README.md" in result.out and v1[:12] in result.out and "corrupt" in result.out
    report = json.loads(qvc("verify", "--json", ok=False).out)
    (problem,) = report["problems"]
    assert problem["kind"] == "hash mismatch"
    assert problem["entries"] == [{"top_hash": v1, "logical_key": "README.md"}]
    assert json.loads(qvc("verify", v2, "--json").out)["ok"]  # v2 does not use that object

    object_path(work, qvc, v2, "data/values.csv").unlink()  # shared by both versions
    report = json.loads(qvc("verify", "--json", ok=False).out)
    missing = next(p for p in report["problems"] if p["kind"] == "missing")
    assert {(e["top_hash"], e["logical_key"]) for e in missing["entries"]} == {
        (v1, "data/values.csv"), (v2, "data/values.csv")}
    assert "qvc verify --repair" in qvc("verify", ok=False).err


def test_verify_detects_a_tampered_manifest(work: Path, qvc: Qvc) -> None:
    v1, _ = two_commits(work, qvc)
    manifest = work / ".qvc" / ".quilt" / "packages" / v1
    manifest.write_bytes(manifest.read_bytes().replace(b"values.csv", b"values.csX"))
    report = json.loads(qvc("verify", "--json", ok=False).out)
    assert report["problems"][0]["kind"] == "bad manifest" and v1 in report["problems"][0]["detail"]


def test_gc_frees_exactly_the_unreachable_objects(work: Path, qvc: Qvc) -> None:
    v1, v2 = two_commits(work, qvc)
    (work / "big.bin").write_bytes(os.urandom(5000))
    qvc("add", "big.bin")
    v3 = qvc("commit", "-m", "v3 adds big.bin").out.strip()
    qvc("tag", "keep", v3)
    big = object_path(work, qvc, v3, "big.bin")
    # staged, then replaced, then unstaged: both versions of scratch.txt are garbage
    (work / "scratch.txt").write_text("draft 1\n")
    qvc("add", "scratch.txt")
    (work / "scratch.txt").write_text("draft 2\n")
    qvc("add", "scratch.txt")
    qvc("rm", "--cached", "scratch.txt")
    (work / "scratch.txt").unlink()
    before = all_objects(work)

    dry = json.loads(qvc("gc", "--dry-run", "--grace", "0", "--json").out)
    assert dry["objects_removed"] == 2 and all_objects(work) == before
    freed = json.loads(qvc("gc", "--grace", "0", "--json").out)
    assert freed["removed"] == dry["removed"] and len(before - all_objects(work)) == 2
    assert freed["bytes_freed"] == len("draft 1\n") + len("draft 2\n")

    # move HEAD back, drop the tag and v3's registry pointers: only the reflog keeps v3 now
    qvc("checkout", v1)
    qvc("tag", "-d", "keep")
    Repo(work).registry.delete("test/pkg", v3)
    assert json.loads(qvc("gc", "--grace", "0", "--json").out)["objects_removed"] == 0
    result = json.loads(qvc("gc", "--grace", "0", "--reflog-expire", "0", "--json").out)
    assert result["removed"] == [big.relative_to(work / ".qvc").as_posix()]
    assert result["bytes_freed"] == 5000

    assert json.loads(qvc("verify", "--json").out)["ok"]
    for rev in (v2, v1, "latest"):  # every remaining version still checks out
        qvc("checkout", rev)
    assert json.loads(qvc("status", "--json").out)["head"] == v2
    assert qvc("checkout", v3, ok=False).code == 8  # its data was freed, and checkout says so


def test_gc_removes_old_temp_files_only(work: Path, qvc: Qvc) -> None:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "v1")
    old = [work / ".qvc" / "objects" / "tmp" / "123-0", work / ".qvc" / "tmp" / "leftover"]
    fresh = work / ".qvc" / "objects" / "tmp" / "456-0"
    for path in [*old, fresh]:
        path.write_bytes(b"partial download")
    hour_ago = time.time() - 7200
    for path in old:
        os.utime(path, (hour_ago, hour_ago))
    result = json.loads(qvc("gc", "--json").out)
    assert result["temp_removed"] == 2 and result["objects_removed"] == 0
    assert fresh.exists() and not any(p.exists() for p in old)
    assert "Freed 16 bytes" in qvc("gc", "--grace", "0").out
    assert not fresh.exists()


def test_verify_repair_and_checkout_fetch_from_a_remote(work: Path, qvc: Qvc,
                                                          tmp_path: Path) -> None:
    v1, v2 = two_commits(work, qvc)
    qvc("remote", "add", "origin", str(tmp_path / "registry"))
    qvc("push")
    readme_v1 = object_path(work, qvc, v1, "README.md")
    flip_byte(readme_v1)
    object_path(work, qvc, v2, "data/values.csv").unlink()
    assert qvc("verify", ok=False).code == 8
    repaired = json.loads(qvc("verify", "--repair", "--json").out)
    assert repaired["ok"] and repaired["repaired"] == 2
    assert readme_v1.read_bytes() == b"# hello\n"

    object_path(work, qvc, v1, "data/nested/deep.txt").unlink()
    (work / "data" / "nested" / "deep.txt").unlink()
    qvc("checkout", v1)  # the missing object comes from the default remote, verified
    assert (work / "data" / "nested" / "deep.txt").read_text() == "deep\n"
    assert json.loads(qvc("verify", "--json").out)["ok"]


def test_verify_remote_checks_without_downloading(work: Path, qvc: Qvc, bucket: str,
                                                  s3: S3Server) -> None:
    qvc("add", ".", cwd=work)
    top = qvc("commit", "-m", "v1").out.strip()
    qvc("remote", "add", "origin", bucket)
    qvc("push")
    report = json.loads(qvc("verify", "--remote", "--json").out)
    assert report["ok"] and report["objects"] == 3
    shown = json.loads(qvc("show", "--json").out)
    assert shown["top_hash"] == top
    client, name = s3.client(), bucket.removeprefix("s3://")
    client.delete_object(Bucket=name, Key="test/pkg/data/values.csv")
    client.put_object(Bucket=name, Key="test/pkg/README.md", Body=b"# hellO\n",
                      ChecksumAlgorithm="SHA256")
    broken = qvc("verify", "--remote", "--json", ok=False)
    assert broken.code == 8
    problems = json.loads(broken.out)["problems"]
    kinds = {(p["kind"], p["entries"][0]["logical_key"]) for p in problems}
    assert kinds == {("missing", "data/values.csv"), ("hash mismatch", "README.md")}


def test_gc_remote_aborts_only_old_uploads_under_the_package(work: Path, qvc: Qvc, bucket: str,
                                                             s3: S3Server) -> None:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "v1")
    qvc("remote", "add", "origin", bucket)
    client, name = s3.client(), bucket.removeprefix("s3://")
    ours = client.create_multipart_upload(Bucket=name, Key="test/pkg/big.bin")["UploadId"]
    client.create_multipart_upload(Bucket=name, Key="someone/else.bin")
    # moto reports every upload as initiated in 2010, so only the age cut-off's far side shows
    dry = json.loads(qvc("gc", "--remote", "--dry-run", "--json").out)
    assert dry["aborted"] == ["test/pkg/big.bin"]
    assert len(client.list_multipart_uploads(Bucket=name)["Uploads"]) == 2
    done = json.loads(qvc("gc", "--remote", "--json").out)
    assert done["aborted"] == ["test/pkg/big.bin"]
    left = client.list_multipart_uploads(Bucket=name).get("Uploads", [])
    assert [u["Key"] for u in left] == ["someone/else.bin"]
    assert all(u["UploadId"] != ours for u in left)


def test_verify_after_clone_counts_older_versions_as_not_downloaded(
        work: Path, qvc: Qvc, tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "v1")
    (work / "README.md").write_text("# v2\n")
    qvc("commit", "-a", "-m", "v2")
    qvc("push", str(registry))
    clone = tmp_path / "clone"
    qvc("clone", str(registry), "test/pkg", str(clone))
    result = json.loads(qvc("verify", "--json", cwd=clone).out)
    assert result["ok"] and result["not_downloaded"] == 1
    qvc("checkout", "HEAD~1", cwd=clone)  # fetches v1's object on demand
    assert (clone / "README.md").read_text() == "# hello\n"
    assert json.loads(qvc("verify", "--json", cwd=clone).out)["not_downloaded"] == 0
