"""Stopping transfer workers soon after the main thread is interrupted (Ctrl-C).

Python delivers Ctrl-C to the main thread only; the worker threads of a transfer would go on
until their work is done, and the interpreter waits for them before exiting. The main thread
calls :func:`stop` when it is interrupted; workers call :func:`check` between parts and chunks
and give up at the next one. A new transfer started from the main thread calls :func:`reset`,
so a library caller that caught the interrupt can transfer again.
"""

from __future__ import annotations

import threading

_stopped = threading.Event()


class Cancelled(Exception):
    """Raised in a worker thread once the main thread was interrupted."""


def stop() -> None:
    """Ask every worker to give up at its next :func:`check`."""
    _stopped.set()


def reset() -> None:
    """Let workers run again (only from the main thread, before a new transfer)."""
    if threading.current_thread() is threading.main_thread():
        _stopped.clear()


def stopped() -> bool:
    return _stopped.is_set()


def check() -> None:
    """Raise :class:`Cancelled` if the main thread was interrupted."""
    if _stopped.is_set():
        raise Cancelled("interrupted")
