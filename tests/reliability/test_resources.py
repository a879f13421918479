"""Full disks and denied permissions: a clear error naming the path, the user's files
untouched, and the repository usable once the problem is gone.

Disk full is real: the work tree lives on a small tmpfs (mounted directly when this process
may, which needs CAP_SYS_ADMIN) or one write syscall fails with ENOSPC under strace (needs
strace and ptrace). Permissions are real too; as root, qvc runs without the capabilities that
let root ignore file modes (setpriv), since chmod alone would prove nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Qvc
from tests.reliability.helpers import assert_clean_error, run_qvc, snapshot

NAME = "test/pkg"
MiB = 1024 * 1024


def user_files(root: Path) -> dict[str, object]:
    return snapshot(root, exclude=(root / ".qvc",))


# disk full on a real small filesystem ---------------------------------------------------------


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs at tmp_path/small (skipped where mounting is not permitted)."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); strace tests cover ENOSPC")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def resize(mount: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(mount)], check=True)


def assert_disk_full(code: int, err: str, where: Path) -> None:
    assert_clean_error(code, err, 9, "no space left")
    assert str(where) in err, err


def test_disk_full_during_add_and_commit(small_fs: Path, qvc: Qvc) -> None:
    work = small_fs / "work"
    work.mkdir()
    (work / "small.txt").write_text("small\n")
    qvc("init", NAME, cwd=work)
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "one", cwd=work)
    (work / "big.bin").write_bytes(os.urandom(int(1.8 * MiB)))  # its copy cannot fit
    before = user_files(work)
    result = qvc("add", ".", cwd=work, ok=False)
    assert_disk_full(result.code, result.err, small_fs)
    assert user_files(work) == before
    result = qvc("commit", "-a", "-m", "nope", cwd=work, ok=False)
    assert result.code in (5, 9), result.err
    assert user_files(work) == before
    resize(small_fs, "16m")
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "two", cwd=work)
    assert qvc("verify", cwd=work, ok=False).code == 0
    assert user_files(work) == before


def test_disk_full_during_clone(small_fs: Path, tmp_path: Path, work: Path, qvc: Qvc) -> None:
    (work / "big.bin").write_bytes(os.urandom(int(1.8 * MiB)))
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "one", cwd=work)
    registry = tmp_path / "registry"
    qvc("push", str(registry), cwd=work)
    (small_fs / "ballast").write_bytes(b"\0" * MiB)
    result = qvc("clone", str(registry), NAME, "dst", cwd=small_fs, ok=False)
    assert_disk_full(result.code, result.err, small_fs)
    assert not (small_fs / "dst").exists() or not any((small_fs / "dst").iterdir())
    (small_fs / "ballast").unlink()
    resize(small_fs, "16m")
    qvc("clone", str(registry), NAME, "dst", cwd=small_fs)
    assert (small_fs / "dst" / "big.bin").read_bytes() == (work / "big.bin").read_bytes()


def test_disk_full_during_checkout(small_fs: Path, qvc: Qvc) -> None:
    work = small_fs / "work"
    work.mkdir()
    (work / "big.bin").write_bytes(os.urandom(int(0.9 * MiB)))
    qvc("init", NAME, cwd=work)
    qvc("add", ".", cwd=work)
    first = qvc("commit", "-m", "one", "--json", cwd=work).out
    (work / "big.bin").unlink()
    (work / "other.txt").write_text("other\n")
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "two", cwd=work)
    free = shutil.disk_usage(small_fs).free
    (small_fs / "ballast").write_bytes(b"\0" * max(0, free - int(0.5 * MiB)))
    before = user_files(work)
    top = re.search(r'"top_hash": "([0-9a-f]{64})"', first)
    assert top is not None
    result = qvc("checkout", top.group(1), cwd=work, ok=False)
    assert_disk_full(result.code, result.err, small_fs)
    assert user_files(work) == before, "a partial file was left in the work tree"
    (small_fs / "ballast").unlink()
    qvc("checkout", top.group(1), cwd=work)
    assert (work / "big.bin").stat().st_size == int(0.9 * MiB)
    assert qvc("verify", cwd=work, ok=False).code == 0


def _fill(mount: Path, leave: int = 0) -> None:
    """Take every free byte of ``mount`` (a tmpfs: the last page too) but ``leave``."""
    fd = os.open(mount / "ballast", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    if leave:
        os.truncate(mount / "ballast", max(0, os.path.getsize(mount / "ballast") - leave))


@pytest.mark.parametrize(("argv", "leave"), [
    (["gc"], 0), (["add", "."], 0), (["checkout", "FIRST"], 0), (["pull"], 0),
    (["rm", "--cached", "a.txt"], 0), (["reset", "--hard", "HEAD"], 0),
    (["clone", "REGISTRY", NAME, "../again"], 64 * 1024), (["pull"], 64 * 1024),
])
def test_a_full_disk_is_exit_9_for_every_locking_command(
        small_fs: Path, tmp_path: Path, qvc: Qvc, argv: list[str], leave: int) -> None:
    """The lock's own write fails first on a full disk: that too is "no space left" (exit 9)
    with the path, never an internal error (exit 1); so does a pull or clone that gets
    further (``leave`` bytes free)."""
    work = small_fs / "work"
    work.mkdir()
    (work / "a.txt").write_text("a\n")
    qvc("init", NAME, cwd=work)
    qvc("add", ".", cwd=work)
    first = qvc("commit", "-m", "one", "--json", cwd=work).out
    top = re.search(r'"top_hash": "([0-9a-f]{64})"', first)
    assert top is not None
    (work / "b.txt").write_bytes(os.urandom(200_000))
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "two", cwd=work)
    qvc("remote", "add", "origin", str(tmp_path / "registry"), cwd=work)
    qvc("push", cwd=work)
    if argv == ["pull"]:  # a version elsewhere to pull in
        other = tmp_path / "other"
        qvc("clone", str(tmp_path / "registry"), NAME, str(other), cwd=tmp_path)
        (other / "d.bin").write_bytes(os.urandom(300_000))
        qvc("add", ".", cwd=other)
        qvc("commit", "-m", "three", cwd=other)
        qvc("push", cwd=other)
    (work / "c.txt").write_text("c\n")
    (work / ".qvc" / "lock").write_bytes(b"")  # drop its page: the lock's write needs one
    _fill(small_fs, leave)
    before = user_files(work)
    args = [{"FIRST": top.group(1), "REGISTRY": str(tmp_path / "registry")}.get(word, word)
            for word in argv]
    result = run_qvc(*args, cwd=work)
    assert_disk_full(result.returncode, result.stderr, small_fs)
    assert {k: v for k, v in user_files(work).items() if k != "ballast"} == before


# ENOSPC on one write syscall, under strace ---------------------------------------------------


def strace_usable() -> str | None:
    """None if strace can inject faults here, else why not."""
    if shutil.which("strace") is None:
        return "strace is not installed"
    probe = subprocess.run(["strace", "-f", "-o", "/dev/null", "-e",
                            "inject=getpid:error=EPERM:when=1", "true"], capture_output=True)
    if probe.returncode != 0:
        return f"strace cannot trace here (ptrace not permitted?): {probe.stderr[:200]!r}"
    return None


def data_writes(args: list[str], cwd: Path, trace: Path) -> list[int]:
    """Indexes (1-based, as strace's ``when=`` counts them) of the write syscalls of a run of
    ``qvc ARGS`` that go to files rather than to stdout or stderr. Only the main thread is
    traced (no ``-f``): ``when=`` counts per traced thread, and helper processes (ldconfig)
    would shift the count."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run(["strace", "-qq", "-e", "trace=write", "-o", str(trace),
                    sys.executable, "-m", "qvc", *args], cwd=cwd, env=env, check=True,
                   capture_output=True)
    calls = [line for line in trace.read_text().splitlines() if "write(" in line]
    return [n for n, line in enumerate(calls, start=1)
            if (m := re.search(r"write\((\d+),", line)) and int(m.group(1)) > 2]


@pytest.mark.skipif(strace_usable() is not None, reason=str(strace_usable()))
@pytest.mark.parametrize("every", [False, pytest.param(True, marks=pytest.mark.slow)],
                         ids=["sample", "every-write"])
def test_enospc_at_each_write_of_a_commit(tmp_path: Path, work: Path, qvc: Qvc,
                                          every: bool) -> None:
    """ENOSPC on one file write: the first, a middle and the last one a ``commit -a`` makes
    (every one of them in the slow tier)."""
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "one", cwd=work)
    (work / "README.md").write_text("# changed\n")
    (work / "new.txt").write_text("new\n")
    qvc("add", "new.txt", cwd=work)
    probe = tmp_path / "probe"
    subprocess.run(["cp", "-a", str(work), str(probe)], check=True)
    writes = data_writes(["commit", "-a", "-m", "two"], probe, tmp_path / "trace")
    assert writes, "the commit wrote nothing?"
    if not every:
        writes = sorted({writes[0], writes[len(writes) // 2], writes[-1]})
    for n in writes:
        tree = tmp_path / f"t{n}"
        subprocess.run(["cp", "-a", str(work), str(tree)], check=True)
        before = user_files(tree)
        failed = subprocess.run(
            ["strace", "-qq", "-o", "/dev/null", "-e",
             f"inject=write:error=ENOSPC:when={n}", sys.executable, "-m", "qvc", "commit", "-a",
             "-m", "two"], cwd=tree, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            capture_output=True, text=True)
        if failed.returncode != 0:
            assert_clean_error(failed.returncode, failed.stderr, 9, "no space left")
        assert user_files(tree) == before, n
        again = run_qvc("commit", "-a", "-m", "two", cwd=tree)
        assert again.returncode in (0, 5), again.stderr  # 5: the failed run had committed
        verified = run_qvc("verify", cwd=tree)
        assert verified.returncode == 0, (n, verified.stdout, verified.stderr)
        status = run_qvc("status", "--json", cwd=tree)
        assert '"clean": true' in status.stdout, (n, status.stdout)


# permission denied ----------------------------------------------------------------------------


def unprivileged() -> list[str]:
    """A command prefix under which file modes bind this process (root drops DAC caps)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root, where chmod 000 binds nothing, and setpriv is missing")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def run_limited(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*unprivileged(), sys.executable, "-m", "qvc", *args], cwd=cwd,
                          env=dict(os.environ), capture_output=True, text=True, timeout=60)


def test_unreadable_file_is_named(work: Path) -> None:
    secret = work / "data" / "values.csv"
    secret.chmod(0)
    try:
        probe = subprocess.run([*unprivileged(), "cat", str(secret)], capture_output=True)
        if probe.returncode == 0:
            pytest.skip("file modes do not bind this process")
        result = run_limited("add", ".", cwd=work)
        assert_clean_error(result.returncode, result.stderr, 9, "permission denied")
        assert str(secret) in result.stderr
    finally:
        secret.chmod(0o644)
    assert run_limited("add", ".", cwd=work).returncode == 0


def test_unreadable_folder_is_named(work: Path) -> None:
    folder = work / "data" / "nested"
    folder.chmod(0)
    try:
        result = run_limited("add", ".", cwd=work)
        assert_clean_error(result.returncode, result.stderr, 9, "permission denied")
        assert "nested" in result.stderr
    finally:
        folder.chmod(0o755)


def test_read_only_repository_is_named(work: Path) -> None:
    objects = work / ".qvc" / "objects"
    modes = {p: p.stat().st_mode for p in [objects, *objects.iterdir()]}
    for p in modes:
        p.chmod(0o555)
    try:
        result = run_limited("add", ".", cwd=work)
        assert_clean_error(result.returncode, result.stderr, 9, "permission denied")
        assert ".qvc" in result.stderr
    finally:
        for p, mode in modes.items():
            p.chmod(mode)
    assert run_limited("add", ".", cwd=work).returncode == 0
