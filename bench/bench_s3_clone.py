"""Wall time of ``qvc clone`` of a small package from S3 (a local moto server over HTTP).

What it shows: the fixed cost a clone pays besides moving bytes (Python start-up, S3 client
creation, registry reads), which dominates for small packages. Needs moto[server] (the test
extra). Everything runs on 127.0.0.1 with fake credentials.

    python bench/bench_s3_clone.py               # 10 clones, best and median
    python bench/bench_s3_clone.py --runs 30
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def qvc(*args: str, cwd: Path, env: dict[str, str]) -> float:
    """Run ``python -m qvc ARGS``; its wall time in seconds (exits on failure)."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "qvc", *args], cwd=cwd, env=env,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"qvc {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed


def environment(work: Path, endpoint: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(HOME=str(work), QVC_CONFIG_DIR=str(work / "config"),
               QVC_DATA_DIR=str(work / "data"), AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
               AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_ENDPOINT_URL_S3=endpoint,
               QVC_AUTHOR_NAME="Bench", QVC_AUTHOR_EMAIL="bench@example.com")
    env.pop("AWS_PROFILE", None)
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="clones to time (default 10)")
    args = parser.parse_args(argv)
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id="testing",
                     aws_secret_access_key="testing").create_bucket(Bucket="bench")
        with tempfile.TemporaryDirectory(prefix="qvc-bench-clone-") as tmp:
            work = Path(tmp)
            env = environment(work, endpoint)
            source = work / "source"
            (source / "data").mkdir(parents=True)
            for i in range(3):
                (source / "data" / f"file{i}.csv").write_text(f"a,b\n{i},{i * i}\n")
            qvc("init", "bench/small", cwd=source, env=env)
            qvc("add", ".", cwd=source, env=env)
            qvc("commit", "-m", "small", cwd=source, env=env)
            qvc("push", "s3://bench", cwd=source, env=env)
            times = [qvc("clone", "s3://bench", "bench/small", f"copy{i}", cwd=work, env=env)
                     for i in range(args.runs)]
    finally:
        server.stop()
    print(f"qvc clone of a 3-file package from moto, {args.runs} runs: "
          f"best {min(times):.3f} s, median {statistics.median(times):.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
