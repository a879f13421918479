"""Resumed transfers and Ctrl-C, against a local moto server over HTTP.

What it shows:

* a push killed (kill -9) at ~60% of a large multipart upload: the fraction of the file's bytes
  the next push sends again (parts it sends, counted at the ``push.after_part`` crash point);
* a clone killed at ~60% of the same object's download: the fraction ``qvc pull`` (which
  finishes a killed clone) downloads again (chunks at ``fetch.after_chunk``);
* Ctrl-C (SIGINT) during a push and a clone whose requests are slowed by a fault proxy
  (tests/faultproxy.py): seconds from the signal to the exit, and the exit code.

Needs moto[server] (the test extra). Everything runs on 127.0.0.1 with fake credentials.

    python bench/bench_resume.py                  # a 256 MiB file, 3 Ctrl-C runs each
    python bench/bench_resume.py --mib 1024 --runs 5
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_s3_clone import environment  # noqa: E402
from qvc.quilt.hashing import chunk_size  # noqa: E402
from tests.faultproxy import FaultProxy  # noqa: E402

NAME = "bench/resume"
DATA = r"^/[^/]+/bench/resume/"


def run(*args: str, cwd: Path, env: dict[str, str],
        extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qvc", *args], cwd=cwd,
                          env={**env, **(extra or {})}, capture_output=True, text=True)


def ok(proc: subprocess.CompletedProcess[str]) -> None:
    if proc.returncode != 0:
        raise SystemExit(f"{proc.args} failed ({proc.returncode}):\n{proc.stderr}")


def points(listing: Path, name: str) -> int:
    return listing.read_text().split().count(name) if listing.exists() else 0


def killed_and_resumed(work: Path, env: dict[str, str], args: list[str], resume: list[str],
                       cwd_resume: Path, point: str, kill_at: int, tmp: Path) -> int:
    """Kill ``qvc ARGS`` at the kill_at-th ``point``, run ``resume``; how many ``point``s the
    resumed run passes."""
    died = run(*args, cwd=work, env=env, extra={"QVC_CRASH_AT": f"{point}:{kill_at}"})
    if died.returncode != -signal.SIGKILL:
        raise SystemExit(f"{point}:{kill_at} not reached:\n{died.stderr}")
    listing = tmp / f"{point}.list"
    listing.unlink(missing_ok=True)
    ok(run(*resume, cwd=cwd_resume, env=env, extra={"QVC_CRASH_LIST": str(listing)}))
    return points(listing, point)


def interrupt(args: list[str], cwd: Path, env: dict[str, str],
              proxy: FaultProxy, method: str) -> tuple[int, float]:
    """SIGINT to ``qvc ARGS`` once a slowed request of ``method`` is under way; (exit code,
    seconds from the signal to the exit)."""
    proxy.clear()
    slow = proxy.add("delay", method=method, path=DATA, times=None, seconds=30)
    process = subprocess.Popen([sys.executable, "-m", "qvc", *args], cwd=cwd, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while slow.hits == 0:
        if process.poll() is not None:
            raise SystemExit(f"{args} ended before a slowed request: {process.stderr}")
        time.sleep(0.02)
    time.sleep(0.5)
    sent = time.perf_counter()
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)
    elapsed = time.perf_counter() - sent
    proxy.clear()
    return process.returncode, elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256, help="size of the big file (MiB)")
    parser.add_argument("--runs", type=int, default=3, help="Ctrl-C runs per command")
    args = parser.parse_args(argv)
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        with tempfile.TemporaryDirectory(prefix="qvc-bench-resume-") as tmp_name:
            tmp = Path(tmp_name)
            env = environment(tmp, endpoint)
            env["PYTHONPATH"] = str(ROOT)
            work = tmp / "work"
            work.mkdir()
            size = args.mib * 2**20
            with open(work / "big.bin", "wb") as out:
                for _ in range(args.mib):
                    out.write(os.urandom(2**20))
            for command in (["init", NAME], ["add", "."], ["commit", "-m", "big"]):
                ok(run(*command, cwd=work, env=env))
            step = chunk_size(size)
            parts = -(-size // step)
            at = round(parts * 0.6)

            client.create_bucket(Bucket="bench-resume")
            url = "s3://bench-resume"
            sent = killed_and_resumed(work, env, ["push", url], ["push", url], work,
                                      "push.after_part", at, tmp)
            print(f"push killed after {at}/{parts} parts of a {args.mib} MiB upload: the next "
                  f"push sent {sent} parts = {sent / parts:.1%} of the bytes again")

            fetched = killed_and_resumed(tmp, env, ["clone", url, NAME, "copy"], ["pull"],
                                         tmp / "copy", "fetch.after_chunk", at, tmp)
            print(f"clone killed after {at}/{parts} chunks of the download: 'qvc pull' fetched "
                  f"{fetched} chunks = {fetched / parts:.1%} of the bytes again")

            small = tmp / "small"
            small.mkdir()
            for i in range(16):
                (small / f"f{i}.bin").write_bytes(os.urandom(2 * 2**20))
            for command in (["init", NAME], ["add", "."], ["commit", "-m", "small"]):
                ok(run(*command, cwd=small, env=env))
            proxy = FaultProxy(endpoint).start()
            penv = {**env, "AWS_ENDPOINT_URL_S3": proxy.url}
            try:
                for verb in ("push", "clone"):
                    times, codes = [], set()
                    for n in range(args.runs):
                        client.create_bucket(Bucket=f"bench-ctrlc-{verb}-{n}")
                        target = f"s3://bench-ctrlc-{verb}-{n}"
                        if verb == "push":
                            code, seconds = interrupt(["push", target], small, penv, proxy, "PUT")
                        else:
                            ok(run("push", target, cwd=small, env=env))
                            code, seconds = interrupt(["clone", target, NAME, f"c{n}"], tmp,
                                                      penv, proxy, "GET")
                        times.append(seconds)
                        codes.add(code)
                    print(f"Ctrl-C during {verb} (requests slowed to 30 s): exit "
                          f"{sorted(codes)} after {statistics.median(times):.2f} s median, "
                          f"{max(times):.2f} s max over {args.runs} runs")
            finally:
                proxy.stop()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
