"""The same stories through the real pre-commit framework: the ``repo: local`` block that
``qvc install-hooks --pre-commit`` writes, and the repository's .pre-commit-hooks.yaml used as
a hook repository. No network: local hooks, and a hook repository cloned from a folder."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from qvc.ops.install_hooks import IDS, PRECOMMIT_INSTALL
from tests.conftest import Qvc
from tests.git.test_git_hooks import (
    REPO_ROOT,
    commit_code,
    git,
    hook_env,
    make_code,
    pinned_in_git,
    top_of,
)

pytestmark = pytest.mark.skipif(shutil.which("pre-commit", path=hook_env()["PATH"]) is None,
                                reason="the pre-commit framework is not installed")


@pytest.fixture
def code(tmp_path: Path, qvc: Qvc) -> Path:
    return make_code(tmp_path, qvc)


def pre_commit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["pre-commit", *args], cwd=cwd, env=hook_env(), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_precommit_framework_blocks_pins_and_syncs(code: Path, qvc: Qvc) -> None:
    out = qvc("install-hooks", "--pre-commit", cwd=code).out
    assert f"now run: {PRECOMMIT_INSTALL}" in out
    pre_commit(*PRECOMMIT_INSTALL.split()[1:], cwd=code)
    git("add", "-A", cwd=code)
    git("commit", "-q", "-m", "pin data v1 with pre-commit", cwd=code)
    first, v1, data = git("rev-parse", "HEAD", cwd=code).stdout.strip(), top_of(code / "data"), \
        code / "data"

    (data / "values.csv").write_text("a,b\n5,6\n")
    refused = commit_code(code, "tune", ok=False)
    assert refused.returncode != 0
    assert "data/values.csv" in refused.stdout + refused.stderr
    qvc("commit", "-a", "-m", "v2", cwd=data)
    git("add", "data/qvc.pin", cwd=code)
    commit_code(code, "tune")
    assert pinned_in_git(code) == top_of(data) != v1

    git("checkout", "-q", first, cwd=code)
    assert top_of(data) == v1 and (data / "values.csv").read_text() == "a,b\n1,2\n"


def test_precommit_config_is_merged_keeping_other_hooks_and_comments(
        code: Path, qvc: Qvc) -> None:
    config = code / ".pre-commit-config.yaml"
    config.write_text("# team hooks: keep this comment\nrepos:\n  - repo: local\n    hooks:\n"
                      "      - id: no-todo\n        name: no TODO\n        entry: 'TODO'\n"
                      "        language: pygrep\n")
    qvc("install-hooks", "--pre-commit", cwd=code)
    text = config.read_text()
    assert text.startswith("# team hooks: keep this comment\n")
    loaded = yaml.safe_load(text)
    ids = [h["id"] for r in loaded["repos"] for h in r["hooks"]]
    assert ids == ["no-todo", *IDS]
    pre_commit("validate-config", str(config), cwd=code)
    again = qvc("install-hooks", "--pre-commit", cwd=code).out
    assert "already has" in again and config.read_text() == text


def test_hook_manifest_works_as_a_hook_repository(code: Path, qvc: Qvc, tmp_path: Path) -> None:
    manifest = REPO_ROOT / ".pre-commit-hooks.yaml"
    pre_commit("validate-manifest", str(manifest), cwd=code)
    assert [h["id"] for h in yaml.safe_load(manifest.read_text())] == list(IDS)
    hooks_repo = tmp_path / "hooks-repo"
    hooks_repo.mkdir()
    shutil.copy(manifest, hooks_repo)
    git("init", "-q", str(hooks_repo), cwd=tmp_path)
    git("add", "-A", cwd=hooks_repo)
    git("commit", "-q", "-m", "hooks", cwd=hooks_repo)
    rev = git("rev-parse", "HEAD", cwd=hooks_repo).stdout.strip()
    (code / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [
        {"repo": str(hooks_repo), "rev": rev, "hooks": [{"id": "qvc-check"}]}]}))
    pre_commit("install", cwd=code)
    git("add", "-A", cwd=code)
    git("commit", "-q", "-m", "pin", cwd=code)
    (code / "data" / "values.csv").write_text("changed\n")
    refused = commit_code(code, "tune", ok=False)
    assert refused.returncode != 0 and "data/values.csv" in refused.stdout + refused.stderr
