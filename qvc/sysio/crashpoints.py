"""Named crash points, so fault tests can kill a command at an exact step of its write order.

Operations call :func:`reach` at the steps that matter for crash safety (``commit.after_manifest``
and so on). Two environment variables, read once at import, drive it:

* ``QVC_CRASH_AT=<point>[:<n>]`` kills the process with SIGKILL (no cleanup, no ``finally``,
  no flush: a ``kill -9``) the n-th time (default: the first) it reaches ``<point>``;
* ``QVC_CRASH_LIST=<file>`` appends the name of every point reached to ``<file>``, so a test can
  enumerate the points of a command before crashing it at each one.

With neither set -- the normal case -- :func:`reach` returns at once and does nothing.
"""

from __future__ import annotations

import os
import signal

_TARGET = os.environ.get("QVC_CRASH_AT") or None
_LISTING = os.environ.get("QVC_CRASH_LIST") or None
_hits: dict[str, int] = {}


def reach(point: str) -> None:
    """Mark that the running command has reached ``point`` (see the module docstring)."""
    if _TARGET is None and _LISTING is None:
        return
    if _LISTING is not None:
        with open(_LISTING, "a", encoding="utf-8") as listing:
            listing.write(point + "\n")
    if _TARGET is None:
        return
    name, _, count = _TARGET.partition(":")
    if name != point:
        return
    _hits[point] = _hits.get(point, 0) + 1
    if _hits[point] >= int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)
