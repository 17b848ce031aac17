"""Real servers on loopback for the notification tests: SMTP (aiosmtpd, STARTTLS with a
self-signed certificate made here, AUTH LOGIN only) and HTTP (http.server on a thread) that
checks each webhook's signature and timestamp the way a receiver should.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message as EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from daemon.notify.channels import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

SMTP_USER = "roster-robot"
SMTP_PASSWORD = "correct horse battery staple"
WEBHOOK_SECRET = "whsec-0a1b2c3d4e5f"
REPLAY_WINDOW = 300  # seconds a receiver accepts between the timestamp and its clock


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1, and its key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage
    tls: bool
    login: str | None

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        return self.message.get_content()  # type: ignore[attr-defined]


@dataclass
class SmtpServer:
    """aiosmtpd on 127.0.0.1: STARTTLS required, AUTH LOGIN required (after TLS)."""

    cert: Path
    key: Path
    password: str = SMTP_PASSWORD
    mails: list[Mail] = field(default_factory=list)
    logins_refused: int = 0
    refuse: set[str] = field(default_factory=set)  # recipients answered 550
    quit_reply: str | None = None  # instead of 221, after the mail was taken
    port: int = 0
    controller: Controller | None = None

    def start(self) -> SmtpServer:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        self.port = free_port()
        self.controller = Controller(
            self, hostname="127.0.0.1", port=self.port, tls_context=context,
            require_starttls=True, auth_required=True, auth_require_tls=True,
            auth_exclude_mechanism=["PLAIN"], authenticator=self._authenticate,
            ready_timeout=10,
        )  # fmt: skip
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        assert mechanism == "LOGIN", mechanism
        assert isinstance(auth_data, LoginPassword)
        ok = auth_data.login.decode() == SMTP_USER and auth_data.password.decode() == self.password
        if not ok:
            self.logins_refused += 1
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_QUIT(self, server, session, envelope) -> str:
        return self.quit_reply or "221 Bye"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.mails.append(
            Mail(
                sender=envelope.mail_from,
                recipients=list(envelope.rcpt_tos),
                message=message_from_bytes(envelope.original_content, policy=default_policy),
                tls=session.ssl is not None,
                login=session.auth_data.login.decode() if session.authenticated else None,
            )
        )
        return "250 Message accepted for delivery"

    def wait(self, n: int, timeout: float = 10) -> list[Mail]:
        deadline = time.monotonic() + timeout
        while len(self.mails) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.mails)


@dataclass
class Hook:
    headers: dict[str, str]
    body: bytes
    answered: int
    path: str = ""

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


class WebhookServer:
    """An HTTP receiver that checks the signature and the timestamp, answers 401 to a bad
    one, and otherwise answers the next status in `script` (then 200)."""

    def __init__(self, secret: str = WEBHOOK_SECRET) -> None:
        self.secret = secret.encode()
        self.script: list[int] = []
        self.hooks: list[Hook] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                stamp = self.headers.get(TIMESTAMP_HEADER, "")
                signed = self.headers.get(SIGNATURE_HEADER, "")
                fresh = stamp.isdigit() and abs(time.time() - int(stamp)) <= REPLAY_WINDOW
                with outer.lock:
                    if not (fresh and verify(outer.secret, stamp, body, signed)):
                        status = 401
                    else:
                        status = outer.script.pop(0) if outer.script else 200
                    outer.hooks.append(Hook(dict(self.headers.items()), body, status, self.path))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        # looks for a stop every 50 ms (socketserver's 0.5 s made each stop wait ~0.25 s)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/roster/t0k3n-in-the-path"

    def start(self) -> WebhookServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def accepted(self) -> list[Hook]:
        with self.lock:
            return [h for h in self.hooks if h.answered == 200]

    def wait(self, n: int, timeout: float = 10) -> list[Hook]:
        deadline = time.monotonic() + timeout
        while len(self.accepted()) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.accepted()


class RawServer:
    """A misbehaving server on 127.0.0.1: `talk(conn, stop)` runs for each connection on its
    own thread (an endless answer, a byte every so often). `sent` counts the bytes it got
    out, through `send()`; a connection ends when the client goes or `stop()` is called."""

    def __init__(self, talk: Any) -> None:
        self.talk = talk
        self.sent = 0
        self.stopping = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def start(self) -> RawServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.listener.close()

    def send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        self.sent += len(data)

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            self.talk(self, conn)


def read_request(conn: socket.socket) -> None:
    """Read an HTTP request's head and its Content-Length body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return
        body += chunk


def secret_file(path: Path, value: str, mode: int = 0o600) -> Path:
    path.write_text(value + "\n")
    path.chmod(mode)
    return path


def iter_all(*groups: list[Any]) -> Iterator[Any]:
    for group in groups:
        yield from group
