"""Sending one message over one channel: email (SMTP with STARTTLS and a login) or a webhook
(an HTTP POST of JSON, signed).

Why these choices: a district's mail relay (Microsoft 365, Google, a county relay) takes
submission on port 587 with STARTTLS and a login, so that is the default, and a login is never
sent before TLS. A webhook receiver must be able to tell our messages from anyone's and refuse
an old one sent again, so the body is signed with HMAC-SHA256 over `<timestamp>.<body>`, and
the timestamp travels in its own header (a receiver refuses a timestamp far from its clock).

Every failure comes out as `DeliveryError` whose text names what went wrong in words safe to
log and store: never the password or key, never the webhook's path or query (receivers such
as chat services carry a token there).

What a server sends can never hold the daemon: `timeout_seconds` is a deadline for the whole
delivery (a server that drips a byte at a time is cut off when it passes: the socket is shut),
at most `BODY_CAP` of a webhook's answer is read, and an SMTP reply longer than `REPLY_CAP`
ends the session.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import smtplib
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from types import TracebackType
from typing import Any, BinaryIO

import httpx

from daemon.notify.config import EmailChannel, NotifyError, WebhookChannel, read_secret
from daemon.notify.messages import Message

SIGNATURE_HEADER = "X-Roster-Sync-Signature"
TIMESTAMP_HEADER = "X-Roster-Sync-Timestamp"
EVENT_HEADER = "X-Roster-Sync-Event"
DELIVERY_HEADER = "X-Roster-Sync-Delivery"
USER_AGENT = "roster-sync-notify/1"
BODY_CAP = 64 * 1024  # of a webhook's answer; only its status is used
REPLY_CAP = 64 * 1024  # of one SMTP reply, all its lines together


class DeliveryError(Exception):
    """A message was not delivered; the text is safe to log and store (no secrets)."""


class Sent(str):
    """What the server said about a message it took. `partial`: it refused some recipients
    (the delivery is done, not retried, but it is not a clean send either)."""

    partial: bool = False

    @classmethod
    def partly(cls, note: str) -> Sent:
        sent = cls(note)
        sent.partial = True
        return sent


class Deadline:
    """`seconds` for a whole delivery. Socket timeouts bound each read, not the sum, so a
    server that drips a byte at a time would hold the sender for ever; when the deadline
    passes this shuts the connection's sockets, which ends any read in progress."""

    def __init__(self, seconds: float, sockets: Callable[[], list[socket.socket | None]]) -> None:
        self.seconds = seconds
        self.sockets = sockets
        self.expired = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="notify-deadline", daemon=True)

    def __enter__(self) -> Deadline:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        if self._done.wait(self.seconds):
            return
        self.expired = True
        while not self._done.is_set():  # again until the sender notices (a socket may be new)
            for sock in self.sockets():
                if sock is not None:
                    # the plain socket's shutdown: TLS state is left to the sending thread
                    with contextlib.suppress(OSError):
                        socket.socket.shutdown(sock, socket.SHUT_RDWR)
            self._done.wait(0.05)


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header's value: `sha256=` and the hex HMAC of `<timestamp>.<body>`."""
    mac = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: bytes, timestamp: str, body: bytes, header: str) -> bool:
    """What a receiver does (and the tests do): compare in constant time."""
    return hmac.compare_digest(sign(secret, timestamp, body), header)


def send(
    channel: EmailChannel | WebhookChannel,
    message: Message,
    *,
    event_id: int | None,
    delivery_id: str,
    created_at: str | None,
    timeout: float,
) -> Sent:
    """Deliver `message`; returns a short note of what the server said. Raises DeliveryError."""
    if isinstance(channel, EmailChannel):
        return send_email(
            channel, message, timeout=timeout, delivery_id=delivery_id, created_at=created_at
        )
    return send_webhook(
        channel, message, event_id=event_id, delivery_id=delivery_id, created_at=created_at,
        timeout=timeout,
    )  # fmt: skip


# ---------------------------------------------------------------------- email
def message_id(channel: EmailChannel, message: Message, delivery_id: str, created_at: str) -> str:
    """The same for every attempt of one delivery, so a mailbox drops a repeat (a retry after
    a relay took the message but the connection failed before we knew)."""
    domain = parseaddr(channel.from_)[1].rsplit("@", 1)[-1] or "roster-sync.invalid"
    seed = "\n".join((delivery_id, created_at, message.district, message.subject))
    token = hashlib.sha256(seed.encode("utf-8")).hexdigest()[:32]
    return f"<roster-sync.{token}@{domain}>"


def email_message(
    channel: EmailChannel, message: Message, delivery_id: str, created_at: str | None = None
) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = channel.from_
    mail["To"] = ", ".join(channel.to)
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = message_id(channel, message, delivery_id, created_at or "")
    mail["X-Roster-Sync-Event"] = message.kind
    mail["X-Roster-Sync-Delivery"] = delivery_id
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    mail.set_content(message.text)
    return mail


class ReplyTooLong(Exception):
    """The server's reply passed REPLY_CAP (endless continuation lines). Not an OSError (as
    smtplib's own errors are): smtplib would turn that into "connection closed"."""


class _CappedReader:
    """The reply stream of an SMTP session, at most `budget` bytes per reply: smtplib keeps
    every line of a multi-line reply, however many there are."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.budget = REPLY_CAP

    def readline(self, limit: int = -1) -> bytes:
        line = self.raw.readline(limit)
        self.budget -= len(line)
        if self.budget < 0:
            raise ReplyTooLong(f"a reply longer than {REPLY_CAP // 1024} KiB")
        return line

    def close(self) -> None:
        self.raw.close()


class _BoundedSMTP(smtplib.SMTP):
    """smtplib with each reply bounded (see `_CappedReader`)."""

    file: Any
    _host: str

    def getreply(self) -> tuple[int, bytes]:
        if self.file is None and self.sock is not None:
            self.file = _CappedReader(self.sock.makefile("rb"))
        if isinstance(self.file, _CappedReader):
            self.file.budget = REPLY_CAP
        return super().getreply()


def send_email(
    channel: EmailChannel,
    message: Message,
    *,
    timeout: float,
    delivery_id: str = "",
    created_at: str | None = None,
) -> Sent:
    password = None
    try:
        if channel.username:
            password = read_secret(channel.password_file, channel.password_env, "password")
    except NotifyError as exc:
        raise DeliveryError(str(exc)) from None
    mail = email_message(channel, message, delivery_id or uuid.uuid4().hex, created_at)
    where = f"{channel.host}:{channel.port}"
    context = None
    if channel.starttls:
        try:
            context = ssl.create_default_context(
                cafile=str(channel.ca_file) if channel.ca_file else None
            )
        except (OSError, ssl.SSLError) as exc:
            raise DeliveryError(f"ca_file {channel.ca_file}: {_os_reason(exc)}") from None
    smtp = _BoundedSMTP(timeout=timeout)
    deadline = Deadline(timeout, lambda: [smtp.sock])
    try:
        with deadline:
            refused = _session(smtp, channel, mail, context, password, where)
    except DeliveryError:
        raise
    except Exception as exc:
        if deadline.expired:
            raise DeliveryError(
                f"{where} did not finish within {timeout:g} s (timeout_seconds); gave up"
            ) from None
        raise _smtp_error(exc, channel, where) from None
    if refused:
        first = next(iter(refused.values()))
        return Sent.partly(
            f"sent to {len(channel.to) - len(refused)} of {len(channel.to)} recipients; "
            f"{len(refused)} refused ({first[0]})"
        )
    return Sent(f"sent to {len(channel.to)} recipient{'' if len(channel.to) == 1 else 's'}")


def _session(
    smtp: _BoundedSMTP,
    channel: EmailChannel,
    mail: EmailMessage,
    context: ssl.SSLContext | None,
    password: Any,
    where: str,
) -> dict[str, tuple[int, bytes]]:
    """One SMTP session; returns the refused recipients. Once the relay took the message
    (DATA answered 250) it is sent: an odd answer to QUIT, or none, changes nothing (retrying
    would send it again)."""
    try:
        smtp._host = channel.host  # what STARTTLS checks the certificate against
        code, reply = smtp.connect(channel.host, channel.port)
        if code != 220:
            raise smtplib.SMTPConnectError(code, reply)
        smtp.ehlo()
        if context is not None:
            if not smtp.has_extn("starttls"):
                raise DeliveryError(f"{where} does not offer STARTTLS; not sending")
            smtp.starttls(context=context)
            smtp.ehlo()
        if channel.username and password is not None:
            smtp.login(channel.username, password.get_secret_value())
        refused = smtp.send_message(mail)
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.quit()
        return refused
    finally:
        with contextlib.suppress(OSError):
            smtp.close()


def _smtp_error(exc: Exception, channel: EmailChannel, where: str) -> DeliveryError:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return DeliveryError(f"{where} refused the login of {channel.username}: {_smtp_reply(exc)}")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return DeliveryError(
            f"{where} refused every recipient ({len(exc.recipients)} of {len(channel.to)})"
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return DeliveryError(f"{where} answered {_smtp_reply(exc)}")
    if isinstance(exc, ReplyTooLong):
        return DeliveryError(f"{where} sent {exc}; not sending")
    if isinstance(exc, ssl.SSLError):
        return DeliveryError(f"TLS with {where} failed: {exc.reason or type(exc).__name__}")
    if isinstance(exc, smtplib.SMTPException | OSError):
        return DeliveryError(f"cannot send through {where}: {_os_reason(exc)}")
    raise exc


def _smtp_reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else ""
    return f"{exc.smtp_code} {' '.join(text.split())[:200]}".strip()


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__ + (f": {exc}" if isinstance(exc, smtplib.SMTPException) else "")


# ---------------------------------------------------------------------- webhooks
def webhook_request(
    channel: WebhookChannel,
    message: Message,
    *,
    secret: bytes,
    event_id: int | None,
    delivery_id: str,
    created_at: str | None,
    now: float | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one delivery (the body is signed exactly as sent)."""
    body = json.dumps(
        {**message.payload(event_id, created_at), "delivery_id": delivery_id},
        separators=(",", ":"),
        sort_keys=True,
    ).encode("utf-8")
    timestamp = str(int(now if now is not None else time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        EVENT_HEADER: message.kind,
        DELIVERY_HEADER: delivery_id,
    }
    return body, headers


def send_webhook(
    channel: WebhookChannel,
    message: Message,
    *,
    event_id: int | None,
    delivery_id: str,
    created_at: str | None,
    timeout: float,
) -> Sent:
    try:
        secret = read_secret(channel.secret_file, channel.secret_env, "secret")
    except NotifyError as exc:
        raise DeliveryError(str(exc)) from None
    body, headers = webhook_request(
        channel, message, secret=secret.get_secret_value().encode("utf-8"), event_id=event_id,
        delivery_id=delivery_id, created_at=created_at,
    )  # fmt: skip
    where = channel.describe()
    sockets: list[socket.socket | None] = []

    def trace(name: str, info: dict[str, Any]) -> None:
        """Keep the connection's socket (plain, then TLS) for the deadline to shut."""
        if name in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            stream = info.get("return_value")
            if stream is not None:
                sockets.append(stream.get_extra_info("socket"))

    deadline = Deadline(timeout, lambda: list(sockets))
    try:
        with (
            deadline,
            httpx.Client(timeout=timeout, follow_redirects=False) as client,
            client.stream(
                "POST", channel.url, content=body, headers=headers, extensions={"trace": trace}
            ) as response,
        ):
            status, reason = response.status_code, response.reason_phrase or ""
            _drain(response, deadline)
    except httpx.TimeoutException:
        raise DeliveryError(f"{where} did not answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        if deadline.expired:
            raise DeliveryError(
                f"{where} did not finish within {timeout:g} s (timeout_seconds); gave up"
            ) from None
        raise DeliveryError(f"cannot reach {where}: {_http_reason(exc)}") from None
    if 200 <= status < 300:
        return Sent(f"HTTP {status}")
    raise DeliveryError(f"{where} answered HTTP {status} {reason}".rstrip())


def _drain(response: httpx.Response, deadline: Deadline) -> None:
    """Read at most BODY_CAP of the answer (its status is all that counts; the rest is left
    unread) and never past the deadline; a failure here changes nothing."""
    read = 0
    try:
        for chunk in response.iter_raw():
            read += len(chunk)
            if read >= BODY_CAP or deadline.expired:
                break
    except httpx.HTTPError:
        pass


def _http_reason(exc: httpx.HTTPError) -> str:
    """The cause without the URL (httpx puts the request's URL in some messages)."""
    cause: BaseException | None = exc
    seen = 0
    while cause is not None and seen < 10:
        if isinstance(cause, ssl.SSLError):
            return f"TLS failed: {cause.reason or type(cause).__name__}"
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    text = str(exc)
    if "[Errno" in text:  # httpx keeps the OS error only as text
        return text.split("] ", 1)[-1].strip() or type(exc).__name__
    return type(exc).__name__
