"""quilt3 8 as an oracle for transfers: what qvc pushes, quilt3 browses and fetches byte for
byte with the same top hash; what quilt3 pushes, qvc clones the same way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Qvc
from tests.ops.test_push import commit_all, files

quilt3 = pytest.importorskip("quilt3")


def quilt3_fetch(name: str, registry: str, top: str, dest: Path) -> dict[str, bytes]:
    pkg = quilt3.Package.browse(name, registry=registry, top_hash=top)
    assert pkg.top_hash == top
    pkg.fetch(str(dest) + "/")
    return files(dest)


@pytest.mark.parametrize("versioned", [False, True])
def test_quilt3_browses_what_qvc_pushed(work: Path, qvc: Qvc, tmp_path: Path, versioned: bool,
                                        request: pytest.FixtureRequest) -> None:
    bucket = request.getfixturevalue("versioned_bucket" if versioned else "bucket")
    (work / "empty.bin").write_bytes(b"")
    top = commit_all(qvc, work, "from qvc")
    qvc("push", bucket, cwd=work)
    assert quilt3.Package.browse("test/pkg", registry=bucket).top_hash == top
    assert quilt3_fetch("test/pkg", bucket, top, tmp_path / "fetched") == files(work)


def test_quilt3_reads_old_version_after_unversioned_repush(work: Path, qvc: Qvc, bucket: str,
                                                           tmp_path: Path) -> None:
    v1 = commit_all(qvc, work, "v1")
    qvc("push", bucket, cwd=work)
    before = files(work)
    (work / "README.md").write_text("# v2\n")
    commit_all(qvc, work, "v2")
    qvc("push", bucket, cwd=work)
    assert quilt3_fetch("test/pkg", bucket, v1, tmp_path / "v1") == before


def test_qvc_clones_what_quilt3_pushed(bucket: str, qvc: Qvc, tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "sub").mkdir(parents=True)
    (source / "a.csv").write_text("x,y\n1,2\n")
    (source / "sub/b.bin").write_bytes(bytes(range(256)) * 40)
    (source / "empty").write_bytes(b"")
    pkg = quilt3.Package().set_dir(".", str(source))
    pkg.set_meta({"origin": "quilt3"})
    pushed = pkg.push("q3/pkg", registry=bucket, message="pushed by quilt3", force=True)
    result = json.loads(qvc("clone", bucket, "q3/pkg", "--json", cwd=tmp_path).out)
    assert result["top_hash"] == pushed.top_hash
    assert files(tmp_path / "pkg") == files(source)
    assert json.loads(qvc("status", "--json", cwd=tmp_path / "pkg").out)["clean"]


def test_quilt3_browses_a_folder_registry_qvc_pushed(work: Path, qvc: Qvc,
                                                     tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    top = commit_all(qvc, work, "v1")
    qvc("push", str(registry), cwd=work)
    assert quilt3_fetch("test/pkg", registry.as_uri(), top, tmp_path / "out") == files(work)
