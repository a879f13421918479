"""Fixtures for fault tests: buckets reached through the fault proxy (tests/conftest.py's
``proxy``), and a client that bypasses it."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.conftest import S3Server
from tests.faultproxy import FaultProxy

_names = iter(range(1_000_000))


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
