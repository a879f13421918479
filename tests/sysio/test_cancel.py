"""Workers stop once the main thread is interrupted; the next transfer runs again."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from qvc.remote.transfer import parallel_map
from qvc.sysio import cancel


def test_an_interrupted_parallel_map_returns_at_once_and_the_next_one_runs() -> None:
    started = threading.Event()
    finished: list[int] = []

    def work(n: int) -> int:
        if n == 0:
            started.wait(5)
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, delivered to the waiting main thread
            return n
        started.set()
        for _ in range(200):  # a transfer reporting its blocks
            cancel.check()
            time.sleep(0.01)
        finished.append(n)
        return n

    def interrupted() -> None:
        parallel_map(work, range(4), workers=4)

    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert time.monotonic() - began < 1.5  # the workers alone would take 2 s
    time.sleep(0.2)
    assert cancel.stopped() and finished == []  # the others gave up at their next check
    assert parallel_map(lambda n: n * 2, [1]) == [2]  # a new transfer resets the flag
    assert not cancel.stopped()
    assert parallel_map(lambda n: n * 2, [1, 2, 3]) == [2, 4, 6]
