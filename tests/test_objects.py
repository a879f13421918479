"""The object store: small objects written in place, leftovers replaced, parallel batches."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qvc.errors import PathError
from qvc.hashing import chunked_bytes
from qvc.objects import SMALL, FileStat, ObjectStore


def store_in(tmp_path: Path) -> ObjectStore:
    store = ObjectStore(tmp_path / "objects")
    store.tmp.mkdir(parents=True)
    return store


def walked(path: Path) -> FileStat:
    return FileStat.of(os.lstat(path))


def test_small_object_is_complete_and_read_only(tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_bytes(b"hello\n")
    store = store_in(tmp_path)
    h, st = store.add_file(source, walked(source))
    assert h == chunked_bytes(b"hello\n") and st.size == 6
    obj = store.path(h)
    assert obj.read_bytes() == b"hello\n"
    assert obj.stat().st_mode & 0o7777 == 0o444
    assert not list(store.tmp.iterdir()), "small objects need no temp file"


def test_killed_writers_leftover_is_replaced(tmp_path: Path) -> None:
    data = os.urandom(5000)
    source = tmp_path / "data.bin"
    source.write_bytes(data)
    store = store_in(tmp_path)
    obj = store.path(chunked_bytes(data))
    for leftover, mode in ((data[:100], 0o600), (data, 0o600)):  # cut short; never finished
        obj.parent.mkdir(parents=True, exist_ok=True)
        obj.write_bytes(leftover)
        obj.chmod(mode)
        store.add_file(source, walked(source))
        assert obj.read_bytes() == data
        assert obj.stat().st_mode & 0o7777 == 0o444
        obj.chmod(0o644)
        obj.unlink()


def test_file_changed_since_the_walk_is_read_again(tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_bytes(b"old")
    stale = walked(source)
    source.write_bytes(b"newer content")
    h, st = ObjectStore(tmp_path / "objects").add_file(source, stale)
    assert h == chunked_bytes(b"newer content") and st == walked(source)


def test_batches_keep_order_and_content(tmp_path: Path) -> None:
    files = []
    for i in range(1500):
        path = tmp_path / f"f{i}"
        path.write_bytes(b"%d\n" % (i % 1000))  # some duplicates: one object each
        files.append((i, str(path), walked(path)))
    big = tmp_path / "big"
    big.write_bytes(bytes(range(256)) * (SMALL // 256 + 1))  # stored at once, between batches
    files[700] = (700, str(big), walked(big))
    store = store_in(tmp_path)
    results = list(store.add_files(files, batch_files=200))
    assert [tag for tag, _, _ in results] == list(range(1500))
    for tag, h, st in results:
        expected = big.read_bytes() if tag == 700 else b"%d\n" % (tag % 1000)
        assert h == chunked_bytes(expected) and st == files[tag][2]
        assert store.path(h).read_bytes() == expected
        assert store.path(h).stat().st_mode & 0o777 == 0o444
    store.sync()


def test_parallel_batch_stops_at_a_missing_file(tmp_path: Path) -> None:
    files = []
    for i in range(1200):
        path = tmp_path / f"f{i}"
        path.write_bytes(b"%d" % i)
        files.append((i, str(path), walked(path)))
    os.unlink(files[700][1])
    with pytest.raises(PathError, match="f700"):
        for _ in ObjectStore(tmp_path / "objects").add_files(files, batch_files=100):
            pass
