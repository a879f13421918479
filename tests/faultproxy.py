"""A fault-injecting reverse HTTP proxy to put between an S3 client and the moto server.

Each :class:`Rule` is a predicate on the request (method, path, query, headers) plus an action,
applied to the next ``times`` matching requests (``None``: every one). Requests no rule
matches are forwarded untouched. Every exchange is logged, so tests can assert what the client
sent (retries, conditional headers) as well as what it got.

Actions:

``500`` / ``503`` / ``429`` / ``403``
    answer with an S3 error (InternalError / SlowDown / Throttling / AccessDenied) without
    forwarding.
``200_error``
    answer 200 with an ``<Error>`` body, as S3 may for CompleteMultipartUpload; not forwarded.
``reset_before``
    read the request, then reset the connection; the request never reaches the server.
``reset_after``
    forward the request (the server applies it), then reset instead of answering.
``delay``
    sleep ``seconds`` before forwarding.
``truncate``
    send the headers and half the response body, then reset (the client's TCP stack may drop
    bytes it had not read yet, so the client may see a failure before any of the body).
``cut``
    send the headers and half the response body, then close cleanly: the client reads exactly
    half the body, then end of stream (a download to resume from where it stopped).
``bitflip``
    flip one bit in the middle of the response body.
``bitflip_request``
    flip one bit in the middle of the uploaded payload before forwarding.
``strip_conditions``
    forward without ``If-None-Match`` / ``If-Match``, as S3-compatible stores that accept
    conditional writes and ignore them do (the log keeps what the client sent).

Request bodies may come with Content-Length or ``Transfer-Encoding: chunked``; they are
forwarded with a Content-Length. ``aws-chunked`` payloads are forwarded as they are (the server
decodes them); ``bitflip_request`` and strict mode look inside them. With ``strict=True`` the
proxy checks a body against the digests the client declared (``x-amz-content-sha256``,
``Content-MD5``, ``x-amz-checksum-sha256``/``-crc32``) and answers 400 on a mismatch, as S3 does
and moto does not.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import re
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ERRORS = {"500": (500, "InternalError"), "503": (503, "SlowDown"), "429": (429, "Throttling"),
          "403": (403, "AccessDenied")}
ACTIONS = {*ERRORS, "200_error", "reset_before", "reset_after", "delay", "truncate", "cut",
           "bitflip", "bitflip_request", "strip_conditions"}
_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "expect", "te",
        "upgrade", "content-length"}
_CONDITIONS = {"if-none-match", "if-match"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class Rule:
    action: str
    method: str | None = None
    path: str | None = None  # regular expression searched in the path
    query: str | None = None  # regular expression searched in the raw query string
    headers: dict[str, str] = field(default_factory=dict)  # name -> regular expression
    times: int | None = 1
    seconds: float = 0.0
    hits: int = 0

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown fault action {self.action!r}")

    def matches(self, req: Request) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method is not None and req.method != self.method.upper():
            return False
        if self.path is not None and not re.search(self.path, req.path):
            return False
        if self.query is not None and not re.search(self.query, req.query):
            return False
        return all(name.lower() in req.headers
                   and re.search(pattern, req.headers[name.lower()]) is not None
                   for name, pattern in self.headers.items())


@dataclass(frozen=True)
class Exchange:
    """One request as the proxy saw it, the fault applied (if any) and the status returned."""

    request: Request
    action: str | None
    status: int | None  # None when the client got a reset instead of a status


class FaultProxy:
    """Reverse proxy on 127.0.0.1 (a free port) in front of ``upstream`` (``http://host:port``)."""

    def __init__(self, upstream: str, strict: bool = False) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.strict = strict
        self.rules: list[Rule] = []
        self.log: list[Exchange] = []
        self._lock = threading.Lock()
        self.rate: float | None = None  # bytes/s each way, shared by every connection
        self.bytes_up = 0  # request bodies the client sent
        self.bytes_down = 0  # response bodies the client read
        self._link_free = [0.0, 0.0]  # when the up / down link is next free (monotonic)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.proxy = self  # type: ignore[attr-defined]
        self._server.handle_error = (  # type: ignore[method-assign]
            lambda request, client_address: None)  # resets are the point: no tracebacks
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add(self, action: str, *, method: str | None = None, path: str | None = None,
            query: str | None = None, headers: dict[str, str] | None = None,
            times: int | None = 1, seconds: float = 0.0) -> Rule:
        """Apply ``action`` to the next ``times`` requests matching every given condition."""
        rule = Rule(action, method, path, query, dict(headers or {}), times, seconds)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.log.clear()
            self.bytes_up = self.bytes_down = 0

    def pace(self, nbytes: int, down: bool) -> None:
        """Count ``nbytes`` crossing the link and, with a ``rate``, wait until a link of that
        bandwidth (one each way, shared by all connections) would have carried them."""
        with self._lock:
            if down:
                self.bytes_down += nbytes
            else:
                self.bytes_up += nbytes
            if not self.rate or not nbytes:
                return
            now = time.monotonic()
            start = max(now, self._link_free[down])
            self._link_free[down] = start + nbytes / self.rate
            wait = self._link_free[down] - now
        time.sleep(wait)

    def requests(self, method: str | None = None, path: str | None = None) -> list[Exchange]:
        """Logged exchanges, optionally filtered by method and a path regular expression."""
        with self._lock:
            return [e for e in self.log
                    if (method is None or e.request.method == method.upper())
                    and (path is None or re.search(path, e.request.path))]

    def _take(self, req: Request) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(req):
                    rule.hits += 1
                    return rule
        return None

    def _record(self, req: Request, action: str | None, status: int | None) -> None:
        with self._lock:
            self.log.append(Exchange(req, action, status))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer
    _log: Callable[[int | None], None]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass

    def _handle(self) -> None:
        proxy: FaultProxy = self.server.proxy  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = Request(self.command, parts.path, parts.query, headers, self._read_body(headers))
        proxy.pace(len(req.body), down=False)
        rule = proxy._take(req)
        # Logged just before the client can see the outcome, so a test that asserts on the log
        # right after its call returns sees this exchange.
        self._log = lambda status: proxy._record(req, rule.action if rule else None, status)
        self._apply(proxy, req, rule)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    def _apply(self, proxy: FaultProxy, req: Request, rule: Rule | None) -> None:
        action = rule.action if rule else None
        xml = [("Content-Type", "application/xml")]
        if action in ERRORS:
            code, name = ERRORS[action]
            self._send(code, xml, error_xml(name), req)
        elif action == "200_error":
            self._send(200, xml, error_xml("InternalError"), req)
        elif action == "reset_before":
            self._reset()
        else:
            if action == "delay" and rule is not None:
                time.sleep(rule.seconds)
            body = flip_payload(req.body, req.headers) if action == "bitflip_request" else req.body
            problem = digest_problem(body, req.headers) if proxy.strict else None
            if problem:
                self._send(400, xml, error_xml(problem), req)
            else:
                dropped = _HOP | _CONDITIONS if action == "strip_conditions" else _HOP
                self._respond(action, req, *self._forward(proxy, req, body, dropped))

    def _respond(self, action: str | None, req: Request, status: int,
                 headers: list[tuple[str, str]], payload: bytes) -> None:
        if action == "reset_after":
            self._reset()
        elif action in ("truncate", "cut"):
            self._send_head(status, headers, len(payload), req)
            self._log = _ignore  # logged with the status sent
            self.wfile.write(payload[: len(payload) // 2])
            if action == "truncate":
                self._reset()
            else:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_WR)  # FIN after the data: nothing lost
                self.close_connection = True
        else:
            self._send(status, headers, flip(payload) if action == "bitflip" else payload, req)

    def _read_body(self, headers: dict[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return b"".join(self._read_chunks())
        length = int(headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _read_chunks(self) -> Iterator[bytes]:
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers: not forwarded
                return
            yield self.rfile.read(size)
            self.rfile.readline()

    def _forward(self, proxy: FaultProxy, req: Request, body: bytes,
                 dropped: set[str]) -> tuple[int, list[tuple[str, str]], bytes]:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in dropped}
        if body or req.method in ("PUT", "POST"):
            headers["Content-Length"] = str(len(body))
        target = req.path + (f"?{req.query}" if req.query else "")
        conn = http.client.HTTPConnection(*proxy.upstream, timeout=60)
        try:
            conn.request(req.method, target, body=body or None, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            return resp.status, resp.getheaders(), payload
        finally:
            conn.close()

    def _send_head(self, status: int, headers: list[tuple[str, str]], length: int,
                   req: Request) -> None:
        self._log(status)
        self.send_response_only(status)
        for name, value in headers:
            if name.lower() not in _HOP or (req.method == "HEAD" and name.lower() ==
                                             "content-length"):
                self.send_header(name, value)
        if req.method != "HEAD":
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def _send(self, status: int, headers: list[tuple[str, str]], payload: bytes,
              req: Request) -> None:
        self._send_head(status, headers, len(payload), req)
        if req.method != "HEAD":
            self.server.proxy.pace(len(payload), down=True)  # type: ignore[attr-defined]
            self.wfile.write(payload)

    def _reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0), as a crashed server would."""
        self._log(None)
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True


def _ignore(status: int | None) -> None:
    pass


def error_xml(code: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>injected fault: {code}</Message><RequestId>faultproxy</RequestId>"
            "</Error>").encode()


def flip(data: bytes, offset: int | None = None) -> bytes:
    """``data`` with the lowest bit of one byte (default: the middle one) inverted."""
    if not data:
        return data
    at = len(data) // 2 if offset is None else offset
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]


def aws_chunks(body: bytes) -> tuple[list[tuple[int, int]], dict[str, str]]:
    """(offset, length) of each data chunk of an ``aws-chunked`` body, and its trailers."""
    spans = []
    pos = 0
    while True:
        eol = body.index(b"\r\n", pos)
        size = int(body[pos:eol].split(b";")[0], 16)
        pos = eol + 2
        if size == 0:
            break
        spans.append((pos, size))
        pos += size + 2
    trailers = {}
    for line in body[pos:].split(b"\r\n"):
        if b":" in line:
            name, value = line.decode().split(":", 1)
            trailers[name.strip().lower()] = value.strip()
    return spans, trailers


def _is_aws_chunked(headers: dict[str, str]) -> bool:
    return ("aws-chunked" in headers.get("content-encoding", "")
            or headers.get("x-amz-content-sha256", "").startswith("STREAMING-"))


def flip_payload(body: bytes, headers: dict[str, str]) -> bytes:
    """Flip a bit of the uploaded data itself (inside the first chunk for aws-chunked)."""
    if _is_aws_chunked(headers):
        spans, _ = aws_chunks(body)
        if not spans:
            return body
        start, length = spans[0]
        return flip(body, start + length // 2)
    return flip(body)


def digest_problem(body: bytes, headers: dict[str, str]) -> str | None:
    """The S3 error code for a body that does not match a digest its sender declared."""
    declared = dict(headers)
    payload = body
    if _is_aws_chunked(headers):
        spans, trailers = aws_chunks(body)
        payload = b"".join(body[s:s + n] for s, n in spans)
        declared.update(trailers)
    else:
        sha = declared.get("x-amz-content-sha256", "")
        if re.fullmatch(r"[0-9a-f]{64}", sha) and hashlib.sha256(payload).hexdigest() != sha:
            return "XAmzContentSHA256Mismatch"
    checks: dict[str, Callable[[], bytes]] = {
        "content-md5": lambda: hashlib.md5(payload).digest(),
        "x-amz-checksum-sha256": lambda: hashlib.sha256(payload).digest(),
        "x-amz-checksum-crc32": lambda: struct.pack(">I", zlib.crc32(payload)),
    }
    for name, compute in checks.items():
        if name in declared and declared[name] != base64.b64encode(compute()).decode():
            return "BadDigest"
    return None
