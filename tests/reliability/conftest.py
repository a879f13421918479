"""Fixtures for fault tests: a fault proxy in front of moto, and buckets reached through it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import S3Server
from tests.reliability.faultproxy import FaultProxy

_names = iter(range(1_000_000))


@pytest.fixture
def proxy(moto_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """A fault proxy in front of the session's moto server; qvc's S3 endpoint points at it."""
    fault_proxy = FaultProxy(moto_server.endpoint).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", fault_proxy.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", fault_proxy.url)
    try:
        yield fault_proxy
    finally:
        fault_proxy.stop()


@pytest.fixture
def direct(moto_server: S3Server) -> Any:
    """A boto3 client talking to moto directly: the test's view of what really is stored."""
    return moto_server.client()


@pytest.fixture
def proxied_bucket(proxy: FaultProxy, moto_server: S3Server) -> str:
    """A fresh unversioned bucket (created behind the proxy's back), as ``s3://name``."""
    return moto_server.bucket(f"fault-{os.getpid()}-{next(_names)}")


@pytest.fixture
def proxied_versioned_bucket(proxy: FaultProxy, moto_server: S3Server) -> str:
    return moto_server.bucket(f"fault-v-{os.getpid()}-{next(_names)}", versioned=True)
