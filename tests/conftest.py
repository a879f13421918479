"""Shared fixtures: an isolated user environment, a CLI runner, and a real moto S3 server.

Every test gets its own HOME and qvc config/data folders, fake AWS credentials, and no
instance-metadata probing, so nothing ever leaves 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faultproxy import FaultProxy

os.environ.setdefault("S3_UPLOAD_PART_MIN_SIZE", "256")

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("QVC_CONFIG_DIR", str(home / ".config/qvc"))
    monkeypatch.setenv("QVC_DATA_DIR", str(home / ".local/share/qvc"))
    monkeypatch.setenv("QUILT_DISABLE_USAGE_METRICS", "true")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Author")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "author@example.com")
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "QVC_DEBUG"):
        monkeypatch.delenv(key, raising=False)
    return home


@dataclass
class Result:
    code: int
    out: str
    err: str


class Qvc:
    """Runs the qvc command line in-process (fast) from a given folder."""

    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self.capsys = capsys
        self.monkeypatch = monkeypatch

    def __call__(self, *args: str, cwd: Path | None = None, ok: bool = True) -> Result:
        from qvc.cli import main

        self.capsys.readouterr()
        if cwd is not None:
            self.monkeypatch.chdir(cwd)
        code = main(list(args))
        captured = self.capsys.readouterr()
        result = Result(code, captured.out, captured.err)
        if ok and code != 0:
            raise AssertionError(f"qvc {' '.join(args)} exited {code}:\n{result.err}")
        return result


@pytest.fixture
def qvc(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Qvc:
    return Qvc(capsys, monkeypatch)


def run_qvc_process(*args: str, cwd: Path, env: dict[str, str] | None = None,
                    timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run qvc as a separate process (for crash, concurrency and traceback tests)."""
    return subprocess.run([sys.executable, "-m", "qvc", *args], cwd=cwd,
                          env=env or dict(os.environ), capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def work(tmp_path: Path, qvc: Qvc) -> Path:
    """A fresh work tree with a few files, initialised as test/pkg."""
    root = tmp_path / "work"
    (root / "data" / "nested").mkdir(parents=True)
    (root / "README.md").write_text("# hello\n")
    (root / "data" / "values.csv").write_text("a,b\n1,2\n")
    (root / "data" / "nested" / "deep.txt").write_text("deep\n")
    qvc("init", "test/pkg", cwd=root)
    return root


@dataclass
class S3Server:
    endpoint: str
    port: int

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def bucket(self, name: str, versioned: bool = False) -> str:
        client = self.client()
        client.create_bucket(Bucket=name)
        if versioned:
            client.put_bucket_versioning(Bucket=name,
                                         VersioningConfiguration={"Status": "Enabled"})
        return f"s3://{name}"


def _atomic_conditional_writes() -> None:
    """Make moto's conditional writes atomic, as S3's are. moto checks If-Match/If-None-Match
    and then writes, with no lock between, so two racing conditional PUTs on its server
    threads could both pass the check: the races qvc relies on S3 to settle would then flake.
    Conditional PUTs and POSTs (CompleteMultipartUpload) are serialised; others run as before."""
    import functools
    import threading

    from moto.s3.responses import S3Response

    if getattr(S3Response, "_qvc_atomic", False):
        return
    lock = threading.Lock()

    def serialised(method):  # type: ignore[no-untyped-def]
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            if "If-Match" in self.headers or "If-None-Match" in self.headers:
                with lock:
                    return method(self, *args, **kwargs)
            return method(self, *args, **kwargs)
        return wrapper

    S3Response._key_response_put = serialised(S3Response._key_response_put)
    S3Response._key_response_post = serialised(S3Response._key_response_post)
    S3Response._qvc_atomic = True


@pytest.fixture(scope="session")
def moto_server() -> Iterator[S3Server]:
    """One moto S3 server on 127.0.0.1 (random port) for the whole session, over real HTTP."""
    from moto.server import ThreadedMotoServer

    _atomic_conditional_writes()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield S3Server(f"http://{host}:{port}", port)
    server.stop()


@pytest.fixture
def s3(moto_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The moto server, with AWS_ENDPOINT_URL_S3 pointing at it for this test."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_server.endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint)
    return moto_server


_bucket_counter = iter(range(1_000_000))


@pytest.fixture
def bucket(s3: S3Server) -> str:
    """A fresh unversioned bucket URL."""
    return s3.bucket(f"test-bucket-{os.getpid()}-{next(_bucket_counter)}")


@pytest.fixture
def versioned_bucket(s3: S3Server) -> str:
    return s3.bucket(f"test-vbucket-{os.getpid()}-{next(_bucket_counter)}", versioned=True)


@pytest.fixture
def proxy(moto_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """A fault proxy (tests/faultproxy.py) in front of the session's moto server; qvc's S3
    endpoint points at it for this test."""
    fault_proxy = FaultProxy(moto_server.endpoint).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", fault_proxy.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", fault_proxy.url)
    try:
        yield fault_proxy
    finally:
        fault_proxy.stop()
