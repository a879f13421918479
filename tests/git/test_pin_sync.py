"""The pin and the data around git checkouts: the post-checkout hook makes the data follow
the pin and never rewrites the pin git checked out (real git, real hook processes)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qvc.ops.install_hooks import PRECOMMIT_INSTALL
from tests.conftest import Qvc
from tests.git.test_git_hooks import commit_code, git, hook_env, make_code, top_of
from tests.git.test_precommit import pre_commit


@pytest.fixture
def hooked(tmp_path: Path, qvc: Qvc) -> Path:
    """Code with a data folder at v1, qvc's git hooks installed and the pin committed."""
    code = make_code(tmp_path, qvc)
    qvc("install-hooks", cwd=code)
    git("add", "-A", cwd=code)
    git("commit", "-q", "-m", "pin data v1", cwd=code)
    return code


def test_checkout_of_an_old_format_pin_leaves_it_as_git_holds_it(
        hooked: Path, qvc: Qvc, tmp_path: Path) -> None:
    data = hooked / "data"
    v1 = top_of(data)
    old_pin = f"package: test/data\ntop_hash: {v1}\nremote:\n"  # no header, empty remote
    (data / "qvc.pin").write_text(old_pin)
    git("add", "data/qvc.pin", cwd=hooked)
    commit_code(hooked, "old pin")
    first = git("rev-parse", "HEAD", cwd=hooked).stdout.strip()
    qvc("remote", "add", "origin", str(tmp_path / "registry"), cwd=data)
    (data / "values.csv").write_text("v2\n")
    qvc("commit", "-a", "-m", "v2", cwd=data)
    v2 = top_of(data)
    git("add", "data/qvc.pin", cwd=hooked)
    commit_code(hooked, "use v2")
    for _ in range(2):
        git("checkout", "-q", first, cwd=hooked)
        assert top_of(data) == v1 and (data / "values.csv").read_text() == "a,b\n1,2\n"
        assert (data / "qvc.pin").read_text() == old_pin
        assert git("status", "--porcelain", cwd=hooked).stdout == ""
        git("checkout", "-q", "main", cwd=hooked)  # git refuses if the hook rewrote the pin
        assert top_of(data) == v2 and git("status", "--porcelain", cwd=hooked).stdout == ""


def test_log_names_the_code_commit_that_holds_each_pin(hooked: Path, qvc: Qvc) -> None:
    data = hooked / "data"
    v1, pinned_v1 = top_of(data), git("rev-parse", "HEAD", cwd=hooked).stdout.strip()
    (data / "values.csv").write_text("v2\n")
    qvc("commit", "-a", "-m", "v2", cwd=data)
    v2 = top_of(data)
    git("add", "data/qvc.pin", cwd=hooked)
    commit_code(hooked, "use v2")
    pinned_v2 = git("rev-parse", "HEAD", cwd=hooked).stdout.strip()
    commit_code(hooked, "code only")  # later code commits keep the pin: the first one counts
    (data / "values.csv").write_text("v3\n")
    qvc("commit", "-a", "-m", "v3, not in a code commit yet", cwd=data)

    chunks = qvc("log", cwd=data).out.split("commit ")[1:]
    shown = {chunk.split("\n")[0]: chunk for chunk in chunks}
    assert f"Git Commit: {pinned_v2}\n" in shown[v2]
    assert f"Git Commit: {pinned_v1}\n" in shown[v1]
    assert "Git Commit" not in shown[top_of(data)]
    entries = {e["top_hash"]: e for e in json.loads(qvc("log", "--json", cwd=data).out)}
    assert entries[v2]["git_commit"] == pinned_v2 and "git_commit" not in entries[top_of(data)]


@pytest.mark.skipif(shutil.which("pre-commit", path=hook_env()["PATH"]) is None,
                    reason="the pre-commit framework is not installed")
def test_status_notices_a_checkout_the_precommit_hook_could_not_follow(
        tmp_path: Path, qvc: Qvc) -> None:
    code = make_code(tmp_path, qvc)
    data = code / "data"
    git("add", "-A", cwd=code)
    git("commit", "-q", "-m", "pin v1, before pre-commit", cwd=code)
    old, v1 = git("rev-parse", "HEAD", cwd=code).stdout.strip(), top_of(data)
    qvc("install-hooks", "--pre-commit", cwd=code)
    pre_commit(*PRECOMMIT_INSTALL.split()[1:], cwd=code)
    (data / "values.csv").write_text("v2\n")
    qvc("commit", "-a", "-m", "v2", cwd=data)
    v2 = top_of(data)
    git("add", "-A", cwd=code)
    git("commit", "-q", "-m", "pre-commit and v2", cwd=code)
    assert "qvc.pin pins" not in qvc("status", cwd=data).out

    switched = git("checkout", "-q", old, cwd=code, ok=False)  # git switches, then the hook
    assert "No .pre-commit-config.yaml" in switched.stderr  # cannot run: its config is gone
    assert top_of(data) == v2
    line = next(x for x in qvc("status", cwd=data).out.splitlines() if "qvc.pin" in x)
    assert line == (f"qvc.pin pins {v1[:12]} but the data is at {v2[:12]}; 'qvc hook sync' "
                    "brings the data to the pinned version")
    assert json.loads(qvc("status", "--json", cwd=data).out)["pinned"] == v1
    qvc(*line.split("'")[1].split()[1:], cwd=data)  # the command exactly as printed
    assert top_of(data) == v1 and (data / "values.csv").read_text() == "a,b\n1,2\n"
    assert "qvc.pin" not in qvc("status", cwd=data).out
    assert git("status", "--porcelain", cwd=code).stdout == ""
    git("checkout", "-q", "main", cwd=code)  # the hook is back and follows the pin again
    assert top_of(data) == v2
