"""``.qvcignore`` rules (gitignore syntax): the only module that imports pathspec.

Each ``.qvcignore`` applies to its own folder and below, with paths relative to that folder;
a deeper file's decisive match wins over a shallower one, as in git. ``.qvc/`` is never
tracked, whatever the rules say, nor are qvc's own temp files (:func:`is_temp_name`), which a
killed checkout or pull can leave behind.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from qvc.sysio.fileio import os_error

if TYPE_CHECKING:
    import pathspec

IGNORE_FILE = ".qvcignore"
TEMP_SUFFIX = ".qvc-tmp"  # qvc's temp files in the work tree: ".<name>.<pid>-<n>.qvc-tmp"


def is_temp_name(name: str) -> bool:
    """Whether a file name is one of qvc's own work-tree temp files (never tracked)."""
    return name.endswith(TEMP_SUFFIX) and name.startswith(".")


def temp_pid(name: str) -> int | None:
    """The process id a temp file's name records, or None if it records none."""
    pid, _, _ = name[:-len(TEMP_SUFFIX)].rpartition(".")[2].partition("-")
    return int(pid) if pid.isascii() and pid.isdigit() else None


class IgnoreRules:
    """Ignore rules of one work tree, loaded lazily folder by folder."""

    def __init__(self, root: Path, *, extra: tuple[str, ...] = (),
                 names: tuple[str, ...] = (IGNORE_FILE,)) -> None:
        """``names``: the ignore files read in each folder (their rules are combined)."""
        self.root = root
        self._names = names
        self._specs: dict[str, pathspec.GitIgnoreSpec | None] = {}
        self._extra = _compile(extra) if extra else None
        self._combined: dict[str, re.Pattern[str] | None] = {}

    def _spec(self, folder: str) -> pathspec.GitIgnoreSpec | None:
        if folder not in self._specs:
            lines = []
            for name in self._names:
                path = self.root / folder / name if folder else self.root / name
                try:
                    lines += path.read_text(encoding="utf-8").splitlines()
                except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
                    pass
                except OSError as exc:  # e.g. an unreadable folder: name it, no traceback
                    raise os_error(exc, path.parent) from exc
            self._specs[folder] = _compile(lines) if lines else None
        return self._specs[folder]

    def has_rules(self, folder: str) -> bool:
        """Whether any rule could apply to entries of ``folder`` (fast path for walks)."""
        if self._extra is not None:
            return True
        parts = folder.split("/") if folder else []
        return any(self._spec("/".join(parts[:i])) for i in range(len(parts) + 1))

    def ignored(self, key: str, is_dir: bool = False) -> bool:
        """Whether the work-tree path ``key`` (relative, '/'-separated) is ignored."""
        parts = key.split("/")
        if parts[0] == ".qvc" or (not is_dir and is_temp_name(parts[-1])):
            return True
        decision = False
        if self._extra is not None:
            result = self._extra.check_file(key + "/" if is_dir else key)
            if result.include is not None:
                decision = result.include
        for depth in range(len(parts)):
            spec = self._spec("/".join(parts[:depth]))
            if spec is None:
                continue
            rel = "/".join(parts[depth:]) + ("/" if is_dir else "")
            result = spec.check_file(rel)
            if result.include is not None:
                decision = result.include
        return decision

    def ignored_files(self, folder: str, names: list[str]) -> set[str]:
        """Those of ``names`` (files in ``folder``) that are ignored, as :meth:`ignored` would
        say one by one. Each ignore file's patterns run as one combined regular expression
        per name when none of them negates (then any match ignores); otherwise one by one."""
        prefix = folder + "/" if folder else ""
        matchers = self._matchers(folder) if self._extra is None else None
        if matchers is None:
            return {name for name in names if self.ignored(prefix + name)}
        found = {".qvc"}.intersection(names) if not folder else set()
        for rel, match in matchers:
            found.update(name for name in names if match(rel + name))
        return found

    def _matchers(self, folder: str) -> list[tuple[str, Callable[[str], object]]] | None:
        """(path of ``folder`` relative to the ignore file's folder + '/', combined match) per
        ignore file that applies; None when one of them holds a negation."""
        parts = folder.split("/") if folder else []
        out: list[tuple[str, Callable[[str], object]]] = []
        for depth in range(len(parts) + 1):
            at = "/".join(parts[:depth])
            spec = self._spec(at)
            if spec is None:
                continue
            if at not in self._combined:
                self._combined[at] = _combine(spec)
            combined = self._combined[at]
            if combined is None:
                return None
            rel = "/".join(parts[depth:])
            out.append((rel + "/" if rel else "", combined.match))
        return out

    def ignored_path(self, key: str) -> bool:
        """Ignored itself or inside an ignored folder."""
        parts = key.split("/")
        for depth in range(1, len(parts)):
            if self.ignored("/".join(parts[:depth]), is_dir=True):
                return True
        return self.ignored(key)


def _compile(lines: list[str] | tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    # pathspec is imported on first use: a work tree without ignore files never pays for it,
    # which keeps short commands (status, --version) fast.
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(lines)


def _combine(spec: pathspec.GitIgnoreSpec) -> re.Pattern[str] | None:
    """One expression matching wherever any pattern of ``spec`` matches; None if a pattern
    negates (order then matters) or is not a plain expression this can join."""
    sources = []
    for pattern in spec.patterns:
        include = getattr(pattern, "include", None)
        regex = getattr(pattern, "regex", None)
        if include is None:
            continue  # a comment or blank line
        if include is False or not isinstance(regex, re.Pattern) or not isinstance(
                regex.pattern, str) or regex.flags != re.UNICODE:
            return None
        source = regex.pattern.replace("(?P<ps_d>", "(?:")
        if "(?P" in source:
            return None
        sources.append(f"(?:{source})")
    return re.compile("|".join(sources)) if sources else _NEVER


_NEVER = re.compile(r"(?!)")
