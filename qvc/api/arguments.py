"""Checks of the Python API's arguments: a wrong type is a UsageError (exit code 2) with a
hint, as on the command line, never a TypeError or AttributeError from deep inside."""

from __future__ import annotations

import json
import os
from typing import Any

from qvc.errors import InvalidJSON, InvalidValue, PathError, UsageError
from qvc.quilt.manifest import validate_meta

_lenient_json = json.JSONEncoder(allow_nan=True).encode


def text(value: Any, what: str) -> str:
    """``value`` if it is a string."""
    if not isinstance(value, str):
        raise UsageError(f"{what} must be a string, not {type(value).__name__}",
                         f"pass {what} as a str, e.g. 'data/file.csv'")
    return value


def location(value: Any, what: str) -> str | os.PathLike[str]:
    """``value`` if it is a path or URL (a string or an os.PathLike)."""
    if not isinstance(value, str | os.PathLike):
        raise UsageError(f"{what} must be a path or URL string, not {type(value).__name__}",
                         f"pass {what} as a str or pathlib.Path")
    return value


def metadata(value: Any) -> Any:
    """``value`` if it is plain JSON: InvalidJSON otherwise. NaN and Infinity are held in
    memory, as quilt3 holds them (a loaded manifest may have them too), and refused when the
    package is written: see :func:`json_compliant`."""
    try:
        return validate_meta(value)
    except InvalidJSON as refused:
        try:
            _lenient_json(value)
        except (ValueError, TypeError, RecursionError):
            raise refused from None
        return value


def json_compliant(value: Any, what: str) -> None:
    """Refuse NaN and Infinity in metadata (held since :func:`metadata` took it) about to be
    written into a manifest: a ValueError, with the words of quilt3's."""
    try:
        validate_meta(value)
    except InvalidJSON:
        raise InvalidValue(f"Out of range float values are not JSON compliant: {what} holds "
                           "NaN or Infinity", "replace them with null or a string") from None


def size(value: Any) -> int:
    """``value`` if it is a byte count (a non-negative int)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UsageError(f"an entry's size must be a non-negative int, not {value!r}",
                         "give the file's size in bytes, or build the package to compute it")
    return value


def free_folder(dest: str | os.PathLike[str]) -> None:
    """Refuse a fetch destination that is a file (or below one): nothing is written there."""
    path = os.fspath(dest)
    while path and not os.path.lexists(path):
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent
    if path and not os.path.isdir(path):
        raise PathError(f"{path} is a file, not a folder",
                        "fetch into a folder (a new one, or one of your own)")


