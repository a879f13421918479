"""Interrupted transfers pick up where they stopped: a re-push reuses what a killed push placed
(folder registries and buckets alike), a killed multipart upload resumes from its parts, a
killed download from its verified bytes, and Ctrl-C stops a transfer at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from qvc.storage import open_store
from qvc.storage.registry import Registry
from tests.conftest import Qvc, S3Server
from tests.faultproxy import FaultProxy
from tests.reliability.helpers import run_qvc

NAME = "test/pkg"
_buckets = iter(range(1_000_000))


def crash(args: list[str], cwd: Path, point: str, env: dict[str, str] | None = None) -> None:
    died = run_qvc(*args, cwd=cwd, env={"QVC_CRASH_AT": point, **(env or {})})
    assert died.returncode == -signal.SIGKILL, f"{point} not reached: {died.stderr}"


def registry_url(kind: str, tmp_path: Path, s3: S3Server | None) -> str:
    if kind == "folder":
        return (tmp_path / "registry").as_uri()
    assert s3 is not None
    return s3.bucket(f"resume-{os.getpid()}-{next(_buckets)}")


def stored_bytes(url: str) -> int:
    """Bytes of every data object in the registry (not its manifests and pointers)."""
    store = open_store(url)
    return sum(info.size for key in store.list("")
               if not key.startswith(".quilt/") and (info := store.head(key)) is not None)


def pushed_keys(url: str) -> dict[str, str]:
    registry = Registry(open_store(url))
    latest = registry.read_latest(NAME)
    assert latest is not None
    manifest = registry.read_manifest(latest.top_hash)
    return {k: e.physical_key for k, e in manifest.entries.items()}


# re-push after an interrupted or failed push ----------------------------------------------


@pytest.mark.parametrize("kind", ["folder", "s3"])
def test_repush_after_a_killed_push_stores_the_data_once(kind: str, tmp_path: Path, work: Path,
                                                          qvc: Qvc,
                                                          request: pytest.FixtureRequest) -> None:
    s3 = request.getfixturevalue("s3") if kind == "s3" else None
    url = registry_url(kind, tmp_path, s3)
    for i in range(4):
        (work / f"blob{i}.bin").write_bytes(os.urandom(300_000 + i))
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "data", cwd=work)
    data = sum((work / f"blob{i}.bin").stat().st_size for i in range(4))
    crash(["push", url], work, "push.after_object:3", {"QVC_MAX_CONCURRENCY": "1"})
    placed = stored_bytes(url)
    assert 0 < placed < data + 1000
    qvc("push", url, cwd=work)
    total = stored_bytes(url)
    assert data <= total < data + 1000, (total, data)  # about 1x, not 2x
    keys = pushed_keys(url)
    assert all(".qvc/objects" not in physical for physical in keys.values()), keys
    assert all(physical.split("?")[0].endswith(key) for key, physical in keys.items()), keys


def test_retried_push_to_a_folder_registry_reuses_placed_files(tmp_path: Path, work: Path,
                                                               qvc: Qvc) -> None:
    """Data placed by a push that failed later (here: before any pointer) is hashed and
    reused, never stored again under .qvc/objects."""
    url = (tmp_path / "registry").as_uri()
    (work / "big.bin").write_bytes(os.urandom(3 * 2**20))  # above the head-first size too
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "data", cwd=work)
    crash(["push", url], work, "push.after_manifest")
    before = stored_bytes(url)
    qvc("push", url, cwd=work)
    assert stored_bytes(url) == before
    assert ".qvc/objects" not in json.dumps(pushed_keys(url))


# Ctrl-C ------------------------------------------------------------------------------------

DATA = r"^/[^/]+/test/pkg/"  # data keys: /<bucket>/test/pkg/<logical key>


def interrupt_when(args: list[str], cwd: Path, seen: Callable[[], bool]) -> tuple[int, str, float]:
    """Run ``qvc ARGS``, send SIGINT once ``seen()`` (a transfer is under way); returns (exit
    code, stderr, seconds from the signal to the exit)."""
    process = subprocess.Popen([sys.executable, "-m", "qvc", *args], cwd=cwd,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not seen():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the transfer never started"
        time.sleep(0.05)
    time.sleep(0.3)  # inside the slowed requests
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    return process.returncode, err, time.monotonic() - sent


def assert_interrupted(code: int, err: str, seconds: float, hint: str) -> None:
    assert code == 130, err
    assert "Traceback" not in err, err
    assert "error: interrupted" in err, err
    assert f"hint: {hint}" in err, err
    print(f"exit {seconds:.2f} s after SIGINT")
    assert seconds < 5, seconds  # about 0.1 s here; generous for a loaded machine


def commit_blobs(work: Path, qvc: Qvc) -> None:
    """Eight 1.5 MB files of random bytes committed in ``work``: transfers long enough to
    interrupt."""
    for i in range(8):
        (work / f"blob{i}.bin").write_bytes(os.urandom(1_500_000))
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "data", cwd=work)


def test_ctrl_c_during_push_stops_at_once_and_push_resumes(proxy: FaultProxy,
                                                          proxied_bucket: str, work: Path,
                                                          qvc: Qvc) -> None:
    commit_blobs(work, qvc)
    slow = proxy.add("delay", method="PUT", path=DATA, times=None, seconds=20)
    code, err, seconds = interrupt_when(["push", proxied_bucket], work, lambda: slow.hits > 0)
    assert_interrupted(code, err, seconds, f"run 'qvc push {proxied_bucket}' again to resume")
    proxy.clear()
    qvc("push", proxied_bucket, cwd=work)
    pushed = pushed_keys(proxied_bucket)
    assert {f"blob{i}.bin" for i in range(8)} <= set(pushed)


def test_ctrl_c_during_clone_keeps_what_pull_finishes(proxy: FaultProxy, proxied_bucket: str,
                                                      work: Path, qvc: Qvc,
                                                      tmp_path: Path) -> None:
    commit_blobs(work, qvc)
    qvc("push", proxied_bucket, cwd=work)
    proxy.clear()
    slow = proxy.add("delay", method="GET", path=DATA, times=None, seconds=20)
    code, err, seconds = interrupt_when(["clone", proxied_bucket, NAME, "copy"], tmp_path,
                                        lambda: slow.hits > 0)
    copy = tmp_path / "copy"
    assert_interrupted(code, err, seconds, f"run 'qvc pull' in {copy} to finish the clone")
    proxy.clear()
    qvc("pull", cwd=copy)
    for i in range(8):
        assert (copy / f"blob{i}.bin").read_bytes() == (work / f"blob{i}.bin").read_bytes()


# multipart uploads -------------------------------------------------------------------------

MiB = 2**20


def parts_sent(listing: Path) -> int:
    return listing.read_text().split().count("push.after_part") if listing.exists() else 0


def test_killed_multipart_upload_resumes_from_its_parts(tmp_path: Path, work: Path, qvc: Qvc,
                                                        s3: S3Server) -> None:
    """kill -9 after 3 of 5 parts: the next push sends only the 2 missing parts, the object
    assembles with the manifest's hash, and nothing is left for 'gc --remote'."""
    url = registry_url("s3", tmp_path, s3)
    big = os.urandom(40 * MiB)  # five parts of the 8 MiB chunk size
    (work / "big.bin").write_bytes(big)
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "big", cwd=work)
    crash(["push", url], work, "push.after_part:3", {"QVC_MAX_CONCURRENCY": "1"})
    client, name = s3.client(), url.removeprefix("s3://")
    uploads = client.list_multipart_uploads(Bucket=name).get("Uploads", [])
    assert [u["Key"] for u in uploads] == ["test/pkg/big.bin"]
    listing = tmp_path / "points.txt"
    resumed = run_qvc("push", url, cwd=work, env={"QVC_CRASH_LIST": str(listing)})
    assert resumed.returncode == 0, resumed.stderr
    assert parts_sent(listing) <= 2 + 1, listing.read_text()  # a part in flight may be lost
    assert not client.list_multipart_uploads(Bucket=name).get("Uploads")
    assert client.get_object(Bucket=name, Key="test/pkg/big.bin")["Body"].read() == big
    qvc("clone", url, NAME, "copy", cwd=tmp_path)
    assert (tmp_path / "copy" / "big.bin").read_bytes() == big


def test_resumed_upload_resends_parts_that_changed(tmp_path: Path, work: Path, qvc: Qvc,
                                                   s3: S3Server) -> None:
    """The parts of a killed upload are checked against the local chunks: a push of other
    bytes to the same key keeps the parts that match and sends the others again."""
    url = registry_url("s3", tmp_path, s3)
    big = bytearray(os.urandom(24 * MiB))  # three parts
    (work / "big.bin").write_bytes(big)
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "big", cwd=work)
    crash(["push", url], work, "push.after_part:2", {"QVC_MAX_CONCURRENCY": "1"})
    other = tmp_path / "other"
    other.mkdir()
    big[100] ^= 1  # in the first part
    (other / "big.bin").write_bytes(big)
    qvc("init", NAME, cwd=other)
    qvc("add", ".", cwd=other)
    qvc("commit", "-m", "changed", cwd=other)
    listing = tmp_path / "points.txt"
    resumed = run_qvc("push", url, cwd=other, env={"QVC_CRASH_LIST": str(listing),
                                                    "QVC_MAX_CONCURRENCY": "1"})
    assert resumed.returncode == 0, resumed.stderr
    # the changed first part, and the third unless it landed before the kill
    assert 1 <= parts_sent(listing) <= 2
    client, name = s3.client(), url.removeprefix("s3://")
    assert client.get_object(Bucket=name, Key="test/pkg/big.bin")["Body"].read() == big
    qvc("clone", url, NAME, "copy", cwd=tmp_path)
    assert (tmp_path / "copy" / "big.bin").read_bytes() == big


# downloads ---------------------------------------------------------------------------------


def chunks_fetched(listing: Path) -> int:
    return listing.read_text().split().count("fetch.after_chunk") if listing.exists() else 0


@pytest.mark.parametrize(("kind", "kill_at", "damage", "fetched"), [
    ("s3", "fetch.after_chunk:3", False, 2),  # 3 of 5 chunks kept, 2 fetched
    ("s3", "fetch.after_chunk:3", True, 4),  # the second chunk damaged: only the first kept
    ("folder", "fetch.after_chunk:1", False, 0),  # copied whole, killed before publishing
])
def test_killed_download_resumes_from_its_verified_chunks(kind: str, kill_at: str, damage: bool,
                                                          fetched: int, tmp_path: Path,
                                                          work: Path, qvc: Qvc,
                                                          request: pytest.FixtureRequest) -> None:
    s3 = request.getfixturevalue("s3") if kind == "s3" else None
    url = registry_url(kind, tmp_path, s3)
    big = os.urandom(40 * MiB)  # five chunks of 8 MiB
    (work / "big.bin").write_bytes(big)
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "big", cwd=work)
    qvc("push", url, cwd=work)
    copy = tmp_path / "copy"
    crash(["clone", url, NAME, str(copy)], tmp_path, kill_at)
    [part] = (copy / ".qvc" / "objects" / "tmp").glob("partial-*[0-9]")
    if damage:
        with open(part, "r+b") as f:
            f.seek(9 * MiB)
            f.write(b"\0")
    listing = tmp_path / "points.txt"
    finished = run_qvc("pull", cwd=copy, env={"QVC_CRASH_LIST": str(listing)})
    assert finished.returncode == 0, finished.stderr
    assert chunks_fetched(listing) == fetched
    assert (copy / "big.bin").read_bytes() == big
    assert not list((copy / ".qvc" / "objects" / "tmp").glob("partial-*"))
    assert run_qvc("verify", cwd=copy).returncode == 0
