"""Registry workflows from the command line: ``qvc commit --workflow`` (or the ``workflow``
setting) checks a version before it is recorded, ``qvc push`` before anything is uploaded,
and the git pre-commit hook refuses code whose data version breaks the workflow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import qvc as api
from qvc.core.repo import Repo
from tests.api.test_workflows import bucket_registry, folder_registry
from tests.conftest import Qvc, S3Server
from tests.git.test_git_hooks import commit_code, git, make_code


def head_header(work: Path) -> dict[str, object]:
    return next(iter(api.Package.browse("test/pkg", str(work / ".qvc")).manifest))


@pytest.mark.parametrize("kind", ["folder", "bucket"])
def test_commit_workflow_checks_before_recording(kind: str, work: Path, qvc: Qvc, tmp_path: Path,
                                                 request: pytest.FixtureRequest) -> None:
    if kind == "folder":
        registry = folder_registry(tmp_path / "registry")
    else:
        s3: S3Server = request.getfixturevalue("s3")
        registry = bucket_registry(s3, request.getfixturevalue("versioned_bucket"))
    qvc("remote", "add", "origin", registry, cwd=work)
    qvc("add", ".")
    refused = qvc("commit", "-m", "v1", "--workflow", "named", "--meta", '{"a": 1}', ok=False)
    assert refused.code == 2 and "pattern" in refused.err
    assert "hint:" in refused.err
    assert Repo(work).head() is None  # nothing was committed

    qvc("config", "workflow", "strict")
    refused = qvc("commit", "-m", "v1", "--meta", '{"a": 1}', ok=False)
    assert refused.code == 2 and "owner" in refused.err
    qvc("commit", "-m", "v1", "--meta", '{"owner": "ann"}')
    recorded = head_header(work)["workflow"]
    assert isinstance(recorded, dict) and recorded["id"] == "strict"
    assert str(recorded["config"]).startswith(
        registry if kind == "bucket" else Path(registry).as_uri())
    qvc("push")
    assert head_header(work)["workflow"] == next(iter(
        api.Package.browse("test/pkg", registry).manifest))["workflow"]


def test_push_refuses_a_version_the_default_workflow_rejects(work: Path, qvc: Qvc,
                                                             tmp_path: Path) -> None:
    registry = folder_registry(tmp_path / "registry")
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "v1", "--meta", json.dumps({"team": "x"}))
    refused = qvc("push", registry, ok=False)
    assert refused.code == 2 and "owner" in refused.err
    assert not (Path(registry) / ".quilt" / "packages").exists()  # nothing uploaded
    assert not (Path(registry) / "test").exists()
    qvc("commit", "-m", "v2", "--meta", json.dumps({"owner": "ann"}))
    qvc("push", registry)
    assert api.Package.browse("test/pkg", registry).meta == {"owner": "ann"}


def test_pre_commit_hook_refuses_data_that_breaks_the_workflow(tmp_path: Path,
                                                               qvc: Qvc) -> None:
    code = make_code(tmp_path, qvc)
    data = code / "data"
    registry = folder_registry(tmp_path / "registry")
    qvc("remote", "add", "origin", registry, cwd=data)
    qvc("install-hooks", cwd=code)
    git("add", "-A", cwd=code)
    git("commit", "-q", "-m", "pin data v1", cwd=code)
    qvc("config", "workflow", "strict", cwd=data)
    refused = commit_code(code, "tune", ok=False)
    assert refused.returncode != 0 and "owner" in refused.stderr + refused.stdout
    qvc("commit", "-m", "v2", "--meta", '{"owner": "ann"}', cwd=data)
    git("add", "data/qvc.pin", cwd=code)
    commit_code(code, "tune")


def test_a_commit_without_a_workflow_after_one_with_is_not_a_new_version(
        work: Path, qvc: Qvc, tmp_path: Path) -> None:
    qvc("remote", "add", "origin", folder_registry(tmp_path / "registry"), cwd=work)
    qvc("add", ".")
    qvc("commit", "-m", "v1", "--workflow", "strict", "--meta", '{"owner": "ann"}')
    assert qvc("commit", "-m", "again", ok=False).code == 5  # nothing to commit
    refused = qvc("commit", "-m", "v1 named", "--workflow", "named", ok=False)
    assert refused.code == 2 and "'^team/'" in refused.err  # test/pkg breaks its pattern
    assert head_header(work)["workflow"]["id"] == "strict"  # type: ignore[index]
