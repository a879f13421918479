"""Copy-on-write storage on XFS with reflinks: disk used, add time and checkout time of one
large file, with reflinks against copies (``QVC_REFLINK=0``) on the same filesystem.

Makes an XFS image (``mkfs.xfs -m reflink=1``) in the work folder and loop-mounts it, so it
needs root and xfsprogs. Each command runs as its own process (``python -m qvc`` of this
checkout), after ``sync`` and with the pages of the files it reads dropped from the cache
(``POSIX_FADV_DONTNEED`` on those files only: the machine is shared), so both modes read from
the disk:

  disk used    df of the filesystem after ``add`` + ``commit`` of the file, over its size
  add          ``qvc add big.bin`` (reflink: clone + hash the clone; copy: copy while hashing)
  checkout     file deleted, then ``qvc checkout --force HEAD`` (objects verified, then written)

    python bench/bench_reflink.py              # a 1 GiB file
    python bench/bench_reflink.py --size-mib 256
    python bench/bench_reflink.py --quick      # 16 MiB: checks the script only
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024
TARGETS = {"disk": 1.1, "add": 0.5, "checkout": 0.2}


def uncache(*paths: Path) -> None:
    """Drop these files' pages from the page cache (``POSIX_FADV_DONTNEED`` after a sync):
    only ours, not the whole cache of a shared machine. A clone is a new inode with no cached
    pages, so without this a reflinked add would read from disk what a copying add reads from
    the cache of the file just written."""
    subprocess.run(["sync"], check=True)
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def qvc(*args: str, cwd: Path, env: dict[str, str]) -> float:
    """Run one qvc command after a sync; its wall time in seconds."""
    subprocess.run(["sync"], check=True)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "qvc", *args], cwd=cwd, env=env,
                          capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"qvc {' '.join(args)} failed: {done.stderr}")
    return took


def used(path: Path) -> int:
    subprocess.run(["sync"], check=True)
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def write_file(path: Path, size: int) -> None:
    block = os.urandom(MiB)
    with open(path, "wb") as f:
        for _ in range(size // MiB):
            f.write(block)
            block = block[1:] + block[:1]  # no two blocks alike (no dedup anywhere)
        f.write(os.urandom(size % MiB))


def one_mode(mnt: Path, mode: str, size: int, env: dict[str, str]) -> dict[str, float]:
    env = {**env, "QVC_REFLINK": "1" if mode == "reflink" else "0"}
    root = mnt / mode
    root.mkdir()
    qvc("init", "bench/reflink", cwd=root, env=env)
    write_file(root / "big.bin", size)
    before = used(mnt)
    uncache(root / "big.bin")
    add = qvc("add", "big.bin", cwd=root, env=env)
    qvc("commit", "-m", "v1", cwd=root, env=env)
    disk = (used(mnt) - before + size) / size  # the file's own blocks + what qvc added
    status = subprocess.run([sys.executable, "-m", "qvc", "status", "--json"], cwd=root,
                            env=env, capture_output=True, text=True, check=True)
    storage = json.loads(status.stdout)["storage"]
    (root / "big.bin").unlink()
    uncache(*(p for p in (root / ".qvc" / "objects").rglob("*") if p.is_file()))
    checkout = qvc("checkout", "--force", "HEAD", cwd=root, env=env)
    shutil.rmtree(root)
    return {"disk": disk, "add": add, "checkout": checkout, "storage_is_reflink":
            float(storage == "reflink")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    size = (16 if args.quick else args.size_mib) * MiB
    if os.geteuid() != 0 or shutil.which("mkfs.xfs") is None:
        print("needs root and mkfs.xfs (apt-get install xfsprogs)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="qvc-bench-reflink-", dir=args.workdir))
    image, mnt = work / "xfs.img", work / "mnt"
    mnt.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QVC_AUTHOR_NAME": "Bench",
           "QVC_AUTHOR_EMAIL": "bench@example.com", "HOME": str(work),
           "QVC_CONFIG_DIR": str(work / "conf")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: modules compiled once
    rows: dict[str, dict[str, float]] = {}
    try:
        image_size = max(3 * size + 512 * MiB, 600 * MiB)
        subprocess.run(["truncate", "-s", str(image_size), str(image)], check=True)
        subprocess.run(["mkfs.xfs", "-q", "-m", "reflink=1", str(image)], check=True)
        mounted = subprocess.run(["mount", "-o", "loop", str(image), str(mnt)],
                                 capture_output=True, text=True)
        if mounted.returncode != 0:
            print(f"cannot loop-mount the XFS image: {mounted.stderr.strip()}", file=sys.stderr)
            return 2
        try:
            print(f"load average {os.getloadavg()[0]:.2f}; file {size // MiB} MiB on XFS "
                  "(reflink=1, loop-mounted)")
            for mode in ("copy", "reflink"):
                rows[mode] = one_mode(mnt, mode, size, env)
        finally:
            subprocess.run(["umount", str(mnt)], check=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    copy, ref = rows["copy"], rows["reflink"]
    assert ref["storage_is_reflink"] == 1.0 and copy["storage_is_reflink"] == 0.0
    figures = {"disk": ref["disk"], "add": ref["add"] / copy["add"],
               "checkout": ref["checkout"] / copy["checkout"]}
    print(f"{'case':<30}{'copy':>10}{'reflink':>10}{'ratio':>8}{'target':>9}")
    print(f"{'disk used / data':<30}{copy['disk']:>10.2f}{ref['disk']:>10.2f}"
          f"{'':>8}{'<= 1.1':>9}")
    for case in ("add", "checkout"):
        print(f"{case + ' (s)':<30}{copy[case]:>10.2f}{ref[case]:>10.2f}"
              f"{figures[case]:>8.2f}{'<= ' + str(TARGETS[case]):>9}")
    print(f"load average {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"size": size, "rows": rows, "figures": figures}))
    missed = [k for k, v in figures.items() if v > TARGETS[k]]
    return 1 if missed and not args.quick else 0


if __name__ == "__main__":
    sys.exit(main())
