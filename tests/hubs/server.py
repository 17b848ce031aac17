"""A threaded HTTP server on loopback with faults a test can schedule.

Each hub (oneroster.py, clever.py) answers GETs from its own data; the faults here are what real
servers do at night: a 500, a 429 with Retry-After, a connection cut in the middle of a page, a
page that is not JSON; and what a hostile or broken one does: a page dripped a byte at a time, a
page that never ends, a Content-Length no page has.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Fault:
    """Answer the `nth` request whose path ends with `path` badly, once: kind is 'status'
    (with `status` and `headers`), 'drop' (cut the body), 'garbage' (not JSON), 'trickle' (the
    body a byte every `interval` seconds), 'trickle-headers' (the status line and headers so),
    'endless' (the page, then spaces until the client hangs up), 'oversize' (a Content-Length
    of a terabyte, then the page), 'no-content' (HTTP 204, no body)."""

    path: str
    kind: str
    nth: int = 1
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    seen: int = 0
    interval: float = 0.05


class Hub:
    """Base of a hub: starts on 127.0.0.1 on a free port, records every request."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []  # (method, path with query)
        self.lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as two writes: with Nagle's algorithm the body waited for
            # the client's delayed ACK of the headers, about 20 ms a request on loopback (most
            # of a pull test's time).
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                hub._dispatch(self, "GET")

            def do_POST(self) -> None:
                hub._dispatch(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # looks for a stop every 50 ms: socketserver's 0.5 s made each `with hub:` end wait ~0.25 s
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Hub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Hub:
        """`with hub:` serves for the block (started here unless it already runs)."""
        return self if self.thread.is_alive() else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fault(self, path: str, kind: str, **kwargs: Any) -> Fault:
        fault = Fault(path, kind, **kwargs)
        self.faults.append(fault)
        return fault

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        with self.lock:
            self.requests.append((method, handler.path))
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        fault = self._take_fault(parts.path)
        try:
            status, headers, payload = self.answer(
                handler, method, parts.path, parse_qs(parts.query), body
            )
        except Exception as exc:  # a bug in the hub shows as a 599 the test will notice
            status, headers, payload = 599, {}, json.dumps({"error": repr(exc)}).encode()
        if fault is not None and status == 200:
            if fault.kind == "status":
                status, headers, payload = fault.status, fault.headers, b'{"error": "injected"}'
            elif fault.kind == "no-content":
                handler.send_response(204)
                handler.end_headers()
                return
            elif fault.kind == "garbage":
                payload = b'{"users": [ {"sourcedId": '
            elif fault.kind == "drop":
                handler.send_response(200)
                handler.send_header("Content-Type", "application/json")
                handler.send_header("Content-Length", str(len(payload)))
                handler.end_headers()
                handler.wfile.write(payload[: len(payload) // 2])
                handler.wfile.flush()
                handler.close_connection = True
                return
            elif fault.kind in HOSTILE:
                handler.close_connection = True
                # the client hanging up (OSError) is what the fault is there to make it do
                with contextlib.suppress(OSError):
                    HOSTILE[fault.kind](handler, payload, fault.interval)
                return
        handler.send_response(status)
        if "Content-Type" not in headers:
            handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(payload)

    def _take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if path.endswith(fault.path) and fault.times > 0:
                    fault.seen += 1
                    if fault.seen >= fault.nth:
                        fault.times -= 1
                        return fault
        return None

    def answer(
        self,
        handler: BaseHTTPRequestHandler,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: bytes,
    ) -> tuple[int, dict[str, str], bytes]:
        raise NotImplementedError

    def api_requests(self, suffix: str) -> list[str]:
        return [p for m, p in self.requests if urlsplit(p).path.endswith(suffix)]


def _head(length: int | None) -> bytes:
    lines = ["HTTP/1.1 200 OK", "Content-Type: application/json", "Connection: close"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _drip(handler: BaseHTTPRequestHandler, data: bytes, interval: float) -> None:
    for byte in data:
        handler.wfile.write(bytes([byte]))
        time.sleep(interval)


def _trickle(handler: BaseHTTPRequestHandler, payload: bytes, interval: float) -> None:
    handler.wfile.write(_head(len(payload)))
    _drip(handler, payload, interval)


def _trickle_headers(handler: BaseHTTPRequestHandler, payload: bytes, interval: float) -> None:
    _drip(handler, _head(len(payload)), interval)
    handler.wfile.write(payload)


def _endless(handler: BaseHTTPRequestHandler, payload: bytes, interval: float) -> None:
    handler.wfile.write(_head(None) + payload)  # no length: the body ends when the server hangs up
    while True:
        handler.wfile.write(b" " * 65536)


def _oversize(handler: BaseHTTPRequestHandler, payload: bytes, interval: float) -> None:
    handler.wfile.write(_head(10**12) + payload)


HOSTILE = {
    "trickle": _trickle,
    "trickle-headers": _trickle_headers,
    "endless": _endless,
    "oversize": _oversize,
}


def json_body(value: Any) -> bytes:
    return json.dumps(value).encode()


class Catcher(Hub):
    """Another server on loopback (another port, so another origin): records what reaches it
    (the Authorization header too) and answers an empty page, as a host a link points to."""

    def __init__(self) -> None:
        super().__init__()
        self.authorizations: list[str | None] = []

    def answer(
        self,
        handler: BaseHTTPRequestHandler,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: bytes,
    ) -> tuple[int, dict[str, str], bytes]:
        self.authorizations.append(handler.headers.get("Authorization"))
        return 200, {}, json_body({"users": [], "data": [], "links": []})
