"""Adding many files to the object store at once (``qvc add`` of a folder).

Small files are read, hashed and handed over in batches; each batch's objects are created
sorted by name, one fan-out folder after another. Creating files is most of the cost, and
each of its system calls gives up and takes back the interpreter lock, so on Linux the work
is split between this process and forked children (:mod:`qvc.sysio.forking`); elsewhere threads
create each batch while the next one is read.
"""

from __future__ import annotations

import base64
import functools
import itertools
import struct
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

from qvc.core.objects import FileGone, ObjectStore, Opener, open_read
from qvc.quilt.hashing import CHUNKED, Hash
from qvc.sysio import forking
from qvc.sysio.filestat import FileStat

_BATCH_BYTES = 32 * 1024 * 1024  # small-file data per batch, at most
WRITERS = 4  # threads creating a batch's objects (file creation waits in the kernel)
WINDOW = 65536  # files split between forked processes at a time (bounds the list held)
FORK_MIN = 512  # files per process below which forking costs more than it saves
_RECORD = struct.Struct("<32sqqQq")  # a forked child's answer per file: digest, FileStat
_CALLER_WORK = 0.05  # what the caller's staging of a result costs, against adding its file

T = TypeVar("T")


Item = tuple[T, str, "FileStat | None"]  # (tag, path, stat from the walk or None)


def add_files(store: ObjectStore, items: Iterable[Item[T]], batch_files: int = 8192,
              opener: Opener = open_read) -> Iterator[tuple[T, Hash, FileStat]]:
    """:meth:`ObjectStore.add_file` for each ``(tag, path, walked)``, yielding ``(tag, hash,
    stat)`` in order, each once its object is stored; files are opened with ``opener``. A
    walked file that is gone by the time it is read is left out (it is simply not there).

    Batches hold ``batch_files`` files or ``_BATCH_BYTES``; sorted by name, their objects are
    created one fan-out folder after another, which the file system does faster than creating
    them scattered over all 256 folders. On Linux with no other thread running, each window of
    up to ``WINDOW`` files is split between this process and forked children, each doing its
    share alone (threads mostly queue on the interpreter lock instead); otherwise ``WRITERS``
    threads create each batch while the next one is read."""
    source = iter(items)
    while window := list(itertools.islice(source, WINDOW)):
        parts = forking.processes(len(window), FORK_MIN, "QVC_ADD_PROCESSES")
        if parts > 1:
            yield from _forked(store, window, parts, batch_files, opener)
        else:
            yield from _threaded(store, window, batch_files, opener)


def _forked(store: ObjectStore, window: list[Item[T]], parts: int, batch_files: int,
            opener: Opener) -> Iterator[tuple[T, Hash, FileStat]]:
    """The window cut into ``parts`` shares: the first done here, the others by forked
    children; a child that fails has its share done here (raising its error, if any).
    This process also takes in every result (the caller stages each), so its share is
    the smaller by ``_CALLER_WORK``. A share with a file gone meanwhile is redone here too.
    Then the disk writeback of the window is started."""
    shares = forking.cut(window, parts,
                         first=(1 - _CALLER_WORK * (parts - 1)) / (1 + _CALLER_WORK))
    work = functools.partial(_packed, store, batch_files=batch_files, opener=opener)
    with forking.Split(shares, work) as split:
        yield from _alone(store, split.first, batch_files, opener)
        for share, got in split.answers():
            if got is None or len(got) != _RECORD.size * len(share):
                yield from _alone(store, share, batch_files, opener)
                continue
            store.written_elsewhere()
            for (tag, _, _), (digest, *st) in zip(share, _RECORD.iter_unpack(got),
                                                  strict=True):
                yield tag, Hash(CHUNKED, base64.b64encode(digest).decode()), FileStat(*st)
    store.flush_soon()


def _packed(store: ObjectStore, share: Sequence[Item[T]], batch_files: int,
            opener: Opener) -> bytes:
    """A forked child's answer: each file's digest and stat, packed."""
    out = bytearray()
    for _, h, st in _alone(store, share, batch_files, opener):
        out += _RECORD.pack(base64.b64decode(h.value), *st)
    return bytes(out)


def _alone(store: ObjectStore, items: Iterable[Item[T]], batch_files: int, opener: Opener
           ) -> Iterator[tuple[T, Hash, FileStat]]:
    """Read, hash and create batch after batch in this thread alone."""
    batch = _Batch[T](batch_files)
    for tag, path, walked in items:
        if not batch.read(store, tag, path, walked, opener):
            continue
        if batch.full():
            _create_all(store, sorted(batch.writes, key=_first))
            yield from batch.done
            batch = _Batch[T](batch_files)
    _create_all(store, sorted(batch.writes, key=_first))
    yield from batch.done


def _threaded(store: ObjectStore, items: Iterable[Item[T]], batch_files: int, opener: Opener
              ) -> Iterator[tuple[T, Hash, FileStat]]:
    """Read and hash here while ``WRITERS`` threads create the previous batch; at most
    two batches are in memory."""
    with ThreadPoolExecutor(WRITERS, thread_name_prefix="qvc-objects") as pool:
        pending: deque[tuple[list[Future[None]], list[tuple[T, Hash, FileStat]]]] = deque()
        batch = _Batch[T](batch_files)
        for tag, path, walked in items:
            if not batch.read(store, tag, path, walked, opener):
                continue
            if batch.full():
                pending.append((_submit(store, pool, batch.writes), batch.done))
                batch = _Batch[T](batch_files)
                while len(pending) > 1:
                    yield from _finished(pending.popleft())
        pending.append((_submit(store, pool, batch.writes), batch.done))
        while pending:
            yield from _finished(pending.popleft())


def _submit(store: ObjectStore, pool: ThreadPoolExecutor,
            writes: list[tuple[str, bytes]]) -> list[Future[None]]:
    """Write ``writes`` sorted by name, in ``WRITERS`` runs of neighbouring folders."""
    writes.sort(key=_first)
    step = -(-len(writes) // WRITERS) or 1
    return [pool.submit(_create_all, store, writes[i:i + step])
            for i in range(0, len(writes), step)]


def _create_all(store: ObjectStore, writes: list[tuple[str, bytes]]) -> None:
    for final, data in writes:
        store.store_small(final, data)


class _Batch(Generic[T]):
    """Files read for :func:`add_files`: their results, and the small objects
    still to write (at most ``size`` files or ``_BATCH_BYTES`` bytes)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.done: list[tuple[T, Hash, FileStat]] = []
        self.writes: list[tuple[str, bytes]] = []
        self.nbytes = 0

    def read(self, store: ObjectStore, tag: T, path: str, walked: FileStat | None,
             opener: Opener) -> bool:
        """Read one file into the batch; False if it was walked and is gone since."""
        try:
            self.add(tag, *store.read_file(path, walked, opener))
        except FileGone:
            return False
        return True

    def add(self, tag: T, h: Hash, st: FileStat, small: tuple[str, bytes] | None) -> None:
        self.done.append((tag, h, st))
        if small is not None:
            self.writes.append(small)
            self.nbytes += len(small[1])

    def full(self) -> bool:
        return len(self.done) >= self.size or self.nbytes >= _BATCH_BYTES


def _finished(pending: tuple[list[Future[None]], list[tuple[T, Hash, FileStat]]]
              ) -> list[tuple[T, Hash, FileStat]]:
    futures, done = pending
    for future in futures:
        future.result()  # the batch's objects are written (or its error is raised here)
    return done


def _first(item: tuple[str, bytes]) -> str:
    return item[0]
