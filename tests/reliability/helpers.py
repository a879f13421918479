"""What fault tests check afterwards: folder snapshots, registry closure, clean CLI errors."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qvc.quilt.manifest import parse
from qvc.quilt.urls import parse_s3_url
from qvc.storage import ObjectNotFound, open_store
from qvc.storage.registry import NAMED, PACKAGES, Registry

Snapshot = dict[str, tuple[Any, ...]]


def snapshot(root: Path, exclude: tuple[Path, ...] = ()) -> Snapshot:
    """Every entry under ``root`` (links not followed): kind, size, mtime, inode and content
    hash of files, target of links. ``exclude``d subtrees are left out."""
    skip = {str(p) for p in exclude}
    found: Snapshot = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if os.path.join(folder, d) not in skip]
        for name in dirs + files:
            path = os.path.join(folder, name)
            if path in skip:
                continue
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = ("dir", st.st_mode)
            else:
                found[rel] = ("file", st.st_size, st.st_mtime_ns, st.st_ino, st.st_mode,
                              _sha256(path) if os.access(path, os.R_OK) else None)
    return found


def _sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def contains_bytes(root: Path, needle: bytes) -> list[str]:
    """Regular files under ``root`` whose content includes ``needle``."""
    hits = []
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if os.path.isfile(path) and not os.path.islink(path) and os.access(path, os.R_OK):
                with open(path, "rb") as f:
                    if needle in f.read():
                        hits.append(path)
    return hits


def assert_clean_error(code: int, err: str, expected: int, *words: str) -> None:
    """A one-line ``error:`` with a hint, the documented exit code, and no traceback."""
    assert code == expected, f"exit {code}, expected {expected}:\n{err}"
    assert "Traceback" not in err, err
    assert "internal error" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, err
    assert any(line.startswith("hint: ") for line in err.splitlines()), err
    for word in words:
        assert word.lower() in err.lower(), f"{word!r} not in:\n{err}"


def run_qvc(*args: str, cwd: Path, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m qvc ARGS`` in ``cwd`` with this test's environment (plus ``env``)."""
    return subprocess.run([sys.executable, "-m", "qvc", *args], cwd=cwd,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)


@dataclass
class Closure:
    """What :func:`registry_problems` found, for readable assertion messages."""

    problems: list[str]
    versions: dict[str, list[tuple[str, str]]]


def registry_problems(url: str) -> Closure:
    """Check invariant I7 of a registry: every pointer (``latest`` included) names a manifest
    that exists and hashes to its name, and every object such a manifest names exists in the
    registry with the recorded size. Manifests nothing points at may be partial garbage."""
    registry = Registry(open_store(url))
    problems: list[str] = []
    versions = {name: registry.versions(name) for name in registry.packages()}
    raw_pointers = list(registry.store.list(NAMED))
    listed = {f"{NAMED}{name}/{p}" for name, vs in versions.items() for p, _ in vs}
    problems += [f"unreadable pointer {k}" for k in raw_pointers if k not in listed]
    for name, pointers in versions.items():
        for pointer, top in pointers:
            try:
                manifest = parse(registry.store.get(PACKAGES + top), top)
            except ObjectNotFound:
                problems.append(f"{name}/{pointer} -> missing manifest {top[:12]}")
                continue
            except Exception as exc:  # noqa: BLE001 - any failure is a finding here
                problems.append(f"{name}/{pointer} -> bad manifest {top[:12]}: {exc}")
                continue
            for entry in manifest.entries.values():
                problem = _data_problem(registry, url, entry.physical_key, entry.size)
                if problem:
                    problems.append(f"{name}/{pointer} {entry.logical_key}: {problem}")
    return Closure(problems, versions)


def _data_problem(registry: Registry, url: str, physical_key: str, size: int) -> str | None:
    if url.startswith("s3://"):
        location = parse_s3_url(physical_key)
        if f"s3://{location.bucket}" != url:
            return f"data outside the registry: {physical_key}"
        info = registry.store.head(location.key, location.version_id)
    else:
        from qvc.storage.local import path_from_url

        path = path_from_url(physical_key)
        info = None
        if path.is_file():
            return None if path.stat().st_size == size else f"wrong size at {path}"
    if info is None:
        return f"missing data {physical_key}"
    return None if info.size == size else f"wrong size of {physical_key}"
