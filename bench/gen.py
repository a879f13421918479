"""Deterministic benchmark data: a tree of small files, or one big file.

The same arguments always give byte-identical files, so two copies (one for git, one for qvc)
or two runs on different days hold the same data. Every small file has distinct content (git
and qvc would both deduplicate identical files, which would flatter both).

    python bench/gen.py tree DEST --folders 100 --files 1000 --size 1024
    python bench/gen.py big DEST/file.bin --size 1073741824
    python bench/gen.py objects DEST --count 100000 --size 1024
"""

from __future__ import annotations

import argparse
import os
import random
from pathlib import Path

_BLOCK = 64 * 1024 * 1024


def small_content(folder: int, file: int, size: int, seed: int = 0) -> bytes:
    """Content of file ``file`` in folder ``folder``: pseudo-random bytes, unique per file."""
    return random.Random(f"{seed}/{folder}/{file}").randbytes(size)


def file_key(folder: int, file: int) -> str:
    return f"d{folder:04d}/f{file:05d}.bin"


def make_tree(dest: Path, folders: int, files: int, size: int, seed: int = 0) -> int:
    """Write ``folders`` x ``files`` files of ``size`` bytes under ``dest``; returns the count."""
    for d in range(folders):
        folder = dest / f"d{d:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        for f in range(files):
            fd = os.open(folder / f"f{f:05d}.bin", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(fd, small_content(d, f, size, seed))
            finally:
                os.close(fd)
    return folders * files


def make_big(path: Path, size: int, seed: int = 0) -> None:
    """One file of ``size`` pseudo-random bytes (incompressible, so no filesystem shortcut)."""
    rng = random.Random(f"{seed}/big")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        left = size
        while left:
            n = min(left, _BLOCK)
            out.write(rng.randbytes(n))
            left -= n


def make_objects(dest: Path, count: int, size: int) -> None:
    """``count`` new files of ``size`` bytes spread over 256 folders, created exclusively and
    made read-only as an object store does: the file-system cost of one object per file,
    without hashing or reading anything (the floor under any such store's ``add``)."""
    for d in range(256):
        (dest / f"{d:02x}").mkdir(parents=True, exist_ok=True)
    data = bytes(size)
    for i in range(count):
        fd = os.open(f"{dest}/{i % 256:02x}/{i:062d}", os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                     0o600)
        try:
            os.write(fd, data)
            os.fchmod(fd, 0o444)
        finally:
            os.close(fd)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="kind", required=True)
    tree = sub.add_parser("tree", help="FOLDERS x FILES files of SIZE bytes")
    tree.add_argument("dest", type=Path)
    tree.add_argument("--folders", type=int, default=100)
    tree.add_argument("--files", type=int, default=1000)
    tree.add_argument("--size", type=int, default=1024)
    big = sub.add_parser("big", help="one file of SIZE bytes")
    big.add_argument("dest", type=Path)
    big.add_argument("--size", type=int, default=1 << 30)
    for p in (tree, big):
        p.add_argument("--seed", type=int, default=0)
    objects = sub.add_parser("objects", help="COUNT empty-content files as an object store makes")
    objects.add_argument("dest", type=Path)
    objects.add_argument("--count", type=int, default=100_000)
    objects.add_argument("--size", type=int, default=1024)
    args = parser.parse_args(argv)
    if args.kind == "tree":
        make_tree(args.dest, args.folders, args.files, args.size, args.seed)
    elif args.kind == "objects":
        make_objects(args.dest, args.count, args.size)
    else:
        make_big(args.dest, args.size, args.seed)


if __name__ == "__main__":
    main()
