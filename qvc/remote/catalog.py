"""Logging in to a Quilt catalog, for users with no AWS credentials of their own.

The protocol quilt3 uses (``session.py``): the catalog's ``<navigator_url>/config.json`` names
its API (``registryUrl``); the user copies a refresh token from ``<navigator_url>/code``;
``POST <registryUrl>/api/token`` turns it into an access token, and
``GET <registryUrl>/api/auth/get_credentials`` (Bearer access token) into short-lived AWS
credentials. Both answers are kept in the user data folder, ``auth.json`` (per registry URL)
and ``credentials.json``, readable by the user only. S3 stores use these credentials while
they exist (:func:`credential_source`), refreshing them shortly before they expire;
:func:`logout` empties both files, and the ordinary AWS credential chain applies again.

No prompting here: :func:`qvc.login` asks for the token, this module only takes it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from qvc.conf import userconfig
from qvc.errors import CredentialsError, RemoteError, UsageError
from qvc.sysio.fileio import atomic_write

AUTH_FILE = "auth.json"
CREDENTIALS_FILE = "credentials.json"
REFRESH_MARGIN = 60  # seconds before expiry at which tokens and credentials are renewed
TIMEOUT = 30
_LOGIN_HINT = "run qvc.login() again"


def configure(url: str) -> dict[str, Any]:
    """Point qvc at the catalog at ``url``: read its config.json, store its URLs."""
    navigator = url.strip().rstrip("/")
    try:
        parsed = urllib.parse.urlparse(navigator)
        valid = parsed.scheme in ("http", "https") and bool(parsed.hostname) and (
            parsed.port is None or parsed.port > 0)  # .port raises for a non-numeric port
    except ValueError:
        valid = False
    if not valid:
        raise UsageError(f"invalid catalog URL {url!r}", "use the catalog's https:// address")
    found = _request(navigator + "/config.json")
    registry = found.get("registryUrl")
    if not isinstance(registry, str) or not registry.startswith(("http://", "https://")):
        raise RemoteError(f"{navigator}/config.json names no registryUrl",
                          "check that the URL is a Quilt catalog's home page")
    userconfig.update(navigator_url=navigator, registryUrl=registry.rstrip("/"))
    return found


def code_url() -> str:
    """The page that shows the user a refresh token to paste."""
    return _setting("navigator_url") + "/code"


def login(refresh_token: str) -> None:
    """Exchange a refresh token for AWS credentials and store both (mode 0600)."""
    token = refresh_token.strip()
    if not token:
        raise UsageError("empty catalog token", f"copy the token shown at {code_url()}")
    registry = _setting("registryUrl")
    auth = _exchange(registry, token)
    _save(AUTH_FILE, {registry: auth})
    _save(CREDENTIALS_FILE, _fetch_credentials(registry, auth))
    _forget_clients()


def logout() -> None:
    """Forget the catalog session: S3 access falls back to the AWS credential chain."""
    _save(AUTH_FILE, {})
    _save(CREDENTIALS_FILE, {})
    _forget_clients()


def _forget_clients() -> None:
    """S3 clients made before a login or logout hold the previous user's credentials."""
    from qvc.storage.s3 import forget_clients  # boto3 is imported only when S3 is used

    forget_clients()


def logged_in() -> bool:
    return bool(_load(CREDENTIALS_FILE) or _load(AUTH_FILE))


def credential_source() -> Callable[[], Mapping[str, str]] | None:
    """A callable for S3 stores returning fresh catalog credentials, or None when not
    logged in (then the AWS chain applies)."""
    return current_credentials if logged_in() else None


def current_credentials() -> Mapping[str, str]:
    """The stored credentials, renewed first when they expire within a minute."""
    creds = _load(CREDENTIALS_FILE)
    if not creds or _expires_soon(_timestamp(creds.get("Expiration"))):
        creds = _refresh()
    return {"access_key": creds["AccessKeyId"], "secret_key": creds["SecretAccessKey"],
            "token": creds.get("SessionToken", ""), "expiry_time": creds["Expiration"]}


def _refresh() -> dict[str, Any]:
    registry = _setting("registryUrl")
    auth = _load(AUTH_FILE).get(registry)
    if not isinstance(auth, dict) or "refresh_token" not in auth:
        raise CredentialsError("not logged in to the Quilt catalog", _LOGIN_HINT)
    if _expires_soon(_timestamp(auth.get("expires_at"))):
        auth = _exchange(registry, auth["refresh_token"])
        _save(AUTH_FILE, {registry: auth})
    creds = _fetch_credentials(registry, auth)
    _save(CREDENTIALS_FILE, creds)
    return creds


def _exchange(registry: str, refresh_token: str) -> dict[str, Any]:
    body = urllib.parse.urlencode({"refresh_token": refresh_token}).encode()
    auth = _request(registry + "/api/token", data=body)
    if "error" in auth or not isinstance(auth.get("access_token"), str):
        raise CredentialsError(f"the catalog refused the token: {auth.get('error', 'no token')}",
                               f"get a fresh token at {code_url()} and {_LOGIN_HINT}")
    return auth


def _fetch_credentials(registry: str, auth: Mapping[str, Any]) -> dict[str, Any]:
    creds = _request(registry + "/api/auth/get_credentials",
                     headers={"Authorization": f"Bearer {auth['access_token']}"})
    if not all(isinstance(creds.get(k), str)
               for k in ("AccessKeyId", "SecretAccessKey", "Expiration")):
        raise CredentialsError("the catalog sent no AWS credentials", _LOGIN_HINT)
    return creds


def _request(url: str, *, data: bytes | None = None,
             headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """GET (or POST ``data``) ``url`` and return its JSON object answer."""
    request = urllib.request.Request(url, data=data, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            body = response.read()
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise CredentialsError(f"the catalog refused access ({exc.code}) at {url}",
                                   _LOGIN_HINT) from None
        raise RemoteError(f"the catalog answered {exc.code} at {url}",
                          "check the catalog URL; try again later") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RemoteError(f"cannot reach the catalog at {url}: {reason}",
                          "check the URL and your network connection") from None
    try:
        found = json.loads(body)
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise RemoteError(f"the catalog sent something that is not a JSON object from {url}",
                          "check that the URL is a Quilt catalog")
    return found


def _setting(key: str) -> str:
    value = userconfig.get(key)
    if not isinstance(value, str) or not value:
        raise UsageError("no Quilt catalog is configured",
                         "run qvc.config('https://your-catalog/') first")
    return value


def _timestamp(value: Any) -> float | None:
    """Unix seconds from a number or an ISO 8601 date ("...Z" accepted); None if unknown."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.timestamp()
    return None


def _expires_soon(when: float | None) -> bool:
    return when is None or when < time.time() + REFRESH_MARGIN


def _path(name: str) -> Path:
    return userconfig.data_dir() / name


def _load(name: str) -> dict[str, Any]:
    try:
        found = json.loads(_path(name).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _save(name: str, value: dict[str, Any]) -> None:
    path = _path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(value).encode(), mode=0o600)
