"""qvc push and clone against S3 (a moto server on 127.0.0.1), beside raw boto3 loops and quilt3.

Generates its own data (FOLDERS x FILES small files of SIZE bytes, plus BIG files of BIG_SIZE
bytes), starts ONE moto server in a separate process (so the clients measured never share a
GIL with it), and runs each contender on a fresh bucket, every one in its own process:

  raw put     8 threads of boto3 ``put_object``, one per file: the server's ceiling
  qvc push    ``qvc push s3://bucket`` of a work tree holding the same files
  re-push     one file changed and committed, ``qvc push`` again (objects uploaded, time)
  raw get     8 threads of ``get_object`` into files: the download ceiling
  qvc clone   ``qvc clone`` of the package pushed above
  quilt3      ``Package.set_dir + push`` when quilt3 is importable, on the small files only:
              moto 5.2.5 leaves ChecksumSHA256 out of CompleteMultipartUpload responses, which
              quilt3 needs for files of 8 MiB and more; qvc push of the same small-file tree
              is timed beside it, so the ratio compares like with like.

Client CPU (user + sys of the contender's process) per object is reported for the uploads.

    python bench/bench_remote.py              # 10 x 1,000 x 4 KiB + 2 x 64 MiB
    python bench/bench_remote.py --quick      # tiny sizes: checks the script only
    python bench/bench_remote.py --skip quilt3 --json rows.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_core  # noqa: E402
import gen  # noqa: E402
from bench_core import Row, find_qvc, header  # noqa: E402

MiB = 1024 * 1024
PACKAGE = "bench/remote"
RAW_THREADS = 8

# Run by the server process: one ThreadedMotoServer on a free port, until stdin closes.
_SERVER = """
import logging, sys
from moto.server import ThreadedMotoServer
logging.getLogger("werkzeug").setLevel(logging.ERROR)
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print("http://%s:%d" % server.get_host_and_port(), flush=True)
sys.stdin.read()
server.stop()
"""

_QUILT3_PUSH = """
import sys, quilt3
quilt3.Package().set_dir(".", sys.argv[1]).push(sys.argv[2], registry=sys.argv[3], force=True)
"""


@dataclass
class Run:
    seconds: float
    cpu: float  # user + sys seconds of the process
    out: str


class Server:
    """The moto server process and a boto3 client of the benchmark's own for setup."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _SERVER], env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        self.endpoint = self.proc.stdout.readline().strip()
        if not self.endpoint:
            raise SystemExit("the moto server did not start")
        self.buckets = 0

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def fresh_bucket(self) -> str:
        self.buckets += 1
        name = f"bench-{self.buckets}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> set[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return {item["Key"] for page in pages for item in page.get("Contents", ())}

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def environment(work: Path, endpoint: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(HOME=str(work / "home"), QVC_CONFIG_DIR=str(work / "qvc-config"),
               QVC_DATA_DIR=str(work / "qvc-data"), AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
               AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_ENDPOINT_URL_S3=endpoint,
               QVC_AUTHOR_NAME="Bench", QVC_AUTHOR_EMAIL="bench@example.com")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    return env


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> Run:
    """Run ``cmd`` to completion: wall time, its CPU time, its stdout (exits on failure)."""
    os.sync()  # no contender pays for flushing another step's dirty pages
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(elapsed, cpu, proc.stdout)


# the raw loops (run as `bench_remote.py raw-put|raw-get ...` in a process of their own) ------


def raw_client(threads: int):  # type: ignore[no-untyped-def]
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(max_pool_connections=threads))


def raw_put(root: Path, bucket: str, prefix: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    client = raw_client(RAW_THREADS)
    files = sorted(p for p in root.rglob("*")
                   if p.is_file() and ".qvc" not in p.relative_to(root).parts)

    def put(path: Path) -> None:
        key = prefix + path.relative_to(root).as_posix()
        client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())

    with ThreadPoolExecutor(RAW_THREADS) as pool:
        list(pool.map(put, files))


def raw_get(bucket: str, prefix: str, keys_file: Path, dest: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    client = raw_client(RAW_THREADS)
    keys = keys_file.read_text().splitlines()

    def get(key: str) -> None:
        target = dest / key
        target.parent.mkdir(parents=True, exist_ok=True)
        body = client.get_object(Bucket=bucket, Key=prefix + key)["Body"]
        with open(target, "wb") as out:
            for block in body.iter_chunks(1 << 20):
                out.write(block)

    with ThreadPoolExecutor(RAW_THREADS) as pool:
        list(pool.map(get, keys))


# the benchmark ------------------------------------------------------------------------------


class Bench:
    def __init__(self, work: Path, server: Server, env: dict[str, str]) -> None:
        self.work, self.server, self.env = work, server, env
        self.qvc_cmd = find_qvc()
        self.rows: list[Row] = []
        self.notes: list[str] = []

    def qvc(self, cwd: Path, *args: str) -> Run:
        return run([*self.qvc_cmd, *args], cwd, self.env)

    def me(self, *args: str) -> Run:
        return run([sys.executable, str(Path(__file__).resolve()), *args], self.work, self.env)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(bench_core._format_row(row), flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"# {text}", flush=True)

    def work_tree(self, name: str, args: argparse.Namespace, big: bool) -> tuple[Path, int]:
        """A committed qvc work tree of the generated files; (its path, number of files)."""
        tree = self.work / name
        n = gen.make_tree(tree, args.folders, args.files, args.size)
        for i in range(args.big if big else 0):
            gen.make_big(tree / "big" / f"big{i}.bin", args.big_size, seed=i)
            n += 1
        self.qvc(tree, "init", PACKAGE)
        self.qvc(tree, "add", ".")
        self.qvc(tree, "commit", "-m", "data")
        return tree, n


def bench_upload(b: Bench, tree: Path, n: int) -> str:
    """raw put vs qvc push, then a re-push after one edit; returns the qvc bucket."""
    raw_bucket = b.server.fresh_bucket()
    raw = b.me("raw-put", str(tree), raw_bucket, PACKAGE + "/")
    bucket = b.server.fresh_bucket()
    push = b.qvc(tree, "push", f"s3://{bucket}", "--json")
    uploaded = json.loads(push.out)["uploaded"]
    b.add(Row(f"push {n:,} files", push.seconds, raw.seconds, "raw 8-thread put_object",
              "<= 1.15x", 1.15, True))
    b.add(Row("client CPU per object (ms)", 1000 * push.cpu / max(uploaded, 1),
              1000 * raw.cpu / n, "raw put loop", "", None, True, "ms"))
    b.note(f"qvc push uploaded {uploaded} objects; CPU qvc {push.cpu:.1f} s, raw {raw.cpu:.1f} s")
    key = gen.file_key(0, 0)
    with open(tree / key, "ab") as f:
        f.write(b"one edit\n")
    b.qvc(tree, "commit", "-a", "-m", "edit")
    before = b.server.keys(bucket)
    again = b.qvc(tree, "push", f"s3://{bucket}", "--json")
    new_keys = sorted(b.server.keys(bucket) - before)
    b.add(Row("re-push after editing one file", again.seconds, None, "", "< 2 s", 2.0, False))
    b.note(f"re-push uploaded {json.loads(again.out)['uploaded']} object(s); new keys: "
           + ", ".join(new_keys))
    return bucket


def bench_download(b: Bench, tree: Path, bucket: str, n: int) -> None:
    """raw parallel get vs qvc clone of the package pushed by :func:`bench_upload`."""
    keys = sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*")
                  if p.is_file() and ".qvc" not in p.relative_to(tree).parts)
    keys_file = b.work / "keys.txt"
    keys_file.write_text("\n".join(keys))
    raw = b.me("raw-get", bucket, PACKAGE + "/", str(keys_file), str(b.work / "raw-get"))
    clone = b.qvc(b.work, "clone", f"s3://{bucket}", PACKAGE, str(b.work / "clone"))
    b.add(Row(f"clone {n:,} files", clone.seconds, raw.seconds, "raw 8-thread get_object",
              "<= 1.15x", 1.15, True))
    b.note(f"CPU: qvc clone {clone.cpu:.1f} s, raw get {raw.cpu:.1f} s")


def bench_quilt3(b: Bench, args: argparse.Namespace) -> None:
    """quilt3 push vs qvc push, both of the small files only (see the module docstring)."""
    tree, n = b.work_tree("small-tree", args, big=False)
    plain = b.work / "small-plain"  # the same files without .qvc/, which quilt3 would upload
    gen.make_tree(plain, args.folders, args.files, args.size)
    q3 = run([sys.executable, "-c", _QUILT3_PUSH, str(plain), PACKAGE,
              f"s3://{b.server.fresh_bucket()}"], b.work, b.env)
    push = b.qvc(tree, "push", f"s3://{b.server.fresh_bucket()}")
    b.add(Row(f"push {n:,} small files", push.seconds, q3.seconds, "quilt3 push",
              "<= 0.6x", 0.6, True))
    b.note(f"CPU: qvc {push.cpu:.1f} s, quilt3 {q3.cpu:.1f} s")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["raw-put"]:
        raw_put(Path(argv[1]), argv[2], argv[3])
        return 0
    if argv[:1] == ["raw-get"]:
        raw_get(argv[1], argv[2], Path(argv[3]), Path(argv[4]))
        return 0
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="qvc-bench-remote-", dir=args.workdir))
    print(f"# load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    server = Server(environment(workdir, ""))
    try:
        b = Bench(workdir, server, environment(workdir, server.endpoint))
        print(header(), flush=True)
        tree, n = b.work_tree("tree", args, big=True)
        bucket = bench_upload(b, tree, n)
        bench_download(b, tree, bucket, n)
        if "quilt3" not in args.skip and quilt3_available():
            bench_quilt3(b, args)
        elif "quilt3" not in args.skip:
            b.note("quilt3 is not importable: its row is left out")
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"# load average at end: {os.getloadavg()[0]:.2f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in b.rows] + [{"notes": b.notes}],
                                        indent=1))
    return 0 if args.quick or all(r.ok is not False for r in b.rows) else 1


def quilt3_available() -> bool:
    try:
        import quilt3  # noqa: F401
    except ImportError:
        return False
    return True


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the script")
    parser.add_argument("--folders", type=int, default=10)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--big", type=int, default=2, help="number of big files")
    parser.add_argument("--big-size", type=int, default=64 * MiB)
    parser.add_argument("--skip", default="", help="comma-separated: quilt3")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    parser.add_argument("--json", type=Path, default=None, help="write the rows here")
    args = parser.parse_args(argv)
    if args.quick:
        args.folders, args.files, args.big_size = 2, 20, 9 * MiB
    args.skip = set(filter(None, args.skip.split(",")))
    return args


if __name__ == "__main__":
    raise SystemExit(main())
