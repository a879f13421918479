"""qvc core speed against git and cp, all measured in one run on the same machine and files.

Generates its own data in a temporary folder (removed afterwards unless --keep), then times:

  (a) git add -A && git commit   vs  qvc add . && qvc commit      (FOLDERS x FILES x SIZE)
  (b) clean git status           vs  clean qvc status; and both after touching one file
  (c) re-commit after editing one file: git add -A && git commit / git commit -a  vs  the same
      with qvc
  (d) one big file (1 GiB): cp   vs  qvc add && qvc commit
  (e) --million: peak memory (max RSS) of qvc add . && qvc commit on 1,000,000 small files
  (f) qvc --version and qvc status in an empty repository (hyperfine when installed)

    python bench/bench_core.py                 # the full run (100 x 1,000 x 1 KiB, 1 GiB)
    python bench/bench_core.py --quick         # tiny sizes, a few seconds: checks the script
    python bench/bench_core.py --million       # also the 1,000,000-file memory case
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
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen  # noqa: E402

MiB = 1024 * 1024


@dataclass
class Run:
    seconds: float
    max_rss_mb: float


@dataclass
class Row:
    case: str
    qvc: float
    ref: float | None  # the reference tool's figure from this run (seconds), if any
    ref_name: str
    target: str
    limit: float | None  # qvc/ref must be <= limit (ratio), or qvc <= limit (absolute)
    ratio_target: bool
    unit: str = "s"

    @property
    def ratio(self) -> float | None:
        return self.qvc / self.ref if self.ref else None

    @property
    def ok(self) -> bool | None:
        if self.limit is None:
            return None
        value = self.ratio if self.ratio_target else self.qvc
        return None if value is None else value <= self.limit


class Bench:
    """Runs commands in the work folder with an isolated git and qvc configuration."""

    def __init__(self, work: Path, qvc: list[str], repeat: int) -> None:
        self.work = work
        self.qvc_cmd = qvc
        self.repeat = repeat
        self.rows: list[Row] = []
        self.env = _isolated_env(work)

    def run(self, cmd: list[str], cwd: Path) -> Run:
        """Time one command (dirty pages flushed first, so no step pays for another's writes)."""
        os.sync()
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode() if proc.stderr else ""
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}) in {cwd}:\n{err}")
        return Run(elapsed, usage.ru_maxrss / 1024)

    def seq(self, cmds: list[list[str]], cwd: Path) -> Run:
        """Several commands one after the other: total time, largest max RSS."""
        runs = [self.run(c, cwd) for c in cmds]
        return Run(sum(r.seconds for r in runs), max(r.max_rss_mb for r in runs))

    def best(self, cmd: list[str], cwd: Path, before: object = None) -> float:
        """Best of ``repeat`` runs; ``before`` (a callable) runs untimed before each one."""
        times = []
        for _ in range(self.repeat):
            if callable(before):
                before()
            times.append(self.run(cmd, cwd).seconds)
        return min(times)

    def qvc(self, *args: str) -> list[str]:
        return [*self.qvc_cmd, *args]

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(_format_row(row), flush=True)


def _isolated_env(work: Path) -> dict[str, str]:
    config = work / "gitconfig"
    # gc.auto=0: git would otherwise start a background gc after committing 100k loose objects,
    # which would steal CPU from the next measurements (and is not part of git's commit time).
    config.write_text("[user]\n\tname = Bench\n\temail = bench@example.com\n"
                      "[gc]\n\tauto = 0\n[commit]\n\tgpgsign = false\n"
                      "[init]\n\tdefaultBranch = main\n")
    env = dict(os.environ)
    env.update(GIT_CONFIG_GLOBAL=str(config), GIT_CONFIG_NOSYSTEM="1",
               QVC_CONFIG_DIR=str(work / "qvc-config"), QVC_DATA_DIR=str(work / "qvc-data"),
               QVC_AUTHOR_NAME="Bench", QVC_AUTHOR_EMAIL="bench@example.com")
    return env


def find_qvc() -> list[str]:
    """The installed ``qvc`` next to this interpreter, on PATH, or ``python -m qvc``."""
    beside = Path(sys.executable).with_name("qvc")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("qvc")
    return [found] if found else [sys.executable, "-m", "qvc"]


def _format_row(row: Row) -> str:
    ref = f"{row.ref:9.3f}" if row.ref is not None else " " * 9
    ratio = f"{row.ratio:6.2f}x" if row.ratio is not None else " " * 7
    ok = {True: "ok", False: "MISS", None: ""}[row.ok]
    return (f"{row.case:<44} {row.qvc:9.3f} {row.unit:<2} {ref} {row.ref_name:<22} {ratio}"
            f"  {row.target:<12} {ok}")


def header() -> str:
    return (f"{'case':<44} {'qvc':>9}    {'reference':>9} {'':<22} {'ratio':>7}  "
            f"{'target':<12} ok?\n" + "-" * 120)


def bench_tree(b: Bench, folders: int, files: int, size: int) -> None:
    """(a), (b) and (c) on two identical copies of the same generated tree."""
    git_tree, qvc_tree = b.work / "git-tree", b.work / "qvc-tree"
    started = time.perf_counter()
    for tree in (git_tree, qvc_tree):
        gen.make_tree(tree, folders, files, size)
    n = folders * files
    print(f"# generated 2 x {n:,} files of {size} B in {time.perf_counter() - started:.1f} s",
          flush=True)
    b.run(["git", "init", "-q"], git_tree)
    b.run(b.qvc("init", "bench/data"), qvc_tree)
    git_add = b.seq([["git", "add", "-A"], ["git", "commit", "-q", "-m", "data"]], git_tree)
    qvc_add = b.seq([b.qvc("add", "."), b.qvc("commit", "-m", "data")], qvc_tree)
    b.add(Row(f"(a) add+commit {n:,} files", qvc_add.seconds, git_add.seconds,
              "git add -A && commit", "<= 0.5x", 0.5, True))
    b.add(Row("(a) peak memory of add/commit", qvc_add.max_rss_mb, git_add.max_rss_mb,
              "git add -A / commit", "", None, True, "MB"))
    floor = b.run([sys.executable, str(Path(gen.__file__)), "objects", str(b.work / "floor"),
                   "--count", str(n), "--size", str(size)], b.work)
    b.add(Row(f"(a) floor: create {n:,} object files", floor.seconds, git_add.seconds,
              "git add -A && commit", "(reported)", None, True))
    shutil.rmtree(b.work / "floor", onerror=_force_remove)
    bench_status(b, git_tree, qvc_tree, gen.file_key(folders // 2, files // 2))
    bench_recommit(b, git_tree, qvc_tree, folders, files)


def bench_status(b: Bench, git_tree: Path, qvc_tree: Path, key: str) -> None:
    for cmd, cwd in ((["git", "status"], git_tree), (b.qvc("status"), qvc_tree)):
        b.run(cmd, cwd)  # warm up: both tools refresh their stat caches on the first status
    git_s = b.best(["git", "status"], git_tree)
    qvc_s = b.best(b.qvc("status"), qvc_tree)
    b.add(Row("(b) clean status", qvc_s, git_s, "git status", "<= 3x", 3.0, True))

    def toucher(tree: Path) -> object:
        return lambda: os.utime(tree / key)  # new mtime, same content: must be re-read

    git_t = b.best(["git", "status"], git_tree, before=toucher(git_tree))
    qvc_t = b.best(b.qvc("status"), qvc_tree, before=toucher(qvc_tree))
    b.add(Row("(b) status after touching one file", qvc_t, git_t, "git status", "<= 3x", 3.0,
              True))


def bench_recommit(b: Bench, git_tree: Path, qvc_tree: Path, folders: int, files: int) -> None:
    def edit(number: int) -> None:
        key = gen.file_key(number % folders, (number * 7) % files)
        for tree in (git_tree, qvc_tree):
            with open(tree / key, "ab") as f:
                f.write(f"edit {number}\n".encode())

    edit(1)
    git_s = b.seq([["git", "add", "-A"], ["git", "commit", "-q", "-m", "edit"]], git_tree).seconds
    qvc_s = b.seq([b.qvc("add", "."), b.qvc("commit", "-m", "edit")], qvc_tree).seconds
    b.add(Row("(c) edit one file: add . && commit", qvc_s, git_s, "git add -A && commit",
              "< 1 s", 1.0, False))
    edit(2)
    git_s = b.run(["git", "commit", "-q", "-a", "-m", "edit"], git_tree).seconds
    qvc_s = b.run(b.qvc("commit", "-a", "-m", "edit"), qvc_tree).seconds
    b.add(Row("(c) edit one file: commit -a", qvc_s, git_s, "git commit -a", "< 1 s", 1.0, False))


def bench_big(b: Bench, size: int) -> None:
    """(d) one big file: cp of it vs qvc add && qvc commit, page cache warm for both."""
    repo = b.work / "big"
    gen.make_big(repo / "big.bin", size)
    b.run(b.qvc("init", "bench/big"), repo)
    b.run(["cat", str(repo / "big.bin")], repo)  # read once: both start from a warm cache
    copy = b.work / "big-copy.bin"
    cp = b.run(["cp", str(repo / "big.bin"), str(copy)], b.work)
    flush_start = time.perf_counter()
    os.sync()
    cp_sync = cp.seconds + time.perf_counter() - flush_start
    copy.unlink()
    qvc = b.seq([b.qvc("add", "big.bin"), b.qvc("commit", "-m", "big")], repo)
    label = f"{size / MiB / 1024:.0f} GiB" if size >= 1 << 30 else f"{size // MiB} MiB"
    b.add(Row(f"(d) {label} file: add+commit", qvc.seconds, cp.seconds, "cp", "<= 1.2x", 1.2,
              True))
    b.add(Row(f"(d) {label} file: add+commit (vs cp+sync)", qvc.seconds, cp_sync, "cp && sync",
              "", None, True))
    shutil.rmtree(repo, onerror=_force_remove)


def bench_million(b: Bench, folders: int, files: int, size: int) -> None:
    """(e) peak memory committing FOLDERS x FILES small files (1,000,000 by default)."""
    tree = b.work / "million"
    started = time.perf_counter()
    gen.make_tree(tree, folders, files, size)
    n = folders * files
    print(f"# generated {n:,} files in {time.perf_counter() - started:.1f} s", flush=True)
    b.run(b.qvc("init", "bench/million"), tree)
    add = b.run(b.qvc("add", "."), tree)
    commit = b.run(b.qvc("commit", "-m", "million"), tree)
    peak = max(add.max_rss_mb, commit.max_rss_mb)
    b.add(Row(f"(e) {n:,} files: peak memory", peak, None, "", "<= 600 MB", 600, False, "MB"))
    b.add(Row(f"(e) {n:,} files: add+commit time", add.seconds + commit.seconds, None, "", "",
              None, False))
    shutil.rmtree(tree, onerror=_force_remove)


def bench_startup(b: Bench, runs: int) -> None:
    """(f) qvc --version and qvc status in an empty repository."""
    empty = b.work / "empty"
    empty.mkdir()
    b.run(b.qvc("init", "bench/empty"), empty)
    for case, args in (("(f) qvc --version", ["--version"]),
                       ("(f) qvc status, empty repository", ["status"])):
        seconds = _startup_time(b, b.qvc(*args), empty, runs)
        b.add(Row(case, seconds, None, "", "<= 0.15 s", 0.15, False))


def _startup_time(b: Bench, cmd: list[str], cwd: Path, runs: int) -> float:
    """Mean of hyperfine (no shell) when installed, else best of ``runs`` in a loop."""
    hyperfine = shutil.which("hyperfine")
    if hyperfine is None:
        return min(b.run(cmd, cwd).seconds for _ in range(runs))
    out = b.work / "hyperfine.json"
    subprocess.run([hyperfine, "-N", "--warmup", "3", "--runs", str(runs), "--export-json",
                    str(out), subprocess.list2cmdline(cmd)], cwd=cwd, env=b.env, check=True,
                   stdout=subprocess.DEVNULL)
    return float(json.loads(out.read_text())["results"][0]["mean"])


def _force_remove(func: object, path: str, _exc: object) -> None:
    """Objects are read-only; make their folder writable and retry."""
    os.chmod(os.path.dirname(path), 0o755)
    os.chmod(path, 0o644)
    os.unlink(path) if not os.path.isdir(path) else os.rmdir(path)


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--folders", type=int, default=100)
    p.add_argument("--files", type=int, default=1000, help="files per folder")
    p.add_argument("--size", type=int, default=1024, help="bytes per small file")
    p.add_argument("--big-size", type=int, default=1 << 30, help="bytes of the big file")
    p.add_argument("--quick", action="store_true",
                   help="10 x 10 files, a 20 MiB big file, few repeats: checks the script")
    p.add_argument("--million", action="store_true", help="also commit 1,000,000 files (e)")
    p.add_argument("--skip", default="", help="comma list of cases to skip: tree,big,startup")
    p.add_argument("--repeat", type=int, default=5, help="runs per status figure (best of)")
    p.add_argument("--workdir", type=Path, default=None, help="where the temp folder goes")
    p.add_argument("--keep", action="store_true", help="keep the generated data")
    p.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    args = p.parse_args(argv)
    if args.quick:
        args.folders, args.files, args.big_size, args.repeat = 10, 10, 20 * MiB, 2
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    work = Path(tempfile.mkdtemp(prefix="qvc-bench-", dir=args.workdir))
    b = Bench(work, find_qvc(), args.repeat)
    print(f"# qvc: {' '.join(b.qvc_cmd)}; work folder {work}; {os.cpu_count()} CPUs; "
          f"{_load()}\n{header()}", flush=True)
    try:
        if "tree" not in skip:
            bench_tree(b, args.folders, args.files, args.size)
        if "big" not in skip:
            bench_big(b, args.big_size)
        if args.million:
            bench_million(b, 1000, 1000, args.size)
        if "startup" not in skip:
            bench_startup(b, 3 if args.quick else 20)
    finally:
        if not args.keep:
            shutil.rmtree(work, onerror=_force_remove)
    return finish(b, args)


def finish(b: Bench, args: argparse.Namespace) -> int:
    """Print the closing load line, write --json rows; exit 1 if a target was missed."""
    print(f"# {_load()} (other work on the machine skews every figure)", flush=True)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) | {"ratio": r.ratio, "ok": r.ok}
                                         for r in b.rows], indent=2))
    return 0 if all(r.ok is not False for r in b.rows) or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
