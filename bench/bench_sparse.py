"""Partial clone against full clone: bytes downloaded and time of ``qvc clone --path`` of one
folder holding 5% of a package's bytes, beside ``qvc clone`` of all of it, from one registry.

The package: FOLDERS folders of FILES files of SIZE bytes each (random content); the first
folder is 1/FOLDERS of the bytes (5% with the default 20). It is pushed once to a folder
registry and, with ``--s3``, to a bucket of a moto server run in a separate process; then each
clone runs REPEAT times as its own process (``python -m qvc`` of this checkout), best time kept.

    python bench/bench_sparse.py                 # 20 x 20 x 512 KiB (200 MiB), folder registry
    python bench/bench_sparse.py --s3            # the same, and from a moto bucket
    python bench/bench_sparse.py --quick         # tiny: checks the script only
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_remote import Server  # noqa: E402  (the moto server process)

ROOT = Path(__file__).resolve().parents[1]
NAME = "bench/sparse"
TARGET_BYTES, TARGET_TIME = 0.06, 0.10


def qvc(*args: str, cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "qvc", *args], cwd=cwd, env=env,
                          capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"qvc {' '.join(args)} failed: {done.stderr}")
    return took, done.stdout


def make_package(root: Path, folders: int, files: int, size: int) -> int:
    total = 0
    for i in range(folders):
        folder = root / f"part{i:02d}"
        folder.mkdir(parents=True)
        for j in range(files):
            (folder / f"f{j:04d}.bin").write_bytes(os.urandom(size))
            total += size
    return total


def clones(work: Path, registry: str, env: dict[str, str], repeat: int,
           total: int) -> dict[str, float]:
    """Best time and bytes downloaded of a full and a partial clone of ``registry``."""
    best: dict[str, float] = {}
    for kind, extra in (("full", []), ("partial", ["--path", "part00/"])):
        for n in range(repeat):
            target = work / f"{kind}-{n}"
            took, out = qvc("clone", registry, NAME, str(target), "--json", *extra, cwd=work,
                            env=env)
            got = json.loads(out)["bytes"]
            best[f"{kind}_s"] = min(best.get(f"{kind}_s", took), took)
            best[f"{kind}_bytes"] = got
            shutil.rmtree(target)
    best["bytes_ratio"] = best["partial_bytes"] / best["full_bytes"]
    best["time_ratio"] = best["partial_s"] / best["full_s"]
    best["selected_share"] = best["partial_bytes"] / total
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folders", type=int, default=20)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--size", type=int, default=512 * 1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--s3", action="store_true", help="also clone from a moto bucket")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if args.quick:
        args.folders, args.files, args.size, args.repeat = 20, 2, 4096, 1
    work = Path(tempfile.mkdtemp(prefix="qvc-bench-sparse-", dir=args.workdir))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QVC_AUTHOR_NAME": "Bench",
           "QVC_AUTHOR_EMAIL": "bench@example.com", "HOME": str(work / "home"),
           "QVC_CONFIG_DIR": str(work / "conf"), "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: modules compiled once
    server = None
    results: dict[str, dict[str, float]] = {}
    try:
        source = work / "source"
        total = make_package(source, args.folders, args.files, args.size)
        qvc("init", NAME, cwd=source, env=env)
        qvc("add", ".", cwd=source, env=env)
        qvc("commit", "-m", "v1", cwd=source, env=env)
        registries = {"folder": str(work / "registry")}
        if args.s3:
            server = Server(env)
            env["AWS_ENDPOINT_URL_S3"] = server.endpoint
            server.client().create_bucket(Bucket="bench-sparse")
            registries["s3"] = "s3://bench-sparse"
        print(f"load average {os.getloadavg()[0]:.2f}; package {args.folders} folders x "
              f"{args.files} files x {args.size} B = {total / 2**20:.1f} MiB; part00/ holds "
              f"{100 / args.folders:.1f}% of the bytes")
        for kind, url in registries.items():
            qvc("push", url, cwd=source, env=env)
            results[kind] = clones(work, url, env, args.repeat, total)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'registry':<10}{'full s':>9}{'part s':>9}{'time':>7}{'full MiB':>10}"
          f"{'part MiB':>10}{'bytes':>7}   targets: bytes <= {TARGET_BYTES}, "
          f"time <= {TARGET_TIME}")
    for kind, r in results.items():
        print(f"{kind:<10}{r['full_s']:>9.2f}{r['partial_s']:>9.2f}{r['time_ratio']:>7.3f}"
              f"{r['full_bytes'] / 2**20:>10.1f}{r['partial_bytes'] / 2**20:>10.1f}"
              f"{r['bytes_ratio']:>7.3f}")
    print(f"load average {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results))
    missed = any(r["bytes_ratio"] > TARGET_BYTES or r["time_ratio"] > TARGET_TIME
                 for r in results.values())
    return 1 if missed and not args.quick else 0


if __name__ == "__main__":
    sys.exit(main())
