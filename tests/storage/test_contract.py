"""One contract suite for every Store: a local folder, and S3 (moto over HTTP) with and without
bucket versioning. Plus the S3 failures users meet: no bucket, no endpoint, no credentials."""

from __future__ import annotations

import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import pytest

from qvc.errors import CredentialsError, PathError, QvcError, RemoteError, UsageError
from qvc.quilt import hashing
from qvc.quilt.urls import parse_s3_url
from qvc.storage import (
    Capabilities,
    InvalidKey,
    ObjectNotFound,
    PreconditionFailed,
    Store,
    open_store,
)
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
    return store.versioning_enabled()


def pending_uploads(store: Store) -> list[str]:
    return [upload.key for upload in store.list_multipart_uploads("")]


UNKNOWN_VERSION = "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"


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


def test_written_etag_is_what_head_reports(store: Store, tmp_path: Path) -> None:
    """Also above 64 KiB, where a directory's ETag is no longer a content hash."""
    for size in (5, 100_000):
        data = os.urandom(size)
        info = store.put(f"p{size}", data)
        head = store.head(f"p{size}")
        assert head is not None and (head.size, head.etag) == (size, info.etag)
        assert store.put(f"p{size}", data + b"!", if_match=info.etag).size == size + 1
        source = make_file(tmp_path / f"f{size}", size)
        info = store.put_file(f"f{size}", source)
        head = store.head(f"f{size}")
        assert head is not None and (head.size, head.etag) == (size, info.etag)


def test_a_write_is_create_only_or_compare_and_swap(store: Store) -> None:
    with pytest.raises(UsageError):
        store.put("k", b"x", if_none_match=True, if_match="etag")
    assert store.head("k") is None


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
    assert list(store.list("a/b")) == ["a/b/1", "a/b/2", "a/bc"]
    assert list(store.list("a/b/")) == ["a/b/1", "a/b/2"]
    assert list(store.list("")) == ["a/b/1", "a/b/2", "a/bc", "ab", "b"]
    assert list(store.list("zzz")) == list(store.list("a//")) == list(store.list("/")) == []
    store.delete("a/bc")
    assert list(store.list("a/")) == ["a/b/1", "a/b/2"]
    assert store.head("a/bc") is None


def test_list_is_in_code_point_order(store: Store) -> None:
    """S3's order (UTF-8 bytes), which a folder walk would not give: 'a-b' < 'a/…' < 'a0'."""
    keys = ["a/z", "a/b/1", "a0", "a-b", "a.b/c", "a/é", "a/b~", "Z", "a/b/c/d"]
    for key in keys:
        store.put(key, b"")
    assert list(store.list("")) == sorted(keys) == sorted(keys, key=lambda k: k.encode())
    assert list(store.list("a/")) == ["a/b/1", "a/b/c/d", "a/b~", "a/z", "a/é"]


def test_list_shows_dot_tmp_keys(store: Store) -> None:
    """Only a directory store's own unfinished writes are hidden, not keys that look alike."""
    store.put("d/.notes.tmp", b"x")
    assert list(store.list("d/")) == ["d/.notes.tmp"]


def _refused(store: Store, key: str, source: Path, out: Path) -> None:
    calls = [partial(store.get, key), partial(store.head, key), partial(store.put, key, b"x"),
             partial(store.put_file, key, source), partial(store.reader, key),
             partial(store.get_to_file, key, out), partial(store.delete, key),
             partial(store.physical_key, key)]
    for call in calls:
        with pytest.raises(InvalidKey):
            call()


def test_keys_a_store_refuses(store: Store, tmp_path: Path) -> None:
    """A directory store takes relative paths only; every store refuses "" and NUL."""
    source = make_file(tmp_path / "f", 10)
    odd = ("/a", "a/", "a//b", "./a", "a/./b", "a/../b", "..")
    for key in ("", "a\0b") + (() if is_s3(store) else odd):
        _refused(store, key, source, tmp_path / "out")
        if is_s3(store):  # a directory resolves a file:// path first ("a//b" is "a/b")
            assert store.key_for(store.url + "/" + key) is None
    assert not (tmp_path / "out").exists()
    assert list(store.list("")) == []


def test_a_bucket_key_is_a_name_not_a_path(store: Store, tmp_path: Path) -> None:
    """S3 keys that are not clean paths (put there by quilt3 or other tools) stay readable,
    writable and addressable by physical key, each as exactly the key it is."""
    if not is_s3(store):
        pytest.skip("a directory store's keys are paths")
    for n, key in enumerate(("a//b", "x/../y", "./z", "w\\v", "/lead")):
        store.put(key, f"{n}".encode())
        assert store.get(key) == f"{n}".encode()
        assert store.key_for(store.physical_key(key)) == (key, None)
    assert store.head("y") is None and store.head("a/b") is None


def test_a_prefix_of_keys_is_not_a_key(store: Store) -> None:
    store.put("dir/file", b"x")
    assert store.head("dir") is None
    with pytest.raises(ObjectNotFound):
        store.get("dir")
    store.delete("dir")
    assert store.head("dir/file") is not None
    assert store.head("dir/file/more") is None


def test_a_directory_cannot_hold_a_key_and_keys_under_it(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "registry")
    store.put("a/b", b"x")
    with pytest.raises(PathError, match="cannot hold both"):
        store.put("a", b"y")
    store.put("c", b"x")
    with pytest.raises(PathError, match="cannot hold both"):
        store.put_file("c/d", make_file(tmp_path / "f", 10))
    assert list(store.list("")) == ["a/b", "c"]


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


def test_reader_streams_current_bytes(store: Store) -> None:
    store.put("m", b"line 1\nline 2\n")
    with store.reader("m") as f:
        assert f.readline() == b"line 1\n" and f.read() == b"line 2\n"
    with pytest.raises(ObjectNotFound):
        store.reader("missing")


def test_an_unknown_version_names_nothing(store: Store, tmp_path: Path) -> None:
    store.put("k", b"x")
    with pytest.raises(ObjectNotFound):
        store.get("k", UNKNOWN_VERSION)
    with pytest.raises(ObjectNotFound):
        store.get_to_file("k", tmp_path / "out", UNKNOWN_VERSION)
    assert store.head("k", UNKNOWN_VERSION) is None
    store.delete("k", UNKNOWN_VERSION)  # deletes nothing, and is no error
    store.delete("missing", UNKNOWN_VERSION)
    assert store.get("k") == b"x"


def test_delete(store: Store) -> None:
    first = store.put("k", b"one")
    second = store.put("k", b"two")
    store.delete("k")
    assert store.head("k") is None and list(store.list("")) == []
    with pytest.raises(ObjectNotFound):
        store.get("k")
    if not is_versioned(store):
        return
    assert first.version_id and second.version_id
    assert store.get("k", second.version_id) == b"two"  # kept behind the delete marker
    store.delete("k", first.version_id)  # that one version, for good
    assert store.head("k", first.version_id) is None
    assert store.get("k", second.version_id) == b"two"


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
        with pytest.raises(UsageError, match="no versions"):
            store.physical_key(key, UNKNOWN_VERSION)
        return
    for version in (None, "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"):
        ours = store.physical_key(key, version)
        assert ours == str(PhysicalKey(store.bucket, key, version))
        assert parse_s3_url(ours) == parse_s3_url(str(PhysicalKey.from_url(ours)))
        assert parse_s3_url(ours).key == key and parse_s3_url(ours).version_id == version


def test_key_for_inverts_physical_key(store: Store, tmp_path: Path) -> None:
    versions = (None, UNKNOWN_VERSION) if store.capabilities.remote else (None,)
    for key in ("k", "dir/a b+c=é.txt", "d/100%?x#y"):
        for version in versions:
            assert store.key_for(store.physical_key(key, version)) == (key, version)
    elsewhere = LocalStore(tmp_path / "elsewhere")
    for foreign in ("s3://other-bucket/k", elsewhere.physical_key("k"), "https://host/k",
                    store.url, store.url + "/", "file://host/k", "s3://bad?x=1"):
        assert store.key_for(foreign) is None


def test_declared_capabilities(store: Store) -> None:
    s3 = is_s3(store)
    assert store.capabilities == Capabilities(multipart=s3, conditional_writes=True, remote=s3)
    assert store.versioning_enabled() is (store.url.startswith("s3://test-vbucket"))
    assert list(store.list_multipart_uploads("")) == []
    store.abort_multipart_upload("k", "no-such-upload")  # one already gone is fine


def test_unfinished_multipart_uploads_are_listed_and_aborted(bucket: str) -> None:
    store = open_store(bucket)
    upload_id = store.client.create_multipart_upload(  # type: ignore[attr-defined]
        Bucket=bucket[len("s3://"):], Key="data/part")["UploadId"]
    assert [(u.key, u.upload_id) for u in store.list_multipart_uploads("data/")] == [
        ("data/part", upload_id)]
    assert list(store.list_multipart_uploads("other/")) == []
    store.abort_multipart_upload("data/part", upload_id)
    assert list(store.list_multipart_uploads("")) == []


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
