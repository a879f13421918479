"""Copy-on-write storage (qvc.sysio.reflink) on a real XFS filesystem made with reflinks
(a loop-mounted image, as root) and on the ordinary filesystem of the test run: ``add`` clones
a large file into ``.qvc/objects`` and hashes the clone; checkout and clone write files that
share the objects' blocks; an in-place edit of a file never reaches its object."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from qvc.core.repo import Repo
from qvc.quilt.hashing import Hash
from qvc.sysio import reflink
from tests.conftest import Qvc

BIG = 9 * 1024 * 1024 + 17  # above objects.SMALL: stored through a temp file


def mount_xfs(where: Path, size: str = "512M") -> Path:
    """An XFS filesystem with reflinks, loop-mounted at ``where/mnt``; pytest.skip (with the
    reason) where that is not possible."""
    if os.geteuid() != 0:
        pytest.skip("mounting an XFS image needs root")
    if shutil.which("mkfs.xfs") is None:
        pytest.skip("mkfs.xfs is not installed (apt-get install xfsprogs)")
    image, mnt = where / "xfs.img", where / "mnt"
    mnt.mkdir(parents=True)
    subprocess.run(["truncate", "-s", size, str(image)], check=True)
    made = subprocess.run(["mkfs.xfs", "-q", "-m", "reflink=1", str(image)],
                          capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"mkfs.xfs -m reflink=1 failed: {made.stderr.strip()}")
    mounted = subprocess.run(["mount", "-o", "loop", str(image), str(mnt)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot loop-mount an XFS image here: {mounted.stderr.strip()}")
    return mnt


def unmount(mnt: Path) -> None:
    """Unmount (the loop device goes with it); a mount left behind fails the test."""
    if Path.cwd().is_relative_to(mnt):
        os.chdir(mnt.parent)  # the in-process CLI runs from inside: the mount would be busy
    done = subprocess.run(["umount", str(mnt)], capture_output=True, text=True)
    if done.returncode != 0:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
        raise AssertionError(f"umount {mnt} failed: {done.stderr.strip()}")


@pytest.fixture
def xfs(tmp_path: Path) -> Iterator[Path]:
    mnt = mount_xfs(tmp_path / f"xfs-{uuid.uuid4().hex[:8]}")
    try:
        yield mnt
    finally:
        unmount(mnt)


def shared(path: Path) -> bool:
    """Whether every extent of ``path`` is marked shared (FIEMAP, via ``filefrag -v``)."""
    out = subprocess.run(["filefrag", "-v", str(path)], capture_output=True, text=True,
                         check=True).stdout
    extents = [line for line in out.splitlines() if line.strip()[:1].isdigit()]
    return bool(extents) and all("shared" in line for line in extents)


def write_big(path: Path, seed: bytes) -> bytes:
    data = (seed * (BIG // len(seed) + 1))[:BIG]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def object_of(root: Path, key: str) -> Path:
    """The stored object of ``key``'s staged version, checked to hash to its name."""
    repo = Repo(root)
    staged = repo.load_index().rows[key].staged
    assert staged is not None
    h = Hash(staged.hash_type, staged.hash_value)
    assert repo.objects.verify(h, staged.size) is None
    return repo.objects.path(h)


def test_add_clones_hashes_the_clone_and_an_edit_never_reaches_the_object(
        qvc: Qvc, xfs: Path) -> None:
    root = xfs / "work"
    data = write_big(root / "big.bin", b"0123456789abcdef")
    qvc("init", "test/pkg", cwd=root)
    status = json.loads(qvc("status", "--json", cwd=root).out)
    assert status["storage"] == "reflink"
    assert "Storage: reflinks" in qvc("status", cwd=root).out
    qvc("add", ".", cwd=root)
    qvc("commit", "-m", "v1", cwd=root)
    obj = object_of(root, "big.bin")
    assert shared(obj) and shared(root / "big.bin")
    # an in-place edit of the work-tree file gets new blocks; the object keeps its bytes
    with open(root / "big.bin", "r+b") as f:
        f.write(b"EDITED")
    assert obj.read_bytes() == data and object_of(root, "big.bin") == obj
    assert json.loads(qvc("status", "--json", cwd=root).out)["modified"] == ["big.bin"]
    qvc("verify", cwd=root)


def test_checkout_and_clone_reflink_objects_into_the_work_tree(
        qvc: Qvc, xfs: Path) -> None:
    root = xfs / "work"
    v1 = write_big(root / "big.bin", b"version one ")
    qvc("init", "test/pkg", cwd=root)
    qvc("add", ".", cwd=root)
    qvc("commit", "-m", "v1", cwd=root)
    write_big(root / "big.bin", b"version two ")
    qvc("add", ".", cwd=root)
    qvc("commit", "-m", "v2", cwd=root)
    qvc("checkout", "HEAD~1", cwd=root)
    assert (root / "big.bin").read_bytes() == v1
    assert shared(root / "big.bin") and shared(object_of(root, "big.bin"))
    qvc("remote", "add", "origin", str(xfs / "registry"), cwd=root)
    qvc("checkout", "latest", cwd=root)
    qvc("push", cwd=root)
    qvc("clone", str(xfs / "registry"), "test/pkg", str(xfs / "clone"), cwd=xfs)
    assert shared(xfs / "clone" / "big.bin")
    assert json.loads(qvc("status", "--json", cwd=xfs / "clone").out)["clean"]


def test_reflinked_checkout_trusts_a_stamp_only_while_the_object_is_untouched(
        qvc: Qvc, xfs: Path) -> None:
    """A reflinked checkout skips re-hashing a large object its verification stamp vouches
    for; an object changed in place afterwards (even with its mtime put back, as ``cp -p``
    or ``rsync -t`` would) fails the stamp, is re-hashed and refused: nothing is written."""
    root = xfs / "work"
    data = write_big(root / "big.bin", b"stamped ")
    qvc("init", "test/pkg", cwd=root)
    qvc("add", ".", cwd=root)
    qvc("commit", "-m", "v1", cwd=root)
    obj = object_of(root, "big.bin")
    (root / "big.bin").unlink()
    qvc("checkout", "--force", "HEAD", cwd=root)
    assert (root / "big.bin").read_bytes() == data and shared(root / "big.bin")
    repo = Repo(root)
    staged = repo.load_index().rows["big.bin"].staged
    assert staged is not None
    h = Hash(staged.hash_type, staged.hash_value)
    assert repo.objects.vouched(h, BIG)
    before = obj.stat()
    obj.chmod(0o644)
    with open(obj, "r+b") as f:
        f.seek(BIG // 2)
        f.write(b"X")
    obj.chmod(0o444)
    os.utime(obj, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert not repo.objects.vouched(h, BIG)
    (root / "big.bin").unlink()
    refused = qvc("checkout", "--force", "HEAD", cwd=root, ok=False)
    assert refused.code == 8 and "corrupt" in refused.err
    assert not (root / "big.bin").exists()


def test_ordinary_filesystem_copies(qvc: Qvc, tmp_path: Path) -> None:
    root = tmp_path / "work"
    data = write_big(root / "big.bin", b"plain ")
    qvc("init", "test/pkg", cwd=root)
    qvc("add", ".", cwd=root)
    qvc("commit", "-m", "v1", cwd=root)
    expected = "reflink" if reflink.supported(root / ".qvc" / "tmp") else "copy"
    assert json.loads(qvc("status", "--json", cwd=root).out)["storage"] == expected
    obj = object_of(root, "big.bin")
    assert obj.read_bytes() == data
    if expected == "copy":
        assert "Storage: copies" in qvc("status", cwd=root).out
        assert os.stat(obj).st_ino != os.stat(root / "big.bin").st_ino
        assert os.stat(root / "big.bin").st_nlink == 1  # never a hard link
    (root / "big.bin").unlink()
    qvc("checkout", "--force", "HEAD", cwd=root)
    assert (root / "big.bin").read_bytes() == data


def test_clone_fd_refuses_across_filesystems_without_touching_the_target(
        tmp_path: Path, xfs: Path) -> None:
    src_path, dst_path = xfs / "src", tmp_path / "dst"
    src_path.write_bytes(b"x" * 8192)
    src = os.open(src_path, os.O_RDONLY)
    dst = os.open(dst_path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        assert reflink.clone_fd(src, dst) is False
    finally:
        os.close(src)
        os.close(dst)
    assert dst_path.read_bytes() == b""
    assert reflink.supported(xfs)
