"""How a long operation reports progress to its caller: one callback shape per meaning.

Operations compute; only the CLI draws a bar, through one of these callbacks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

CountProgress = Callable[[int, int], None]
"""Called with (done so far, total), in the unit the operation names (files, bytes)."""

ByteProgress = Callable[[int], None]
"""Called with a number of bytes just handled (each call adds to the previous ones); may be
called from worker threads."""


class TransferProgress(Protocol):
    """What a transfer of many objects reports; called from worker threads."""

    def start(self, objects: int, nbytes: int) -> None: ...

    def advance(self, nbytes: int) -> None: ...  # a ByteProgress

    def server_side(self, nbytes: int) -> None: ...  # bytes S3 copied without the client

    def object_done(self) -> None: ...


class NoProgress:
    """A :class:`TransferProgress` that reports nothing."""

    def start(self, objects: int, nbytes: int) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass

    def server_side(self, nbytes: int) -> None:
        pass

    def object_done(self) -> None:
        pass
