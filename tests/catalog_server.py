"""A small Quilt catalog served on 127.0.0.1 for login tests: config.json, token, credentials."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

REFRESH_TOKEN = "refresh-token-from-the-code-page"


@dataclass
class Catalog:
    url: str = ""
    calls: list[str] = field(default_factory=list)
    access_ttl: float = 3600  # seconds an access token lives
    credentials_ttl: float = 3600
    issued: int = 0
    refresh_tokens: set[str] = field(default_factory=lambda: {REFRESH_TOKEN})

    def answer(self, method: str, path: str, body: bytes, auth: str) -> tuple[int, object]:
        self.calls.append(f"{method} {path}")
        if method == "GET" and path == "/config.json":
            return 200, {"registryUrl": self.url + "/api-base", "mode": "OPEN"}
        if method == "POST" and path == "/api-base/api/token":
            token = parse_qs(body.decode()).get("refresh_token", [""])[0]
            if token not in self.refresh_tokens:
                return 200, {"error": "invalid refresh token"}
            self.issued += 1
            fresh = f"refresh-{self.issued}"
            self.refresh_tokens.add(fresh)
            return 200, {"refresh_token": fresh, "access_token": f"access-{self.issued}",
                         "expires_at": time.time() + self.access_ttl}
        if method == "GET" and path == "/api-base/api/auth/get_credentials":
            if not auth.startswith("Bearer access-"):
                return 401, {"message": "unauthorized"}
            expiry = datetime.fromtimestamp(time.time() + self.credentials_ttl, timezone.utc)
            return 200, {"AccessKeyId": "CATALOGKEY", "SecretAccessKey": "catalog-secret",
                         "SessionToken": "catalog-session",
                         "Expiration": expiry.isoformat().replace("+00:00", "Z")}
        return 404, {"message": "not found"}


@contextmanager
def serve() -> Iterator[Catalog]:
    catalog = Catalog()

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, payload = catalog.answer(method, self.path, body,
                                             self.headers.get("Authorization", ""))
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            self._reply("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._reply("POST")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    catalog.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield catalog
    finally:
        server.shutdown()
        server.server_close()
