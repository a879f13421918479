"""The quilt3-shaped Python API: ``import qvc`` then ``qvc.Package()``, ``qvc.config(...)``...

Every function here is a thin entry point over the same operations the command line uses;
errors are :class:`qvc.errors.QvcError` subclasses with the CLI's messages and hints. See
:mod:`qvc.api.package_io` for which registry each call uses when none is given.
"""

from __future__ import annotations

import os
import webbrowser
from typing import Any

import qvc.api.arguments as arguments
from qvc.api.package import Package
from qvc.api.package_entry import PackageEntry
from qvc.api.package_io import Where, local_registry
from qvc.api.physical_key import PhysicalKey
from qvc.conf import settings, userconfig
from qvc.errors import UsageError
from qvc.ops.delete import delete
from qvc.quilt.manifest import validate_package_name
from qvc.remote import catalog

__all__ = ["Package", "PackageEntry", "PhysicalKey", "config", "delete_package",
           "list_package_versions", "list_packages", "login", "logout"]

TOKEN_ENV = "QVC_CATALOG_TOKEN"


def config(*catalog_url: str, **values: Any) -> dict[str, Any]:
    """Read or change user settings (shared with ``qvc config --global``).

    ``config()`` returns them; ``config(default_remote_registry="s3://bucket")`` sets (None
    unsets) and persists; ``config("https://catalog/")`` configures a Quilt catalog for
    :func:`login` from its ``config.json``.
    """
    if len(catalog_url) > 1 or (catalog_url and values):
        raise UsageError("pass either one catalog URL or settings as keywords",
                         "e.g. qvc.config(default_remote_registry='s3://bucket')")
    if catalog_url:
        catalog.configure(arguments.text(catalog_url[0], "the catalog URL"))
    for key, value in values.items():
        settings.set_value(None, key, value, global_=True)
    return userconfig.load()


def login(token: str | None = None) -> None:
    """Log in to the configured Quilt catalog; its AWS credentials are then used for S3.

    The refresh token comes from ``token``, else the ``QVC_CATALOG_TOKEN`` environment
    variable, else a prompt after opening the catalog's token page in a browser.
    """
    token = token or os.environ.get(TOKEN_ENV)
    if not token:
        url = catalog.code_url()
        webbrowser.open(url)
        token = input(f"Log in at {url} and paste the token shown there: ")
    catalog.login(token)


def logout() -> None:
    """Forget the catalog login; S3 access uses the AWS credential chain again."""
    catalog.logout()


def delete_package(name: str, registry: Where = None, top_hash: str | None = None) -> None:
    """Remove a package (or one version: a top hash or 6+ char prefix) from a registry's
    listing: pointers only, never manifests or data. Default: the local registry."""
    validate_package_name(name)
    target, repo = local_registry(registry)
    if repo is not None and name == repo.package:
        raise UsageError(f"{name} is the package of the work tree {repo.root}",
                         "its versions are its commit history; delete it from a remote instead")
    delete(target, name, top_hash)


def list_packages(registry: Where = None) -> list[str]:
    """Names of the packages in a registry (default: the local registry)."""
    if registry is not None:
        arguments.location(registry, "registry")
    return local_registry(registry)[0].packages()


def list_package_versions(name: str, registry: Where = None) -> list[tuple[str, str]]:
    """(pointer, top hash) of every version of ``name``, oldest first, ``latest`` last."""
    validate_package_name(name)
    return local_registry(registry)[0].versions(name)
