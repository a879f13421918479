"""Splitting a large job between this process and forked children (Linux only).

Walking, adding and committing many files is short system calls (each of which gives up and
takes back the interpreter lock) and per-file Python work; threads queue on that lock instead
of running. Forked children share nothing but the pages they were born with, so each runs at
full speed on its own CPU. A child's whole answer is one byte string sent back through a
pipe; a child that fails in any way (an error, a signal, a short answer) costs time, not
results: the caller does that share itself, and so meets the error, if any, where it
belongs.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import struct
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

MAX_PROCESSES = 4
_LENGTH = struct.Struct("<Q")  # precedes a child's answer

T = TypeVar("T")


def processes(total: int, min_each: int, variable: str) -> int:
    """How many processes share ``total`` items: the environment ``variable`` if set (1:
    never fork), else one per available CPU (at most ``MAX_PROCESSES``), each with at least
    ``min_each`` items. Always 1 off Linux or while another thread runs."""
    if not allowed():
        return 1
    try:
        wanted = int(os.environ.get(variable, "0"))
    except ValueError:
        wanted = 0
    if wanted > 0:
        return min(wanted, max(total, 1))
    cpus = len(os.sched_getaffinity(0))
    return max(1, min(cpus, MAX_PROCESSES, total // min_each))


def cut(items: Sequence[T], parts: int, first: float = 1.0) -> list[Sequence[T]]:
    """``items`` in ``parts`` runs, in order; the first (this process's) is ``first`` times
    as long as each of the others (smaller when this process has other work besides)."""
    weights = [first] + [1.0] * (parts - 1)
    bounds, done = [0], 0.0
    for weight in weights:
        done += weight
        bounds.append(round(len(items) * done / sum(weights)))
    return [items[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


class Split(Generic[T]):
    """Shares of a job: ``shares[0]`` for this process, each other one given at once to a
    forked child running ``work`` on it. Use as a context manager: children whose answers
    were not taken are stopped on the way out."""

    def __init__(self, shares: Sequence[Sequence[T]],
                 work: Callable[[Sequence[T]], bytes]) -> None:
        self.shares = shares
        self._children: list[Child | None] = []
        try:
            self._children.extend(fork(functools.partial(work, s)) for s in shares[1:])
        except BaseException:
            self.close()
            raise

    @property
    def first(self) -> Sequence[T]:
        return self.shares[0]

    def answers(self) -> Iterator[tuple[Sequence[T], bytes | None]]:
        """(share, answer) of each child in order; None where the child failed (the caller
        then does that share itself)."""
        for i, share in enumerate(self.shares[1:]):
            child, self._children[i] = self._children[i], None
            yield share, collect(child) if child else None

    def close(self) -> None:
        for i, child in enumerate(self._children):
            if child is not None:
                self._children[i] = None
                stop(child)

    def __enter__(self) -> Split[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def allowed() -> bool:
    """Whether this process may fork now: on Linux, with no other thread running (a fork
    would copy a lock another thread holds, and the child could never take it)."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


@dataclass
class Child:
    pid: int
    pipe: int
    status: int | None = None  # once reaped


def finished(child: Child) -> bool:
    """Whether the child has exited (then reaped; :func:`collect` still gives its answer,
    if the pipe held all of it)."""
    if child.status is None:
        pid, status = os.waitpid(child.pid, os.WNOHANG)
        if pid:
            child.status = status
    return child.status is not None


def fork(work: Callable[[], bytes]) -> Child | None:
    """A child process that runs ``work`` and writes its answer, after the answer's length,
    to a pipe; None if the system refuses a process or a pipe (the caller then does the work
    itself)."""
    try:
        read_end, write_end = os.pipe()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # the child: never returns
        code = 1
        try:
            # a full collection would touch, and so copy, every page of the parent's heap
            gc.disable()
            os.close(read_end)
            answer = work()
            data = memoryview(_LENGTH.pack(len(answer)) + answer)
            while data:
                data = data[os.write(write_end, data):]
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    return Child(pid, read_end)


def collect(child: Child) -> bytes | None:
    """The child's answer, or None unless it exited cleanly after writing all of it."""
    chunks = []
    try:
        while chunk := os.read(child.pipe, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(child.pipe)
        status = child.status if child.status is not None else os.waitpid(child.pid, 0)[1]
    data = b"".join(chunks)
    if status != 0 or len(data) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack_from(data)
    return data[_LENGTH.size:] if len(data) == _LENGTH.size + length else None


def stop(child: Child) -> None:
    """Kill and reap a child whose answer is no longer wanted."""
    import signal  # only on this error path: importing it costs start-up time

    os.close(child.pipe)
    if child.status is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGKILL)
        os.waitpid(child.pid, 0)
