"""The Python API: qvc.Package and friends, against folders, work trees and moto S3."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import qvc
from qvc.errors import (
    CorruptObject,
    DirtyWorkTree,
    InvalidName,
    NoRemote,
    PathError,
    RemoteConflict,
    UsageError,
)

API = qvc  # the module, for tests that also use the CLI fixture named qvc
EMPTY_TOP = "2a5a67156ca9238c14d12042db51c5b52260fdd5511b61ea89b58929d6e1769b"


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of files (outside any work tree), and the current folder set to its parent."""
    root = tmp_path / "data"
    (root / "sub" / "deep").mkdir(parents=True)
    (root / "a.txt").write_text("alpha\n")
    (root / "sub" / "b.csv").write_text("x,y\n1,2\n")
    (root / "sub" / "deep" / "c.bin").write_bytes(bytes(range(256)) * 10)
    (root / "héllo wörld.txt").write_text("unicode\n")
    monkeypatch.chdir(tmp_path)
    return root


def quilt3_top_hash(folder: Path, name: str, meta: object, message: str | None) -> str:
    import quilt3

    pkg = quilt3.Package()
    pkg.set_dir(".", str(folder), meta=meta)
    pkg.set("extra/a.txt", str(folder / "a.txt"), meta={"rows": 2})
    return str(pkg.build(name, message=message))


def test_empty_package_builds_to_the_documented_top_hash(data: Path) -> None:
    p = qvc.Package()
    assert p.build("username/packagename") == EMPTY_TOP
    assert p.top_hash == EMPTY_TOP
    assert qvc.list_packages() == ["username/packagename"]


def test_top_hash_after_build_equals_quilt3s(data: Path) -> None:
    p = qvc.Package()
    p.set_dir(".", str(data), meta={"k": "v"})
    p.set("extra/a.txt", str(data / "a.txt"), meta={"rows": 2})
    top = p.build("test/same", message="first")
    assert top == quilt3_top_hash(data, "test/same", {"k": "v"}, "first")
    assert p.top_hash == top
    written = qvc.Package.browse("test/same")
    assert written.top_hash == top
    assert written["extra/a.txt"].meta == {"rows": 2}
    assert written.meta == {"k": "v"}


def test_set_dir_of_the_root_without_meta_writes_null_meta_like_quilt3(data: Path) -> None:
    p = qvc.Package().set_dir(".", str(data))
    assert p.meta is None
    top = p.build("test/nullmeta")
    import quilt3

    q = quilt3.Package()
    q.set_dir(".", str(data))
    assert q.build("test/nullmeta-q") == top


def test_set_dir_honours_quiltignore_and_qvcignore(data: Path) -> None:
    (data / ".quiltignore").write_text("*.csv\n")
    (data / "sub" / ".qvcignore").write_text("deep/\n")
    keys = [k for k, _ in qvc.Package().set_dir("files", str(data)).walk()]
    assert keys == ["files/.quiltignore", "files/a.txt", "files/héllo wörld.txt",
                    "files/sub/.qvcignore"]


def test_reading_and_editing_like_a_mapping(data: Path) -> None:
    p = qvc.Package().set_dir("d", str(data))
    p.set("top.txt", str(data / "a.txt"), meta={"m": 1})
    assert p.keys() == ["d", "top.txt"]
    assert "d/sub/b.csv" in p and "d/sub" in p and "nope" not in p
    sub = p["d/sub"]
    assert isinstance(sub, qvc.Package)
    assert [k for k, _ in sub.walk()] == ["b.csv", "deep/c.bin"]
    entry = p["top.txt"]
    assert isinstance(entry, qvc.PackageEntry)
    assert entry.meta == {"m": 1} and entry.size == 6 and entry.hash is None
    sub.set_meta({"folder": True})
    p.delete("d/sub/deep")
    assert "d/sub/deep/c.bin" not in p
    with pytest.raises(KeyError):
        p["missing"]
    with pytest.raises(PathError):
        p.set("top.txt/child", str(data / "a.txt"))
    rows = list(p.manifest)
    assert rows[0] == {"version": "v0"}
    assert rows[1] == {"logical_key": "d/sub/", "meta": {"folder": True}}
    assert p["top.txt"].hash is not None  # building the manifest hashed every entry


def test_bad_names_and_keys_raise_qvc_errors_with_hints(data: Path) -> None:
    with pytest.raises(InvalidName) as bad_name:
        qvc.Package().build("no-slash")
    assert bad_name.value.hint
    for key in ("../escape", "/abs", "a//b", "a/./b"):
        with pytest.raises(PathError):
            qvc.Package().set(key, str(data / "a.txt"))
    with pytest.raises(PathError):
        qvc.Package().set("x", str(data / "missing.txt"))
    with pytest.raises(NoRemote):
        qvc.Package().push("test/pkg")


def test_entries_read_verified_bytes_and_fetch(data: Path, tmp_path: Path) -> None:
    p = qvc.Package().set_dir(".", str(data))
    p.build("test/read")
    entry = qvc.Package.browse("test/read")["sub/b.csv"]
    assert isinstance(entry, qvc.PackageEntry)
    assert entry.get_bytes() == b"x,y\n1,2\n"
    copy = entry.fetch(tmp_path / "out" / "b.csv")
    assert (tmp_path / "out" / "b.csv").read_bytes() == b"x,y\n1,2\n"
    assert copy.physical_key == (tmp_path / "out" / "b.csv").as_uri()
    fetched = qvc.Package.browse("test/read").fetch(tmp_path / "all")
    assert (tmp_path / "all" / "sub" / "deep" / "c.bin").read_bytes() == bytes(range(256)) * 10
    assert fetched.top_hash == p.top_hash
    (data / "sub" / "b.csv").write_text("changed\n")  # the built package points at this file
    with pytest.raises(CorruptObject):
        entry.get_bytes()


def test_dump_load_and_diff(data: Path) -> None:
    a = qvc.Package().set_dir(".", str(data))
    buffer = io.StringIO()
    a.dump(buffer)
    import quilt3

    assert quilt3.Package.load(io.StringIO(buffer.getvalue())).top_hash == a.top_hash
    b = qvc.Package.load(io.BytesIO(buffer.getvalue().encode()))
    b.delete("a.txt")
    b.set("new.txt", str(data / "a.txt"))
    b.set("sub/b.csv", str(data / "a.txt"))
    assert a.diff(b) == (["new.txt"], ["sub/b.csv"], ["a.txt"])


def test_build_into_a_work_tree_is_a_commit_in_its_log(work: Path, qvc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "from the cli", cwd=work)
    (tmp_path / "incoming.txt").write_text("from python\n")
    p = API.Package.browse("test/pkg")
    p.set("incoming.txt", str(tmp_path / "incoming.txt"))
    top = p.build("test/pkg", message="from the api")
    log = json.loads(qvc("log", "--json", cwd=work).out)
    assert [c["top_hash"] for c in log][:1] == [top]
    assert "from the api" in qvc("log", cwd=work).out
    (tmp_path / "incoming.txt").unlink()  # the commit owns a copy in .qvc/objects
    shown = API.Package.browse("test/pkg", registry=str(work / ".qvc"))
    entry = shown["incoming.txt"]
    assert isinstance(entry, API.PackageEntry)
    assert entry.physical_key.startswith((work / ".qvc" / "objects").as_uri())
    assert entry.get_bytes() == b"from python\n"
    status = qvc("status", "--json", cwd=work).out
    assert "incoming.txt" in status  # HEAD has it, the work tree does not


def test_build_into_a_work_tree_refuses_staged_changes(work: Path, qvc) -> None:  # type: ignore[no-untyped-def]
    qvc("add", ".", cwd=work)
    with pytest.raises(DirtyWorkTree):
        API.Package().build("test/pkg")


def test_cli_commit_opens_with_browse(work: Path, qvc) -> None:  # type: ignore[no-untyped-def]
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "one", cwd=work)
    top = json.loads(qvc("log", "--json", cwd=work).out)[0]["top_hash"]
    p = API.Package.browse("test/pkg", registry=str(work / ".qvc"), top_hash=top[:8])
    assert p.top_hash == top
    assert p["data/values.csv"].get_bytes() == b"a,b\n1,2\n"  # type: ignore[union-attr]
    with pytest.raises(UsageError):
        API.delete_package("test/pkg")


def test_push_to_a_folder_registry_copies_data(data: Path, tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    p = qvc.Package().set_dir(".", str(data))
    pushed = p.push("test/pkg", str(registry), message="v1")
    entry = pushed["sub/b.csv"]
    assert isinstance(entry, qvc.PackageEntry)
    assert entry.physical_key == (registry / "test/pkg/sub/b.csv").as_uri()
    assert pushed.top_hash == p.top_hash
    assert [v for _, v in qvc.list_package_versions("test/pkg", str(registry))] == [p.top_hash] * 2


def test_push_conflicts_follow_known_versions(data: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    registry = str(tmp_path / "registry")
    qvc.Package().set_dir(".", str(data)).push("test/pkg", registry, message="mine")
    qvc.Package().push("test/pkg", registry, message="mine again")  # a version I wrote
    monkeypatch.setenv("QVC_DATA_DIR", str(tmp_path / "teammate"))
    teammate = qvc.Package()
    with pytest.raises(RemoteConflict):
        teammate.push("test/pkg", registry, message="theirs")
    browsed = qvc.Package.browse("test/pkg", registry)
    browsed.set("new.txt", str(data / "a.txt"))
    browsed.push("test/pkg", registry, message="theirs, on top")
    browsed.push("test/pkg", registry, message="theirs, twice")  # this object's own version
    teammate.push("test/pkg", registry, message="forced", force=True)
    assert qvc.Package.browse("test/pkg", registry).top_hash == teammate.top_hash


def test_push_dedupe_writes_nothing_new(data: Path, tmp_path: Path) -> None:
    registry = str(tmp_path / "registry")
    p = qvc.Package().set_dir(".", str(data))
    p.push("test/pkg", registry, message="same")
    p.push("test/pkg", registry, message="same", dedupe=True)
    assert len(qvc.list_package_versions("test/pkg", registry)) == 2


def test_config_persists_and_is_shared_with_the_cli(qvc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = API.config(default_remote_registry="s3://your-bucket")
    assert settings["default_remote_registry"] == "s3://your-bucket"
    assert qvc("config", "--global", "default_remote_registry", cwd=tmp_path).out.strip() == \
        "s3://your-bucket"
    assert API.config()["default_remote_registry"] == "s3://your-bucket"
    with pytest.raises(UsageError):
        API.config(no_such_setting=1)
    with pytest.raises(UsageError):
        API.config(default_remote_registry="s3://bucket/with/prefix")


def test_s3_urls_and_prefixes_hash_like_local_files(data: Path, versioned_bucket: str,
                                                    tmp_path: Path) -> None:
    local = qvc.Package().set_dir(".", str(data)).set("one.txt", str(data / "a.txt"))
    local.push("test/src", versioned_bucket, dest=f"{versioned_bucket}/raw")
    remote = qvc.Package().set_dir(".", f"{versioned_bucket}/raw/")
    remote.set("one.txt", f"{versioned_bucket}/raw/a.txt")
    entry = remote["one.txt"]
    assert isinstance(entry, qvc.PackageEntry) and "?versionId=" in entry.physical_key
    top = remote.build("test/unmaterialized", versioned_bucket)
    assert top == local.top_hash  # S3 objects were downloaded and hashed
    again = qvc.Package.browse("test/unmaterialized", versioned_bucket, top_hash=top)
    assert again["sub/b.csv"].get_bytes() == b"x,y\n1,2\n"  # type: ignore[union-attr]


def test_push_to_s3_with_a_dest_callable(data: Path, bucket: str) -> None:
    p = qvc.Package().set_dir(".", str(data))
    pushed = p.push("test/pkg", bucket,
                    dest=lambda lk, entry: f"{bucket}/by-size/{entry.size}/{lk}")
    entry = pushed["a.txt"]
    assert isinstance(entry, qvc.PackageEntry)
    assert entry.physical_key == f"{bucket}/by-size/6/a.txt"
    assert entry.get_bytes() == b"alpha\n"
    with pytest.raises(UsageError):
        p.push("test/other", bucket, dest="s3://another-bucket/x")
    qvc.delete_package("test/pkg", bucket)
    assert qvc.list_packages(bucket) == []
