"""Reading a package's commit records from S3: one GET each, sequential or on a small pool.

What it shows: why ``qvc fetch`` reads the records it lacks on a thread pool
(qvc.remote.recorded). A clone reads every record of the package, one small object per
version, so with hundreds of versions the round trip, not the bytes, sets the time. A moto
server on 127.0.0.1 sits behind tests/faultproxy.py, which delays every GET by ``--rtt``
milliseconds, as a distant region would. Needs moto[server] (the test extra).

    python bench/bench_records.py                  # 300 records, 30 ms
    python bench/bench_records.py --records 1000 --rtt 10
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=300)
    parser.add_argument("--rtt", type=float, default=30.0, help="added per GET, milliseconds")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

    from tests.faultproxy import FaultProxy

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    proxy = FaultProxy(f"http://{host}:{port}").start()
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": proxy.url,
                       "AWS_ENDPOINT_URL": proxy.url, "AWS_EC2_METADATA_DISABLED": "true"})
    try:
        import boto3

        boto3.client("s3", endpoint_url=proxy.url).create_bucket(Bucket="records")
        run(args.records, args.rtt / 1000, proxy)
    finally:
        proxy.stop()
        server.stop()


def run(count: int, rtt: float, proxy: object) -> None:
    from qvc.core.repo import Commit
    from qvc.remote.transfer import concurrency, parallel_map
    from qvc.storage import open_store
    from qvc.storage.registry import Registry

    registry = Registry(open_store("s3://records"))
    parent: str | None = None
    commits = []
    for n in range(count):
        commit = Commit("a" * 64, parent, n, "bench", f"version {n}")
        parent = commit.id
        commits.append(commit)
    parallel_map(lambda c: registry.write_record("bench/pkg", c.id, c.encode()), commits)
    proxy.add("delay", method="GET", times=None, seconds=rtt)  # type: ignore[attr-defined]
    ids = registry.record_ids("bench/pkg")
    start = time.perf_counter()
    for cid in ids:
        registry.read_record("bench/pkg", cid)
    sequential = time.perf_counter() - start
    start = time.perf_counter()
    parallel_map(lambda cid: registry.read_record("bench/pkg", cid), ids)
    pooled = time.perf_counter() - start
    print(f"{len(ids)} records, {rtt * 1000:.0f} ms added per GET: sequential {sequential:.2f} s, "
          f"pool of {concurrency()} {pooled:.2f} s")


if __name__ == "__main__":
    main()
