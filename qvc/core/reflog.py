"""The reflog: every move of HEAD, one JSON line each (``old``, ``new``, ``time``, ``reason``),
appended by :meth:`qvc.core.repo.Repo.set_head` to ``.qvc/logs/HEAD``.

``HEAD@{n}`` names where HEAD was ``n`` moves ago (``HEAD@{0}`` is HEAD itself), so a commit
left behind by a checkout or a reset stays reachable by name until ``qvc gc`` expires it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from qvc.sysio.fileio import os_error


@dataclass(frozen=True)
class Move:
    """One line of the reflog."""

    old: str | None
    new: str | None
    time: float
    reason: str


def read(path: Path) -> list[Move]:
    """The moves recorded in ``path``, newest first. Lines that do not parse (a line torn by a
    crash while it was appended) are skipped: they name nothing that could be resolved."""
    try:  # undecodable bytes make a line that does not parse, skipped like a torn one
        lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:  # a folder, unreadable
        raise os_error(exc, path) from exc
    moves: list[Move] = []
    for line in reversed(lines):
        try:
            raw = json.loads(line)
        except ValueError:
            continue
        if not isinstance(raw, dict):
            continue
        old, new = raw.get("old"), raw.get("new")
        moved_at, reason = raw.get("time"), raw.get("reason")
        moves.append(Move(old if isinstance(old, str) else None,
                          new if isinstance(new, str) else None,
                          float(moved_at) if isinstance(moved_at, int | float) else 0.0,
                          reason if isinstance(reason, str) else ""))
    return moves
