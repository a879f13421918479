"""Damaged ``.qvc/`` state: every command reports it with its documented exit code, one line
of what is wrong and a hint, never an internal error. One table of damage, run through
status, log, commit and checkout."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Qvc

Damage = Callable[[Path], object]


def _folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _bytes(data: bytes) -> Damage:
    return lambda path: path.write_bytes(data)


def _head_record(dot: Path) -> Path:
    return dot / "commits" / (dot / "HEAD").read_text().strip()


# (file under .qvc, damage, exit code every command that reads it must give)
DAMAGE: dict[str, tuple[str, Damage, int]] = {
    "index is a folder": ("index", _folder, 3),
    "index is garbage": ("index", _bytes(b"qvc-index 3\n\x00\x01garbage"), 3),
    "index is empty": ("index", _bytes(b""), 3),
    "HEAD is a folder": ("HEAD", _folder, 3),
    "HEAD is binary": ("HEAD", _bytes(b"\xff\xfe\x00garbage"), 3),
    "HEAD is cut short": ("HEAD", _bytes(b"abc123"), 3),
    "lock is a folder": ("lock", _folder, 9),
    "config is a folder": ("config.json", _folder, 3),
    "config is a JSON list": ("config.json", _bytes(b"[1, 2]"), 3),
    "config package is a number": ("config.json", _bytes(b'{"package": 5}'), 3),
    "config is binary": ("config.json", _bytes(b"\xff{"), 3),
    "commits/ is missing": ("commits", shutil.rmtree, 3),
    "HEAD's record is garbage": ("COMMIT", _bytes(b"{not json"), 3),
    "HEAD's record is a JSON list": ("COMMIT", _bytes(b"[1]"), 3),
    "HEAD's record is a folder": ("COMMIT", _folder, 3),
    "reflog is binary": ("logs/HEAD", _bytes(b"\xff\x00garbage\n"), 0),
    "tags is a file": ("tags", lambda p: (shutil.rmtree(p), p.write_text("x")), 3),
}
COMMANDS = {"status": ["status"], "log": ["log"], "commit": ["commit", "-a", "-m", "x"],
            "checkout": ["checkout", "--force", "HEAD~1"]}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.reliability.helpers import run_qvc

    root = tmp_path_factory.mktemp("damaged") / "base"
    root.mkdir()
    (root / "a.txt").write_text("a\n")
    for argv in (["init", "test/damaged"], ["add", "."], ["commit", "-m", "one"]):
        assert run_qvc(*argv, cwd=root).returncode == 0
    (root / "b.txt").write_text("b\n")
    for argv in (["add", "."], ["commit", "-m", "two"]):
        assert run_qvc(*argv, cwd=root).returncode == 0
    (root / "a.txt").write_text("a changed\n")  # commit -a has something to commit
    return root


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_state_is_a_documented_error(base: Path, tmp_path: Path, qvc: Qvc,
                                             damage: str, command: str) -> None:
    work = tmp_path / "work"
    shutil.copytree(base, work, symlinks=True)
    rel, harm, code = DAMAGE[damage]
    dot = work / ".qvc"
    harm(_head_record(dot) if rel == "COMMIT" else dot / rel)
    result = qvc(*COMMANDS[command], cwd=work, ok=False)
    assert "internal error" not in result.err and "Traceback" not in result.err, result.err
    if code == 0 or _unread(damage, command):
        assert result.code in (0, 5), result.err  # 5: commit -a with nothing to commit
        return
    assert result.code == code, result.err
    lines = result.err.strip().splitlines()
    assert lines[-2].startswith("error: ") and lines[-1].startswith("hint: "), result.err


def _unread(damage: str, command: str) -> bool:
    """Commands that never read the damaged file (log needs neither index, lock, config nor
    tags; nothing reads tags but names)."""
    if damage.startswith(("index", "lock")):
        return command == "log"
    if damage.startswith("config"):  # the package name: status and commit
        return command in ("log", "checkout")
    return damage.startswith("tags") or damage.startswith("reflog")
