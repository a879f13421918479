"""The same mistake made with quilt3 and with qvc raises the same built-in exception class (so
``except ValueError`` code written for quilt3 keeps working), and edge cases quilt3 accepts
behave the same. quilt3 is the oracle: each case runs on both packages."""

from __future__ import annotations

import io
import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

import qvc

quilt3 = pytest.importorskip("quilt3")


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "foo").mkdir()
    (tmp_path / "foo" / "foo.txt").write_text("123\n")
    (tmp_path / "foo" / "bar.txt").write_text("456\n")
    return tmp_path


def _nan_dump(q: ModuleType, d: Path) -> None:
    q.Package().set_meta({"x": math.nan}).dump(io.BytesIO())


def _fetch_onto_source(q: ModuleType, d: Path) -> None:
    q.Package().set("f", str(d / "foo" / "foo.txt"))["f"].fetch(str(d / "foo" / "foo.txt"))


# name: (the mistake, the built-in class quilt3 raises, words both messages hold)
MISTAKES: dict[str, tuple[Callable[[ModuleType, Path], object], type[Exception], str | None]] = {
    "message of the wrong type": (
        lambda q, d: q.Package().build("t/p", message=123), ValueError,
        "The package commit message must be a string"),
    "NaN metadata, written": (_nan_dump, ValueError,
                              "Out of range float values are not JSON compliant"),
    "fetch onto the entry's own file": (_fetch_onto_source, shutil.SameFileError, None),
    "rollback without a registry": (
        lambda q, d: q.Package.rollback("t/p", None, "12345678" * 8), ValueError, None),
    "get() of a folder": (
        lambda q, d: q.Package().set("foo/foo.txt").get("foo"), ValueError,
        "Key 'foo' does not point to a PackageEntry"),
    "unknown update policy": (
        lambda q, d: q.Package().set_dir("x", str(d / "foo"), update_policy="newest"),
        ValueError, "Update policy should be one of"),
    "missing key": (lambda q, d: q.Package()["nope"], KeyError, None),
    "key of the wrong type": (lambda q, d: q.Package()[0], TypeError, None),
}


@pytest.mark.parametrize("name", list(MISTAKES))
def test_the_same_mistake_raises_the_same_builtin_class(name: str, data: Path) -> None:
    mistake, builtin, words = MISTAKES[name]
    for package in (quilt3, qvc):
        with pytest.raises(builtin, match=words) as raised:
            mistake(package, data)
        if package is qvc:
            assert isinstance(raised.value, qvc.QvcError), raised.value
            assert raised.value.hint, raised.value
    assert (data / "foo" / "foo.txt").read_text() == "123\n"


def test_entry_and_folder_clashes_name_what_is_in_the_way(data: Path) -> None:
    for package in (quilt3, qvc):
        with pytest.raises(Exception, match=r"Already a PackageEntry for 'foo' along the "
                                            r"path \['foo'\]: .*/foo/foo\.txt"):
            package.Package().set("foo", "foo/foo.txt").set("foo/bar.txt")
        with pytest.raises(Exception, match="Cannot overwrite directory 'foo' with PackageEntry"):
            package.Package().set("foo/foo.txt").set("foo", "foo/bar.txt")


def test_the_empty_path_is_the_package_itself(data: Path) -> None:
    for package in (quilt3, qvc):
        pkg = package.Package().set("foo/foo.txt")
        assert pkg[[]] is pkg and pkg[()] is pkg
        assert pkg["foo"][[]].keys() == pkg["foo"].keys()
        with pytest.raises(KeyError):
            pkg[""]


def test_nan_metadata_is_held_and_refused_only_when_written(data: Path,
                                                            tmp_path: Path) -> None:
    pkg = qvc.Package().set("foo/foo.txt", meta={"score": math.inf})
    entry = pkg["foo/foo.txt"]
    assert isinstance(entry, qvc.PackageEntry) and math.isinf(entry.meta["score"])
    for write in (lambda: pkg.top_hash, lambda: pkg.build("t/p", str(tmp_path / "reg")),
                  lambda: pkg.dump(io.StringIO())):
        with pytest.raises(ValueError, match="'foo/foo.txt'"):
            write()
    assert not (tmp_path / "reg").exists()
    entry.set_meta({"score": 1.0})
    assert pkg.build("t/p", str(tmp_path / "reg"))


def test_entry_set_with_nothing_says_what_it_needs(data: Path) -> None:
    for package in (quilt3, qvc):
        entry = package.Package().set("foo/foo.txt")["foo/foo.txt"]
        with pytest.raises(Exception, match="Must specify either path or meta"):
            entry.set()


def test_install_to_a_bucket_is_refused_before_any_request(
        data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The destination is checked first: no registry is read for an install that cannot
    happen (the endpoint here refuses every connection, and is never tried)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    with pytest.raises(qvc.QvcError, match="install downloads to a local folder") as raised:
        qvc.Package.install("t/p", registry="s3://some-bucket", dest="s3://other-bucket")
    assert raised.value.exit_code == 2


def _manifest(keys: list[str], url: str) -> str:
    rows = [json.dumps({"version": "v0"})]
    rows += [json.dumps({"logical_key": k, "physical_keys": [url + k], "size": 1,
                         "hash": {"type": "SHA256", "value": "ab" * 32}, "meta": {}})
             for k in keys]
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize("keys", [
    [],
    ["asdf", "qwer", "path1/asdf", "path1/qwer", "path2/first/asdf", "path2/second/asdf"],
    [f"d{i % 3}/sub{i % 2}/f{i:02d}" for i in range(30)] + [f"top{i}" for i in range(5)],
])
@pytest.mark.parametrize("url", ["file:///data/", "s3://bucket/data/"])
def test_repr_is_quilt3s_tree(keys: list[str], url: str) -> None:
    text = _manifest(keys, url)
    assert repr(qvc.Package.load(io.StringIO(text))) == repr(quilt3.Package.load(
        io.StringIO(text)))


def test_an_entry_hash_can_be_set_to_a_valid_one_only(data: Path) -> None:
    """As in quilt3, code may give an entry its hash (verify() then checks against it); qvc
    refuses one that is not of a known type and shape, as a ValueError or TypeError."""
    (data / "test").mkdir()
    (data / "test" / "foo").write_bytes(b"Hello, World!")
    pkg = qvc.Package().set("foo", b"Hello, World!")
    entry = pkg["foo"]
    assert isinstance(entry, qvc.PackageEntry)
    entry.hash = {"type": "SHA256", "value": "ab" * 32}
    assert not pkg.verify("test")
    entry.hash = {"type": "SHA256",
                  "value": "dffd6021bb2bd5b0af676290809ec3a53191dd81c7f70a4b28688a362182986f"}
    assert pkg.verify("test")
    for bad, builtin in (({"type": "SHA256", "value": "12345"}, ValueError),
                         ({"type": "💩", "value": "ab" * 32}, ValueError),
                         ("SHA256", TypeError)):
        with pytest.raises(builtin) as raised:
            entry.hash = bad  # type: ignore[assignment]
        assert isinstance(raised.value, qvc.QvcError) and raised.value.hint
    assert entry.hash == {"type": "SHA256", "value":
                          "dffd6021bb2bd5b0af676290809ec3a53191dd81c7f70a4b28688a362182986f"}
    entry.hash = None
    assert pkg.verify("test")  # hashed again
