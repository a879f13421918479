"""One contract suite for every Store: a local folder, and S3 (moto over HTTP) with and without
bucket versioning. Plus the S3 failures users meet: no bucket, no endpoint, no credentials."""

from __future__ import annotations

import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from qvc.errors import CredentialsError, QvcError, RemoteError
from qvc.quilt import hashing
from qvc.quilt.urls import parse_s3_url
from qvc.storage import ObjectNotFound, PreconditionFailed, Store, open_store
from qvc.storage.local import LocalStore
from qvc.storage.s3 import S3Store, forget_clients
from tests.conftest import S3Server
from tests.faultproxy import FaultProxy

MiB = 1024 * 1024


@pytest.fixture(params=["local", "s3", "s3-versioned"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "local":
        return LocalStore(tmp_path / "registry")
    url = request.getfixturevalue("versioned_bucket" if request.param == "s3-versioned"
                                  else "bucket")
    return open_store(url)


def is_s3(store: Store) -> bool:
    return store.url.startswith("s3://")


def is_versioned(store: Store) -> bool:
    return isinstance(store, S3Store) and store.versioning_enabled()


def pending_uploads(store: Store) -> list[str]:
    if not isinstance(store, S3Store):
        return []
    return [upload.key for upload in store.list_multipart_uploads("")]


def make_file(path: Path, size: int) -> Path:
    block = os.urandom(MiB)
    with open(path, "wb") as f:
        for offset in range(0, size, MiB):
            f.write(block[: min(MiB, size - offset)])
    return path


# reading and writing -------------------------------------------------------------------------


def test_put_get_head_round_trip(store: Store) -> None:
    info = store.put("a/b.txt", b"hello")
    assert store.get("a/b.txt") == b"hello"
    head = store.head("a/b.txt")
    assert head is not None
    assert (head.size, head.etag) == (5, info.etag)


def test_missing_keys(store: Store) -> None:
    assert store.head("nope/x") is None
    with pytest.raises(ObjectNotFound):
        store.get("nope/x")
    with pytest.raises(ObjectNotFound):
        store.get_to_file("nope/x", Path(os.devnull))
    store.delete("nope/x")  # deleting what is not there is not an error


def test_plain_put_overwrites(store: Store) -> None:
    store.put("k", b"one")
    store.put("k", b"two")
    assert store.get("k") == b"two"


def test_if_none_match_creates_only_once(store: Store) -> None:
    store.put("ref", b"first", if_none_match=True)
    with pytest.raises(PreconditionFailed):
        store.put("ref", b"second", if_none_match=True)
    assert store.get("ref") == b"first"


def test_racing_creates_have_one_winner(store: Store) -> None:
    if is_s3(store):
        pytest.skip("moto checks If-None-Match without a lock; AWS S3 serializes it")
    def attempt(i: int) -> bool:
        try:
            store.put("race", str(i).encode(), if_none_match=True)
            return True
        except PreconditionFailed:
            return False

    with ThreadPoolExecutor(8) as pool:
        wins = list(pool.map(attempt, range(8)))
    assert wins.count(True) == 1
    assert store.get("race") == str(wins.index(True)).encode()


def test_if_match_is_compare_and_swap(store: Store) -> None:
    first = store.put("latest", b"v1")
    second = store.put("latest", b"v2", if_match=first.etag)
    assert store.get("latest") == b"v2"
    with pytest.raises(PreconditionFailed):
        store.put("latest", b"v3", if_match=first.etag)  # stale etag
    assert store.get("latest") == b"v2"
    head = store.head("latest")
    assert head is not None and head.etag == second.etag
    with pytest.raises(PreconditionFailed):
        store.put("missing", b"x", if_match=first.etag)
    assert store.head("missing") is None


def test_list_uses_string_prefixes(store: Store) -> None:
    for key in ("a/b/1", "a/b/2", "a/bc", "ab", "b"):
        store.put(key, key.encode())
    # Order is not part of the contract: folders list files before subfolders.
    assert sorted(store.list("a/b")) == ["a/b/1", "a/b/2", "a/bc"]
    assert sorted(store.list("a/b/")) == ["a/b/1", "a/b/2"]
    assert sorted(store.list("")) == ["a/b/1", "a/b/2", "a/bc", "ab", "b"]
    assert list(store.list("zzz")) == []
    store.delete("a/bc")
    assert sorted(store.list("a/")) == ["a/b/1", "a/b/2"]
    assert store.head("a/bc") is None


# files ---------------------------------------------------------------------------------------


def test_small_file_round_trip_and_checksum(store: Store, tmp_path: Path) -> None:
    source = make_file(tmp_path / "small.bin", 300_000)
    seen: list[int] = []
    info = store.put_file("data/small.bin", source, progress=seen.append)
    assert info.size == 300_000 and sum(seen) == 300_000
    expected = hashing.hash_file(source)
    if is_s3(store):
        assert info.checksum_sha256 is not None
        assert hashing.single_part_to_chunked(info.checksum_sha256) == expected.value
    copy = tmp_path / "copy.bin"
    got: list[int] = []
    store.get_to_file("data/small.bin", copy, progress=got.append)
    assert copy.read_bytes() == source.read_bytes() and sum(got) == 300_000


def test_multipart_file_round_trip_and_checksum(store: Store, tmp_path: Path) -> None:
    source = make_file(tmp_path / "big.bin", 17 * MiB)
    seen: list[int] = []
    info = store.put_file("data/big.bin", source, progress=seen.append)
    assert info.size == 17 * MiB and sum(seen) == 17 * MiB
    expected = hashing.hash_file(source)
    if is_s3(store):
        assert info.checksum_sha256 is not None and info.checksum_sha256.endswith("-3")
        assert hashing.s3_checksum_to_chunked(info.checksum_sha256, info.size) == expected.value
        head = store.head("data/big.bin")
        assert head is not None and head.checksum_sha256 is not None
        assert head.checksum_sha256.partition("-")[0] == expected.value
    copy = tmp_path / "copy.bin"
    store.get_to_file("data/big.bin", copy)
    assert hashing.hash_file(copy) == expected
    assert pending_uploads(store) == []


def test_put_file_create_only(store: Store, tmp_path: Path) -> None:
    small = make_file(tmp_path / "small.bin", 1000)
    big = make_file(tmp_path / "big.bin", 9 * MiB)
    store.put("taken-small", b"original")
    store.put("taken-big", b"original")
    with pytest.raises(PreconditionFailed):
        store.put_file("taken-small", small, if_none_match=True)
    with pytest.raises(PreconditionFailed):
        store.put_file("taken-big", big, if_none_match=True)
    assert store.get("taken-small") == store.get("taken-big") == b"original"
    assert pending_uploads(store) == []  # the refused multipart upload was aborted
    store.put_file("fresh", big, if_none_match=True)
    assert store.get("fresh") == big.read_bytes()


def test_downloads_resume_after_a_cut_connection(bucket: str, proxy: FaultProxy,
                                                 tmp_path: Path) -> None:
    source = make_file(tmp_path / "big.bin", 3 * MiB)
    open_store(bucket).put_file("big.bin", source)
    proxy.add("cut", method="GET", times=2)
    store = open_store(bucket, endpoint_url=proxy.url)
    copy = tmp_path / "copy.bin"
    seen: list[int] = []
    store.get_to_file("big.bin", copy, progress=seen.append)
    assert copy.read_bytes() == source.read_bytes() and sum(seen) == 3 * MiB
    ranges = [e.request.headers.get("range", "") for e in proxy.requests("GET", "big.bin")]
    assert len(ranges) == 3 and "bytes=" in ranges[1] and "bytes=" in ranges[2]  # resumed
    proxy.add("cut", method="GET")
    assert store.get("big.bin") == source.read_bytes()


def test_versions(store: Store) -> None:
    first = store.put("v/data.csv", b"one")
    second = store.put("v/data.csv", b"two")
    if not is_versioned(store):
        assert first.version_id is None and second.version_id is None
        assert "?" not in store.physical_key("v/data.csv", second.version_id)
        return
    assert first.version_id and second.version_id and first.version_id != second.version_id
    assert store.get("v/data.csv", first.version_id) == b"one"
    head = store.head("v/data.csv", first.version_id)
    assert head is not None and head.version_id == first.version_id and head.size == 3
    url = parse_s3_url(store.physical_key("v/data.csv", first.version_id))
    assert (url.key, url.version_id) == ("v/data.csv", first.version_id)


def test_physical_keys_match_quilt3(store: Store) -> None:
    from quilt3.util import PhysicalKey

    key = "dir/a b+c=é.txt"
    if not isinstance(store, S3Store):
        assert store.physical_key(key) == str(PhysicalKey.from_path(str(Path(store.url[7:]) / key)))
        return
    for version in (None, "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"):
        ours = store.physical_key(key, version)
        assert ours == str(PhysicalKey(store.bucket, key, version))
        assert parse_s3_url(ours) == parse_s3_url(str(PhysicalKey.from_url(ours)))
        assert parse_s3_url(ours).key == key and parse_s3_url(ours).version_id == version


# failures users meet ---------------------------------------------------------------------------


def assert_quick_error(store: Store, kind: type[QvcError], text: str) -> QvcError:
    started = time.monotonic()
    with pytest.raises(kind) as caught:
        store.put("k", b"x")
    assert time.monotonic() - started < 10
    error = caught.value
    assert text in error.message and error.hint and "\n" not in error.message
    assert error.exit_code == 7
    return error


def test_missing_bucket(s3: object) -> None:
    store = open_store("s3://no-such-bucket-here")
    assert_quick_error(store, RemoteError, "bucket no-such-bucket-here does not exist")
    with pytest.raises(RemoteError, match="does not exist"):
        store.head("k")  # a missing bucket is not a missing key


def test_unreachable_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    store = open_store("s3://bucket", endpoint_url=f"http://127.0.0.1:{port}")
    error = assert_quick_error(store, RemoteError, f"cannot reach http://127.0.0.1:{port}")
    assert not isinstance(error, CredentialsError)


def test_missing_credentials(s3: object, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    assert_quick_error(open_store("s3://bucket"), CredentialsError, "no usable AWS credentials")


def test_unknown_profile(s3: object) -> None:
    store = open_store("s3://bucket", profile="nobody")
    assert_quick_error(store, CredentialsError, "profile 'nobody'")


def test_injected_credentials_are_used(bucket: str) -> None:
    calls: list[int] = []

    def source() -> dict[str, str]:
        calls.append(1)
        return {"access_key": "injected", "secret_key": "injected", "token": "t",
                "expiry_time": "2999-01-01T00:00:00Z"}

    store = S3Store(parse_s3_url(bucket + "/").bucket, credentials=source)
    store.put("k", b"v")
    assert store.get("k") == b"v" and calls
    assert store.client._request_signer._credentials.access_key == "injected"


def test_stores_connecting_the_same_way_share_one_client(
        bucket: str, versioned_bucket: str, s3: S3Server,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Making an S3 client is slow, so stores share one unless they connect differently."""
    def client_of(url: str, endpoint_url: str | None = None) -> object:
        store = open_store(url, endpoint_url=endpoint_url)
        assert isinstance(store, S3Store)
        store.head("k")  # the client works
        return store.client

    shared = client_of(bucket)
    assert client_of(versioned_bucket) is shared and client_of(bucket) is shared
    assert client_of(bucket, endpoint_url=s3.endpoint) is not shared
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "someone-else")
    assert client_of(bucket) is not shared
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    assert client_of(bucket) is shared
    forget_clients()  # as a catalog login does
    assert client_of(bucket) is not shared


def test_registry_urls_have_no_path() -> None:
    with pytest.raises(QvcError, match="whole bucket") as caught:
        S3Store.from_url("s3://bucket/some/prefix")
    assert caught.value.exit_code == 2 and "--dest" in caught.value.hint
