"""Named remotes of a work tree, and which registry a command talks to.

Remotes live in ``.qvc/config.json``: ``"remotes": {name: {url, dest, endpoint_url, profile,
conditional_writes}}`` and ``"default_remote": name``. A command that takes ``[REMOTE|URL]``
resolves it with :func:`resolve_remote`, in this order: an explicit URL, a named remote, the
work tree's default remote, the ``default_remote_registry`` setting; otherwise :class:`NoRemote`.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from qvc.conf import settings
from qvc.core.repo import Repo
from qvc.errors import NoRemote, RemoteError, UsageError
from qvc.quilt.urls import looks_like_url, normalize_dest, normalize_registry_url
from qvc.storage import PreconditionFailed, Store, open_store
from qvc.storage.registry import Registry

log = logging.getLogger("qvc")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
PROBE_PREFIX = ".quilt/qvc-probe/"


@dataclass(frozen=True)
class RemoteSpec:
    """Where a registry is and how to reach it. ``name`` is None for a bare URL."""

    name: str | None
    url: str  # normalized: "s3://bucket" or an absolute folder path
    dest: str | None = None  # data prefix in the registry's bucket; None = <namespace>/<name>
    endpoint_url: str | None = None
    profile: str | None = None
    conditional_writes: bool | None = None  # probe result; None = not probed

    @property
    def is_s3(self) -> bool:
        return self.url.startswith("s3://")

    def as_config(self) -> dict[str, Any]:
        entry = asdict(self)
        del entry["name"]
        return entry


@dataclass(frozen=True)
class ProbeResult:
    conditional_writes: bool
    versioned: bool


def make_spec(name: str | None, url: str, dest: str | None = None,
              endpoint_url: str | None = None, profile: str | None = None) -> RemoteSpec:
    """A validated spec: the URL normalized, ``dest`` checked against the registry's bucket."""
    if name is not None and not _NAME.fullmatch(name):
        raise UsageError(f"invalid remote name {name!r}",
                         "use letters, digits, '.', '_' and '-', e.g. origin")
    normalized = normalize_registry_url(url)
    if dest is not None:
        if not normalized.startswith("s3://"):
            raise UsageError("--dest only applies to S3 registries",
                             "folder registries keep data under <namespace>/<name>")
        dest = normalize_dest(normalized, dest) or None
    if (endpoint_url or profile) and not normalized.startswith("s3://"):
        raise UsageError("--endpoint-url and --profile only apply to S3 registries",
                         "folder registries need no endpoint or credentials")
    return RemoteSpec(name, normalized, dest, endpoint_url, profile)


def remotes(repo: Repo) -> dict[str, RemoteSpec]:
    """The work tree's remotes by name."""
    stored: dict[str, dict[str, Any]] = repo.config.get("remotes") or {}
    return {name: _from_config(name, entry) for name, entry in sorted(stored.items())}


def default_remote(repo: Repo) -> str | None:
    name = repo.config.get("default_remote")
    return name if isinstance(name, str) else None


def resolve_remote(repo: Repo | None, name_or_url: str | None) -> RemoteSpec:
    """The registry a command should use (see the module docstring for the order)."""
    known = remotes(repo) if repo is not None else {}
    if name_or_url is not None:
        if name_or_url in known:
            return known[name_or_url]
        if looks_like_url(name_or_url):
            return spec_for_url(repo, normalize_registry_url(name_or_url))
        raise NoRemote(f"no remote named {name_or_url!r}",
                       (_names_hint(known) or NoRemote.default_hint)
                       + f"; a folder needs a path such as ./{name_or_url}")
    if repo is not None:
        name = default_remote(repo)
        if name is not None and name in known:
            return known[name]
    fallback = settings.get(repo, "default_remote_registry")
    if isinstance(fallback, str) and fallback:
        return RemoteSpec(None, normalize_registry_url(fallback))
    raise NoRemote("no remote given and no default remote configured",
                   _names_hint(known) or NoRemote.default_hint)


def has_remote(repo: Repo) -> bool:
    """Whether a command given no registry has one to use (a default remote or setting)."""
    try:
        resolve_remote(repo, None)
    except NoRemote:
        return False
    return True


def open_remote(spec: RemoteSpec) -> Registry:
    """A Registry over the spec's store (S3 clients are created lazily, on first use)."""
    return Registry(open_spec_store(spec))


def open_spec_store(spec: RemoteSpec) -> Store:
    if spec.is_s3:
        from qvc.remote.catalog import (
            credential_source,  # a catalog login, unless a profile is named
        )

        return open_store(spec.url, endpoint_url=spec.endpoint_url, profile=spec.profile,
                          credentials=None if spec.profile else credential_source())
    return open_store(spec.url)


def add_remote(repo: Repo, spec: RemoteSpec, *, default: bool | None = None) -> RemoteSpec:
    """Record ``spec`` under its name; the first remote becomes the default unless told not."""
    assert spec.name is not None
    check_new_name(repo, spec.name)
    config = dict(repo.config)
    stored = dict(config.get("remotes") or {})
    stored[spec.name] = spec.as_config()
    config["remotes"] = stored
    if default or (default is None and not config.get("default_remote")):
        config["default_remote"] = spec.name
    repo.save_config(config)
    return spec


def check_new_name(repo: Repo, name: str) -> None:
    if name in (repo.config.get("remotes") or {}):
        raise UsageError(f"remote {name!r} already exists",
                         f"remove it first with 'qvc remote remove {name}'")


def remove_remote(repo: Repo, name: str) -> RemoteSpec:
    known = remotes(repo)
    if name not in known:
        raise NoRemote(f"no remote named {name!r}", _names_hint(known) or "see 'qvc remote list'")
    config = dict(repo.config)
    config["remotes"] = {k: v for k, v in config["remotes"].items() if k != name}
    if config.get("default_remote") == name:
        config["default_remote"] = None
    repo.save_config(config)
    return known[name]


def set_default(repo: Repo, name: str) -> RemoteSpec:
    known = remotes(repo)
    if name not in known:
        raise NoRemote(f"no remote named {name!r}", _names_hint(known) or NoRemote.default_hint)
    repo.save_config({**repo.config, "default_remote": name})
    return known[name]


def probe(spec: RemoteSpec) -> ProbeResult:
    """Check that an S3 registry honours create-only writes, and whether it is versioned.

    Writes one small key under ``.quilt/qvc-probe/`` twice with If-None-Match (the second
    write must fail), then deletes every version it made. Some S3-compatible endpoints accept
    the header and ignore it, which would let two concurrent pushes both move ``latest``.
    Warnings go to the "qvc" logger.
    """
    if not spec.is_s3:
        raise UsageError(f"only S3 registries can be probed, not {spec.url}")
    store = open_spec_store(spec)  # the remote's endpoint, profile or catalog login
    key = f"{PROBE_PREFIX}{uuid.uuid4().hex}"
    written = [store.put(key, b"qvc probe\n", if_none_match=True)]
    try:
        written.append(store.put(key, b"qvc probe again\n", if_none_match=True))
    except PreconditionFailed:
        pass
    finally:
        for info in written:
            store.delete(key, info.version_id)
    honoured = len(written) == 1
    if not honoured:
        log.warning("%s ignores conditional writes (If-None-Match); concurrent pushes to it "
                    "could overwrite each other's 'latest'", _where(spec))
    versioned = store.versioning_enabled()
    if not versioned:
        log.warning("bucket %s is not versioned: qvc never overwrites data an older pushed "
                    "version uses, but enabling bucket versioning is recommended", spec.url)
    return ProbeResult(honoured, versioned)


def spec_for_url(repo: Repo | None, url: str) -> RemoteSpec:
    """The spec of a registry URL: the work tree's remote with that URL (endpoint, profile,
    probe answer), else a bare spec with the probe answer kept for the URL, if any."""
    for spec in remotes(repo).values() if repo is not None else ():
        if spec.url == url:
            return spec
    return RemoteSpec(None, url, conditional_writes=probed(repo, url))


def checked_for_push(repo: Repo | None, spec: RemoteSpec) -> RemoteSpec:
    """``spec`` fit to push to: probed first if it never was (from a work tree, which keeps
    the answer), and refused if it ignores conditional writes."""
    if repo is not None:
        spec = ensure_probed(repo, spec)
    require_conditional_writes(spec)
    return spec


def ensure_probed(repo: Repo, spec: RemoteSpec) -> RemoteSpec:
    """``spec`` probed if it is an S3 registry never probed (a remote added with --no-probe,
    or a bare URL): on the first push to it, not on every one, since the work tree keeps the
    answer (a named remote's entry, or the ``probed`` map for bare URLs)."""
    if not spec.is_s3 or spec.conditional_writes is not None:
        return spec
    answered = with_probe(spec, probe(spec))
    config = dict(repo.config)
    if spec.name is not None and spec.name in (config.get("remotes") or {}):
        config["remotes"] = {**config["remotes"], spec.name: answered.as_config()}
    else:
        config["probed"] = {**(config.get("probed") or {}),
                            spec.url: answered.conditional_writes}
    repo.save_config(config)
    return answered


def probed(repo: Repo | None, url: str) -> bool | None:
    """What the probe of a bare registry URL found, as kept in this work tree (None: never
    probed from here)."""
    found = (repo.config.get("probed") or {}).get(url) if repo is not None else None
    return found if isinstance(found, bool) else None


def require_conditional_writes(spec: RemoteSpec) -> None:
    """Refuse a registry whose probe found that it ignores If-None-Match / If-Match: there
    ``latest`` cannot move by compare-and-swap, so two concurrent pushes could both "win" and
    one version would silently stop being ``latest``. Unprobed registries are not refused."""
    if spec.conditional_writes is False:
        raise RemoteError(
            f"{_where(spec)} ignores conditional writes: a push there cannot tell whether "
            "someone else moved 'latest' meanwhile",
            "push with --force if no one else pushes to it; once the endpoint honours "
            "If-None-Match, add the remote again (for a URL: drop its 'probed' entry in "
            ".qvc/config.json) to probe it anew",
        )


def with_probe(spec: RemoteSpec, result: ProbeResult) -> RemoteSpec:
    return RemoteSpec(spec.name, spec.url, spec.dest, spec.endpoint_url, spec.profile,
                      result.conditional_writes)


def _where(spec: RemoteSpec) -> str:
    return f"{spec.url} (endpoint {spec.endpoint_url})" if spec.endpoint_url else spec.url


def _from_config(name: str, entry: dict[str, Any]) -> RemoteSpec:
    return RemoteSpec(name, str(entry["url"]), entry.get("dest"), entry.get("endpoint_url"),
                      entry.get("profile"), entry.get("conditional_writes"))


def _names_hint(known: dict[str, RemoteSpec]) -> str:
    return "known remotes: " + ", ".join(known) if known else ""
