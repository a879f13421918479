"""Data that lives in S3 stays in S3: server-side copies between buckets of one moto server over
HTTP, hashes taken from S3's checksums, an explicit dest honoured, registry copies named.

quilt3 is the oracle: it hashes the same bytes locally (the values qvc must record) and reads
what qvc pushed. The fault proxy in front of moto logs every request, so a test can tell that
no object's bytes went through the client.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import qvc
from qvc.errors import CorruptObject, RemoteError
from qvc.quilt.hashing import MIN_CHUNK
from qvc.storage import s3copy, s3stream
from qvc.storage.s3 import S3Store
from tests.conftest import Qvc, S3Server
from tests.faultproxy import FaultProxy

quilt3 = pytest.importorskip("quilt3")

BIG = 2 * MIN_CHUNK + 12345  # three UploadPartCopy parts


def make_source(tmp_path: Path, s3: S3Server, bucket: str) -> Path:
    """Local files, and the same bytes uploaded under ``data/`` of ``bucket`` (plain PUTs)."""
    root = tmp_path / "src"
    (root / "sub").mkdir(parents=True)
    (root / "a.csv").write_bytes(b"x,y\n1,2\n")
    (root / "empty").write_bytes(b"")
    (root / "sub" / "big.bin").write_bytes(os.urandom(BIG))
    client = s3.client()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        client.put_object(Bucket=bucket.removeprefix("s3://"),
                          Key="data/" + path.relative_to(root).as_posix(), Body=path.read_bytes())
    return root


def quilt3_hashes(root: Path) -> dict[str, dict[str, str]]:
    """The hashes quilt3 records for local files: the values qvc must record."""
    pkg = quilt3.Package().set_dir(".", str(root))
    pkg.build("oracle/hashes", registry=(root.parent / "q3reg").as_uri())
    return {k: e.hash for k, e in pkg.walk()}


def data_gets(proxy: FaultProxy) -> list[str]:
    """Paths of GETs that read object bytes (not listings, manifests or pointers)."""
    return [e.request.path for e in proxy.requests("GET")
            if e.request.path.strip("/").count("/") >= 1 and "/.quilt/" not in e.request.path
            and (not e.request.query or e.request.query.startswith("versionId"))]


def bucket_named(s3: S3Server, prefix: str, versioned: bool = False) -> str:
    return s3.bucket(f"{prefix}-{os.getpid()}-{os.urandom(3).hex()}", versioned=versioned)


@pytest.mark.parametrize("versioned", [False, True])
def test_set_dir_from_s3_then_push_copies_server_side(
        proxy: FaultProxy, moto_server: S3Server, tmp_path: Path, versioned: bool) -> None:
    source = bucket_named(moto_server, "src", not versioned)
    dest = bucket_named(moto_server, "dst", versioned)
    root = make_source(tmp_path, moto_server, source)
    proxy.clear()
    pkg = qvc.Package().set_dir(".", f"{source}/data/")
    pushed = pkg.push("team/copied", registry=dest, message="from s3")
    assert not data_gets(proxy), "object bytes went through the client"
    assert proxy.requests("PUT") and any(
        "x-amz-copy-source" in e.request.headers for e in proxy.requests("PUT"))
    expected = quilt3_hashes(root)
    assert {k: e.hash for k, e in pushed.walk()} == expected
    for key, entry in pushed.walk():
        assert entry.physical_key.startswith(f"{dest}/team/copied/{key}")
    # quilt3 reads what qvc pushed, byte for byte
    q3 = quilt3.Package.browse("team/copied", registry=dest)
    assert q3.top_hash == pushed.top_hash
    q3.fetch(str(tmp_path / "fetched") + "/")
    for key in expected:
        assert (tmp_path / "fetched" / key).read_bytes() == (root / key).read_bytes()


@pytest.mark.parametrize("versioned", [False, True])
def test_browse_and_push_to_another_bucket_copies_and_explicit_dest(
        proxy: FaultProxy, moto_server: S3Server, tmp_path: Path, versioned: bool) -> None:
    first = bucket_named(moto_server, "first", versioned)
    second = bucket_named(moto_server, "second", not versioned)
    root = make_source(tmp_path, moto_server, first)
    qvc.Package().set_dir(".", str(root)).push("team/pkg", registry=first, message="v1")
    proxy.clear()
    browsed = qvc.Package.browse("team/pkg", registry=first)
    pushed = browsed.push("team/pkg", registry=second, message="v1")
    assert pushed.top_hash == browsed.top_hash
    assert not data_gets(proxy)
    assert all(e.physical_key.startswith(second + "/") for _, e in pushed.walk())
    # an explicit dest puts every file under it, though the bytes sit elsewhere already
    again = qvc.Package.browse("team/pkg", registry=second)
    placed = again.push("team/pkg", registry=second, dest=f"{second}/foo/bar", force=True)
    assert all(e.physical_key.startswith(f"{second}/foo/bar/") for _, e in placed.walk())
    q3 = quilt3.Package.browse("team/pkg", registry=second, top_hash=placed.top_hash)
    q3.fetch(str(tmp_path / "q3") + "/")
    assert (tmp_path / "q3/sub/big.bin").read_bytes() == (root / "sub/big.bin").read_bytes()


def test_missing_part_checksums_are_read_back_for_those_parts_only(
        s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, dest = bucket_named(s3, "msrc"), bucket_named(s3, "mdst")
    root = make_source(tmp_path, s3, source)
    store = S3Store(dest.removeprefix("s3://"))
    src = s3copy.Source(source.removeprefix("s3://"), "data/sub/big.bin")
    expected = quilt3_hashes(root)["sub/big.bin"]["value"]
    # moto gives no part checksums; the completed object's own checksum serves
    copied = s3copy.copy(store, "k1", src, BIG)
    assert (copied.chunked, copied.read) == (expected, 0)
    # without that too, exactly the parts S3 did not checksum are read back and hashed
    monkeypatch.setattr(s3copy, "_composite_checksum", lambda *a: None)
    copied = s3copy.copy(store, "k2", src, BIG)
    assert (copied.chunked, copied.read) == (expected, BIG)


@pytest.mark.parametrize("versioned", [False, True])
def test_push_after_build_names_the_registry_copies(
        s3: S3Server, tmp_path: Path, versioned: bool) -> None:
    dest = bucket_named(s3, "built", versioned)
    root = make_source(tmp_path, s3, bucket_named(s3, "unused"))
    pkg = qvc.Package().set_dir(".", str(root))
    top = pkg.build("team/built", registry=dest)
    built = s3.client().get_object(Bucket=dest.removeprefix("s3://"),
                                   Key=f".quilt/packages/{top}")["Body"].read()
    assert b'"file://' in built
    pkg.push("team/built", registry=dest)
    text = s3.client().get_object(Bucket=dest.removeprefix("s3://"),
                                  Key=f".quilt/packages/{top}")["Body"].read()
    rows = [json.loads(line) for line in text.splitlines()[1:]]
    assert rows and all(r["physical_keys"][0].startswith(dest + "/") for r in rows)
    q3 = quilt3.Package.browse("team/built", registry=dest, top_hash=top)
    assert all(str(e.physical_key).startswith(dest + "/") for _, e in q3.walk())
    q3.fetch(str(tmp_path / "out") + "/")
    # a manifest whose keys resolve inside the registry is never replaced
    stored = s3.client().get_object(Bucket=dest.removeprefix("s3://"),
                                    Key=f".quilt/packages/{top}")["Body"].read()
    qvc.Package.browse("team/built", registry=dest).build("team/built", registry=dest)
    assert s3.client().get_object(Bucket=dest.removeprefix("s3://"),
                                  Key=f".quilt/packages/{top}")["Body"].read() == stored


def test_push_after_build_names_copies_in_a_folder_registry(tmp_path: Path) -> None:
    registry = tmp_path / "reg"
    registry.mkdir()
    (tmp_path / "src").mkdir()
    (tmp_path / "src/a.txt").write_text("a\n")
    pkg = qvc.Package().set_dir(".", str(tmp_path / "src"))
    top = pkg.build("team/dir", registry=str(registry))
    pkg.push("team/dir", registry=str(registry))
    reread = qvc.Package.browse("team/dir", registry=str(registry), top_hash=top)
    assert reread["a.txt"].physical_key.startswith(registry.resolve().as_uri() + "/")


def test_source_changed_since_browse_publishes_nothing(s3: S3Server, tmp_path: Path) -> None:
    first, second = bucket_named(s3, "chg1"), bucket_named(s3, "chg2")
    make_source(tmp_path, s3, first)
    qvc.Package().set_dir(".", f"{first}/data/").push("team/chg", registry=first)
    browsed = qvc.Package.browse("team/chg", registry=first)
    client = s3.client()
    client.put_object(Bucket=first.removeprefix("s3://"), Key="data/sub/big.bin",
                      Body=os.urandom(BIG))
    with pytest.raises(CorruptObject, match="sub/big.bin"):
        browsed.push("team/chg", registry=second)
    listed = client.list_objects_v2(Bucket=second.removeprefix("s3://")).get("Contents", [])
    assert not [o["Key"] for o in listed if o["Key"].startswith(".quilt/")]
    assert "team/chg/sub/big.bin" not in {o["Key"] for o in listed}
    uploads = client.list_multipart_uploads(Bucket=second.removeprefix("s3://"))
    assert not uploads.get("Uploads")


def test_source_gone_names_the_key(s3: S3Server, tmp_path: Path) -> None:
    first, second = bucket_named(s3, "gone1"), bucket_named(s3, "gone2")
    make_source(tmp_path, s3, first)
    pkg = qvc.Package().set_dir(".", f"{first}/data/")
    s3.client().delete_object(Bucket=first.removeprefix("s3://"), Key="data/a.csv")
    with pytest.raises(RemoteError, match="data/a.csv"):
        pkg.push("team/gone", registry=second)


def test_access_denied_on_the_source_names_the_bucket(
        proxy: FaultProxy, moto_server: S3Server, tmp_path: Path) -> None:
    first, second = bucket_named(moto_server, "deny1"), bucket_named(moto_server, "deny2")
    make_source(tmp_path, moto_server, first)
    pkg = qvc.Package().set_dir(".", f"{first}/data/")
    proxy.add("403", method="PUT", headers={"x-amz-copy-source": first.removeprefix("s3://")},
              times=None)
    with pytest.raises(RemoteError) as info:
        pkg.push("team/deny", registry=second)
    assert first.removeprefix("s3://") in info.value.message
    assert "\n" not in info.value.message


def test_interrupted_part_copy_is_aborted_and_the_next_push_completes(
        proxy: FaultProxy, moto_server: S3Server, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    first, second = bucket_named(moto_server, "int1"), bucket_named(moto_server, "int2")
    root = make_source(tmp_path, moto_server, first)
    pkg = qvc.Package().set_dir(".", f"{first}/data/")
    proxy.add("reset_before", method="PUT", query="partNumber=2", times=None)
    with pytest.raises(RemoteError):
        pkg.push("team/int", registry=second)
    client = moto_server.client()
    assert not client.list_multipart_uploads(Bucket=second.removeprefix("s3://")).get("Uploads")
    proxy.clear()
    pushed = pkg.push("team/int", registry=second)
    assert {k: e.hash for k, e in pushed.walk()} == quilt3_hashes(root)


def test_qvc_push_dest_and_already_there_counts(
        s3: S3Server, work: Path, qvc: Qvc, tmp_path: Path) -> None:
    registry = bucket_named(s3, "cli1")
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "v1", cwd=work)
    (work / "README.md").write_text("# v2\n")
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "v2", cwd=work)
    # two versions in one push: nothing was there before it
    out = json.loads(qvc("push", registry, "--json", cwd=work).out)
    assert (out["uploaded"], out["skipped"], out["copied"]) == (4, 0, 0)
    (work / "README.md").write_text("# v3\n")
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "v3", cwd=work)
    out = json.loads(qvc("push", registry, "--json", cwd=work).out)
    assert (out["uploaded"], out["skipped"]) == (1, 2)
    assert out["bytes_client"] == len("# v3\n")
    # an explicit --dest puts every file of the new version under it, copied in S3
    (work / "README.md").write_text("# v4\n")
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "v4", cwd=work)
    out = json.loads(qvc("push", registry, "--dest", f"{registry}/elsewhere", "--json",
                         cwd=work).out)
    assert (out["uploaded"], out["copied"], out["skipped"]) == (1, 2, 0)
    text = s3.client().get_object(Bucket=registry.removeprefix("s3://"),
                                  Key=f".quilt/packages/{out['top_hash']}")["Body"].read()
    rows = [json.loads(line) for line in text.splitlines()[1:]]
    assert all(r["physical_keys"][0].startswith(f"{registry}/elsewhere/") for r in rows)


def test_copy_killed_mid_way_is_completed_by_the_next_push_and_gc_cleans(
        s3: S3Server, tmp_path: Path, qvc: Qvc) -> None:
    import subprocess
    import sys

    first, second = bucket_named(s3, "kill1"), bucket_named(s3, "kill2")
    root = make_source(tmp_path, s3, first)
    script = (f"import qvc; qvc.Package().set_dir('.', '{first}/data/')"
              f".push('team/pkg', registry='{second}')")
    died = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120,
                          env=dict(os.environ, QVC_CRASH_AT="push.after_part"))
    assert died.returncode == -9, died.stderr
    client, name = s3.client(), second.removeprefix("s3://")
    assert [u["Key"] for u in client.list_multipart_uploads(Bucket=name).get("Uploads", [])] \
        == ["team/pkg/sub/big.bin"]
    assert not client.list_objects_v2(Bucket=name, Prefix=".quilt/").get("Contents")
    pushed = qvc_api().Package().set_dir(".", f"{first}/data/").push("team/pkg", registry=second)
    assert {k: e.hash for k, e in pushed.walk()} == quilt3_hashes(root)
    work = tmp_path / "work"
    work.mkdir()
    qvc("init", "team/pkg", cwd=work)
    qvc("remote", "add", "origin", second, "--no-probe", cwd=work)
    done = json.loads(qvc("gc", "--remote", "--grace", "0", "--json", cwd=work).out)
    assert done["aborted"] == ["team/pkg/sub/big.bin"]
    assert not client.list_multipart_uploads(Bucket=name).get("Uploads")


def qvc_api():  # type: ignore[no-untyped-def]
    """The qvc package (the ``qvc`` fixture shadows its name in tests that use both)."""
    import qvc as api

    return api


class Recorder:
    """A TransferProgress that keeps what it is told."""

    def __init__(self) -> None:
        self.started: list[tuple[int, int]] = []
        self.client_bytes = 0
        self.server_bytes = 0
        self.done = 0

    def start(self, objects: int, nbytes: int) -> None:
        self.started.append((objects, nbytes))

    def advance(self, nbytes: int) -> None:
        self.client_bytes += nbytes

    def server_side(self, nbytes: int) -> None:
        self.server_bytes += nbytes

    def object_done(self) -> None:
        self.done += 1


def test_progress_and_result_mark_server_side_copies(s3: S3Server, tmp_path: Path) -> None:
    from qvc.ops.push import push_package
    from qvc.storage.registry import Registry

    first, second = bucket_named(s3, "prog1"), bucket_named(s3, "prog2")
    make_source(tmp_path, s3, first)
    qvc_api().Package().set_dir(".", f"{first}/data/").push("team/pkg", registry=first)
    manifest = qvc_api().Package.browse("team/pkg", registry=first).to_manifest()
    progress = Recorder()
    result = push_package(manifest, "team/pkg", Registry(S3Store(second.removeprefix("s3://"))),
                          progress=progress)
    total = sum(e.size for e in manifest.entries.values())
    assert progress.started == [(3, total)]
    assert (progress.server_bytes, progress.client_bytes, progress.done) == (total, 0, 3)
    assert (result.copied, result.bytes_copied, result.uploaded, result.skipped) == (3, total, 0, 0)
    assert (result.bytes_client, result.streamed) == (0, 0)


def test_other_endpoint_streams_through_the_client_and_says_so(
        s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qvc.ops import push
    from qvc.ops.push import push_package
    from qvc.storage.registry import Registry

    def no_temp_copy(*args: object) -> None:
        raise AssertionError("an object went through a temp file")

    monkeypatch.setattr(push, "copy_to_file", no_temp_copy)

    first, second = bucket_named(s3, "strm1"), bucket_named(s3, "strm2")
    root = make_source(tmp_path, s3, first)
    qvc_api().Package().set_dir(".", f"{first}/data/").push("team/pkg", registry=first)
    manifest = qvc_api().Package.browse("team/pkg", registry=first).to_manifest()
    # the registry reached through another endpoint setting: no server-side copy
    other = S3Store(second.removeprefix("s3://"), endpoint_url=s3.endpoint)
    result = push_package(manifest, "team/pkg", Registry(other))
    total = sum(e.size for e in manifest.entries.values())
    assert (result.copied, result.streamed, result.uploaded) == (0, 3, 3)
    assert result.bytes_client == 2 * total
    q3 = quilt3.Package.browse("team/pkg", registry=second)
    q3.fetch(str(tmp_path / "out") + "/")
    assert (tmp_path / "out/sub/big.bin").read_bytes() == (root / "sub/big.bin").read_bytes()


def _clone_and_change(qvc: Qvc, tmp_path: Path, source: str, root: Path) -> Path:
    """Push ``root`` as team/orig to ``source`` from one work tree, clone it into another and
    commit a change to one small file there; returns the clone."""
    qvc_api().Package().set_dir(".", str(root)).push("team/orig", registry=source, message="v1")
    qvc("clone", source, "team/orig", str(tmp_path / "clone"), cwd=tmp_path)
    clone = tmp_path / "clone"
    (clone / "a.csv").write_bytes(b"x,y\n3,4\n")
    qvc("add", ".", cwd=clone)
    qvc("commit", "-m", "changed a.csv", cwd=clone)
    return clone


@pytest.mark.parametrize("versioned", [False, True])
def test_push_of_a_clone_to_another_bucket_copies_what_the_source_holds(
        proxy: FaultProxy, moto_server: S3Server, tmp_path: Path, qvc: Qvc,
        versioned: bool) -> None:
    first = bucket_named(moto_server, "cla", versioned)
    second = bucket_named(moto_server, "clb", not versioned)
    root = make_source(tmp_path, moto_server, bucket_named(moto_server, "clunused"))
    clone = _clone_and_change(qvc, tmp_path, first, root)
    proxy.clear()
    out = json.loads(qvc("push", second, "--json", cwd=clone).out)
    # both versions go to the new bucket; only the changed file's bytes go through the client,
    # the rest (all of the cloned version) is copied in S3
    assert (out["uploaded"], out["copied"]) == (1, 3)
    assert out["bytes"] == len(b"x,y\n3,4\n")
    assert out["bytes_client"] == len(b"x,y\n3,4\n")
    assert not data_gets(proxy), "object bytes went through the client"
    assert proxy.bytes_up < 64 * 1024 < BIG  # the manifest, records and pointers, no data
    q3 = quilt3.Package.browse("team/orig", registry=second)
    assert q3.top_hash == out["top_hash"]
    assert all(str(e.physical_key).startswith(second + "/") for _, e in q3.walk())
    qvc("clone", second, "team/orig", str(tmp_path / "again"), cwd=tmp_path)
    qvc("verify", cwd=tmp_path / "again")
    assert (tmp_path / "again/sub/big.bin").read_bytes() == (root / "sub/big.bin").read_bytes()
    assert (tmp_path / "again/a.csv").read_bytes() == b"x,y\n3,4\n"


def test_push_of_a_clone_uploads_what_the_source_lost(
        s3: S3Server, tmp_path: Path, qvc: Qvc) -> None:
    first, second = bucket_named(s3, "lost1"), bucket_named(s3, "lost2")
    root = make_source(tmp_path, s3, bucket_named(s3, "lostunused"))
    clone = _clone_and_change(qvc, tmp_path, first, root)
    client = s3.client()
    client.put_object(Bucket=first.removeprefix("s3://"), Key="team/orig/sub/big.bin",
                      Body=os.urandom(BIG))  # replaced since the clone: not the same bytes
    client.delete_object(Bucket=first.removeprefix("s3://"), Key="team/orig/empty")
    out = json.loads(qvc("push", second, "--json", cwd=clone).out)
    # a.csv's first version is still there; the changed one and the lost ones are uploaded
    assert (out["uploaded"], out["copied"]) == (3, 1)
    assert not [o["Key"] for o in client.list_objects_v2(
        Bucket=second.removeprefix("s3://")).get("Contents", []) if "/.cas/" in o["Key"]]
    q3 = quilt3.Package.browse("team/orig", registry=second)
    q3.fetch(str(tmp_path / "out") + "/")
    assert (tmp_path / "out/sub/big.bin").read_bytes() == (root / "sub/big.bin").read_bytes()


@pytest.mark.parametrize("versioned", [False, True])
def test_many_small_copies_send_no_head_per_object_and_overwrite_nothing(
        proxy: FaultProxy, moto_server: S3Server, tmp_path: Path, versioned: bool) -> None:
    source = bucket_named(moto_server, "small1")
    dest = bucket_named(moto_server, "small2", versioned)
    client = moto_server.client()
    for i in range(30):
        client.put_object(Bucket=source.removeprefix("s3://"), Key=f"data/f{i:02}",
                          Body=b"%d" % i * 100)
    # a key already at the destination, other bytes: never overwritten
    client.put_object(Bucket=dest.removeprefix("s3://"), Key="team/small/f07", Body=b"mine")
    proxy.clear()
    pushed = qvc.Package().set_dir(".", f"{source}/data/").push("team/small", registry=dest)
    heads = [e.request.path for e in proxy.requests("HEAD")
             if e.request.path.startswith(f"/{dest.removeprefix('s3://')}/team/small/")]
    assert heads == [f"/{dest.removeprefix('s3://')}/team/small/f07"], heads
    name = dest.removeprefix("s3://")
    if versioned:  # the copy is a new version: the first one still holds its bytes
        held = [client.get_object(Bucket=name, Key="team/small/f07", VersionId=v["VersionId"])
                ["Body"].read() for v in client.list_object_versions(
                    Bucket=name, Prefix="team/small/f07")["Versions"]]
        assert sorted(held) == sorted([b"mine", b"7" * 100])
    else:
        assert client.get_object(Bucket=name, Key="team/small/f07")["Body"].read() == b"mine"
    q3 = quilt3.Package.browse("team/small", registry=dest)
    assert q3.top_hash == pushed.top_hash
    q3.fetch(str(tmp_path / "out") + "/")
    for i in range(30):
        assert (tmp_path / f"out/f{i:02}").read_bytes() == b"%d" % i * 100



STREAM_SCRIPT = """
import sys, tracemalloc
from qvc.storage import s3stream
from qvc.storage.s3 import S3Store
source, dest, endpoint, size, expected = sys.argv[1:]
src = S3Store(source)
dst = S3Store(dest, endpoint_url=endpoint)  # another endpoint setting: no server-side copy
src.head("big"), dst.head("nothing")  # open both clients before measuring
tracemalloc.start()
info = s3stream.stream_copy(src, "big", None, dst, "copied", int(size), expected,
                            if_none_match=True)
print(tracemalloc.get_traced_memory()[1], info.checksum_sha256)
"""


def test_streamed_copy_holds_a_few_chunks_in_memory_and_checks_the_hash(
        s3: S3Server, tmp_path: Path) -> None:
    """The fallback across endpoints streams chunk by chunk: a 64 MiB object goes through a
    process whose Python allocations peak far below its size (measured in a subprocess: the
    moto server lives in this one), and a hash mismatch creates nothing."""
    import subprocess
    import sys

    from qvc.quilt.hashing import hash_bytes

    first, second = bucket_named(s3, "stm1"), bucket_named(s3, "stm2")
    size = 64 * 1024 * 1024
    data = os.urandom(size)
    expected = hash_bytes(data, "sha2-256-chunked").value
    client = s3.client()
    client.put_object(Bucket=first.removeprefix("s3://"), Key="big", Body=data)
    ran = subprocess.run(
        [sys.executable, "-c", STREAM_SCRIPT, first.removeprefix("s3://"),
         second.removeprefix("s3://"), s3.endpoint, str(size), expected],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(Path(qvc.__file__).parent.parent)))
    assert ran.returncode == 0, ran.stderr
    peak, checksum = ran.stdout.split()
    assert int(peak) < size // 2, f"peak {int(peak) >> 20} MiB"
    assert checksum == f"{expected}-8"
    got = client.get_object(Bucket=second.removeprefix("s3://"), Key="copied")["Body"].read()
    assert got == data
    # a mismatch (the object is not what the manifest says) aborts: nothing created
    src = S3Store(first.removeprefix("s3://"))
    dst = S3Store(second.removeprefix("s3://"), endpoint_url=s3.endpoint)
    client.put_object(Bucket=first.removeprefix("s3://"), Key="small", Body=b"small")
    for key, nbytes in (("big", size), ("small", 5)):
        with pytest.raises(CorruptObject, match=key):
            s3stream.stream_copy(src, key, None, dst, "bad-" + key, nbytes, "0" * 64,
                                 if_none_match=True)
        assert dst.head("bad-" + key) is None
    assert not client.list_multipart_uploads(Bucket=second.removeprefix("s3://")).get("Uploads")
