"""The object store: small objects written in place, leftovers replaced, parallel batches,
large objects written around the page cache."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import pytest

from qvc.core import objectio
from qvc.core.objectbatch import add_files
from qvc.core.objects import SMALL, ObjectStore
from qvc.errors import PathError
from qvc.quilt.hashing import chunked_bytes
from qvc.sysio.filestat import FileStat


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


def test_fan_out_folders_come_with_their_first_object(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    small, large = tmp_path / "small.txt", tmp_path / "large.bin"
    small.write_bytes(b"hello\n")
    large.write_bytes(os.urandom(SMALL + 1))
    hashes = [store.add_file(f, walked(f))[0] for f in (small, large)]
    folders = {p.name for p in store.root.iterdir()} - {"tmp"}
    assert folders == {store.name(h).split("/")[0] for h in hashes}
    store.sync()  # the new folders are flushed with the objects
    assert store.path(hashes[0]).read_bytes() == b"hello\n"
    assert store.path(hashes[1]).stat().st_size == SMALL + 1


def test_file_changed_since_the_walk_is_read_again(tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_bytes(b"old")
    stale = walked(source)
    source.write_bytes(b"newer content")
    h, st = ObjectStore(tmp_path / "objects").add_file(source, stale)
    assert h == chunked_bytes(b"newer content") and st == walked(source)


@pytest.mark.parametrize("processes", ["1", "2"])  # threads; forked processes when allowed
def test_batches_keep_order_and_content(tmp_path: Path, processes: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QVC_ADD_PROCESSES", processes)
    files = []
    for i in range(1500):
        path = tmp_path / f"f{i}"
        path.write_bytes(b"%d\n" % (i % 1000))  # some duplicates: one object each
        files.append((i, str(path), walked(path)))
    big = tmp_path / "big"
    big.write_bytes(bytes(range(256)) * (SMALL // 256 + 1))  # stored at once, between batches
    files[700] = (700, str(big), walked(big))
    store = store_in(tmp_path)
    results = list(add_files(store, files, batch_files=200))
    assert [tag for tag, _, _ in results] == list(range(1500))
    for tag, h, st in results:
        expected = big.read_bytes() if tag == 700 else b"%d\n" % (tag % 1000)
        assert h == chunked_bytes(expected) and st == files[tag][2]
        assert store.path(h).read_bytes() == expected
        assert store.path(h).stat().st_mode & 0o777 == 0o444
    store.sync()


def test_parallel_batch_skips_a_file_gone_since_the_walk(tmp_path: Path) -> None:
    files = []
    for i in range(1200):
        path = tmp_path / f"f{i}"
        path.write_bytes(b"%d" % i)
        files.append((i, str(path), walked(path)))
    os.unlink(files[700][1])
    done = [tag for tag, _, _ in add_files(ObjectStore(tmp_path / "objects"), files,
                                           batch_files=100)]
    assert done == [i for i in range(1200) if i != 700]


def test_parallel_batch_stops_at_a_missing_file_not_walked(tmp_path: Path) -> None:
    files: list[tuple[int, str, FileStat | None]] = []
    for i in range(1200):
        path = tmp_path / f"f{i}"
        path.write_bytes(b"%d" % i)
        files.append((i, str(path), walked(path) if i != 700 else None))
    os.unlink(files[700][1])
    with pytest.raises(PathError, match="f700"):
        for _ in add_files(ObjectStore(tmp_path / "objects"), files, batch_files=100):
            pass


def _direct_io_works(folder: Path) -> bool:
    try:
        fd = os.open(folder / "probe", os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600)
    except OSError:
        return False
    os.close(fd)
    os.unlink(folder / "probe")
    return True


def _large_file(tmp_path: Path) -> tuple[Path, bytes]:
    data = os.urandom(2 * SMALL + 12345)  # two whole parts and an unaligned tail
    source = tmp_path / "large.bin"
    source.write_bytes(data)
    return source, data


def _spy_on_writes(monkeypatch: pytest.MonkeyPatch, fail_direct: bool = False
                   ) -> list[tuple[int, bool]]:
    """Record (length, direct?) of each pwrite; with ``fail_direct``, refuse direct ones as a
    file system without direct I/O does (EINVAL)."""
    import fcntl

    seen: list[tuple[int, bool]] = []
    real = os.pwrite

    def spy(fd: int, data: memoryview, offset: int) -> int:
        direct = bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT)
        seen.append((len(data), direct))
        if direct and fail_direct:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(fd, data, offset)

    monkeypatch.setattr(objectio.os, "pwrite", spy)
    return seen


@pytest.mark.skipif(not hasattr(os, "O_DIRECT"), reason="no direct I/O on this platform")
def test_large_object_parts_are_written_around_the_page_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, data = _large_file(tmp_path)
    store = store_in(tmp_path)
    seen = _spy_on_writes(monkeypatch)
    h, st = store.add_file(source, walked(source))
    assert h == chunked_bytes(data) and st.size == len(data)
    assert store.path(h).read_bytes() == data
    assert store.path(h).stat().st_mode & 0o7777 == 0o444
    assert [n for n, _ in seen] == [SMALL, SMALL, 12345]
    if _direct_io_works(tmp_path):
        assert [d for _, d in seen] == [True, True, False], "only the tail is buffered"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="O_DIRECT is Linux's")
def test_large_object_falls_back_when_direct_io_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, data = _large_file(tmp_path)
    store = store_in(tmp_path)
    seen = _spy_on_writes(monkeypatch, fail_direct=True)
    h, _ = store.add_file(source, walked(source))
    assert store.path(h).read_bytes() == data and h == chunked_bytes(data)
    assert not any(direct for _, direct in seen[1:]), "after one refusal, ordinary writes"
    assert not list(store.tmp.iterdir())


def test_writers_racing_for_the_same_objects_all_succeed(tmp_path: Path) -> None:
    """Several processes adding the same contents at once, in the same order (an add split
    between forked processes meets duplicates this way): each finds the others'
    half-written files, and none may fail or leave an incomplete object."""
    contents = [b"%d\n" % i * 100 for i in range(3000)]
    store = store_in(tmp_path)
    start_read, start_write = os.pipe()
    pids = []
    for _ in range(4):
        pid = os.fork()
        if pid == 0:  # the child reports through its exit status
            code = 1
            try:
                os.read(start_read, 1)  # all start together
                for data in contents:
                    store.add_verified_bytes(data, chunked_bytes(data))
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    os.write(start_write, b"go!!")
    assert [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids] == [0] * 4
    for data in contents[::97]:
        obj = store.path(chunked_bytes(data))
        assert obj.read_bytes() == data
        assert obj.stat().st_mode & 0o7777 == 0o444
    assert not list(store.tmp.iterdir())


def test_a_large_file_that_grows_while_read_leaves_no_copy_behind(tmp_path: Path) -> None:
    """A log file appended to while ``add`` copies it: the add fails ("changed while it was
    being read") and neither a temp file nor an orphan object of its size is left."""
    import threading
    import time

    source = tmp_path / "growing.log"
    source.write_bytes(os.urandom(SMALL + 4096))
    store = ObjectStore(tmp_path / "objects")
    store.tmp.mkdir(parents=True)
    stop = threading.Event()

    def grow() -> None:
        with open(source, "ab", buffering=0) as f:
            while not stop.is_set():
                f.write(b"line\n")
                time.sleep(0.0005)

    thread = threading.Thread(target=grow)
    thread.start()
    failures = 0
    try:
        for _ in range(10):
            try:
                store.add_file(source)
            except PathError as exc:
                assert "changed while it was being read" in str(exc)
                failures += 1
    finally:
        stop.set()
        thread.join()
    assert failures > 0
    left = [p for p in store.root.rglob("*") if p.is_file()]
    assert len(left) <= 10 - failures, left  # only the copies of the reads that succeeded
    assert list(store.tmp.iterdir()) == []
