"""qvc.config(catalog) / qvc.login() / qvc.logout() against a catalog served on 127.0.0.1."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import qvc
from qvc.conf import userconfig
from qvc.errors import CredentialsError, RemoteError, UsageError
from qvc.remote import catalog as catalog_module
from tests.catalog_server import REFRESH_TOKEN, Catalog, serve
from tests.conftest import Qvc, S3Server


@pytest.fixture
def catalog() -> Iterator[Catalog]:
    with serve() as served:
        yield served


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing in the AWS chain: S3 works only with credentials from the catalog."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)


def files() -> list[Path]:
    return [userconfig.data_dir() / "auth.json", userconfig.data_dir() / "credentials.json"]


def test_config_reads_the_catalogs_config_json(catalog: Catalog) -> None:
    settings = qvc.config(catalog.url + "/")
    assert settings["navigator_url"] == catalog.url
    assert settings["registryUrl"] == catalog.url + "/api-base"
    assert catalog.calls == ["GET /config.json"]


def test_login_gets_credentials_that_work_for_s3(catalog: Catalog, bucket: str,
                                                 no_aws_credentials: None, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("data\n")
    with pytest.raises(CredentialsError):
        qvc.Package().set("f.txt", str(tmp_path / "f.txt")).push("test/pkg", bucket)
    qvc.config(catalog.url)
    qvc.login(REFRESH_TOKEN)
    assert catalog.calls[-2:] == ["POST /api-base/api/token",
                                  "GET /api-base/api/auth/get_credentials"]
    for path in files():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    creds = json.loads(files()[1].read_text())
    assert creds["AccessKeyId"] == "CATALOGKEY"
    pushed = qvc.Package().set("f.txt", str(tmp_path / "f.txt")).push("test/pkg", bucket)
    assert pushed["f.txt"].get_bytes() == b"data\n"  # type: ignore[union-attr]
    qvc.logout()
    assert [json.loads(p.read_text()) for p in files()] == [{}, {}]
    with pytest.raises(CredentialsError):
        qvc.Package.browse("test/pkg", bucket)


def test_login_reads_the_token_from_the_environment(catalog: Catalog,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    qvc.config(catalog.url)
    monkeypatch.setenv("QVC_CATALOG_TOKEN", REFRESH_TOKEN)
    qvc.login()
    assert json.loads(files()[0].read_text())[catalog.url + "/api-base"]["access_token"]


def test_credentials_are_refreshed_before_they_expire(catalog: Catalog) -> None:
    catalog.access_ttl = catalog.credentials_ttl = 30  # inside the one-minute margin
    qvc.config(catalog.url)
    qvc.login(REFRESH_TOKEN)
    before = len(catalog.calls)
    fresh = catalog_module.current_credentials()
    assert fresh["access_key"] == "CATALOGKEY"
    assert catalog.calls[before:] == ["POST /api-base/api/token",
                                      "GET /api-base/api/auth/get_credentials"]
    auth = json.loads(files()[0].read_text())[catalog.url + "/api-base"]
    assert auth["refresh_token"] == "refresh-2"  # the rotated token was stored


def test_login_errors_are_clear(catalog: Catalog) -> None:
    with pytest.raises(UsageError) as not_configured:
        qvc.login("token")
    assert "qvc.config" in not_configured.value.hint
    qvc.config(catalog.url)
    with pytest.raises(CredentialsError):
        qvc.login("not-a-valid-token")
    assert not any(os.path.exists(p) for p in files())
    with pytest.raises(RemoteError):
        qvc.config("http://127.0.0.1:9/")  # nothing listens there
    with pytest.raises(UsageError):
        qvc.config("ftp://catalog")


@pytest.fixture
def cli(qvc: Qvc) -> Qvc:  # the module name qvc is taken by the library
    return qvc


def test_remote_add_and_first_push_use_the_catalog_login(
        catalog: Catalog, bucket: str, s3: S3Server, no_aws_credentials: None, cli: Qvc,
        work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With only a catalog login, probing an S3 remote and pushing to it both work."""
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name)  # the remote's --endpoint-url is what reaches the server
    qvc.config(catalog.url)
    qvc.login(REFRESH_TOKEN)
    added = cli("remote", "add", "origin", bucket, "--endpoint-url", s3.endpoint, cwd=work)
    assert "conditional writes" not in added.err
    cli("add", ".", cwd=work)
    cli("commit", "-m", "first", cwd=work)
    cli("push", cwd=work)
    latest = s3.client().get_object(Bucket=bucket[len("s3://"):],
                                    Key=".quilt/named_packages/test/pkg/latest")
    assert latest["Body"].read().decode() in cli("show", cwd=work).out
