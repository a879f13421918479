"""How commands show things: JSON in and out, short hashes, sizes, progress bars on stderr."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any

import typer

from qvc.errors import InvalidJSON

if TYPE_CHECKING:
    from qvc.sysio.progress import CountProgress


def parse_json(text: str, what: str = "--meta") -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidJSON(f"{what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidJSON(f"{what} is nested too deeply") from None


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def short(top_hash: str | None) -> str:
    return top_hash[:12] if top_hash else "-"


def size(nbytes: int) -> str:
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{nbytes} B"


@contextmanager
def progress_bar(desc: str, unit: str) -> Iterator[CountProgress | None]:
    """A progress callback ``(done, total)`` drawing a bar on stderr, on a terminal only."""
    if not sys.stderr.isatty():
        yield None
        return
    with _tqdm(desc=desc, unit=unit, unit_scale=True,
               unit_divisor=1024 if unit == "B" else 1000) as bar:
        def update(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        yield update


class TransferBar:
    """A tqdm bar of bytes (objects in the postfix) on a terminal's stderr; silent when piped."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._bar: Any = None
        self._lock = threading.Lock()
        self._objects = [0, 0]

    def __enter__(self) -> TransferBar:
        if sys.stderr.isatty():
            self._bar = _tqdm(total=0, unit="B", unit_scale=True, unit_divisor=1024,
                              desc=self.what)
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.close()

    def start(self, objects: int, nbytes: int) -> None:
        with self._lock:
            self._objects[1] += objects
            if self._bar is not None:
                self._bar.total += nbytes
                self._show()

    def advance(self, nbytes: int) -> None:
        if self._bar is not None:
            with self._lock:
                self._bar.update(nbytes)

    def object_done(self) -> None:
        with self._lock:
            self._objects[0] += 1
            if self._bar is not None:
                self._show()

    def _show(self) -> None:
        self._bar.set_postfix_str(f"{self._objects[0]}/{self._objects[1]} objects", refresh=False)


def _tqdm(**options: Any) -> Any:
    """A tqdm bar on stderr that goes away when done. Without tqdm's monitor thread: while
    another thread runs, adding, walking and committing many files may not fork
    (:func:`qvc.sysio.forking.allowed`), and would run several times slower."""
    from tqdm import tqdm

    tqdm.monitor_interval = 0
    return tqdm(file=sys.stderr, leave=False, **options)
