"""The ASCII history graph of ``qvc log --graph``, drawn like ``git log --graph``.

Each commit sits in a lane (a column, two characters wide); a lane holds the commit the
line below it is waiting for. A merge opens a lane for its second parent (``|\\``), lines
that reach the same parent join (``|/``), and a lane that ends lets the ones right of it
move left.
"""

from __future__ import annotations

from collections.abc import Sequence


def draw(commits: Sequence[tuple[str, Sequence[str]]]) -> list[tuple[str, int | None]]:
    """Graph lines for ``commits`` ((id, parent ids), each before its parents): each line's
    text and the position in ``commits`` of the commit drawn on it (None: a joining line)."""
    lines: list[tuple[str, int | None]] = []
    lanes: list[str] = []
    for number, (commit_id, parents) in enumerate(commits):
        if commit_id not in lanes:
            lanes.append(commit_id)
        col = lanes.index(commit_id)
        lines.append((" ".join("*" if i == col else "|" for i in range(len(lanes))), number))
        after = _next_lanes(lanes, col, parents)
        tracks = [(i, after.index(lane)) for i, lane in enumerate(lanes) if i != col]
        tracks += [(col, after.index(p)) for p in parents]
        lines += [(row, None) for row in _joining(tracks)]
        lanes = after
    return lines


def _next_lanes(lanes: list[str], col: int, parents: Sequence[str]) -> list[str]:
    """The lanes after the commit in ``col``: its first parent takes its place, other
    parents not yet awaited open lanes right of it; a lane awaited twice is kept once."""
    after: list[str | None] = list(lanes)
    after[col] = parents[0] if parents else None
    at = col + 1
    for parent in parents[1:]:
        if parent not in after:
            after.insert(at, parent)
            at += 1
    unique: list[str] = []
    for lane in after:
        if lane is not None and lane not in unique:
            unique.append(lane)
    return unique


def _joining(tracks: list[tuple[int, int]]) -> list[str]:
    """Rows moving each line from its lane to its new one, one column per row."""
    rows: list[str] = []
    at = [start for start, _ in tracks]
    while any(pos != end for pos, (_, end) in zip(at, tracks, strict=True)):
        width = 2 * max(at + [end for _, end in tracks]) + 1
        row = [" "] * width
        for n, (_, end) in enumerate(tracks):
            pos = at[n]
            if pos < end:
                row[2 * pos + 1] = "\\"
                at[n] = pos + 1
            elif pos > end:
                row[2 * pos - 1] = "/"
                at[n] = pos - 1
            elif row[2 * pos] == " ":
                row[2 * pos] = "|"
        rows.append("".join(row).rstrip())
    return rows
