"""qvc merge of two diverged versions of a large package, timed end to end.

Generates a FOLDERS x FILES tree (``gen.py``), commits it (the merge base), then commits two
lines on top of it, each changing CHANGED different files ("theirs" first, then, after
``qvc checkout`` of the base, "ours"), and times ``qvc merge theirs``, each run merging the
same two versions right after the commit of ours, as a user who commits and then pulls does.

    python bench/bench_merge.py              # full: 100 x 1,000 files, 1,000 changed per side
    python bench/bench_merge.py --quick      # 10 x 10 files, 5 changed: checks the script only
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen  # noqa: E402
from bench_core import Bench, Row, _force_remove, _load, find_qvc, finish, header  # noqa: E402


def edit(tree: Path, keys: list[str], tag: bytes) -> None:
    for key in keys:
        with open(tree / key, "ab") as f:
            f.write(b"changed on " + tag + b"\n")


def prepare(b: Bench, folders: int, files: int, size: int, changed: int) -> Path:
    """A work tree at "ours", with "theirs" a diverged line from the same base."""
    tree = b.work / "tree"
    started = time.perf_counter()
    gen.make_tree(tree, folders, files, size)
    print(f"# generated {folders * files:,} files of {size} B in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    keys = [gen.file_key(d, f) for d in range(folders) for f in range(files)]
    b.seq([b.qvc("init", "bench/merge"), b.qvc("add", "."), b.qvc("commit", "-m", "base"),
           b.qvc("tag", "base")], tree)
    edit(tree, keys[0::2][:changed], b"theirs")
    b.seq([b.qvc("commit", "-a", "-m", "theirs"), b.qvc("tag", "theirs"),
           b.qvc("checkout", "base")], tree)
    edit(tree, keys[1::2][:changed], b"ours")
    b.seq([b.qvc("commit", "-a", "-m", "ours"), b.qvc("tag", "ours")], tree)
    return tree


def bench_merge(b: Bench, tree: Path, n: int, changed: int) -> None:
    """Best of ``repeat`` merges, each from "ours" just committed: before each run (untimed)
    ``qvc checkout --force ours`` undoes the last merge, HEAD's top-hash parts (kept by the
    commit of ours, replaced by each merge's) are put back, and ``qvc status`` refreshes the
    stat cache. The tree is never copied: a copy changes every inode, so the stat cache would
    miss, and moves the object store, so the commit could not reuse ours' rows."""
    parts = tree / ".qvc/cache/parts"
    kept = {p.name: p.read_bytes() for p in parts.iterdir()}
    runs = 0

    def reset() -> None:
        nonlocal runs
        if runs:
            b.run(b.qvc("checkout", "--force", "ours"), tree)
        runs += 1
        for name, data in kept.items():
            (parts / name).write_bytes(data)
        b.run(b.qvc("status"), tree)

    seconds = b.best(b.qvc("merge", "theirs"), tree, before=reset)
    b.add(Row(f"(i) merge of two {n:,}-entry versions, {changed:,} changed keys per side",
              seconds, None, "-", "< 2 s", 2.0, False))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--folders", type=int, default=100)
    p.add_argument("--files", type=int, default=1000, help="files per folder")
    p.add_argument("--size", type=int, default=256, help="bytes per file")
    p.add_argument("--changed", type=int, default=1000, help="files changed on each side")
    p.add_argument("--quick", action="store_true", help="10 x 10 files: checks the script")
    p.add_argument("--repeat", type=int, default=3, help="runs per figure (best of)")
    p.add_argument("--workdir", type=Path, default=None, help="where the temp folder goes")
    p.add_argument("--keep", action="store_true", help="keep the generated data")
    p.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    args = p.parse_args(argv)
    if args.quick:
        args.folders, args.files, args.changed, args.repeat = 10, 10, 5, 2
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="qvc-bench-merge-", dir=args.workdir))
    b = Bench(work, find_qvc(), args.repeat)
    print(f"# qvc: {' '.join(b.qvc_cmd)}; work folder {work}; {os.cpu_count()} CPUs; "
          f"{_load()}\n{header()}", flush=True)
    try:
        tree = prepare(b, args.folders, args.files, args.size, args.changed)
        bench_merge(b, tree, args.folders * args.files, args.changed)
    finally:
        if not args.keep:
            shutil.rmtree(work, onerror=_force_remove)
    return finish(b, args)


if __name__ == "__main__":
    sys.exit(main())
