"""Remotes and settings through the command line, and how commands pick their registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qvc.core.repo import Repo
from qvc.errors import NoRemote, NotARepository, UsageError
from qvc.remote.remotes import RemoteSpec, open_remote, resolve_remote
from tests.conftest import Qvc, S3Server
from tests.faultproxy import FaultProxy


def config_of(work: Path) -> dict[str, object]:
    return json.loads((work / ".qvc" / "config.json").read_text())  # type: ignore[no-any-return]


# qvc remote ------------------------------------------------------------------------------------


def test_first_remote_becomes_default(qvc: Qvc, work: Path, tmp_path: Path) -> None:
    out = qvc("remote", "add", "origin", "../registry", cwd=work).out
    assert "origin" in out and "(default)" in out
    qvc("remote", "add", "backup", f"file://{tmp_path}/backup", cwd=work)
    config = config_of(work)
    assert config["default_remote"] == "origin"
    assert config["remotes"] == {
        "origin": {"url": str(tmp_path / "registry"), "dest": None, "endpoint_url": None,
                   "profile": None, "conditional_writes": None},
        "backup": {"url": str(tmp_path / "backup"), "dest": None, "endpoint_url": None,
                   "profile": None, "conditional_writes": None},
    }
    assert not (tmp_path / "registry").exists()  # created by the first push, not here
    lines = qvc("remote", "list", cwd=work).out.splitlines()
    assert lines == [f"  backup\t{tmp_path / 'backup'}", f"* origin\t{tmp_path / 'registry'}"]


def test_default_can_be_chosen_and_changed(qvc: Qvc, work: Path, tmp_path: Path) -> None:
    qvc("remote", "add", "a", str(tmp_path / "a"), "--no-default", cwd=work)
    assert config_of(work)["default_remote"] is None
    qvc("remote", "add", "b", str(tmp_path / "b"), cwd=work)
    qvc("remote", "add", "c", str(tmp_path / "c"), "--default", cwd=work)
    assert config_of(work)["default_remote"] == "c"
    qvc("remote", "default", "a", cwd=work)
    listed = json.loads(qvc("remote", "list", "--json", cwd=work).out)
    assert listed["default"] == "a"
    assert [r["name"] for r in listed["remotes"]] == ["a", "b", "c"]


def test_remove_forgets_the_remote_and_the_default(qvc: Qvc, work: Path, tmp_path: Path) -> None:
    qvc("remote", "add", "origin", str(tmp_path / "r"), cwd=work)
    qvc("remote", "remove", "origin", cwd=work)
    assert config_of(work)["remotes"] == {} and config_of(work)["default_remote"] is None
    result = qvc("remote", "remove", "origin", cwd=work, ok=False)
    assert result.code == 2 and "no remote named 'origin'" in result.err


@pytest.mark.parametrize(("args", "message", "hint"), [
    (["origin", "s3://bucket/some/prefix"], "not a folder in it", "--dest some/prefix"),
    (["origin", "gs://bucket"], "unsupported registry URL scheme 'gs'", "s3://bucket or a folder"),
    (["origin", "s3://bucket", "--dest", "s3://other/x", "--no-probe"], "outside the registry",
     "own bucket"),
    (["origin", "./folder", "--dest", "x"], "--dest only applies to S3", "namespace"),
    (["origin", "./folder", "--profile", "p"], "only apply to S3 registries", "no endpoint"),
    (["bad/name", "./folder"], "invalid remote name", "origin"),
    (["origin", "file://host/x"], "unsupported file URL", "file:///absolute/path"),
])
def test_bad_remotes_are_refused(qvc: Qvc, work: Path, args: list[str], message: str,
                                 hint: str) -> None:
    result = qvc("remote", "add", *args, cwd=work, ok=False)
    assert result.code == 2
    error, hint_line = result.err.splitlines()
    assert message in error and hint_line.startswith("hint: ") and hint in hint_line
    assert "Traceback" not in result.err and config_of(work)["remotes"] == {}


def test_duplicate_names_are_refused(qvc: Qvc, work: Path, tmp_path: Path) -> None:
    qvc("remote", "add", "origin", str(tmp_path / "r"), cwd=work)
    result = qvc("remote", "add", "origin", str(tmp_path / "s"), cwd=work, ok=False)
    assert result.code == 2 and "already exists" in result.err
    assert config_of(work)["remotes"]["origin"]["url"] == str(tmp_path / "r")  # type: ignore[index]


def test_remote_outside_a_work_tree(qvc: Qvc, tmp_path: Path) -> None:
    result = qvc("remote", "list", cwd=tmp_path, ok=False)
    assert result.code == 3 and "qvc init" in result.err


# probing S3 remotes ------------------------------------------------------------------------------


def test_s3_remote_on_a_versioned_bucket(qvc: Qvc, work: Path, versioned_bucket: str,
                                         s3: S3Server, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "aws-config").write_text(
        "[profile team]\naws_access_key_id = team\naws_secret_access_key = team\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    result = qvc("remote", "add", "origin", versioned_bucket, "--dest", "data/pkg",
                 "--profile", "team", cwd=work)
    assert result.err == ""  # no warnings: conditional writes honoured, versioning on
    entry = config_of(work)["remotes"]["origin"]  # type: ignore[index]
    assert entry == {"url": versioned_bucket, "dest": "data/pkg", "endpoint_url": None,
                     "profile": "team", "conditional_writes": True}
    leftovers = s3.client().list_object_versions(Bucket=versioned_bucket[5:])
    assert "Versions" not in leftovers and "DeleteMarkers" not in leftovers  # probe cleaned up


def test_s3_remote_on_an_unversioned_bucket_warns(qvc: Qvc, work: Path, bucket: str,
                                                  s3: S3Server) -> None:
    result = qvc("remote", "add", "origin", bucket, cwd=work)
    assert result.err.count("warning:") == 1 and "not versioned" in result.err
    assert "KeyCount" in (listing := s3.client().list_objects_v2(Bucket=bucket[5:]))
    assert listing["KeyCount"] == 0


def test_missing_bucket_is_not_added(qvc: Qvc, work: Path, s3: S3Server) -> None:
    result = qvc("remote", "add", "origin", "s3://no-such-bucket", cwd=work, ok=False)
    assert result.code == 7
    assert result.err.splitlines()[0] == (
        f"error: bucket no-such-bucket does not exist at {s3.endpoint}")
    assert config_of(work)["remotes"] == {}
    qvc("remote", "add", "origin", "s3://no-such-bucket", "--no-probe", cwd=work)
    assert config_of(work)["remotes"]["origin"]["conditional_writes"] is None  # type: ignore[index]


@pytest.fixture
def careless_endpoint(proxy: FaultProxy) -> str:
    """An S3 endpoint that accepts conditional writes and ignores them."""
    proxy.add("strip_conditions", times=None)
    return proxy.url


def test_endpoint_ignoring_conditional_writes_is_reported(
        qvc: Qvc, work: Path, versioned_bucket: str, careless_endpoint: str) -> None:
    result = qvc("remote", "add", "minio", versioned_bucket, "--endpoint-url", careless_endpoint,
                 cwd=work)
    assert "ignores conditional writes" in result.err and careless_endpoint in result.err
    entry = config_of(work)["remotes"]["minio"]  # type: ignore[index]
    assert entry["conditional_writes"] is False and entry["endpoint_url"] == careless_endpoint


# which registry a command uses -----------------------------------------------------------------


def test_resolution_order(qvc: Qvc, work: Path, tmp_path: Path) -> None:
    repo = Repo(work)
    with pytest.raises(NoRemote) as caught:
        resolve_remote(repo, None)
    assert caught.value.exit_code == 2 and "qvc remote add" in caught.value.hint
    qvc("config", "--global", "default_remote_registry", str(tmp_path / "user"), cwd=work)
    assert resolve_remote(Repo(work), None) == RemoteSpec(None, str(tmp_path / "user"))
    assert resolve_remote(None, None).url == str(tmp_path / "user")
    qvc("config", "default_remote_registry", str(tmp_path / "tree"), cwd=work)
    assert resolve_remote(Repo(work), None).url == str(tmp_path / "tree")
    qvc("remote", "add", "origin", "s3://bkt", "--endpoint-url", "http://e:9", "--no-probe",
        cwd=work)
    qvc("remote", "add", "other", str(tmp_path / "other"), cwd=work)
    repo = Repo(work)
    assert resolve_remote(repo, None).name == "origin"
    assert resolve_remote(repo, "other").url == str(tmp_path / "other")
    named = resolve_remote(repo, "s3://bkt/")  # a URL of a known remote keeps its settings
    assert (named.name, named.endpoint_url) == ("origin", "http://e:9")
    assert resolve_remote(repo, "s3://elsewhere") == RemoteSpec(None, "s3://elsewhere")
    assert resolve_remote(repo, "./rel").url == str(work / "rel")
    with pytest.raises(NoRemote, match="no remote named 'nope'") as caught:
        resolve_remote(repo, "nope")
    assert caught.value.hint.startswith("known remotes: origin, other;")


def test_open_remote(work: Path, tmp_path: Path, s3: S3Server) -> None:
    folder = open_remote(RemoteSpec(None, str(tmp_path / "reg")))
    assert folder.url == (tmp_path / "reg").as_uri()
    bucket = open_remote(RemoteSpec("o", "s3://bkt", endpoint_url="http://127.0.0.1:1"))
    assert bucket.url == "s3://bkt"
    assert bucket.store.endpoint == "http://127.0.0.1:1"  # type: ignore[attr-defined]


# qvc config ------------------------------------------------------------------------------------


def test_global_settings_persist(qvc: Qvc, tmp_path: Path, isolated_env: Path) -> None:
    qvc("config", "--global", "user.name", "Ada", cwd=tmp_path)
    assert qvc("config", "--global", "user.name", cwd=tmp_path).out == "Ada\n"
    stored = json.loads((isolated_env / ".config/qvc/config.json").read_text())
    assert stored == {"user.name": "Ada"}
    qvc("config", "--global", "--unset", "user.name", cwd=tmp_path)
    result = qvc("config", "--global", "user.name", cwd=tmp_path, ok=False)
    assert result.code == 5 and result.out == "" and "not set" in result.err


def test_default_remote_registry_is_validated(qvc: Qvc, tmp_path: Path) -> None:
    result = qvc("config", "--global", "default_remote_registry", "ftp://x", cwd=tmp_path, ok=False)
    assert result.code == 2 and "unsupported registry URL scheme" in result.err
    qvc("config", "--global", "default_remote_registry", "s3://bkt/", cwd=tmp_path)
    assert qvc("config", "--global", "default_remote_registry", cwd=tmp_path).out == "s3://bkt\n"


def test_repo_settings_override_user_settings(qvc: Qvc, work: Path) -> None:
    qvc("config", "--global", "user.email", "me@home", cwd=work)
    qvc("config", "user.email", "me@work", cwd=work)
    assert qvc("config", "user.email", cwd=work).out == "me@work\n"
    assert qvc("config", "--global", "user.email", cwd=work).out == "me@home\n"
    assert config_of(work)["settings"] == {"user.email": "me@work"}
    assert qvc("config", "--list", cwd=work).out.splitlines() == [
        "user.email=me@home\t(global)", "user.email=me@work\t(repo)"]
    listed = json.loads(qvc("config", "--list", "--json", cwd=work).out)
    assert listed[1] == {"key": "user.email", "value": "me@work", "scope": "repo"}


def test_config_mistakes(qvc: Qvc, tmp_path: Path) -> None:
    result = qvc("config", "user.name", "X", cwd=tmp_path, ok=False)
    assert result.code == NotARepository.exit_code and "--global" in result.err
    result = qvc("config", "--global", "colour", "red", cwd=tmp_path, ok=False)
    assert result.code == UsageError.exit_code and "known settings" in result.err
    result = qvc("config", cwd=tmp_path, ok=False)
    assert result.code == 2 and "--list" in result.err


# probing on first push ---------------------------------------------------------------------------


def test_a_remote_added_without_probe_is_probed_by_its_first_push(
        qvc: Qvc, work: Path, bucket: str) -> None:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "one", cwd=work)
    qvc("remote", "add", "origin", bucket, "--no-probe", cwd=work)
    qvc("push", cwd=work)
    assert config_of(work)["remotes"]["origin"]["conditional_writes"] is True  # type: ignore[index]


def test_a_bare_url_is_probed_once_and_remembered(qvc: Qvc, work: Path, bucket: str) -> None:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "one", cwd=work)
    qvc("push", bucket, cwd=work)
    assert config_of(work)["probed"] == {bucket: True}
    assert resolve_remote(Repo(work), bucket).conditional_writes is True


def test_first_push_to_an_unprobed_careless_endpoint_is_refused(
        qvc: Qvc, work: Path, versioned_bucket: str, careless_endpoint: str) -> None:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "one", cwd=work)
    qvc("remote", "add", "minio", versioned_bucket, "--endpoint-url", careless_endpoint,
        "--no-probe", cwd=work)
    refused = qvc("push", "minio", cwd=work, ok=False)
    assert refused.code == 7 and "ignores conditional writes" in refused.err
    assert "--force" in refused.err
    entry = config_of(work)["remotes"]["minio"]  # type: ignore[index]
    assert entry["conditional_writes"] is False
    qvc("push", "minio", "--force", cwd=work)


def test_api_push_to_a_careless_endpoint_is_refused_like_qvc_push(
        qvc: Qvc, work: Path, versioned_bucket: str, careless_endpoint: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``Package.push`` from a work tree probes an S3 registry it has not probed (the answer
    is kept, as ``qvc push`` keeps it) and refuses one that ignores conditional writes, where
    its compare-and-swap of ``latest`` would be no check at all; ``force=True`` pushes."""
    import qvc as api
    from qvc.errors import RemoteError

    monkeypatch.chdir(work)
    pkg = api.Package().set("a.txt", work / "README.md")
    with pytest.raises(RemoteError) as refused:
        pkg.push("test/api", registry=versioned_bucket)
    assert refused.value.exit_code == 7 and "ignores conditional writes" in refused.value.message
    assert config_of(work)["probed"] == {versioned_bucket: False}
    assert open_remote(RemoteSpec(None, versioned_bucket)).read_latest("test/api") is None
    pushed = pkg.push("test/api", registry=versioned_bucket, force=True)
    assert pushed["a.txt"].get().startswith(versioned_bucket + "/test/api/a.txt")
