"""Story tests of qvc push against folder registries and a real moto S3 server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qvc.quilt.manifest import parse
from qvc.storage import open_store
from qvc.storage.registry import Registry
from tests.conftest import Qvc


def commit_all(qvc: Qvc, root: Path, message: str) -> str:
    qvc("add", ".", cwd=root)
    return qvc("commit", "-m", message, cwd=root).out.strip()


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".qvc" not in p.relative_to(root).parts}


def remote_manifest(registry: str, top: str) -> bytes:
    """The manifest bytes as stored in the registry (read with boto3 for buckets)."""
    if registry.startswith("s3://"):
        import boto3

        client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL_S3"])
        body = client.get_object(Bucket=registry[5:], Key=f".quilt/packages/{top}")["Body"]
        return bytes(body.read())
    return (Path(registry) / ".quilt/packages" / top).read_bytes()


@pytest.fixture(params=["folder", "s3", "s3-versioned"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A registry URL of each kind: a folder, an unversioned and a versioned bucket."""
    if request.param == "folder":
        return str(tmp_path / "registry")
    s3 = request.getfixturevalue("s3")
    name = f"push-{request.param}-{os.getpid()}-{abs(hash(tmp_path)) % 10**8}"
    return str(s3.bucket(name, versioned=request.param == "s3-versioned"))


def test_push_clone_round_trip(work: Path, qvc: Qvc, registry: str, tmp_path: Path) -> None:
    (work / "empty.bin").write_bytes(b"")
    top = commit_all(qvc, work, "first")
    out = json.loads(qvc("push", registry, "--json", cwd=work).out)
    assert out["top_hash"] == top and out["uploaded"] == 4 and out["versions_written"] == [top]
    clone = tmp_path / "clone"
    qvc("clone", registry, "test/pkg", str(clone), cwd=tmp_path)
    assert files(clone) == files(work)
    assert json.loads(qvc("log", "--json", cwd=clone).out)[0]["top_hash"] == top
    manifest = parse(remote_manifest(registry, top), expected_top_hash=top)
    keys = [e.physical_key for e in manifest.walk()]
    if registry.startswith("s3://"):
        assert all(k.startswith(f"{registry}/test/pkg/") for k in keys)
        versioned = "versioned" in registry
        assert all(("?versionId=" in k) == versioned for k in keys)
    assert qvc("push", registry, cwd=work).out.startswith("Everything up-to-date")


def test_repush_uploads_exactly_one_object(tmp_path: Path, qvc: Qvc, bucket: str) -> None:
    root = tmp_path / "many"
    root.mkdir()
    for i in range(40):
        (root / f"f{i:02d}.txt").write_text(f"file {i}\n")
    qvc("init", "test/many", cwd=root)
    commit_all(qvc, root, "v1")
    assert json.loads(qvc("push", bucket, "--json", cwd=root).out)["uploaded"] == 40
    (root / "f07.txt").write_text("changed\n")
    commit_all(qvc, root, "v2")
    out = json.loads(qvc("push", bucket, "--json", cwd=root).out)
    assert (out["uploaded"], out["skipped"], out["bytes"]) == (1, 39, len("changed\n"))


@pytest.mark.parametrize("kind", ["folder", "s3"])
def test_unversioned_older_version_survives(work: Path, qvc: Qvc, tmp_path: Path, kind: str,
                                            request: pytest.FixtureRequest) -> None:
    target = str(tmp_path / "reg") if kind == "folder" else request.getfixturevalue("bucket")
    v1 = commit_all(qvc, work, "v1")
    qvc("push", target, cwd=work)
    (work / "README.md").write_text("# version two\n")
    commit_all(qvc, work, "v2")
    qvc("push", target, cwd=work)
    old = tmp_path / "old"
    qvc("clone", target, "test/pkg", str(old), "--rev", v1, cwd=tmp_path)
    assert (old / "README.md").read_text() == "# hello\n"
    new = tmp_path / "new"
    qvc("clone", target, "test/pkg", str(new), cwd=tmp_path)
    assert (new / "README.md").read_text() == "# version two\n"


def test_every_commit_gets_a_version(work: Path, qvc: Qvc, tmp_path: Path) -> None:
    target = str(tmp_path / "reg")
    tops = [commit_all(qvc, work, "v1")]
    for n in range(2):  # same-second commits keep distinct pointers
        (work / "README.md").write_text(f"# v{n + 2}\n")
        tops.append(commit_all(qvc, work, f"v{n + 2}"))
    out = json.loads(qvc("push", target, "--json", cwd=work).out)
    assert out["versions_written"] == tops
    pointers = sorted(p for p in os.listdir(Path(target) / ".quilt/named_packages/test/pkg")
                      if p != "latest")
    assert len(pointers) == 3 and all(len(p) == 10 for p in pointers)
    latest = Path(target) / ".quilt/named_packages/test/pkg/latest"
    assert latest.read_text() == tops[-1]


def test_non_fast_forward_refused_then_forced(work: Path, qvc: Qvc, tmp_path: Path) -> None:
    target = str(tmp_path / "reg")
    commit_all(qvc, work, "v1")
    qvc("remote", "add", "origin", target, cwd=work)
    qvc("push", cwd=work)
    other = tmp_path / "other"
    qvc("clone", target, "test/pkg", str(other), cwd=tmp_path)
    (other / "README.md").write_text("# theirs\n")
    theirs = commit_all(qvc, other, "theirs")
    qvc("push", cwd=other)
    (work / "README.md").write_text("# mine\n")
    mine = commit_all(qvc, work, "mine")
    refused = qvc("push", cwd=work, ok=False)
    assert refused.code == 6 and "not in your history" in refused.err
    latest = Path(target) / ".quilt/named_packages/test/pkg/latest"
    assert latest.read_text() == theirs
    qvc("push", "--force", cwd=work)
    assert latest.read_text() == mine


def test_racing_pushes_one_wins(work: Path, qvc: Qvc, tmp_path: Path) -> None:
    target = str(tmp_path / "reg")
    commit_all(qvc, work, "v1")
    qvc("push", target, cwd=work)
    trees = []
    for name in ("a", "b"):
        tree = tmp_path / name
        qvc("clone", target, "test/pkg", str(tree), cwd=tmp_path)
        (tree / "README.md").write_text(f"# {name}\n" * 1000)
        trees.append((tree, commit_all(qvc, tree, name)))
    procs = [subprocess.Popen([sys.executable, "-m", "qvc", "push"], cwd=tree,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for tree, _ in trees]
    codes = [p.wait(timeout=60) for p in procs]
    assert sorted(codes) == [0, 6], [p.stderr.read() for p in procs if p.stderr]
    winner = trees[codes.index(0)][1]
    folder = Path(target) / ".quilt/named_packages/test/pkg"
    assert (folder / "latest").read_text() == winner
    listed = {(folder / p).read_text() for p in os.listdir(folder)}
    assert trees[codes.index(6)][1] not in listed  # the loser left no listed version
    for top in listed:
        assert (Path(target) / ".quilt/packages" / top).is_file()


def test_no_copy_keeps_local_keys_and_warns(work: Path, qvc: Qvc, bucket: str) -> None:
    top = commit_all(qvc, work, "v1")
    result = qvc("push", bucket, "--no-copy", "--json", cwd=work)
    assert json.loads(result.out)["uploaded"] == 0
    assert "other users cannot reach" in result.err
    manifest = parse(remote_manifest(bucket, top), expected_top_hash=top)
    assert all(e.physical_key.startswith("file://") for e in manifest.walk())


def test_dest_prefix_and_other_bucket(work: Path, qvc: Qvc, bucket: str) -> None:
    top = commit_all(qvc, work, "v1")
    refused = qvc("push", bucket, "--dest", "s3://another-bucket/data", cwd=work, ok=False)
    assert refused.code == 2 and "outside the registry" in refused.err
    qvc("push", bucket, "--dest", f"{bucket}/shared/data", cwd=work)
    manifest = parse(remote_manifest(bucket, top), expected_top_hash=top)
    assert all(e.physical_key.startswith(f"{bucket}/shared/data/") for e in manifest.walk())


def test_status_ahead_behind_from_tracking(work: Path, qvc: Qvc, tmp_path: Path) -> None:
    target = str(tmp_path / "reg")
    commit_all(qvc, work, "v1")
    qvc("remote", "add", "origin", target, cwd=work)
    qvc("push", cwd=work)
    status = json.loads(qvc("status", "--json", cwd=work).out)["remote"]
    assert status["state"] == "up-to-date"
    (work / "README.md").write_text("# more\n")
    commit_all(qvc, work, "v2")
    assert "Ahead of 'origin' by 1 commit" in qvc("status", cwd=work).out


def test_large_file_multipart_then_found_by_checksum(tmp_path: Path, qvc: Qvc,
                                                    bucket: str) -> None:
    root = tmp_path / "big"
    root.mkdir()
    (root / "two-parts.bin").write_bytes(os.urandom(8 * 1024 * 1024 + 5))
    (root / "small.txt").write_text("small\n")
    qvc("init", "test/big", cwd=root)
    top = commit_all(qvc, root, "v1")
    assert json.loads(qvc("push", bucket, "--json", cwd=root).out)["uploaded"] == 2
    pushed = Registry(open_store(bucket)).read_manifest(top)
    # an unversioned bucket: S3 may answer version "null", which names no version
    assert all("versionId" not in e.physical_key for e in pushed.entries.values())
    qvc("delete", "test/big", "--registry", bucket, cwd=root)  # no manifest rows to reuse now
    out = json.loads(qvc("push", bucket, "--json", cwd=root).out)
    assert out["top_hash"] == top
    assert out["bytes"] < 1024  # the big file is recognised by its S3 checksum, not re-sent
    clone = tmp_path / "clone"
    qvc("clone", bucket, "test/big", str(clone), cwd=tmp_path)
    assert files(clone) == files(root)
