"""Walking the work tree: every regular, non-ignored file with its stat, in Quilt walk order.

Two passes. The first lists folders (``scandir``: names and file types, no ``stat``), honours
``.qvcignore`` and orders the names. The second ``lstat``s the files found. In Python much of
the second pass is building each stat result, which holds the interpreter lock, so threads do
not speed it up; on Linux a large tree is split between this process and forked children (as
git splits its index refresh between threads), each sending back its stats as one array. A
child that fails costs time, not results: its share is then done here.

Folders are opened relative to their parent without following links; the second pass reopens
each by its path and checks it is still the folder the first pass listed, so a folder swapped
for a symlink in between is never read through.
"""

from __future__ import annotations

import errno
import functools
import os
import stat
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qvc.quilt.manifest import key_problem, reserved_name
from qvc.sysio import forking
from qvc.sysio.fileio import os_error
from qvc.sysio.filestat import FileStat, StatColumn
from qvc.worktree.ignore import TEMP_SUFFIX, IgnoreRules, is_temp_name

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FORK_MIN = 4096  # files per process below which forking costs more than it saves
_NO_STAT = (0, 0, 0, 0)  # mtime_ns, ctime_ns, inode, size of a file gone since listing
# the mode of a file gone since listing: no file type, so every S_IS* test is False (a
# negative mode would make them raise OverflowError)
_GONE = 0


class Walk:
    """Files found by :func:`walk`, in Quilt walk order: ``keys[i]`` has stat
    ``stats.get(i)`` (one column, not a tuple per file: the index compares the whole column
    at once)."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.stats = StatColumn()
        self.skipped: list[str] = []  # symlinks, special files, bad names
        self.temps: list[str] = []  # qvc's own temp files (never tracked; stale ones removed)
        self._files: dict[str, FileStat] | None = None

    def items(self) -> Iterator[tuple[str, FileStat]]:
        """(key, stat) of each file in walk order, made one at a time."""
        yield from zip(self.keys, self.stats, strict=True)

    @property
    def files(self) -> dict[str, FileStat]:
        if self._files is None:
            self._files = dict(self.items())
        return self._files


@dataclass
class _Segment:
    """Files of one folder that follow each other in walk order."""

    folder: str  # relative to the root, "" for the root
    identity: tuple[int, int]  # (st_dev, st_ino) of the folder when it was listed
    names: list[str] = field(default_factory=list)


@dataclass
class _Listing:
    keys: list[str] = field(default_factory=list)
    segments: list[_Segment] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    temps: list[str] = field(default_factory=list)


def walk(root: Path, rules: IgnoreRules, start: str = "", force: bool = False) -> Walk:
    """All regular, non-ignored files under ``root/start`` as logical keys with their stat."""
    listing = _Listing()
    _list_folder(root, str(root / start) if start else str(root), None, rules, start, force,
                 listing)
    return _stat_listing(root, listing)


def _stat_listing(root: Path, listing: _Listing) -> Walk:
    """The second pass over what the first listed."""
    result = Walk()
    result.skipped = listing.skipped
    result.temps = listing.temps
    modes, stats = _stat_all(str(root), listing.segments, len(listing.keys))
    if all(stat.S_ISREG(mode) for mode in set(modes)):
        result.keys, result.stats = listing.keys, stats  # the common case: nothing changed
        return result
    for i, key in enumerate(listing.keys):
        mode = modes[i]
        if mode == _GONE or stat.S_ISDIR(mode):
            continue  # gone, or turned into a folder, since it was listed
        if not stat.S_ISREG(mode):
            result.skipped.append(key)  # replaced by a link or a special file meanwhile
            continue
        result.keys.append(key)
        result.stats.append_from(stats, i)
    return result


# first pass: list --------------------------------------------------------------------------


def _list_folder(root: Path, path: str, parent_fd: int | None, rules: IgnoreRules,
                 folder: str, force: bool, listing: _Listing) -> None:
    """Open ``path`` (relative to ``parent_fd``) without following a link, and list it."""
    try:
        fd = os.open(path, _DIR_FLAGS, dir_fd=parent_fd)
    except (FileNotFoundError, NotADirectoryError):
        return  # gone, or replaced by a file since it was listed
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return  # replaced by a link since it was listed
        raise os_error(exc, root / folder) from exc
    try:
        _list_names(root, fd, rules, folder, force, listing)
    finally:
        os.close(fd)


def _list_names(root: Path, fd: int, rules: IgnoreRules, folder: str, force: bool,
                listing: _Listing) -> None:
    """Folders depth first, names sorted: the order of :func:`qvc.quilt.manifest.sort_key`."""
    check = force is False and rules.has_rules(folder)
    prefix = folder + "/" if folder else ""
    with os.scandir(fd) as it:
        by_name = {e.name: e for e in it}
    names = sorted(by_name)  # sorting the names alone is faster than sorting the entries
    joined = "/".join(names)
    if TEMP_SUFFIX in joined:  # one search per folder; each name only when it hits
        temps = {name for name in names
                 if is_temp_name(name) and by_name[name].is_file(follow_symlinks=False)}
        listing.temps.extend(prefix + name for name in sorted(temps))
        names = [name for name in names if name not in temps]
        joined = "/".join(names)
    entries = [by_name[name] for name in names]
    # one check of all names at once (a name holds no '/'); each alone only if that fails
    names_ok = bool(folder) and not _bad_name(prefix + joined)
    st = os.fstat(fd)
    identity = (st.st_dev, st.st_ino)
    files = [e.is_file(follow_symlinks=False) for e in entries]
    dropped = rules.ignored_files(folder, names) if check else set()
    if names_ok and all(files):  # a folder of plain files only, the common case
        kept = [name for name in names if name not in dropped] if dropped else names
        if kept:
            listing.keys.extend([prefix + name for name in kept])
            listing.segments.append(_Segment(folder, identity, kept))
        return
    keys, skipped, segment = listing.keys, listing.skipped, None
    for entry, is_file in zip(entries, files, strict=True):
        key = prefix + entry.name
        if not is_file and entry.is_dir(follow_symlinks=False):
            # like git, never look inside a .git (or anything a platform takes for one)
            if not (check and rules.ignored(key, is_dir=True)) and not reserved_name(entry.name):
                _list_folder(root, entry.name, fd, rules, key, force, listing)
                segment = None  # files after a subfolder start a new segment
            continue
        if entry.name in dropped or reserved_name(entry.name):
            continue  # ignored; or a .git file (a linked git work tree), never tracked
        if not is_file or (not names_ok and _bad_name(key)):
            skipped.append(key)  # symlinks, special files, names no manifest may hold
            continue
        keys.append(key)
        if segment is None:
            segment = _Segment(folder, identity)
            listing.segments.append(segment)
        segment.names.append(entry.name)


def _bad_name(key: str) -> bool:
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return key_problem(key) is not None


# second pass: stat -------------------------------------------------------------------------


def _stat_all(root: str, segments: list[_Segment], total: int) -> tuple[array[int], StatColumn]:
    """(modes, stats) of the listed files in listing order (``_GONE``: gone; four stat numbers per
    file), from this process and, for a large tree on Linux with no other thread running,
    forked children."""
    parts = forking.processes(total, FORK_MIN, "QVC_WALK_PROCESSES")
    with forking.Split(_split(segments, total, parts),
                       functools.partial(_stat_packed, root)) as split:
        modes, stats = _stat_segments(root, split.first)
        for share, got in split.answers():
            count = sum(len(s.names) for s in share)
            if got is None or len(got) != 8 * 5 * count:
                more = _stat_segments(root, share)
            else:
                more = array("q"), StatColumn()
                more[0].frombytes(got[:8 * count])
                more[1].values.frombytes(got[8 * count:])
            modes.extend(more[0])
            stats.extend(more[1])
        return modes, stats


def _split(segments: list[_Segment], total: int, parts: int) -> list[list[_Segment]]:
    """``segments`` cut into ``parts`` runs of about equal file counts (a segment may be
    cut in two)."""
    shares: list[list[_Segment]] = [[]]
    room = target = -(-total // parts)
    for seg in segments:
        names = seg.names
        while len(names) > room and len(shares) < parts:
            if room:
                shares[-1].append(_Segment(seg.folder, seg.identity, names[:room]))
            names, room = names[room:], target
            shares.append([])
        if names:
            shares[-1].append(_Segment(seg.folder, seg.identity, names))
            room -= len(names)
    return shares


def _stat_segments(root: str, segments: Sequence[_Segment]) -> tuple[array[int], StatColumn]:
    modes: array[int] = array("q")
    stats = StatColumn()
    mode, extend, lstat = modes.append, stats.values.extend, os.lstat  # bound: once per file
    for seg in segments:
        fd = _reopen(root, seg)
        if fd is None:
            modes.extend([_GONE] * len(seg.names))
            extend(_NO_STAT * len(seg.names))
            continue
        try:
            for name in seg.names:
                try:
                    st = lstat(name, dir_fd=fd)
                except (FileNotFoundError, NotADirectoryError):
                    mode(_GONE)
                    extend(_NO_STAT)
                    continue
                mode(st.st_mode)
                extend((st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_size))
        finally:
            os.close(fd)
    return modes, stats


def _reopen(root: str, seg: _Segment) -> int | None:
    """The listed folder again, or None if it is gone or is no longer that folder."""
    try:
        fd = os.open(f"{root}/{seg.folder}" if seg.folder else root, _DIR_FLAGS)
    except OSError:
        return None
    st = os.fstat(fd)
    if (st.st_dev, st.st_ino) != seg.identity:
        os.close(fd)
        return None
    return fd


def _stat_packed(root: str, share: Sequence[_Segment]) -> bytes:
    """A child's answer: the modes, then the stats, as machine integers."""
    modes, stats = _stat_segments(root, share)
    return modes.tobytes() + stats.values.tobytes()
