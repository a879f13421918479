"""Which registry a command talks to, decided once per command, for the CLI and the API alike.

A command (``qvc push``, ``qvc fetch``, ``Package.push``...) builds one :class:`Target` from
what the user gave (a remote name or registry URL, a ``dest``, ``force``) and what the work
tree and the user settings say, then hands it to the operation. Every later step reads it:
the registry (:func:`qvc.remote.remotes.resolve_remote`'s order), the data prefix, the
credentials (a named profile, else a catalog login, else the AWS chain:
:func:`qvc.remote.remotes.open_spec_store`) and whether the registry honours conditional
writes (probed on the first push from a work tree, which keeps the answer). Nothing else
opens a remote's store or re-reads those settings halfway through a command.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qvc.core.repo import Repo
from qvc.remote.remotes import (
    RemoteSpec,
    checked_for_push,
    make_spec,
    open_remote,
    resolve_remote,
    spec_for_url,
)
from qvc.storage.registry import Registry


@dataclass
class Target:
    """A resolved registry: its spec (URL, endpoint, profile, probe answer), the data prefix
    a push writes under (None: ``<namespace>/<name>``), and its Registry, opened on first use
    and then kept for the rest of the command."""

    spec: RemoteSpec
    dest: str | None = None
    _registry: Registry | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """How messages name it: the remote's name, else its URL."""
        return self.spec.name or self.spec.url

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = open_remote(self.spec)
        return self._registry


def resolve(repo: Repo | None, name_or_url: str | None, *, dest: str | None = None) -> Target:
    """The target of a command given a remote name, a URL or nothing (the default remote,
    else the ``default_remote_registry`` setting), with ``dest`` checked against it."""
    spec = resolve_remote(repo, name_or_url)
    if dest is None:
        return Target(spec, spec.dest)
    return Target(spec, make_spec(None, spec.url, dest, spec.endpoint_url, spec.profile).dest)


def for_url(repo: Repo | None, url: str, *, dest: str | None = None) -> Target:
    """The target of a normalized registry URL: the work tree's remote with that URL if it has
    one (its endpoint, profile and probe answer), else the URL alone."""
    spec = spec_for_url(repo, url)
    return Target(spec, dest if dest is not None else spec.dest)


def of_spec(spec: RemoteSpec) -> Target:
    return Target(spec, spec.dest)


def for_push(target: Target, repo: Repo | None, *, force: bool) -> Target:
    """``target`` fit to push to: unless ``force``, probed first if it never was (from a work
    tree, which keeps the answer) and refused if it ignores conditional writes."""
    if force:
        return target
    return Target(checked_for_push(repo, target.spec), target.dest, target._registry)
