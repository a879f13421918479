"""qvc: version data folders as Quilt packages, the git way.

The Python API mirrors quilt3's (``qvc.Package``, ``qvc.config``, ``qvc.delete_package``...);
it is loaded on first use so that ``import qvc`` and the command line stay fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = {"Package", "PackageEntry", "PhysicalKey", "config", "delete_package", "list_packages",
        "list_package_versions", "login", "logout"}


def __getattr__(name: str) -> Any:
    if name in _API:
        from qvc import api

        return getattr(api, name)
    if name == "QvcError":
        from qvc.errors import QvcError

        return QvcError
    raise AttributeError(f"module 'qvc' has no attribute {name!r}")
