"""Quilt workflows: a registry's rules for the packages pushed to it, checked before upload.

A registry may hold ``.quilt/workflows/config.yml`` (the format quilt3 and the Quilt catalog
read): named workflows, each optionally with a ``handle_pattern`` for package names,
``is_message_required``, and JSON Schemas (by id in ``schemas: {id: {url: ...}}``) for the
package metadata (``metadata_schema``) and for the list of entries (``entries_schema``: items
``{"logical_key", "size", "meta"}``). ``default_workflow`` applies when none is named;
``is_workflow_required`` (default true) refuses a package with no workflow.

:func:`check` validates a manifest and returns the ``workflow`` object the manifest header
records, exactly as quilt3 writes it: ``{"id", "config", "schemas"?}`` with the config's and
schemas' physical keys (pinned to their versionIds in a versioned bucket).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from types import EllipsisType
from typing import Any

import jsonschema
import yaml

from qvc.errors import QvcError, WorkflowError
from qvc.quilt.manifest import Manifest
from qvc.quilt.urls import scheme
from qvc.remote import physical
from qvc.storage.registry import Registry

NOT_GIVEN: Any = ...  # no workflow named by the caller: the config's default applies
SUPPORTED = (1, 1, 0)
DRAFT7 = "http://json-schema.org/draft-07/schema#"
_VERSION = {"type": "string", "pattern": r"^[1-9][0-9]*(\.(0|[1-9][0-9]*)){0,2}$"}
CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["version", "workflows"],
    "properties": {
        "version": {"oneOf": [_VERSION, {"type": "object", "required": ["base"],
                                         "properties": {"base": _VERSION}}]},
        "is_workflow_required": {"type": "boolean"},
        "default_workflow": {"type": "string"},
        "workflows": {
            "type": "object", "minProperties": 1,
            "propertyNames": {"pattern": "^[A-Za-z_-][A-Za-z0-9_-]*$", "maxLength": 64},
            "additionalProperties": {
                "type": "object", "required": ["name"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "description": {"type": "string"},
                    "handle_pattern": {"type": "string"},
                    "metadata_schema": {"type": "string"},
                    "entries_schema": {"type": "string"},
                    "is_message_required": {"type": "boolean"},
                },
            },
        },
        "schemas": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["url"], "properties": {"url": {"type": "string"}}}},
    },
}


@dataclass
class Config:
    data: dict[str, Any]
    physical_key: str  # where it was read, with its versionId


def load(registry: Registry) -> Config | None:
    """The registry's workflows config, validated; None when it has none."""
    found = registry.workflow_config()
    if found is None:
        return None
    data, where = found
    try:
        config = yaml.safe_load(data.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        raise WorkflowError(f"the workflows config {where} is not valid YAML",
                            "fix .quilt/workflows/config.yml in the registry") from None
    try:
        jsonschema.Draft7Validator(CONFIG_SCHEMA).validate(config)
    except jsonschema.ValidationError as exc:
        raise WorkflowError(f"the workflows config {where} is invalid: {_where(exc)}"
                            f"{exc.message}", "fix .quilt/workflows/config.yml in the registry"
                            ) from None
    version = config["version"]
    text = version if isinstance(version, str) else version["base"]
    number = tuple((*map(int, text.split(".")), 0, 0)[:3])
    if number > SUPPORTED:
        raise WorkflowError(f"the workflows config {where} has version {text}, newer than "
                            "the newest supported (1.1)", "upgrade qvc")
    return Config(config, where)


@dataclass
class Validator:
    """One workflow of one registry, ready to check packages."""

    workflow: str | None
    rules: dict[str, Any]
    record: dict[str, Any]  # what the manifest header records
    meta_schema: Any = None
    entries_schema: Any = None

    def validate(self, name: str, manifest: Manifest) -> None:
        """Raise :class:`WorkflowError` naming the first rule ``manifest`` (to be saved as
        ``name``) breaks."""
        rules, workflow = self.rules, self.workflow
        if rules.get("is_message_required", False) and not manifest.header.get("message"):
            raise WorkflowError(f"workflow {workflow!r} requires a commit message",
                                "give the package a message")
        pattern = rules.get("handle_pattern")
        if pattern and not re.search(pattern, name):
            raise WorkflowError(f"the package name {name!r} does not match workflow "
                                f"{workflow!r}'s pattern {pattern!r}",
                                "choose a name that matches the pattern")
        if self.meta_schema is not None:
            _validate(self.meta_schema, manifest.header.get("user_meta", {}),
                      f"the package metadata fails workflow {workflow!r}")
        if self.entries_schema is not None:
            rows = [{"logical_key": e.logical_key, "size": e.size, "meta": e.user_meta}
                    for e in manifest.walk()]
            _validate(self.entries_schema, rows, f"the package entries fail workflow {workflow!r}")


def prepare(registry: Registry, workflow: str | None | EllipsisType, *, strict: bool = True
            ) -> Validator | None:
    """The validator of ``registry``'s workflow ``workflow`` (:data:`NOT_GIVEN`: the config's
    default; None: none, if the config allows it). None when the registry has no config and
    no workflow is named (or, unless ``strict``, even when one is)."""
    if workflow is not NOT_GIVEN and workflow is not None and not isinstance(workflow, str):
        raise WorkflowError(f"a workflow is named by a string, not {type(workflow).__name__}")
    config = load(registry)
    if config is None:
        if workflow is NOT_GIVEN or workflow is None or not strict:
            return None
        raise WorkflowError(f"workflow {workflow!r} is named, but {registry.url} has no "
                            "workflows config", "save the package without a workflow")
    data = config.data
    chosen: str | None = data.get("default_workflow") if workflow is NOT_GIVEN \
        else workflow
    rules: dict[str, Any] = {}
    if chosen is None:
        if data.get("is_workflow_required", True):
            raise WorkflowError(f"{registry.url} requires a workflow, and none was named",
                                "name one of " + ", ".join(sorted(data["workflows"]))
                                + ": workflow=ID in Python, 'qvc config workflow ID' in a "
                                "work tree")
    elif chosen not in data["workflows"]:
        raise WorkflowError(f"{registry.url} has no workflow {chosen!r}",
                            "name one of: " + ", ".join(sorted(data["workflows"])))
    else:
        rules = data["workflows"][chosen]
    schemas: dict[str, str] = {}
    meta_schema = _validator(config, rules.get("metadata_schema"), schemas)
    entries_schema = _validator(config, rules.get("entries_schema"), schemas)
    record: dict[str, Any] = {"id": chosen, "config": config.physical_key}
    if schemas:
        record["schemas"] = schemas
    return Validator(chosen, rules, record, meta_schema, entries_schema)


def check(registry: Registry, workflow: str | None | EllipsisType, name: str,
          manifest: Manifest) -> dict[str, Any] | None:
    """Validate ``manifest`` (to be saved as ``name``) against ``registry``'s workflow (see
    :func:`prepare`); returns the header's ``workflow`` record, None without a config."""
    validator = prepare(registry, workflow)
    if validator is None:
        return None
    validator.validate(name, manifest)
    return validator.record


def _where(exc: jsonschema.ValidationError) -> str:
    path = "/".join(str(p) for p in exc.absolute_path)
    return f"at {path!r}: " if path else ""


def _validate(validator: Any, value: Any, what: str) -> None:
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is not None:
        raise WorkflowError(f"{what}: {_where(error)}{error.message}")


def _no_refs(obj: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in obj:
        raise WorkflowError("workflow schemas with $ref are not supported",
                            "inline the referenced schema")
    return obj


def _validator(config: Config, schema_id: str | None, loaded: dict[str, str]) -> Any:
    """A JSON Schema validator for ``schema_id``; records where it was read in ``loaded``."""
    if not schema_id:
        return None
    entry = config.data.get("schemas", {}).get(schema_id)
    if entry is None:
        raise WorkflowError(f"the workflows config names no schema {schema_id!r}",
                            "add it under 'schemas' in .quilt/workflows/config.yml")
    url = entry["url"]
    if scheme(url) not in ("s3", "file"):
        raise WorkflowError(f"schema {schema_id!r} has an unsupported URL {url!r}",
                            "use an s3:// or file:// URL")
    if scheme(url) == "file" and physical.is_s3(config.physical_key):
        raise WorkflowError(f"the local schema {url} cannot be used by an S3 registry",
                            "put the schema in S3")
    try:
        found = physical.locate(url)
        data = physical.read_bytes(found.physical_key)
    except QvcError as exc:
        raise WorkflowError(f"cannot read schema {schema_id!r} at {url}: {exc}") from None
    try:
        schema = json.loads(data.decode("utf-8"), object_hook=_no_refs)
    except (ValueError, UnicodeDecodeError):
        raise WorkflowError(f"schema {schema_id!r} at {url} is not valid JSON") from None
    if isinstance(schema, dict) and schema.get("$schema", DRAFT7) != DRAFT7:
        raise WorkflowError(f"schema {schema_id!r} uses the unsupported meta-schema "
                            f"{schema['$schema']!r}", f"use {DRAFT7}")
    try:
        jsonschema.Draft7Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise WorkflowError(f"schema {schema_id!r} is not a valid JSON Schema: "
                            f"{exc.message}") from None
    loaded[schema_id] = found.physical_key
    return jsonschema.Draft7Validator(schema)
