"""Registry workflows through the Python API, on a folder registry and a versioned moto
bucket: invalid packages are refused before anything is written, valid ones record the same
``workflow`` header quilt3 records for the same registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import qvc
from qvc.errors import WorkflowError
from qvc.storage import open_store
from qvc.storage.registry import Registry
from tests.conftest import S3Server

META_SCHEMA = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
               "required": ["owner"], "properties": {"owner": {"type": "string"}}}
ENTRIES_SCHEMA = {"type": "array", "items": {"type": "object", "properties": {
    "logical_key": {"type": "string", "not": {"pattern": r"\.tmp$"}}}}}  # no temp files


def config_text(schema_base: str, required: bool = True) -> str:
    return "\n".join([
        "version: '1'",
        f"is_workflow_required: {str(required).lower()}",
        "default_workflow: strict",
        "workflows:",
        "  strict:",
        "    name: Strict",
        "    metadata_schema: owner",
        "    entries_schema: texts",
        "    is_message_required: true",
        "  named:",
        "    name: Named",
        "    handle_pattern: ^team/",
        "schemas:",
        "  owner:",
        f"    url: {schema_base}/owner.schema.json",
        "  texts:",
        f"    url: {schema_base}/texts.schema.json",
        "",
    ])


def folder_registry(root: Path, required: bool = True) -> str:
    (root / ".quilt" / "workflows").mkdir(parents=True)
    (root / "schemas").mkdir()
    (root / "schemas" / "owner.schema.json").write_text(json.dumps(META_SCHEMA))
    (root / "schemas" / "texts.schema.json").write_text(json.dumps(ENTRIES_SCHEMA))
    (root / ".quilt" / "workflows" / "config.yml").write_text(
        config_text((root / "schemas").as_uri(), required))
    return str(root)


def bucket_registry(s3: S3Server, bucket: str) -> str:
    name = bucket[len("s3://"):]
    client = s3.client()
    client.put_object(Bucket=name, Key="schemas/owner.schema.json", Body=json.dumps(META_SCHEMA))
    client.put_object(Bucket=name, Key="schemas/texts.schema.json",
                      Body=json.dumps(ENTRIES_SCHEMA))
    client.put_object(Bucket=name, Key=".quilt/workflows/config.yml",
                      Body=config_text(f"{bucket}/schemas"))
    return bucket


@pytest.fixture
def files(tmp_path: Path) -> Path:
    root = tmp_path / "files"
    root.mkdir()
    (root / "a.txt").write_text("alpha\n")
    (root / "b.txt").write_text("beta\n")
    return root


def package(files: Path, meta: Any) -> qvc.Package:
    p = qvc.Package()
    p.set_dir(".", str(files), meta=meta)
    return p


def header(registry: str, name: str) -> dict[str, Any]:
    """The header of NAME's latest manifest, read straight from the registry (a version built
    with local files names them, which browsing a bucket refuses)."""
    reg = Registry(open_store(registry))
    pointer = reg.read_latest(name)
    assert pointer is not None
    return reg.read_manifest(pointer.top_hash).header


@pytest.mark.parametrize("kind", ["folder", "bucket"])
def test_default_workflow_refuses_then_accepts_and_records_it(
        kind: str, files: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if kind == "folder":
        registry = folder_registry(tmp_path / "registry")
    else:
        registry = bucket_registry(request.getfixturevalue("s3"),
                                   request.getfixturevalue("versioned_bucket"))
    with pytest.raises(WorkflowError, match="owner"):
        package(files, {"team": "x"}).push("team/pkg", registry, message="m", force=True)
    with pytest.raises(WorkflowError, match="message"):
        package(files, {"owner": "ann"}).push("team/pkg", registry, force=True)
    assert qvc.list_packages(registry) == []  # nothing was written

    pushed = package(files, {"owner": "ann"}).push("team/pkg", registry, message="m",
                                                    force=True)
    recorded = header(registry, "team/pkg")["workflow"]
    assert recorded["id"] == "strict"
    assert set(recorded["schemas"]) == {"owner", "texts"}
    assert recorded["config"].endswith("/.quilt/workflows/config.yml" if kind == "folder"
                                       else "config.yml?versionId=" +
                                       recorded["config"].rsplit("=", 1)[1])
    assert pushed.manifest.__next__()["workflow"] == recorded


def test_named_workflows_and_entries_schema(files: Path, tmp_path: Path) -> None:
    registry = folder_registry(tmp_path / "registry")
    p = package(files, {"owner": "ann"})
    with pytest.raises(WorkflowError, match="pattern"):
        p.build("other/pkg", registry, workflow="named")
    p.build("team/pkg", registry, workflow="named")
    assert header(registry, "team/pkg")["workflow"]["id"] == "named"
    assert "schemas" not in header(registry, "team/pkg")["workflow"]

    (files / "c.tmp").write_text("x\n")
    with pytest.raises(WorkflowError, match="entries"):
        package(files, {"owner": "ann"}).build("team/pkg", registry, message="m")
    with pytest.raises(WorkflowError, match="requires a workflow"):
        p.build("team/pkg", registry, workflow=None)
    with pytest.raises(WorkflowError, match="no workflow 'nope'"):
        p.build("team/pkg", registry, workflow="nope")


def test_optional_workflow_and_registry_without_config(files: Path, tmp_path: Path) -> None:
    registry = folder_registry(tmp_path / "registry", required=False)
    p = package(files, {"owner": "ann"})
    p.build("team/pkg", registry, workflow=None)
    assert header(registry, "team/pkg")["workflow"]["id"] is None
    plain = tmp_path / "plain"
    plain.mkdir()
    p.build("team/pkg", str(plain))
    assert "workflow" not in header(str(plain), "team/pkg")
    with pytest.raises(WorkflowError, match="no workflows config"):
        p.build("team/pkg", str(plain), workflow="strict")


def test_bad_config_is_a_clear_error(files: Path, tmp_path: Path) -> None:
    registry = Path(folder_registry(tmp_path / "registry"))
    (registry / ".quilt" / "workflows" / "config.yml").write_text("version: '1'\n")
    with pytest.raises(WorkflowError, match="workflows"):
        package(files, {"owner": "ann"}).build("team/pkg", str(registry))
    (registry / ".quilt" / "workflows" / "config.yml").write_text("version: '9'\nworkflows:\n"
                                                                  "  a: {name: A}\n")
    with pytest.raises(WorkflowError, match="newer"):
        package(files, {"owner": "ann"}).build("team/pkg", str(registry))


@pytest.mark.parametrize("kind", ["folder", "bucket"])
def test_recorded_workflow_equals_quilt3s(kind: str, files: Path, tmp_path: Path,
                                          request: pytest.FixtureRequest) -> None:
    quilt3 = pytest.importorskip("quilt3")
    if kind == "folder":
        registry = folder_registry(tmp_path / "registry")
        q3_registry = Path(registry).as_uri()
    else:
        registry = q3_registry = bucket_registry(request.getfixturevalue("s3"),
                                                 request.getfixturevalue("versioned_bucket"))
    mine = package(files, {"owner": "ann"})
    top = mine.build("team/pkg", registry, message="m")
    theirs = quilt3.Package()
    theirs.set_dir(".", str(files), meta={"owner": "ann"})
    assert theirs.build("team/pkg", q3_registry, message="m") == top
    assert header(registry, "team/pkg")["workflow"] == theirs._meta["workflow"]
    with pytest.raises(quilt3.workflows.WorkflowValidationError):
        quilt3.Package().set_dir(".", str(files), meta={}).build("team/pkg2", q3_registry,
                                                                 message="m")
    with pytest.raises(WorkflowError):
        qvc.Package().set_dir(".", str(files), meta={}).build("team/pkg2", registry,
                                                              message="m")
