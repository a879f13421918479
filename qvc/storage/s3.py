"""A Store over an S3 bucket (AWS or S3-compatible): the only module that imports boto3.

Clients are shared: every store that connects the same way (endpoint, profile, credential
source, region, retries and timeouts) uses one client, made on first use, by all its threads
(botocore clients are thread-safe; sessions are not, so each client gets a session of its own,
made under a lock). :func:`forget_clients` drops them when the credentials behind them change,
e.g. on a catalog login. The client config is explicit because botocore's defaults have
changed between releases: standard retries with a bounded number of attempts, timeouts, a
connection pool large enough for parallel transfers, and SHA-256 request checksums.

Endpoint: ``endpoint_url`` if given, else ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` (read by
botocore itself), else AWS. Credentials: the standard AWS chain for ``profile`` (environment,
profile, SSO, instance role), or a :data:`CredentialSource` passed to the constructor (it
replaces the chain, and ``profile``), e.g. short-lived STS credentials from a Quilt catalog
login: ``S3Store("bucket", credentials=source)``; botocore calls ``source`` again shortly
before the credentials it returned expire.

Every botocore error is translated here into a QvcError with a one-line message and a hint.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    FlexibleChecksumError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)
from botocore.exceptions import (
    ConnectionError as EndpointError,
)
from botocore.session import get_session

from qvc.errors import (
    CredentialsError,
    IntegrityError,
    PathError,
    QvcError,
    RemoteError,
    UsageError,
)
from qvc.quilt.urls import format_s3_url, parse_s3_url, split_s3_location
from qvc.storage.base import (
    Capabilities,
    MultipartUpload,
    ObjectInfo,
    ObjectNotFound,
    PreconditionFailed,
    check_bucket_key,
    check_writes,
    version_of,
)
from qvc.storage.s3multipart import MULTIPART_THRESHOLD, upload_multipart
from qvc.sysio.progress import ByteProgress

CredentialSource = Callable[[], Mapping[str, str]]
"""Returns ``access_key``, ``secret_key``, ``token`` and ``expiry_time`` (ISO 8601); called
again shortly before ``expiry_time``."""

DEFAULT_ATTEMPTS = 5
BODY_ATTEMPTS = 5  # botocore never retries errors raised while reading a response body
_READ_BLOCK = 1 << 20
_URL_SYNTAX = re.compile(r"[?#%\t\r\n]")  # what makes a key part of a URL more than its text

# Making a client costs tens of milliseconds (botocore loads its service model), and a single
# command opens several stores for one bucket, so clients live for the process.
_CLIENTS: dict[tuple[object, ...], Any] = {}
_CLIENTS_LOCK = threading.Lock()
# What else decides how a new client connects and whom it authenticates as.
_CLIENT_ENV = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_ACCESS_KEY_ID",
               "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_REGION",
               "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


def forget_clients() -> None:
    """Drop the shared clients: stores that have no client yet make fresh ones (with the
    credentials of the moment). Stores already holding one keep it."""
    with _CLIENTS_LOCK:
        _CLIENTS.clear()


class S3Store:
    """A bucket (see :class:`qvc.storage.base.Store`); ETags are S3's."""

    capabilities = Capabilities(multipart=True, conditional_writes=True, remote=True)

    def __init__(self, bucket: str, *, endpoint_url: str | None = None,
                 profile: str | None = None, credentials: CredentialSource | None = None,
                 max_attempts: int | None = None, connect_timeout: float = 10,
                 read_timeout: float = 60) -> None:
        self.bucket = bucket
        self.url = f"s3://{bucket}"
        self.endpoint_url = endpoint_url
        self.profile = profile
        self.credentials = credentials
        self.max_attempts = max_attempts or _env_attempts()
        self.timeouts = (connect_timeout, read_timeout)
        self._client: Any = None
        self._bucket_checked = False
        self._kept_versions = False  # the bucket's versioning was seen enabled or suspended

    @classmethod
    def from_url(cls, url: str, endpoint_url: str | None = None,
                 profile: str | None = None) -> S3Store:
        """The store for a registry URL, which must be ``s3://bucket`` with no path."""
        bucket, prefix = split_s3_location(url)
        if prefix:
            raise UsageError(f"a registry is a whole bucket, not a folder in it: {url!r}",
                             f"use s3://{bucket} (a data prefix is set with --dest)")
        return cls(bucket, endpoint_url=endpoint_url, profile=profile)

    # the client ------------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The shared client for the way this store connects (made on first use)."""
        if self._client is None:
            key = self._client_key()
            with _CLIENTS_LOCK:
                client = _CLIENTS.get(key)
                if client is None:
                    with self.translating(""):
                        client = self._session().client(
                            "s3", endpoint_url=self.endpoint_url, config=self._config())
                    _CLIENTS[key] = client
            self._client = client
        return self._client

    def _client_key(self) -> tuple[object, ...]:
        return (self.endpoint_url, self.profile, self.credentials, self.max_attempts,
                self.timeouts, *(os.environ.get(name) for name in _CLIENT_ENV))

    @property
    def endpoint(self) -> str:
        """The endpoint actually used (without creating a client if there is none yet)."""
        if self._client is not None:
            return str(self._client.meta.endpoint_url)
        return self._custom_endpoint() or "AWS S3"

    def _session(self) -> boto3.session.Session:
        if self.credentials is None:
            return boto3.session.Session(profile_name=self.profile)
        core = get_session()
        # botocore has no public setter for refreshable credentials; quilt3 does the same.
        core._credentials = RefreshableCredentials.create_from_metadata(
            metadata=self.credentials(), refresh_using=self.credentials, method="qvc")
        return boto3.session.Session(botocore_session=core)

    def _config(self) -> Config:
        connect, read = self.timeouts
        return Config(
            retries={"mode": "standard", "max_attempts": self.max_attempts},
            connect_timeout=connect, read_timeout=read, max_pool_connections=32,
            tcp_keepalive=True,
            request_checksum_calculation="when_supported",
            response_checksum_validation="when_supported",
            # S3-compatible stores (MinIO, Ceph, moto) rarely serve bucket subdomains.
            s3={"addressing_style": "path"} if self._custom_endpoint() else None,
        )

    def _custom_endpoint(self) -> str | None:
        return (self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3")
                or os.environ.get("AWS_ENDPOINT_URL"))

    @contextmanager
    def translating(self, key: str) -> Iterator[None]:
        """Turn any botocore error raised inside into the matching QvcError."""
        try:
            yield
        except (BotoCoreError, ClientError) as exc:
            raise translate(exc, self, key) from None

    # reading ---------------------------------------------------------------------------------

    def get(self, key: str, version_id: str | None = None) -> bytes:
        buffer = io.BytesIO()
        self._download(key, version_id, buffer, None)
        return buffer.getvalue()

    def reader(self, key: str) -> BinaryIO:
        """The object read into memory: S3 bodies cannot be read line by line."""
        return io.BytesIO(self.get(key))

    def get_to_file(self, key: str, dest: Path, version_id: str | None = None,
                    progress: ByteProgress | None = None, start: int = 0) -> None:
        """Stream an object into ``dest`` (replaced, or appended to from ``start``), resuming
        with ranged GETs on a broken body."""
        check_bucket_key(key)
        with open(dest, "r+b" if start else "wb") as out:
            if start:
                out.truncate(start)
                out.seek(start)
            self._download(key, version_id, out, progress, start)

    def _download(self, key: str, version_id: str | None, out: IO[bytes],
                  progress: ByteProgress | None, start: int = 0) -> None:
        """Copy an object (from byte ``start`` on) into ``out``; a body cut short resumes with
        a ranged GET."""
        written, etag = start, None
        for attempt in range(1, BODY_ATTEMPTS + 1):
            args = self._key_args(key, version_id)
            if written:
                args["Range"] = f"bytes={written}-"
                if etag is not None:
                    args["IfMatch"] = etag  # resume only the very object we started reading
            with self.translating(key):
                response = self.client.get_object(**args)
            etag = response["ETag"]
            try:
                for block in response["Body"].iter_chunks(_READ_BLOCK):
                    out.write(block)
                    written += len(block)
                    if progress:
                        out.flush()  # the bytes reported are in the file
                        progress(len(block))
                return
            except FlexibleChecksumError:
                written = 0  # some byte read was wrong: start over
                out.seek(0)
                out.truncate()
            except (HTTPClientError, IncompleteReadError) as exc:
                if attempt == BODY_ATTEMPTS:
                    raise translate(exc, self, key) from None
            time.sleep(min(0.1 * 2**attempt, 2.0))
        raise IntegrityError(f"{self.physical_key(key, version_id)} kept failing its checksum",
                             "try again; if it persists the stored object is damaged")

    def head(self, key: str, version_id: str | None = None) -> ObjectInfo | None:
        """Size, ETag, version and SHA-256 checksum of an object, or None if it is absent."""
        try:
            response = self.client.head_object(ChecksumMode="ENABLED",
                                               **self._key_args(key, version_id))
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            # 405: a delete marker; 400: a version id the bucket cannot have (unversioned)
            if status == 404 or (status in (400, 405) and version_id):
                self._require_bucket()
                return None
            raise translate(exc, self, key) from None
        except BotoCoreError as exc:
            raise translate(exc, self, key) from None
        return ObjectInfo(size=response["ContentLength"], etag=response["ETag"],
                          version_id=version_of(response),
                          checksum_sha256=response.get("ChecksumSHA256"))

    def _require_bucket(self) -> None:
        """A HEAD 404 does not say whether the key or the bucket is missing: ask once."""
        if self._bucket_checked:
            return
        try:
            with self.translating(""):
                self.client.head_bucket(Bucket=self.bucket)
        except ObjectNotFound:
            raise _no_bucket(self) from None
        self._bucket_checked = True

    def list(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        with self.translating(prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", ()):
                    yield item["Key"]

    # writing ---------------------------------------------------------------------------------

    def put(self, key: str, data: bytes, *, if_none_match: bool = False,
            if_match: str | None = None) -> ObjectInfo:
        """Write ``data``; S3 checks it against the SHA-256 sent along."""
        check_writes(if_none_match, if_match)
        args = self._key_args(key, None)
        checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
        args.update(Body=data, ChecksumAlgorithm="SHA256", ChecksumSHA256=checksum)
        if if_none_match:
            args["IfNoneMatch"] = "*"
        if if_match is not None:
            args["IfMatch"] = if_match
        try:
            with self.translating(key):
                response = self.client.put_object(**args)
        except ObjectNotFound:
            if if_match is None:
                raise
            # S3-compatible servers answer If-Match on a missing key with 404, AWS with 412
            raise PreconditionFailed(f"{self.physical_key(key)} no longer exists") from None
        return ObjectInfo(size=len(data), etag=response["ETag"],
                          version_id=version_of(response),
                          checksum_sha256=response.get("ChecksumSHA256") or checksum)

    def put_file(self, key: str, source: Path, *, if_none_match: bool = False,
                 progress: ByteProgress | None = None) -> ObjectInfo:
        """Upload a file: one PUT below 8 MiB, else a multipart upload cut in Quilt's chunks.

        The returned ``checksum_sha256`` is S3's: the plain SHA-256 for one PUT, the composite
        ``<b64>-<parts>`` for multipart (computed from the parts sent when the server's
        response leaves it out); :func:`qvc.quilt.hashing.s3_checksum_to_chunked` or
        :func:`qvc.quilt.hashing.single_part_to_chunked` turn it into the manifest hash.
        """
        size = source.stat().st_size
        check_bucket_key(key)
        if size < MULTIPART_THRESHOLD:
            info = self.put(key, source.read_bytes(), if_none_match=if_none_match)
            if info.size != size:
                raise PathError(f"{source} changed while it was being uploaded",
                                "run the command again once the file is stable")
            if progress:
                progress(size)
            return info
        return upload_multipart(self, key, source, size, if_none_match, progress)

    def delete(self, key: str, version_id: str | None = None) -> None:
        args = self._key_args(key, version_id)
        if version_id is not None and not self._has_versions():
            return  # some servers would delete the object itself for any version id
        with self.translating(key):
            self.client.delete_object(**args)

    def _has_versions(self) -> bool:
        """Whether the bucket ever had versioning on (enabled or suspended)."""
        if not self._kept_versions:
            with self.translating(""):
                status = self.client.get_bucket_versioning(Bucket=self.bucket).get("Status")
            self._kept_versions = status in ("Enabled", "Suspended")
        return self._kept_versions

    # registry helpers ------------------------------------------------------------------------

    def physical_key(self, key: str, version_id: str | None = None) -> str:
        return format_s3_url(self.bucket, check_bucket_key(key), version_id)

    def key_for(self, physical_key: str) -> tuple[str, str | None] | None:
        prefix = self.url + "/"
        if physical_key.startswith(prefix) and not _URL_SYNTAX.search(physical_key, len(prefix)):
            # the common case, and what parse_s3_url would make of it: nothing to unquote
            key, version = physical_key[len(prefix):], None
        elif physical_key.startswith("s3://"):
            try:
                url = parse_s3_url(physical_key)
            except UsageError:
                return None
            if url.bucket != self.bucket:
                return None
            key, version = url.key, url.version_id
        else:
            return None
        return (key, version) if key and "\0" not in key else None

    def versioning_enabled(self) -> bool:
        with self.translating(""):
            response = self.client.get_bucket_versioning(Bucket=self.bucket)
        return bool(response.get("Status") == "Enabled")

    def list_multipart_uploads(self, prefix: str) -> Iterator[MultipartUpload]:
        """Unfinished multipart uploads under ``prefix`` (left behind by killed pushes)."""
        paginator = self.client.get_paginator("list_multipart_uploads")
        with self.translating(prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Uploads", ()):
                    yield MultipartUpload(item["Key"], item["UploadId"], item["Initiated"])

    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        """Abort an upload; one that is already gone is fine."""
        try:
            with self.translating(key):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key,
                                                   UploadId=upload_id)
        except ObjectNotFound:
            pass

    def _key_args(self, key: str, version_id: str | None) -> dict[str, Any]:
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": check_bucket_key(key)}
        if version_id is not None:
            args["VersionId"] = version_id
        return args


def _env_attempts() -> int:
    value = os.environ.get("AWS_MAX_ATTEMPTS")
    if not value:
        return DEFAULT_ATTEMPTS
    if not value.isdigit() or int(value) < 1:
        raise UsageError(f"AWS_MAX_ATTEMPTS must be a positive integer, not {value!r}")
    return int(value)


# error translation ---------------------------------------------------------------------------

_CREDENTIAL_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
                     "InvalidToken", "TokenRefreshRequired", "InvalidClientTokenId"}
_DENIED_CODES = {"AccessDenied", "403", "Forbidden", "AllAccessDisabled", "AccountProblem"}
_MISSING_CODES = {"NoSuchKey", "404", "NotFound", "NoSuchVersion", "NoSuchUpload"}
_CONFLICT_CODES = {"PreconditionFailed", "412", "ConditionalRequestConflict"}


def translate(exc: Exception, store: S3Store, key: str) -> QvcError:
    """The QvcError for a botocore error met while working on ``key`` in ``store``."""
    where = store.physical_key(key) if key else store.url
    if isinstance(exc, ClientError):
        return _client_error(exc, store, where)
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return CredentialsError(f"no usable AWS credentials for {store.url}")
    if isinstance(exc, ProfileNotFound):
        return CredentialsError(f"AWS profile {store.profile!r} is not configured",
                                "check the name in ~/.aws/config or the remote's --profile")
    if isinstance(exc, (SSOError, TokenRetrievalError, CredentialRetrievalError)):
        return CredentialsError(f"could not get AWS credentials: {exc}",
                                "run 'aws sso login' (with --profile) or refresh your login")
    if isinstance(exc, (EndpointError, HTTPClientError)):
        return RemoteError(f"cannot reach {store.endpoint} ({type(exc).__name__})",
                           "check the network and the endpoint (--endpoint-url, "
                           "AWS_ENDPOINT_URL), then try again")
    return RemoteError(f"S3 request for {where} failed: {exc}")


def _client_error(exc: ClientError, store: S3Store, where: str) -> QvcError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = error.get("Message") or code
    if code == "NoSuchBucket":
        return _no_bucket(store)
    if code in _MISSING_CODES or (code == "InvalidArgument" and "version" in message.lower()):
        return ObjectNotFound(f"not found: {where}")  # a version id the bucket cannot have
    if code in _CONFLICT_CODES:
        return PreconditionFailed(f"{where} was changed by someone else ({code})")
    if code in _CREDENTIAL_CODES:
        return CredentialsError(f"AWS rejected the credentials for {store.url}: {code}")
    if code in _DENIED_CODES:
        profile = f" (profile {store.profile})" if store.profile else ""
        return RemoteError(f"access denied to {where}",
                           f"check that your AWS credentials{profile} may read and write "
                           f"{store.url}, or pick another --profile")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    hint = ("the service kept failing or throttling through every retry; try again later "
            "(AWS_MAX_ATTEMPTS sets how many attempts are made)" if status >= 500 or status == 429
            else "check the registry URL and your access to it, then try again")
    return RemoteError(f"S3 refused the request for {where}: {code}: {message}", hint)


def _no_bucket(store: S3Store) -> RemoteError:
    return RemoteError(f"bucket {store.bucket} does not exist at {store.endpoint}",
                       "check the registry URL (and --endpoint-url for S3-compatible stores)")
