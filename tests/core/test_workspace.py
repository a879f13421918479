"""The work tree: .qvcignore rules, symlinks and special files, the stat cache and racy files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Qvc

OLD = 1_600_000_000  # a modification time safely outside any racy window


def status(qvc: Qvc, cwd: Path | None = None) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(qvc("status", "--json", cwd=cwd).out)
    return result


def tree(root: Path, files: dict[str, str]) -> None:
    for key, text in files.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_text(text)


def committed_keys(qvc: Qvc) -> list[str]:
    return qvc("ls").out.split("\n")[:-1]


# --- .qvcignore -----------------------------------------------------------------------------


def test_nested_ignore_file_applies_to_its_own_folder(work: Path, qvc: Qvc) -> None:
    tree(work, {"top.log": "", "data/x.log": "", "data/sub/y.log": "", "other/z.log": "",
                "data/.qvcignore": "*.log\n"})
    untracked = status(qvc, work)["untracked"]
    assert "top.log" in untracked and "other/z.log" in untracked
    assert "data/x.log" not in untracked and "data/sub/y.log" not in untracked
    assert "data/.qvcignore" in untracked  # the rules file itself is ordinary data


def test_negation_and_deeper_rules_win(work: Path, qvc: Qvc) -> None:
    tree(work, {".qvcignore": "*.tmp\n!keep.tmp\n", "a.tmp": "", "keep.tmp": "",
                "deep/b.tmp": "", "deep/c.tmp": "", "deep/.qvcignore": "!b.tmp\n"})
    untracked = status(qvc, work)["untracked"]
    assert "keep.tmp" in untracked and "deep/b.tmp" in untracked
    assert "a.tmp" not in untracked and "deep/c.tmp" not in untracked


def test_ignored_folder_is_not_descended(work: Path, qvc: Qvc) -> None:
    """Nothing inside an ignored folder is looked at: a negation cannot re-include a file in
    it (as in git), and a symlink or fifo in it is not even reported as skipped."""
    tree(work, {".qvcignore": "build/\n!build/keep.txt\n", "build/keep.txt": "",
                "build/deep/x": ""})
    (work / "build" / "link").symlink_to("/etc/hostname")
    os.mkfifo(work / "build" / "deep" / "fifo")
    result = status(qvc, work)
    assert not any(k.startswith("build/") for k in result["untracked"] + result["skipped"])
    qvc("add", ".")
    assert not any(k.startswith("build") for k in committed_keys_after_commit(qvc))


def committed_keys_after_commit(qvc: Qvc) -> list[str]:
    qvc("commit", "-m", "snapshot")
    return committed_keys(qvc)


def test_dot_qvc_is_never_tracked(work: Path, qvc: Qvc) -> None:
    (work / ".qvcignore").write_text("!.qvc\n!.qvc/**\n")
    qvc("add", ".", cwd=work)
    keys = committed_keys_after_commit(qvc)
    assert not any(k.startswith(".qvc/") for k in keys)
    for path in (".qvc", ".qvc/HEAD", ".qvc/config.json"):
        result = qvc("add", "-f", path, ok=False)
        assert result.code == 4 and ".qvc" in result.err
    sub = work / "data"
    assert status(qvc, sub)["untracked"] == []


def test_add_force_stages_an_ignored_path(work: Path, qvc: Qvc) -> None:
    tree(work, {".qvcignore": "*.bin\nsecret/\n", "big.bin": "b", "secret/s.txt": "s"})
    refused = qvc("add", "big.bin", cwd=work, ok=False)
    assert refused.code == 4 and "ignored" in refused.err and "-f" in refused.err
    qvc("add", "-f", "big.bin")
    qvc("add", "-f", "secret")
    staged = status(qvc)["staged"]["added"]
    assert "big.bin" in staged and "secret/s.txt" in staged


def test_tracked_file_that_becomes_ignored_stays_tracked(work: Path, qvc: Qvc) -> None:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "first")
    (work / ".qvcignore").write_text("*.csv\n")
    (work / "data" / "values.csv").write_text("changed\n")
    assert status(qvc)["modified"] == ["data/values.csv"]
    qvc("commit", "-a", "-m", "second")  # commit -a still stages the tracked file
    assert status(qvc)["modified"] == []
    assert "data/values.csv" in committed_keys(qvc)
    (work / "data" / "values.csv").write_text("again\n")
    qvc("add", ".")  # and so does add of its folder
    assert status(qvc)["staged"]["modified"] == ["data/values.csv"]
    (work / "data" / "values.csv").unlink()
    qvc("add", "data")
    assert status(qvc)["staged"]["deleted"] == ["data/values.csv"]


# --- symlinks and special files -------------------------------------------------------------


@pytest.fixture
def links(work: Path, tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("outside\n")
    (work / "to_file").symlink_to("README.md")
    (work / "to_dir").symlink_to("data")
    (work / "to_outside").symlink_to(outside)
    (work / "dangling").symlink_to("nowhere")
    os.mkfifo(work / "fifo")
    return outside


def test_symlinks_and_special_files_are_skipped_never_followed(
    work: Path, qvc: Qvc, links: Path
) -> None:
    result = status(qvc, work)
    assert result["skipped"] == ["dangling", "fifo", "to_dir", "to_file", "to_outside"]
    assert not any(k.startswith(("to_dir/", "to_outside/")) for k in result["untracked"])
    qvc("add", ".")
    assert committed_keys_after_commit(qvc) == ["README.md", "data/nested/deep.txt",
                                                "data/values.csv"]
    text = qvc("status").out
    assert "Skipped" in text and "to_outside" in text


@pytest.mark.parametrize("path", ["to_file", "to_dir", "to_outside", "dangling", "fifo",
                                  "to_dir/values.csv", "to_outside/secret.txt"])
def test_adding_a_link_or_a_path_through_one_is_refused(
    work: Path, qvc: Qvc, links: Path, path: str
) -> None:
    result = qvc("add", path, cwd=work, ok=False)
    assert result.code == 4, result.err
    assert result.err.startswith("error: ") and "hint: " in result.err
    assert "Traceback" not in result.err


def test_tracked_folder_replaced_by_a_link_reads_nothing_outside(
    work: Path, qvc: Qvc, tmp_path: Path
) -> None:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "first")
    outside = tmp_path / "elsewhere"
    shutil.move(work / "data", outside)
    (outside / "values.csv").write_text("outside content\n")
    (work / "data").symlink_to(outside)
    result = status(qvc)
    assert result["deleted"] == ["data/nested/deep.txt", "data/values.csv"]
    assert result["skipped"] == ["data"]
    qvc("add", ".")
    assert status(qvc)["staged"]["deleted"] == ["data/nested/deep.txt", "data/values.csv"]
    qvc("rm", "--force", "data", ok=False)
    assert (outside / "values.csv").read_text() == "outside content\n"
    assert (outside / "nested" / "deep.txt").exists()


def test_rm_never_deletes_through_a_symlinked_folder(work: Path, qvc: Qvc, tmp_path: Path) -> None:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "first")
    outside = tmp_path / "elsewhere"
    shutil.copytree(work / "data", outside)
    shutil.rmtree(work / "data")
    (work / "data").symlink_to(outside)
    qvc("rm", "--cached", "data/values.csv", ok=False)
    qvc("rm", "--force", "data/values.csv", ok=False)
    qvc("rm", "--force", "data", ok=False)
    qvc("rm", "--force", ".", ok=False)
    assert (outside / "values.csv").read_text() == "a,b\n1,2\n"
    assert (outside / "nested" / "deep.txt").read_text() == "deep\n"


# --- stat cache and racy files --------------------------------------------------------------


def strace_opens(args: list[str], cwd: Path, log: Path) -> str:
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    cmd = ["strace", "-f", "-qq", "-e", "trace=open,openat,openat2", "-o", str(log),
           sys.executable, "-m", "qvc", *args]
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=dict(os.environ))
    if done.returncode != 0 and not log.exists():
        pytest.skip(f"strace cannot trace here: {done.stderr.strip()[:200]}")
    assert done.returncode == 0, done.stderr
    return log.read_text()


def test_stat_cache_means_unchanged_files_are_never_read(
    work: Path, qvc: Qvc, tmp_path: Path
) -> None:
    tree(work, {f"many/f{i}.txt": f"{i}\n" for i in range(20)})
    for path in work.rglob("*"):
        if path.is_file() and ".qvc" not in path.parts:
            os.utime(path, (OLD, OLD))
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "first")
    opened = strace_opens(["status"], work, tmp_path / "clean.trace")
    assert "f7.txt" not in opened and "values.csv" not in opened and "README.md" not in opened

    (work / "many" / "f7.txt").write_text("X\n")  # same size: only this file is read again
    opened = strace_opens(["status"], work, tmp_path / "touched.trace")
    assert "many/f7.txt" in opened
    assert "many/f8.txt" not in opened and "values.csv" not in opened


def test_unchanged_file_is_not_reread_by_add(work: Path, qvc: Qvc) -> None:
    if os.geteuid() == 0:
        pytest.skip("root can read a file with mode 000")
    path = work / "README.md"
    os.utime(path, (OLD, OLD))
    qvc("add", ".", cwd=work)
    path.chmod(0)
    try:
        assert status(qvc)["modified"] == []
        qvc("add", ".")
    finally:
        path.chmod(0o644)


def test_same_size_same_mtime_change_right_after_add_is_detected(work: Path, qvc: Qvc) -> None:
    """The racy case: a rewrite in the same timestamp tick as the index keeps size and mtime."""
    path = work / "data" / "values.csv"
    qvc("add", ".", cwd=work)
    before = path.stat()
    path.write_text("x,y\n9,9\n")  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    assert status(qvc)["modified"] == ["data/values.csv"]
    qvc("commit", "-a", "-m", "racy")
    assert qvc("ls", "-l").out.count("data/values.csv") == 1
    assert status(qvc)["clean"] is True


def test_same_size_same_mtime_change_long_after_add_is_detected(work: Path, qvc: Qvc) -> None:
    """Outside the racy window the change time (ctime) still gives the rewrite away."""
    path = work / "data" / "values.csv"
    os.utime(path, (OLD, OLD))
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "first")
    path.write_text("x,y\n9,9\n")
    os.utime(path, (OLD, OLD))
    assert status(qvc)["modified"] == ["data/values.csv"]


def test_status_from_a_subfolder_and_touch_without_change(work: Path, qvc: Qvc) -> None:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "first")
    os.utime(work / "README.md", (OLD + 5, OLD + 5))  # new mtime, same bytes
    result = status(qvc, work / "data" / "nested")
    assert result["clean"] is True and result["modified"] == []


def test_names_no_manifest_can_hold_are_skipped_and_refused(work: Path, qvc: Qvc) -> None:
    """Control characters and undecodable bytes: reported as skipped, refused by an explicit
    add, and the repository keeps working."""
    names = [b"new\nline.txt", b"bad\xff.txt", b"tab\there.txt"]
    for name in names:
        with open(os.path.join(os.fsencode(work), name), "wb") as f:
            f.write(b"x")
    shown = [os.fsdecode(n) for n in names]
    done = subprocess.run([sys.executable, "-m", "qvc", "status", "--json"], cwd=work,
                          capture_output=True, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    skipped = json.loads(done.stdout.decode("utf-8", "surrogateescape"))["skipped"]
    assert sorted(skipped) == sorted(shown)
    for shown_name in shown:
        result = qvc("add", shown_name, ok=False)
        assert result.code == 4, result.err
    qvc("add", ".")
    qvc("commit", "-m", "only the good names")
    assert committed_keys(qvc) == ["README.md", "data/nested/deep.txt", "data/values.csv"]
