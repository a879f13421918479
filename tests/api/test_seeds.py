"""Every code example of the Quilt "uploading a package" pages, run as written with qvc.

The examples keep their shape: only ``import quilt3`` / ``import t4`` / ``import quilt`` became
``import qvc``, and ``quilt3.`` / ``t4.`` became ``qvc.``. Each page runs top to bottom in one
namespace (as a reader would run it), against folder registries and against moto S3 buckets
named as in the pages, and after each example we check that it did what the page says. A
second run gives every ``qvc.Package()`` some files (``.set_dir(".", DATA)``), so the data
landing places the pages describe can be checked too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import qvc
from qvc.conf import userconfig
from tests.catalog_server import REFRESH_TOKEN, serve

EMPTY_TOP = "2a5a67156ca9238c14d12042db51c5b52260fdd5511b61ea89b58929d6e1769b"
BUCKETS = ("your-bucket", "quilt-example", "my-bucket")
CATALOGS = ("https://your-catalog-homepage/", "https://open.quiltdata.com/")
MESSAGE = "Updated version my package"


@dataclass
class Run:
    registries: dict[str, str]  # bucket name in the pages -> registry URL used here
    data: Path | None
    ns: dict[str, Any] = field(default_factory=dict)

    def browse(self, name: str, bucket: str) -> qvc.Package:
        return qvc.Package.browse(name, self.registries[bucket])

    def location(self, bucket: str, prefix: str) -> str:
        """The physical-key prefix of data stored under ``prefix`` in a registry."""
        url = self.registries[bucket]
        return f"{url}/{prefix}" if url.startswith("s3://") else (Path(url) / prefix).as_uri()

    def data_under(self, name: str, bucket: str, prefix: str) -> None:
        """The version's files are in the registry, under ``prefix`` unless push found the
        same bytes already stored there by an earlier version (it never uploads twice)."""
        keys = [e.physical_key for _, e in self.browse(name, bucket).walk()]
        assert len(keys) == (3 if self.data else 0)
        places = (self.location(bucket, prefix) + "/", self.location(bucket, name) + "/")
        assert all(k.startswith(places if prefix != name else places[0]) for k in keys), keys


Check = Callable[[Run], None]


def local_top(run: Run) -> None:
    assert run.ns["top_hash"] == (EMPTY_TOP if run.data is None else run.ns["p"].top_hash)
    assert qvc.Package.browse(run.ns["name"]).top_hash == run.ns["top_hash"]


def logged_in(run: Run) -> None:
    assert userconfig.get("navigator_url") == run.ns["catalog"].url
    creds = json.loads((userconfig.data_dir() / "credentials.json").read_text())
    assert creds["AccessKeyId"] == "CATALOGKEY"


def pushed(bucket: str, message: str | None, prefix: str | None = None) -> Check:
    def check(run: Run) -> None:
        name = run.ns["name"]
        latest = run.browse(name, bucket)
        assert next(iter(latest.manifest))["message"] == message
        run.data_under(name, bucket, prefix or name)

    return check


def pushed_by_default(bucket: str, prefix: str | None = None) -> Check:
    def check(run: Run) -> None:
        assert qvc.config()["default_remote_registry"] == run.registries[bucket]
        pushed(bucket, None, prefix)(run)

    return check


def built_remotely(bucket: str) -> Check:
    def check(run: Run) -> None:
        latest = run.browse(run.ns["name"], bucket)
        assert latest.top_hash == run.ns["p"].top_hash
        # physical keys preserved: the local files, unless a manifest with this top hash
        # was already stored (manifests are create-only; physical keys are not hashed)
        places = (run.data.as_uri() if run.data else "", run.location(bucket, ""))
        for _, entry in latest.walk():
            assert entry.physical_key.startswith(places)

    return check


def deleted(bucket: str) -> Check:
    def check(run: Run) -> None:
        assert run.ns["name"] not in qvc.list_packages()
        assert run.ns["name"] not in qvc.list_packages(run.registries[bucket])
        assert "existing/package" in qvc.list_packages(run.registries["my-bucket"])

    return check


def shows_top_hash(run: Run) -> None:
    assert run.ns["top"] == qvc.Package.browse(run.ns["name"]).top_hash
    if run.data is None:
        assert run.ns["top"] == EMPTY_TOP  # the value the page prints


def modified_existing(run: Run) -> None:
    source = run.browse("existing/package", "my-bucket")
    latest = run.browse("aneesh/test_data", "quilt-example")
    assert [k for k, _ in latest.walk()] == [k for k, _ in source.walk()]
    assert latest.top_hash == run.ns["p"].top_hash
    assert next(iter(latest.manifest))["message"] == MESSAGE
    run.data_under("aneesh/test_data", "quilt-example", "aneesh/test_data")


PLAIN = [
    ('import qvc\np = qvc.Package()\ntop_hash = p.build("username/packagename")', local_top),
    ("import qvc\n# only need to run this once\nqvc.config('https://your-catalog-homepage/')\n"
     "# follow the instructions to finish login\nqvc.login()", logged_in),
    ('import qvc\np = qvc.Package()\np.push(\n"username/packagename",\n"s3://your-bucket",\n'
     'message="Updated version my package"\n)', pushed("your-bucket", MESSAGE)),
    ("import qvc\nqvc.config(default_remote_registry='s3://your-bucket')\np = qvc.Package()\n"
     'p.push("username/packagename")', pushed_by_default("your-bucket")),
    ('p = qvc.Package()\np.push(\n"username/packagename",\ndest="s3://your-bucket/foo/bar"\n)',
     pushed("your-bucket", None, "foo/bar")),
    ('p = qvc.Package()\np.build("username/packagename", "s3://your-bucket")',
     built_remotely("your-bucket")),
    ('import qvc\n# delete a package in the local registry\n'
     'qvc.delete_package("username/packagename")\n# delete a package in a remote registry\n'
     'qvc.delete_package("username/packagename", "s3://your-bucket")', deleted("your-bucket")),
]

T4 = [
    ('import qvc\np = qvc.Package()\n\ntop_hash = p.build("username/packagename")', local_top),
    ('import qvc\np = qvc.Package()\np.push(\n    "username/packagename",\n    "s3://your-bucket",\n'
     '    message="Updated version my package"\n)', pushed("your-bucket", MESSAGE)),
    ("import qvc\nqvc.config(default_remote_registry='s3://your-bucket')\n"
     "# this now 'just works'\nqvc.Package().push(\"username/packagename\")  ",
     pushed_by_default("your-bucket")),
    ('import qvc\n\np = qvc.Package()\np.build("username/packagename")\np.top_hash\n',
     shows_top_hash),
    ('import qvc\n\n# delete a package in the local registry\n'
     'qvc.delete_package("username/packagename")\n\n# delete a package in a remote registry\n'
     'qvc.delete_package("username/packagename", "s3://your-bucket")', deleted("your-bucket")),
]

V1 = [
    ("# only need to run this once\n# ie qvc.config('https://your-catalog-homepage/')\n"
     "qvc.config('https://open.quiltdata.com/')\n\n# follow the instructions to finish login\n"
     "qvc.login()", logged_in),
    ('p = qvc.Package()\np.push(\n    "aneesh/test_data",\n    "s3://quilt-example",\n'
     '    message="Updated version my package"\n)', pushed("quilt-example", MESSAGE)),
    ("qvc.config(default_remote_registry='s3://quilt-example')\np = qvc.Package()\n"
     'p.push("aneesh/test_data")', pushed_by_default("quilt-example")),
    ('p = qvc.Package()\np.push(\n    "aneesh/test_data",\n    dest="s3://quilt-example/foo/bar"\n)',
     pushed("quilt-example", None, "foo/bar")),
    ('p = qvc.Package()\np.build("aneesh/test_data", "s3://quilt-example")',
     built_remotely("quilt-example")),
    ('# delete a package in the local registry\nqvc.delete_package("aneesh/test_data")\n\n'
     '# delete a package in a remote registry\nqvc.delete_package("aneesh/test_data", '
     '"s3://quilt-example")', deleted("quilt-example")),
]

V2 = [
    ("# only need to run this once\nqvc.config('https://your-catalog-homepage/')\n\n"
     "# if and only if your company runs a Quilt stack and you don't have local AWS credentials:\n"
     "qvc.login()", logged_in),
    V1[1],
    ('p = qvc.Package.browse("existing/package", registry="s3://my-bucket")\n'
     "# perform local modifications like p.set()\n# ...\np.push(\n    \"aneesh/test_data\",\n"
     '    "s3://quilt-example",\n    message="Updated version my package"\n)', modified_existing),
    V1[2],
    V1[3],
    V1[5],
    ('import qvc\np = qvc.Package()\n\ntop_hash = p.build("aneesh/test_data")', local_top),
    V1[4],
]

V3 = [
    ('import qvc\np = qvc.Package()\n\ntop_hash = p.build("username/packagename")', local_top),
    ('import qvc\np = qvc.Package()\np.push(\n    "username/packagename",\n    "s3://your-bucket",\n'
     '    message="Updated version my package"\n)', pushed("your-bucket", MESSAGE)),
    ("import qvc\nqvc.config(default_remote_registry='s3://your-bucket')\n"
     "# this now 'just works'\nqvc.Package().push(\"username/packagename\")  ",
     pushed_by_default("your-bucket")),
    ('p.push(\n    "username/packagename",\n    "s3://your-bucket/foo/bar/"\n)\n'
     '# object will land in "/foo/bar/"\n# instead of "/username/packagename/"',
     pushed("your-bucket", None, "foo/bar")),
    ('import qvc\n\np = qvc.Package()\np.build("username/packagename")\np.top_hash\n',
     shows_top_hash),
    T4[4],
]

PAGES = {"plain": (PLAIN, "username/packagename"), "t4": (T4, "username/packagename"),
         "v1": (V1, "aneesh/test_data"), "v2": (V2, "aneesh/test_data"),
         "v3": (V3, "username/packagename")}


@pytest.fixture
def named_buckets(s3: Any) -> Iterator[dict[str, str]]:
    """Buckets with the pages' names on the moto server, emptied and removed afterwards."""
    client = s3.client()
    urls = {name: s3.bucket(name, versioned=name == "quilt-example") for name in BUCKETS}
    yield urls
    for name in BUCKETS:
        for page in client.get_paginator("list_object_versions").paginate(Bucket=name):
            for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
                client.delete_object(Bucket=name, Key=item["Key"], VersionId=item["VersionId"])
        client.delete_bucket(Bucket=name)


def source(code: str, run: Run, catalog_url: str) -> str:
    for bucket in BUCKETS:
        code = code.replace(f"s3://{bucket}", run.registries[bucket])
    for url in CATALOGS:
        code = code.replace(url, catalog_url + "/")
    if run.data is not None:
        code = code.replace("qvc.Package()", f"qvc.Package().set_dir('.', {str(run.data)!r})")
    return code


def run_page(page: str, registries: dict[str, str], data: Path | None) -> None:
    blocks, name = PAGES[page]
    run = Run(registries, data)
    with serve() as catalog:
        run.ns.update(qvc=qvc, name=name, catalog=catalog)
        qvc.Package().build(name)  # "once your package is ready": it exists locally
        existing = qvc.Package().set_dir(".", str(data)) if data else qvc.Package()
        existing.push("existing/package", registries["my-bucket"])
        for code, check in blocks:
            text = source(code, run, catalog.url)
            *body, last = text.rstrip("\n").split("\n")
            exec("\n".join(body) + "\n" + (f"top = {last}" if last == "p.top_hash" else last),
                 run.ns)
            check(run)


@pytest.fixture
def page_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QVC_CATALOG_TOKEN", REFRESH_TOKEN)
    data = tmp_path / "DATA"
    (data / "sub").mkdir(parents=True)
    (data / "a.txt").write_text("a\n")
    (data / "b.csv").write_text("x,y\n")
    (data / "sub" / "c.json").write_text("{}\n")
    return data


@pytest.mark.parametrize("with_data", [False, True], ids=["empty", "files"])
@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_against_folder_registries(page: str, with_data: bool, page_env: Path,
                                        tmp_path: Path) -> None:
    registries = {name: str(tmp_path / name) for name in BUCKETS}
    run_page(page, registries, page_env if with_data else None)


@pytest.mark.parametrize("with_data", [False, True], ids=["empty", "files"])
@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_against_s3(page: str, with_data: bool, page_env: Path,
                         named_buckets: dict[str, str]) -> None:
    run_page(page, named_buckets, page_env if with_data else None)
