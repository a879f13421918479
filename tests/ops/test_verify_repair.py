"""qvc verify --repair: an object shared with a version the remote lacks is repaired through
a version it holds, and the command then succeeds (directory registry and S3 bucket)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Qvc
from tests.ops.test_verify_gc import flip_byte, object_path


@pytest.fixture(params=["folder", "s3"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "folder":
        return str(tmp_path / "registry")
    return str(request.getfixturevalue("bucket"))


def test_repair_succeeds_when_an_unpushed_version_shares_the_object(
        work: Path, qvc: Qvc, registry: str) -> None:
    qvc("add", ".")
    qvc("commit", "-m", "v1")
    qvc("remote", "add", "origin", registry)
    qvc("push")
    (work / "data" / "values.csv").write_text("a,b\n3,4\n")
    v2 = qvc("commit", "-a", "-m", "v2, not pushed").out.strip()
    readme = object_path(work, qvc, v2, "README.md")  # shared by v1 and v2
    flip_byte(readme)
    assert qvc("verify", ok=False).code == 8
    done = qvc("verify", "--repair", "--json")
    report = json.loads(done.out)
    assert report["ok"] and report["repaired"] == 1 and report["problems"] == []
    assert readme.read_bytes() == b"# hello\n"
    flip_byte(readme)
    human = qvc("verify", "--repair")
    assert "repaired 1 object(s)" in human.out and human.err == ""


def test_repair_that_cannot_repair_still_prints_json(work: Path, qvc: Qvc,
                                                     tmp_path: Path) -> None:
    qvc("add", ".")
    v1 = qvc("commit", "-m", "v1").out.strip()
    (tmp_path / "empty").mkdir()
    qvc("remote", "add", "origin", str(tmp_path / "empty"))  # never pushed to
    flip_byte(object_path(work, qvc, v1, "README.md"))
    failed = qvc("verify", "--repair", "--json", ok=False)
    assert failed.code == 8 and "origin does not have version" in failed.err
    report = json.loads(failed.out)
    assert not report["ok"] and report["repaired"] == 0
    assert report["problems"][0]["entries"] == [{"top_hash": v1, "logical_key": "README.md"}]
    qvc("remote", "remove", "origin")
    failed = qvc("verify", "--repair", "--json", ok=False)  # no remote at all
    assert failed.code == 2 and not json.loads(failed.out)["ok"]
