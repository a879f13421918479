"""The rest of quilt3's Package API: install, resolve_hash, rollback, verify, map/filter,
get/readme, tuple keys, set_dir policies, entry helpers, load of unbuilt manifests and URL
settings; against a folder registry and a moto bucket."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import qvc
from qvc.errors import CorruptObject, QvcError, UsageError


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "sub" / "deep").mkdir(parents=True)
    (root / "README.md").write_text("# read me\n")
    (root / "sub" / "b.csv").write_text("x,y\n1,2\n")
    (root / "sub" / "deep" / "c.bin").write_bytes(bytes(range(256)) * 10)
    return root


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("kind", ["folder", "bucket"])
def test_install_downloads_verified_files_and_registers_the_manifest(
        kind: str, data: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if kind == "folder":
        registry = str(tmp_path / "remote")
    else:
        request.getfixturevalue("s3")
        registry = request.getfixturevalue("bucket")
    pushed = qvc.Package().set_dir(".", str(data)).push("team/pkg", registry, force=True)
    local = tmp_path / "local"
    qvc.Package.install("team/pkg", registry, dest=str(tmp_path / "out"),
                        dest_registry=str(local))
    assert files_under(tmp_path / "out") == files_under(data)
    assert qvc.list_package_versions("team/pkg", str(local))[-1] == ("latest", pushed.top_hash)
    assert pushed.verify(str(tmp_path / "out"))

    qvc.Package.install("team/pkg", registry, top_hash=pushed.top_hash[:8],
                        dest=str(tmp_path / "part"), dest_registry=str(local), path="sub")
    assert files_under(tmp_path / "part") == {"b.csv": b"x,y\n1,2\n",
                                              "deep/c.bin": bytes(range(256)) * 10}
    qvc.Package.install("team/pkg", registry, dest=str(tmp_path / "one"),
                        dest_registry=str(local), path="sub/b.csv")
    assert files_under(tmp_path / "one") == {"b.csv": b"x,y\n1,2\n"}
    with pytest.raises(QvcError, match="no file or folder"):
        qvc.Package.install("team/pkg", registry, dest=str(tmp_path / "x"),
                            dest_registry=str(local), path="nope")


def test_install_refuses_damaged_data(data: Path, tmp_path: Path) -> None:
    registry = tmp_path / "remote"
    qvc.Package().set_dir(".", str(data)).push("team/pkg", str(registry), force=True)
    stored = next(p for p in registry.rglob("b.csv"))
    stored.write_text("x,y\n9,9\n")
    with pytest.raises(CorruptObject):
        qvc.Package.install("team/pkg", str(registry), dest=str(tmp_path / "out"),
                            dest_registry=str(tmp_path / "local"))
    assert not (tmp_path / "out" / "sub" / "b.csv").exists()
    assert qvc.list_packages(str(tmp_path / "local")) == []


def test_install_defaults_to_the_remote_and_the_user_registry(
        data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    qvc.config(default_remote_registry=str(tmp_path / "remote"),
               default_install_location=str(tmp_path / "installs"))
    top = qvc.Package().set_dir(".", str(data)).build("team/pkg", str(tmp_path / "remote"))
    monkeypatch.chdir(tmp_path)
    qvc.Package.install("team/pkg")
    assert files_under(tmp_path / "installs" / "team/pkg") == files_under(data)
    assert qvc.Package.browse("team/pkg").top_hash == top


def test_resolve_hash_rollback_and_verify(data: Path, tmp_path: Path) -> None:
    registry = str(tmp_path / "reg")
    first = qvc.Package().set_dir(".", str(data))
    top1 = first.build("team/pkg", registry)
    (data / "new.txt").write_text("new\n")
    top2 = qvc.Package().set_dir(".", str(data)).build("team/pkg", registry)
    assert qvc.Package.resolve_hash("team/pkg", registry, top1[:7]) == top1
    qvc.Package.rollback("team/pkg", registry, top1[:10])
    assert qvc.Package.browse("team/pkg", registry).top_hash == top1
    assert dict(qvc.list_package_versions("team/pkg", registry))["latest"] == top1
    with pytest.raises(QvcError):
        qvc.Package.rollback("team/other", registry, top2)

    assert not first.verify(str(data))  # new.txt is extra
    assert first.verify(str(data), extra_files_ok=True)
    (data / "README.md").write_text("# changed\n")
    assert not first.verify(str(data), extra_files_ok=True)


def test_map_filter_get_readme_and_tuple_keys(data: Path) -> None:
    p = qvc.Package().set_dir(".", str(data), meta={"m": 1})
    assert list(p.map(lambda k, e: k)) == ["README.md", "sub/b.csv", "sub/deep/c.bin"]
    assert list(p.map(lambda k, e: k, include_directories=True))[:2] == ["sub/", "sub/deep/"]
    small = p.filter(lambda k, e: e.size < 100)
    assert [k for k, _ in small.walk()] == ["README.md", "sub/b.csv"]
    no_deep = p.filter(lambda k, e: k != "sub/deep/", include_directories=True)
    assert [k for k, _ in no_deep.walk()] == ["README.md", "sub/b.csv"]
    assert p.get("sub/b.csv") == (data / "sub" / "b.csv").as_uri()
    assert p.readme().get_as_string() == "# read me\n"
    assert p[("sub", "deep", "c.bin")] == p["sub/deep/c.bin"]
    assert ["sub", "b.csv"] in p
    with pytest.raises(KeyError):
        qvc.Package().readme()


def test_set_dir_update_policy_and_entry_helpers(data: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "README.md").write_text("# other\n")
    p = qvc.Package().set_dir(".", str(data))
    p.set_dir(".", str(other), update_policy="existing")
    assert p["README.md"].get_as_string() == "# read me\n"
    p.set_dir(".", str(other), update_policy="incoming")
    assert p["README.md"].get_as_string() == "# other\n"

    entry = p["sub/b.csv"]
    entry.set(meta={"rows": 1})
    assert entry.meta == {"rows": 1}
    entry.set(str(other / "README.md"))
    assert entry.get_bytes(use_cache_if_available=False) == b"# other\n"
    assert entry.hash is None and entry.get_cached_path() is None
    p.build("team/pkg", str(tmp_path / "reg"))
    row = p["sub/b.csv"].as_dict()
    assert row["physical_keys"] == [(other / "README.md").as_uri()]
    assert row["hash"]["type"] == "sha2-256-chunked" and row["meta"]["user_meta"] == {"rows": 1}


def test_set_unversioned_keeps_s3_keys_without_version(s3: object, versioned_bucket: str,
                                                       data: Path) -> None:
    pushed = qvc.Package().set_dir(".", str(data)).push("team/pkg", versioned_bucket,
                                                        force=True)
    url = pushed["README.md"].physical_key
    plain = url.split("?")[0]
    assert qvc.Package().set("r", plain)["r"].physical_key == url
    assert qvc.Package().set("r", plain, unversioned=True)["r"].physical_key == plain
    folder = plain.rsplit("/", 1)[0]
    keys = [e.physical_key for _, e in
            qvc.Package().set_dir("x", folder, unversioned=True).walk()]
    assert keys and all("versionId" not in k for k in keys)


def test_load_accepts_quilt3_dump_of_an_unbuilt_package(data: Path, tmp_path: Path) -> None:
    quilt3 = pytest.importorskip("quilt3")
    theirs = quilt3.Package().set_dir(".", str(data), meta={"m": 1})
    dumped = io.StringIO()
    theirs.dump(dumped)
    assert '"hash": null' in dumped.getvalue()
    loaded = qvc.Package.load(io.StringIO(dumped.getvalue()))
    assert loaded["README.md"].hash is None
    mine = loaded.build("team/pkg", str(tmp_path / "mine"))
    assert mine == theirs.build("team/pkg", (tmp_path / "reg").as_uri())


def test_bad_urls_are_qvc_errors(tmp_path: Path, data: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for url in ["https://bad:host", "http://[::1", "https://"]:
        with pytest.raises(UsageError):
            qvc.config(url)
    with pytest.raises(UsageError):
        qvc.Package().set_dir(".", str(data)).build("team/pkg", "s3://bad:host")


def test_file_url_default_local_registry(tmp_path: Path, data: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    registry = tmp_path / "my registry"
    qvc.config(default_local_registry=registry.as_uri())
    monkeypatch.chdir(tmp_path)
    top = qvc.Package().set_dir(".", str(data)).build("team/pkg")
    assert (registry / ".quilt" / "packages" / top).is_file()
    assert not (tmp_path / "file:").exists()
    assert qvc.list_packages() == ["team/pkg"]
