"""Every public API entry point given bad arguments raises a QvcError with its documented
exit code and a hint, never a raw Python exception (as the CLI's bad-command-line table
checks for the command line)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import qvc
from qvc.api import Package, PackageEntry
from qvc.errors import QvcError


def _deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


Call = Callable[[Path, str], object]


def _pkg(tmp: Path) -> Package:
    return Package().set("f.txt", str(tmp / "f.txt"))


def _entry_meta(pkg: Package, meta: Any) -> Package:
    entry = pkg["f.txt"]
    assert isinstance(entry, PackageEntry)
    entry.set_meta(meta)
    return pkg


CASES: dict[str, tuple[Call, int]] = {
    "set: key not a string": (lambda t, r: Package().set(5, str(t / "f.txt")), 2),  # type: ignore[arg-type]
    "set: entry an object": (lambda t, r: Package().set("a", object()), 2),
    "set: missing file": (lambda t, r: Package().set("a", str(t / "nope")), 4),
    # NaN is held in memory, as quilt3 holds it, and refused where the manifest is written
    "set: NaN meta, then build": (lambda t, r: Package().set(
        "a", str(t / "f.txt"), meta=float("nan")).build("t/p", r), 2),
    "set: bytes meta": (lambda t, r: Package().set("a", str(t / "f.txt"), meta=b"x"), 2),
    "set_meta: NaN, then dump": (lambda t, r: Package().set_meta({"a": float("nan")}).dump(
        io.BytesIO()), 2),
    "set_meta: bytes": (lambda t, r: Package().set_meta(b"x"), 2),
    "set_meta: nested too deeply": (lambda t, r: Package().set_meta(_deep(100_000)), 2),
    "set_dir: key a number": (lambda t, r: Package().set_dir(5, str(t)), 2),  # type: ignore[arg-type]
    "set_dir: path a number": (lambda t, r: Package().set_dir("x", 5), 2),  # type: ignore[arg-type]
    "delete: key a number": (lambda t, r: Package().delete(5), 2),  # type: ignore[arg-type]
    "delete: missing key": (lambda t, r: Package().delete("nope"), 4),
    "[]: key a number": (lambda t, r: Package()[5], 2),  # type: ignore[index]
    "PackageEntry: negative size": (lambda t, r: PackageEntry("file:///x", -5), 2),
    "PackageEntry: size a string": (lambda t, r: PackageEntry("file:///x", "5"), 2),  # type: ignore[arg-type]
    "PackageEntry: bad hash": (lambda t, r: PackageEntry("file:///x", 1, {"x": "1"}), 2),
    "PackageEntry: key a number": (lambda t, r: PackageEntry(5, 1), 2),  # type: ignore[arg-type]
    "PackageEntry.set_meta: NaN, then top_hash": (lambda t, r: _entry_meta(
        _pkg(t), float("-inf")).top_hash, 2),
    "build: bad name": (lambda t, r: _pkg(t).build("bad name", r), 2),
    "build: registry a number": (lambda t, r: _pkg(t).build("t/p", 5), 2),  # type: ignore[arg-type]
    "build: registry is a file": (lambda t, r: _pkg(t).build("t/p", str(t / "afile")), 4),
    "push: bad name": (lambda t, r: _pkg(t).push("bad name", r), 2),
    "push: registry a number": (lambda t, r: _pkg(t).push("t/p", 5), 2),  # type: ignore[arg-type]
    "browse: name a number": (lambda t, r: Package.browse(5, r), 2),  # type: ignore[arg-type]
    "browse: no such package": (lambda t, r: Package.browse("t/none", r), 7),
    "fetch: onto a file": (lambda t, r: Package.browse("t/p", r).fetch(str(t / "afile")), 4),
    "fetch: dest a number": (lambda t, r: Package.browse("t/p", r).fetch(5), 2),  # type: ignore[arg-type]
    "entry fetch: below a file": (lambda t, r: Package.browse("t/p", r)["f.txt"].fetch(  # type: ignore[union-attr]
        str(t / "afile" / "x")), 4),
    "load: garbage": (lambda t, r: Package.load(io.StringIO("garbage")), 8),
    "dump: not a file": (lambda t, r: _pkg(t).dump(5), 2),  # type: ignore[arg-type]
    "diff: not a package": (lambda t, r: _pkg(t).diff(5), 2),  # type: ignore[arg-type]
    "list_packages: registry a number": (lambda t, r: qvc.list_packages(5), 2),  # type: ignore[arg-type]
    "list_package_versions: bad name": (lambda t, r: qvc.list_package_versions("bad name", r), 2),
    "delete_package: name a number": (lambda t, r: qvc.delete_package(5, r), 2),  # type: ignore[arg-type]
    "config: URL a number": (lambda t, r: qvc.config(5), 2),  # type: ignore[arg-type]
}


@pytest.fixture
def registry(tmp_path: Path) -> str:
    (tmp_path / "f.txt").write_text("x")
    (tmp_path / "afile").write_text("a file, not a folder")
    url = str(tmp_path / "registry")
    _pkg(tmp_path).build("t/p", url)
    return url


@pytest.mark.parametrize("name", list(CASES))
def test_bad_arguments_raise_a_documented_qvc_error(name: str, tmp_path: Path,
                                                    registry: str) -> None:
    call, code = CASES[name]
    with pytest.raises(QvcError) as raised:
        call(tmp_path, registry)
    assert raised.value.exit_code == code, raised.value
    assert raised.value.hint, f"no hint: {raised.value}"
    assert (tmp_path / "afile").read_text() == "a file, not a folder"
