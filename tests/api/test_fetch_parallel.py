"""Package.browse(...).fetch() from S3: each distinct object read once, many at a time."""

from __future__ import annotations

import os
import time
from pathlib import Path

import qvc
from tests.conftest import S3Server
from tests.faultproxy import FaultProxy

DATA = r"^/[^/]+/test/fetch/"


def test_fetch_from_s3_is_parallel_and_reads_each_object_once(proxy: FaultProxy,
                                                              moto_server: S3Server,
                                                              tmp_path: Path) -> None:
    url = moto_server.bucket(f"fetch-{os.getpid()}")
    source = tmp_path / "source"
    source.mkdir()
    package = qvc.Package()
    for i in range(8):
        body = os.urandom(1000 + i)
        for copy in ("a", "b"):  # the same bytes under two keys (two physical keys)
            path = source / f"{copy}{i}.bin"
            path.write_bytes(body)
            package.set(f"{copy}/{i}.bin", str(path))
    package.push("test/fetch", registry=url)
    proxy.clear()
    proxy.add("delay", method="GET", path=DATA, times=None, seconds=1)
    browsed = qvc.Package.browse("test/fetch", registry=url)
    started = time.monotonic()
    fetched = browsed.fetch(tmp_path / "out")
    elapsed = time.monotonic() - started
    assert len(proxy.requests("GET", DATA)) == 8  # one read per distinct content, not 16
    assert elapsed < 4, elapsed  # 8 s one after the other
    for key in [f"{c}/{i}.bin" for c in "ab" for i in range(8)]:
        copy = tmp_path / "out" / key
        assert copy.read_bytes() == (source / key.replace("/", "")).read_bytes()
        assert fetched[key].physical_key == copy.resolve().as_uri()
