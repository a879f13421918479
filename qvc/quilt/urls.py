"""Pure URL handling: S3 physical keys (exactly as quilt3 writes them) and registry URLs.

A physical key is ``s3://bucket/<key percent-quoted, "/" kept>[?versionId=<id>]``; ``versionId``
is the only query parameter allowed. A registry URL is ``s3://bucket`` (no path: a prefix is a
push destination, not a registry) or a local directory, kept as an absolute path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlencode, urlparse, urlunparse

from qvc.errors import UsageError

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# S3 bucket naming rules, loosely: S3-compatible stores accept a little more (e.g. '_').
_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,254}", re.IGNORECASE)
_HINT = "registries are s3://bucket or a folder (a path or file:///absolute/path)"


@dataclass(frozen=True)
class S3Url:
    bucket: str
    key: str
    version_id: str | None = None

    def __str__(self) -> str:
        return format_s3_url(self.bucket, self.key, self.version_id)


def format_s3_url(bucket: str, key: str, version_id: str | None = None) -> str:
    """``s3://bucket/<quoted key>[?versionId=...]``, byte for byte what quilt3 writes."""
    query = urlencode({"versionId": version_id}) if version_id is not None else ""
    return urlunparse(("s3", bucket, quote("/" + key), None, query, None))


def parse_s3_url(url: str) -> S3Url:
    """Split an ``s3://`` URL into bucket, key (unquoted, may be empty) and version id."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise UsageError(f"not an S3 URL: {url!r}", "S3 URLs look like s3://bucket/key")
    query = parse_qs(parsed.query, keep_blank_values=True)
    versions = query.pop("versionId", [None])
    if query or len(versions) != 1:
        raise UsageError(f"unexpected query in S3 URL {url!r}", "only ?versionId=... is allowed")
    return S3Url(parsed.netloc, unquote(parsed.path)[1:], versions[0])


def scheme(url: str) -> str | None:
    """The URL scheme (lowercase) when ``url`` has one, else None (a plain path)."""
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else None


def looks_like_url(text: str) -> bool:
    """True for things that can only be a registry location, never a remote name."""
    return scheme(text) is not None or text.startswith((".", "~", "/")) or "/" in text


def split_s3_location(url: str) -> tuple[str, str]:
    """``s3://bucket[/prefix]`` -> (bucket, prefix without surrounding slashes)."""
    parsed = urlparse(url)
    bucket = parsed.netloc
    if not bucket or not _BUCKET.fullmatch(bucket) or parsed.query or parsed.fragment:
        raise UsageError(f"invalid S3 location {url!r}", "use s3://bucket-name")
    return bucket, parsed.path.strip("/")


def normalize_registry_url(url: str) -> str:
    """The canonical form of a registry URL: ``s3://bucket`` or an absolute folder path."""
    kind = scheme(url)
    if kind == "s3":
        bucket, prefix = split_s3_location(url)
        if prefix:
            raise UsageError(
                f"a registry is a whole bucket, not a folder in it: {url!r}",
                f"use s3://{bucket} and pass --dest {prefix} to choose where data goes",
            )
        return f"s3://{bucket}"
    if kind == "file":
        parsed = urlparse(url)
        if parsed.netloc not in ("", "localhost") or parsed.query or not parsed.path:
            raise UsageError(f"unsupported file URL {url!r}", "use file:///absolute/path")
        return str(Path(unquote(parsed.path)).resolve())
    if kind is not None:
        raise UsageError(f"unsupported registry URL scheme {kind!r} in {url!r}", _HINT)
    if not url:
        raise UsageError("empty registry URL", _HINT)
    return str(Path(url).expanduser().resolve())


def normalize_dest(registry_url: str, dest: str) -> str:
    """A push destination prefix in the registry's bucket (no leading or trailing '/').

    ``dest`` is a bare prefix or an ``s3://`` URL into the same bucket; another bucket is an
    error, as in quilt3.
    """
    if scheme(dest) == "s3":
        bucket, prefix = split_s3_location(dest)
        if registry_url != f"s3://{bucket}":
            raise UsageError(
                f"--dest {dest!r} is outside the registry {registry_url}",
                "data must live in the registry's own bucket; pass a prefix such as data/pkg",
            )
        dest = prefix
    elif scheme(dest) is not None:
        raise UsageError(f"--dest must be a prefix or an s3:// URL, not {dest!r}")
    prefix = dest.strip("/")
    if any(part in ("", ".", "..") for part in prefix.split("/")) and prefix:
        raise UsageError(f"invalid --dest prefix {dest!r}", "use a/b style prefixes")
    return prefix
