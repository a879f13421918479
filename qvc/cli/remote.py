"""Commands: remote (see README.md)."""

from __future__ import annotations

from qvc.cli.app import app  # noqa: F401
