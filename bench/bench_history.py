"""qvc checkout and diff against git, measured in one run on the same machine and files.

Generates its own data (``gen.py``) in a temporary folder, commits it twice in qvc and in git
(the second commit changes one file), then times:

  (g) checkout of a FOLDERS x FILES commit into an empty work tree: every data file is deleted
      (untimed), then ``git checkout -q -f REV``  vs  ``qvc checkout --force REV``, REV being
      the other commit, so both tools move HEAD, rebuild their index and write every file
  (h) ``qvc diff V1 V2`` between the two commits (one file differs)  vs  ``git diff --stat``

    python bench/bench_history.py              # full: 100 x 1,000 x 1 KiB
    python bench/bench_history.py --quick      # 10 x 10 files: checks the script only
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

_KEEP = {".git", ".qvc"}  # everything else at the top of a work tree is benchmark data


def prepare(b: Bench, folders: int, files: int, size: int) -> tuple[Path, Path]:
    """Two identical trees, each committed twice (v1, then v2 with one file changed)."""
    git_tree, qvc_tree = b.work / "git-tree", b.work / "qvc-tree"
    started = time.perf_counter()
    for tree in (git_tree, qvc_tree):
        gen.make_tree(tree, folders, files, size)
    print(f"# generated 2 x {folders * files:,} files of {size} B in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    b.seq([["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "v1"],
           ["git", "tag", "v1"]], git_tree)
    b.seq([b.qvc("init", "bench/history"), b.qvc("add", "."), b.qvc("commit", "-m", "v1"),
           b.qvc("tag", "v1")], qvc_tree)
    key = gen.file_key(folders // 2, files // 2)
    for tree in (git_tree, qvc_tree):
        with open(tree / key, "ab") as f:
            f.write(b"one change\n")
    b.seq([["git", "commit", "-q", "-a", "-m", "v2"], ["git", "tag", "v2"]], git_tree)
    b.seq([b.qvc("commit", "-a", "-m", "v2"), b.qvc("tag", "v2")], qvc_tree)
    return git_tree, qvc_tree


def empty_work_tree(tree: Path) -> None:
    """Delete every data file and folder, leaving the repository (.git or .qvc) alone."""
    for child in tree.iterdir():
        if child.name not in _KEEP:
            shutil.rmtree(child) if child.is_dir() else child.unlink()


def count_files(tree: Path) -> int:
    return sum(len(names) for top, _, names in os.walk(tree)
               if not (set(Path(top).relative_to(tree).parts[:1]) & _KEEP))


def bench_checkout(b: Bench, git_tree: Path, qvc_tree: Path, n: int) -> None:
    """(g): best of ``repeat`` checkouts into an emptied work tree, alternating v1 and v2."""
    git_times, sync_times, qvc_times = [], [], []
    for run in range(b.repeat):
        rev = ("v1", "v2")[run % 2]
        empty_work_tree(git_tree)
        git_times.append(b.run(["git", "checkout", "-q", "-f", rev], git_tree).seconds)
        flush_start = time.perf_counter()
        os.sync()  # git leaves its files to the kernel; qvc flushes them before its index
        sync_times.append(git_times[-1] + time.perf_counter() - flush_start)
        empty_work_tree(qvc_tree)
        qvc_times.append(b.run(b.qvc("checkout", "--force", rev), qvc_tree).seconds)
        for tree in (git_tree, qvc_tree):  # both did the whole job
            if count_files(tree) != n:
                raise SystemExit(f"{tree} holds {count_files(tree)} files after checkout, not {n}")
    b.add(Row(f"(g) checkout {n:,} files into an empty tree", min(qvc_times), min(git_times),
              "git checkout -f", "<= 1.5x", 1.5, True))
    b.add(Row("(g) same, against git checkout + sync", min(qvc_times), min(sync_times),
              "git checkout -f && sync", "", None, True))


def bench_diff(b: Bench, git_tree: Path, qvc_tree: Path) -> None:
    """(h): best of ``repeat`` diffs between the two commits (one file differs)."""
    b.run(b.qvc("diff", "v1", "v2"), qvc_tree)  # warm up both: manifests and packs in cache
    b.run(["git", "diff", "--stat", "v1", "v2"], git_tree)
    qvc_s = b.best(b.qvc("diff", "v1", "v2"), qvc_tree)
    git_s = b.best(["git", "diff", "--stat", "v1", "v2"], git_tree)
    b.add(Row("(h) diff of two commits, one file differs", qvc_s, git_s, "git diff --stat",
              "< 1 s", 1.0, False))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--folders", type=int, default=100)
    p.add_argument("--files", type=int, default=1000, help="files per folder")
    p.add_argument("--size", type=int, default=1024, help="bytes per file")
    p.add_argument("--quick", action="store_true", help="10 x 10 files: checks the script")
    p.add_argument("--repeat", type=int, default=3, help="runs per figure (best of)")
    p.add_argument("--workdir", type=Path, default=None, help="where the temp folder goes")
    p.add_argument("--keep", action="store_true", help="keep the generated data")
    p.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    args = p.parse_args(argv)
    if args.quick:
        args.folders, args.files, args.repeat = 10, 10, 2
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="qvc-bench-history-", dir=args.workdir))
    b = Bench(work, find_qvc(), args.repeat)
    print(f"# qvc: {' '.join(b.qvc_cmd)}; work folder {work}; {os.cpu_count()} CPUs; "
          f"{_load()}\n{header()}", flush=True)
    try:
        git_tree, qvc_tree = prepare(b, args.folders, args.files, args.size)
        bench_checkout(b, git_tree, qvc_tree, args.folders * args.files)
        bench_diff(b, git_tree, qvc_tree)
    finally:
        if not args.keep:
            shutil.rmtree(work, onerror=_force_remove)
    return finish(b, args)


if __name__ == "__main__":
    sys.exit(main())
