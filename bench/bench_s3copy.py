"""Pushing data that already lives in S3 to another bucket: bytes the client reads, wall time,
qvc beside quilt3 8, all on one local moto server over HTTP, in one run.

A counting proxy (tests/faultproxy.py) sits between both clients and moto: it counts the
response bytes each client reads and the request bytes it sends, and with ``--rate`` it paces
them like a link of that bandwidth (each way, shared by all connections).

Scenarios (fresh destination buckets for each tool):

1. ``set_dir`` from an ``s3://`` prefix (4 MiB objects, 120 MiB) + push to another bucket.
2. ``browse`` + push of a 140 MiB package (4 MiB objects and one 20 MiB object) to another
   bucket.
3. Scenario 2 through a link paced at ``--rate`` MiB/s (default 25); 3b the same with the
   4 MiB objects only, which quilt3 can copy on moto (it fails on the part copies of larger
   ones: moto 5.2.5 omits their checksums).
4. ``set_dir`` + push of ``--small`` 1 KiB objects (default 10,000): objects per second.

    python bench/bench_s3copy.py              # everything
    python bench/bench_s3copy.py --quick      # small sizes: checks the script only
    python bench/bench_s3copy.py --skip 3,4 --json rows.json

Needs moto[server] and quilt3 (the test extras). Everything runs on 127.0.0.1 with fake
credentials; the data is random bytes.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.faultproxy import FaultProxy  # noqa: E402

MIB = 1 << 20


@dataclass
class Row:
    scenario: str
    tool: str
    objects: int
    data_bytes: int
    seconds: float
    bytes_read: int  # response bytes the client read
    bytes_sent: int  # request bytes the client sent
    error: str = ""

    @property
    def read_share(self) -> float:
        return self.bytes_read / self.data_bytes if self.data_bytes else 0.0


class Bench:
    def __init__(self, endpoint: str, proxy: FaultProxy, work: Path, tools: set[str]) -> None:
        import boto3

        self.client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                                   aws_access_key_id="testing", aws_secret_access_key="testing")
        self.proxy = proxy
        self.work = work
        self.tools = tools
        self.count = 0

    def bucket(self, stem: str) -> str:
        self.count += 1
        name = f"{stem}-{self.count}"
        self.client.create_bucket(Bucket=name)
        return name

    def upload(self, bucket: str, prefix: str, sizes: list[int]) -> int:
        """Random objects straight into moto (not through the proxy); returns the bytes."""
        def put(item: tuple[int, int]) -> None:
            index, size = item
            self.client.put_object(Bucket=bucket, Key=f"{prefix}obj{index:05d}.bin",
                                   Body=os.urandom(size))

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(put, enumerate(sizes)))
        return sum(sizes)

    def measure(self, scenario: str, tool: str, objects: int, nbytes: int,
                action: Callable[[], object]) -> Row | None:
        if tool not in self.tools:
            return None
        self.proxy.clear()
        start = time.perf_counter()
        error = ""
        try:
            action()
        except Exception as exc:  # a tool failing is a result to report, not a crash
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
        seconds = time.perf_counter() - start
        row = Row(scenario, tool, objects, nbytes, seconds, self.proxy.bytes_down,
                  self.proxy.bytes_up, error)
        show(row)
        return row


def show(row: Row) -> None:
    rate = f"{row.objects / row.seconds:8.1f} obj/s" if row.seconds else ""
    text = (f"{row.scenario:<34} {row.tool:<7} {row.objects:>6} obj {row.data_bytes / MIB:8.1f} "
            f"MiB {row.seconds:8.2f} s {rate}  read {row.bytes_read / MIB:8.2f} MiB "
            f"({row.read_share:6.1%})  sent {row.bytes_sent / MIB:7.2f} MiB")
    print(text + (f"  FAILED {row.error}" if row.error else ""), flush=True)


def set_dir_push(b: Bench, scenario: str, sizes: list[int]) -> list[Row]:
    import quilt3

    import qvc

    source = b.bucket("src")
    nbytes = b.upload(source, "data/", sizes)
    rows: list[Row | None] = []
    dest = b.bucket("qvc-dst")
    rows.append(b.measure(scenario, "qvc", len(sizes), nbytes, lambda: qvc.Package().set_dir(
        ".", f"s3://{source}/data/").push("bench/setdir", registry=f"s3://{dest}")))
    dest = b.bucket("q3-dst")
    rows.append(b.measure(scenario, "quilt3", len(sizes), nbytes, lambda: quilt3.Package(
        ).set_dir(".", f"s3://{source}/data/").push("bench/setdir", registry=f"s3://{dest}",
                                                    force=True)))
    return [row for row in rows if row is not None]


def browse_push(b: Bench, scenario: str, sizes: list[int]) -> list[Row]:
    import quilt3

    import qvc

    origin = b.bucket("origin")
    nbytes = b.upload(origin, "stage/", sizes)
    b.proxy.rate, rate = None, b.proxy.rate
    qvc.Package().set_dir(".", f"s3://{origin}/stage/").push("bench/pkg",
                                                             registry=f"s3://{origin}")
    b.proxy.rate = rate
    rows: list[Row | None] = []
    dest = b.bucket("qvc-copy")
    rows.append(b.measure(scenario, "qvc", len(sizes), nbytes, lambda: qvc.Package.browse(
        "bench/pkg", registry=f"s3://{origin}").push("bench/pkg", registry=f"s3://{dest}")))
    dest = b.bucket("q3-copy")
    rows.append(b.measure(scenario, "quilt3", len(sizes), nbytes, lambda: quilt3.Package.browse(
        "bench/pkg", registry=f"s3://{origin}").push("bench/pkg", registry=f"s3://{dest}",
                                                     force=True)))
    return [row for row in rows if row is not None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (checks the script)")
    parser.add_argument("--rate", type=float, default=25.0, help="paced link, MiB/s (scenario 3)")
    parser.add_argument("--small", type=int, default=10_000, help="objects in scenario 4")
    parser.add_argument("--skip", default="", help="scenarios to skip, e.g. 3,4")
    parser.add_argument("--tools", default="qvc,quilt3", help="which tools to run")
    parser.add_argument("--json", type=Path, help="write the rows to this file")
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    proxy = FaultProxy(endpoint).start()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="qvc-bench-s3copy-") as tmp:
        work = Path(tmp)
        os.environ.update(
            HOME=str(work), QVC_CONFIG_DIR=str(work / "config"), QVC_DATA_DIR=str(work / "data"),
            XDG_CACHE_HOME=str(work / "cache"), XDG_DATA_HOME=str(work / "xdg"),
            AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
            AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
            AWS_ENDPOINT_URL_S3=proxy.url, AWS_ENDPOINT_URL=proxy.url)
        os.environ.pop("AWS_PROFILE", None)
        bench = Bench(endpoint, proxy, work, set(args.tools.split(",")))
        unit = MIB // 8 if args.quick else 4 * MIB
        small = 200 if args.quick else args.small
        print(f"load average at start: {os.getloadavg()}", flush=True)
        try:
            if "1" not in skip:
                rows += set_dir_push(bench, "1 set_dir s3:// + push (120 MiB)", [unit] * 30)
            package = [unit] * 30 + [(MIB if args.quick else 20 * MIB)]
            if "2" not in skip:
                rows += browse_push(bench, "2 browse + push (140 MiB)", package)
            if "3" not in skip:
                proxy.rate = args.rate * MIB
                rows += browse_push(bench, f"3 same at {args.rate:g} MiB/s", package)
                # moto 5.2.5 leaves part checksums out, which quilt3 cannot copy around:
                # compare on the objects it copies (one chunk or less)
                rows += browse_push(bench, f"3b 120 MiB of 4 MiB at {args.rate:g} MiB/s",
                                    [unit] * 30)
                proxy.rate = None
            if "4" not in skip:
                rows += set_dir_push(bench, f"4 {small} x 1 KiB set_dir + push",
                                     [1024] * small)
        finally:
            proxy.stop()
            server.stop()
    print(f"load average at end: {os.getloadavg()}", flush=True)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) | {"read_share": r.read_share} for r in rows],
                                        indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
