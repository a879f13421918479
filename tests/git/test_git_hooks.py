"""Story tests of a data folder under qvc inside a real git repository, with the plain git
hooks ``qvc install-hooks`` writes: real git, real hook processes, no network."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from qvc.core.repo import Repo
from qvc.git import pin
from qvc.ops.install_hooks import HOOKS, shim
from tests.conftest import Qvc

REPO_ROOT = Path(__file__).resolve().parents[2]


def hook_env() -> dict[str, str]:
    """The test's isolated environment, with this interpreter's scripts (qvc, pre-commit)
    first on PATH, as the hooks find them."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def git(*args: str, cwd: Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["git", *args], cwd=cwd, env=hook_env(), capture_output=True,
                          text=True, timeout=120)
    if ok and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done


def top_of(data: Path) -> str:
    head = Repo(data).head()
    assert head is not None
    return head.top_hash


def pinned_in_git(code: Path, rev: str = "HEAD") -> str | None:
    return pin.parse(git("show", f"{rev}:data/qvc.pin", cwd=code).stdout.encode()).top_hash


@pytest.fixture
def code(tmp_path: Path, qvc: Qvc) -> Path:
    return make_code(tmp_path, qvc)


def make_code(tmp_path: Path, qvc: Qvc) -> Path:
    """A git repository with code and a data folder committed with qvc (v1), unpinned yet."""
    root = tmp_path / "code"
    (root / "data" / "raw").mkdir(parents=True)
    git("init", "-q", "-b", "main", str(root), cwd=tmp_path)
    (root / "train.py").write_text("print('train')\n")
    git("add", "train.py", cwd=root)
    git("commit", "-q", "-m", "code", cwd=root)
    (root / "data" / "values.csv").write_text("a,b\n1,2\n")
    (root / "data" / "raw" / "big.bin").write_bytes(os.urandom(5000))
    qvc("init", "test/data", cwd=root / "data")
    qvc("add", ".", cwd=root / "data")
    qvc("commit", "-m", "v1", cwd=root / "data")
    return root


def commit_code(code: Path, message: str, *, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """Change a code file, stage only it and 'git commit' (hooks run)."""
    with open(code / "train.py", "a") as f:
        f.write(f"# {message}\n")
    git("add", "train.py", cwd=code)
    return git("commit", "-m", message, cwd=code, ok=ok)


@pytest.fixture
def hooked(code: Path, qvc: Qvc) -> Path:
    """``code`` with qvc's git hooks installed and the pin of v1 committed."""
    qvc("install-hooks", cwd=code)
    git("add", "-A", cwd=code)
    git("commit", "-q", "-m", "pin data v1", cwd=code)
    return code


def test_init_keeps_data_and_internals_out_of_git(code: Path, qvc: Qvc) -> None:
    git("add", "-A", cwd=code)
    tracked = set(git("ls-files", cwd=code).stdout.split())
    assert tracked == {"train.py", "data/.gitignore", "data/.qvcignore", "data/qvc.pin"}
    assert pin.read(code / "data") == pin.Pin("test/data", top_of(code / "data"), None)
    status = qvc("status", cwd=code / "data").out
    assert "working tree clean" in status  # the git files are not package content


def test_init_output_explains_what_git_gets(tmp_path: Path, qvc: Qvc) -> None:
    git("init", "-q", str(tmp_path / "repo"), cwd=tmp_path)
    (tmp_path / "repo" / "data").mkdir()
    out = qvc("init", "test/data", cwd=tmp_path / "repo" / "data").out
    assert "data/qvc.pin" in out and "data/.qvc/.gitignore" in out
    assert "install-hooks" in out


def test_log_shows_git_commit_and_git_author(code: Path, qvc: Qvc,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    assert "Git Commit:" not in qvc("log", cwd=code / "data").out  # no code commit pins it yet
    git("add", "-A", cwd=code)
    git("commit", "-q", "-m", "pin v1", cwd=code)
    head = git("rev-parse", "HEAD", cwd=code).stdout.strip()
    log = qvc("log", cwd=code / "data").out
    assert f"Git Commit: {head}" in log
    assert "Author: Test Author <author@example.com>" in log  # GIT_AUTHOR_* env
    monkeypatch.delenv("GIT_AUTHOR_NAME")
    monkeypatch.delenv("GIT_AUTHOR_EMAIL")
    git("config", "user.name", "Repo User", cwd=code)
    git("config", "user.email", "repo@example.com", cwd=code)
    (code / "data" / "values.csv").write_text("a,b\n3,4\n")
    qvc("commit", "-a", "-m", "v2", cwd=code / "data")
    assert "Author: Repo User <repo@example.com>" in qvc("log", "-n", "1").out


def test_git_commit_blocked_until_data_committed_and_pinned(hooked: Path, qvc: Qvc) -> None:
    data = hooked / "data"
    (data / "values.csv").write_text("a,b\n5,6\n")
    refused = commit_code(hooked, "tune", ok=False)
    assert refused.returncode != 0
    assert "data/values.csv" in refused.stderr and "qvc add" in refused.stderr
    qvc("commit", "-a", "-m", "v2", cwd=data)
    refused = commit_code(hooked, "tune", ok=False)  # qvc.pin changed but is not staged
    assert refused.returncode != 0 and "git add data/qvc.pin" in refused.stderr
    git("add", "data/qvc.pin", cwd=hooked)
    commit_code(hooked, "tune")
    assert pinned_in_git(hooked) == top_of(data)
    (data / "values.csv").write_text("a,b\n9,9\n")
    qvc("commit", "-a", "-m", "v3", cwd=data)
    git("commit", "-a", "-m", "all", cwd=hooked)  # -a stages the pin with the code
    assert pinned_in_git(hooked) == top_of(data)


def test_staging_a_tracked_data_file_is_blocked(hooked: Path) -> None:
    git("add", "-f", "data/values.csv", cwd=hooked)
    refused = commit_code(hooked, "oops", ok=False)
    assert refused.returncode != 0
    assert "data/values.csv" in refused.stderr and "git rm --cached" in refused.stderr
    git("rm", "-q", "--cached", "data/values.csv", cwd=hooked)
    commit_code(hooked, "fixed")


def test_git_checkout_brings_the_pinned_data(hooked: Path, qvc: Qvc) -> None:
    data = hooked / "data"
    v1, first = top_of(data), git("rev-parse", "HEAD", cwd=hooked).stdout.strip()
    (data / "values.csv").write_text("a,b\n7,8\n")
    (data / "raw" / "big.bin").unlink()
    qvc("add", ".", cwd=data)
    qvc("commit", "-m", "v2", cwd=data)
    v2 = top_of(data)
    git("add", "data/qvc.pin", cwd=hooked)
    commit_code(hooked, "use v2")
    git("checkout", "-q", first, cwd=hooked)
    assert top_of(data) == v1 and (data / "raw" / "big.bin").exists()
    assert (data / "values.csv").read_text() == "a,b\n1,2\n"
    assert git("status", "--porcelain", cwd=hooked).stdout == ""  # pin matches git's
    git("checkout", "-q", "main", cwd=hooked)
    assert top_of(data) == v2 and not (data / "raw" / "big.bin").exists()


def test_git_checkout_never_overwrites_uncommitted_data(hooked: Path, qvc: Qvc) -> None:
    data = hooked / "data"
    first = git("rev-parse", "HEAD", cwd=hooked).stdout.strip()
    (data / "values.csv").write_text("v2\n")
    qvc("commit", "-a", "-m", "v2", cwd=data)
    git("add", "data/qvc.pin", cwd=hooked)
    commit_code(hooked, "use v2")
    v2 = top_of(data)
    (data / "values.csv").write_text("precious, uncommitted\n")
    switched = git("checkout", first, cwd=hooked)  # git's own checkout still succeeds
    assert "uncommitted data changes" in switched.stderr and "data/values.csv" in switched.stderr
    assert (data / "values.csv").read_text() == "precious, uncommitted\n"
    assert top_of(data) == v2


def test_install_hooks_chains_an_existing_hook_and_uninstall_restores_it(
        code: Path, qvc: Qvc) -> None:
    hook = code / ".git" / "hooks" / "pre-commit"
    original = "#!/bin/sh\necho ran >> \"$(git rev-parse --git-dir)/old-hook-ran\"\n" \
               "[ ! -e stop ]\n"
    hook.write_text(original)
    hook.chmod(0o755)
    out = qvc("install-hooks", cwd=code).out
    assert "pre-commit.pre-qvc" in out
    git("add", "-A", cwd=code)
    git("commit", "-q", "-m", "pin", cwd=code)
    assert (code / ".git" / "old-hook-ran").read_text() == "ran\n"
    (code / "stop").write_text("")  # the old hook now fails: its status must stop git
    assert commit_code(code, "blocked", ok=False).returncode != 0
    (code / "stop").unlink()
    (code / "data" / "values.csv").write_text("changed\n")
    refused = commit_code(code, "blocked", ok=False)  # both hooks run; qvc's refuses
    assert "data/values.csv" in refused.stderr
    assert (code / ".git" / "old-hook-ran").read_text() == "ran\n" * 3
    qvc("uninstall-hooks", cwd=code)
    assert hook.read_text() == original
    assert not (code / ".git" / "hooks" / "pre-push").exists()
    commit_code(code, "no qvc hooks any more")  # uncommitted data no longer blocks


def test_install_hooks_refuses_to_clobber_a_kept_hook(code: Path, qvc: Qvc) -> None:
    hooks = code / ".git" / "hooks"
    (hooks / "pre-commit").write_text("#!/bin/sh\n")
    (hooks / "pre-commit.pre-qvc").write_text("#!/bin/sh\n")
    result = qvc("install-hooks", cwd=code, ok=False)
    assert result.code != 0 and "pre-commit.pre-qvc" in result.err
    assert (hooks / "pre-commit").read_text() == "#!/bin/sh\n"


def test_hooks_folder_holds_the_installed_shims() -> None:
    for name in HOOKS:
        assert (REPO_ROOT / "hooks" / name).read_text() == shim(name), name
        assert os.access(REPO_ROOT / "hooks" / name, os.X_OK)


def test_pre_push_requires_the_pinned_version_in_the_registry(
        hooked: Path, qvc: Qvc, tmp_path: Path) -> None:
    data = hooked / "data"
    git("init", "-q", "--bare", str(tmp_path / "remote.git"), cwd=tmp_path)
    git("remote", "add", "origin", str(tmp_path / "remote.git"), cwd=hooked)
    qvc("remote", "add", "origin", str(tmp_path / "registry"), cwd=data)
    refused = git("push", "origin", "main", cwd=hooked, ok=False)
    assert refused.returncode != 0 and "is not in" in refused.stderr
    qvc("push", cwd=data)
    git("push", "-q", "origin", "main", cwd=hooked)
    qvc("config", "push.hooks", "true", cwd=data)
    (data / "values.csv").write_text("pushed by the hook\n")
    qvc("commit", "-a", "-m", "v2", cwd=data)  # the pin now names the registry too
    assert pin.read(data) == pin.Pin("test/data", top_of(data), str(tmp_path / "registry"))
    git("add", "data/qvc.pin", cwd=hooked)
    commit_code(hooked, "use v2")
    git("push", "-q", "origin", "main", cwd=hooked)
    from qvc.storage.local import LocalStore
    from qvc.storage.registry import Registry

    assert Registry(LocalStore(tmp_path / "registry")).has_manifest(top_of(data))


def test_fresh_clone_of_the_code_gets_the_pinned_data(hooked: Path, qvc: Qvc,
                                                     tmp_path: Path) -> None:
    data = hooked / "data"
    qvc("remote", "add", "origin", str(tmp_path / "registry"), cwd=data)
    (data / "values.csv").write_text("shared\n")
    qvc("commit", "-a", "-m", "v2", cwd=data)
    qvc("push", cwd=data)
    git("add", "data/qvc.pin", cwd=hooked)
    commit_code(hooked, "share v2")
    git("clone", "-q", str(hooked), str(tmp_path / "mine"), cwd=tmp_path)
    mine = tmp_path / "mine"
    assert not (mine / "data" / "values.csv").exists()
    qvc("hook", "sync", cwd=mine)
    assert (mine / "data" / "values.csv").read_text() == "shared\n"
    assert top_of(mine / "data") == top_of(data)
    assert git("status", "--porcelain", cwd=mine).stdout == ""
