"""A misbehaving S3 endpoint for tests: an HTTP proxy in front of the moto server.

It can ignore conditional-write headers (as some S3-compatible stores do) and cut GET response
bodies short (a connection reset mid-download), so tests see the failures real networks and
servers produce, over real HTTP.
"""

from __future__ import annotations

import http.client
import http.server
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

_HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "server", "date"}


@dataclass
class Faults:
    strip_conditions: bool = False
    cut_gets: int = 0  # how many GET bodies to cut in half before behaving
    requests: list[str] = field(default_factory=list)  # "METHOD path range" as seen
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take_cut(self) -> bool:
        with self.lock:
            if self.cut_gets <= 0:
                return False
            self.cut_gets -= 1
            return True


def _handler(upstream: int, faults: Faults) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            dropped = {"host", *(("if-none-match", "if-match") if faults.strip_conditions else ())}
            headers = {k: v for k, v in self.headers.items() if k.lower() not in dropped}
            faults.requests.append(f"{self.command} {self.path} {self.headers.get('Range', '')}")
            conn = http.client.HTTPConnection("127.0.0.1", upstream)
            conn.request(self.command, self.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            conn.close()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in _HOP_HEADERS:
                    self.send_header(key, value)
            length = response.getheader("Content-Length") if self.command == "HEAD" else None
            self.send_header("Content-Length", length or str(len(data)))
            self.end_headers()
            if self.command == "GET" and len(data) > 1 and faults.take_cut():
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _forward

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def fault_proxy(upstream_port: int, faults: Faults) -> Iterator[str]:
    """Serve the proxy on 127.0.0.1 (random port); yields its endpoint URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream_port, faults))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
