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
    from qvc.quilt.hashing import Hash
    from qvc.sysio.progress import CountProgress


JSON_OPTION: Any = typer.Option(
    False, "--json", help="Print the result as one JSON document on stdout; on an error, "
    '{"error", "hint", "exit_code"} there too.')
"""The one ``--json`` option every command shares: ``as_json: bool = JSON_OPTION``."""


def parse_json(text: str, what: str = "--meta") -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidJSON(f"{what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidJSON(f"{what} is nested too deeply") from None


class _Stdout:
    json_printed = False  # this command printed its JSON document (then an error may follow)


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))
    _Stdout.json_printed = True


def json_printed(reset: bool = False) -> bool:
    """Whether a JSON document went to stdout since the last reset: an error that follows a
    report (``verify`` finding problems) must not add a second document."""
    printed = _Stdout.json_printed
    if reset:
        _Stdout.json_printed = False
    return printed


def short(top_hash: str | None) -> str:
    return top_hash[:12] if top_hash else "-"


def entry_hash(value: Hash) -> str:
    """An entry's hash for people: 12 hex characters of its digest, whichever encoding the
    manifest uses (``sha2-256-chunked`` values are base64, legacy ``SHA256`` ones hex)."""
    try:
        return value.hex[:12]
    except ValueError:  # not base64 after all: show what the manifest says, never fail
        return value.value[:12]


def meta_text(value: Any) -> str:
    """Metadata for people: one line of JSON, as it was given (not a Python repr)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", '"': '\\"', "\\": "\\\\"}


def path_text(name: str) -> str:
    """A file name or logical key as human output shows it: as it is when every character
    prints plainly, else in double quotes with C-style escapes (as git's ``core.quotePath``
    does), so a newline or a terminal escape in a name cannot break or forge a line.
    Undecodable bytes (``surrogateescape``) show as ``\\xNN``."""
    if name.isprintable() and '"' not in name and "\\" not in name:
        return name
    return '"' + "".join(_escape(c) for c in name) + '"'


def _escape(c: str) -> str:
    if c in _ESCAPES:
        return _ESCAPES[c]
    if c.isprintable():
        return c
    code = ord(c)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


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
        self._server_side = 0  # bytes copied by S3, counted in the bar too

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

    def server_side(self, nbytes: int) -> None:
        with self._lock:
            self._server_side += nbytes
            if self._bar is not None:
                self._bar.update(nbytes)
                self._show()

    def object_done(self) -> None:
        with self._lock:
            self._objects[0] += 1
            if self._bar is not None:
                self._show()

    def _show(self) -> None:
        copied = f", {size(self._server_side)} copied server-side" if self._server_side else ""
        self._bar.set_postfix_str(f"{self._objects[0]}/{self._objects[1]} objects{copied}",
                                  refresh=False)


def _tqdm(**options: Any) -> Any:
    """A tqdm bar on stderr that goes away when done. Without tqdm's monitor thread: while
    another thread runs, adding, walking and committing many files may not fork
    (:func:`qvc.sysio.forking.allowed`), and would run several times slower."""
    from tqdm import tqdm

    tqdm.monitor_interval = 0
    return tqdm(file=sys.stderr, leave=False, **options)
