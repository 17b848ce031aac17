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
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import socket
import ssl
import time
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import httpx

from daemon.notify.config import EmailChannel, NotifyError, WebhookChannel, read_secret
from daemon.notify.messages import Message

SIGNATURE_HEADER = "X-Roster-Sync-Signature"
TIMESTAMP_HEADER = "X-Roster-Sync-Timestamp"
EVENT_HEADER = "X-Roster-Sync-Event"
DELIVERY_HEADER = "X-Roster-Sync-Delivery"
USER_AGENT = "roster-sync-notify/1"


class DeliveryError(Exception):
    """A message was not delivered; the text is safe to log and store (no secrets)."""


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
) -> str:
    """Deliver `message`; returns a short note of what the server said. Raises DeliveryError."""
    if isinstance(channel, EmailChannel):
        return send_email(channel, message, timeout=timeout, delivery_id=delivery_id)
    return send_webhook(
        channel, message, event_id=event_id, delivery_id=delivery_id, created_at=created_at,
        timeout=timeout,
    )  # fmt: skip


# ---------------------------------------------------------------------- email
def email_message(channel: EmailChannel, message: Message, delivery_id: str) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = channel.from_
    mail["To"] = ", ".join(channel.to)
    mail["Date"] = formatdate(localtime=True)
    domain = channel.from_.rsplit("@", 1)[-1]
    mail["Message-ID"] = make_msgid("roster-sync", domain=domain)
    mail["X-Roster-Sync-Event"] = message.kind
    mail["X-Roster-Sync-Delivery"] = delivery_id
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    mail.set_content(message.text)
    return mail


def send_email(
    channel: EmailChannel, message: Message, *, timeout: float, delivery_id: str = ""
) -> str:
    password = None
    try:
        if channel.username:
            password = read_secret(channel.password_file, channel.password_env, "password")
    except NotifyError as exc:
        raise DeliveryError(str(exc)) from None
    mail = email_message(channel, message, delivery_id or uuid.uuid4().hex)
    where = f"{channel.host}:{channel.port}"
    try:
        with smtplib.SMTP(channel.host, channel.port, timeout=timeout) as smtp:
            smtp.ehlo()
            if channel.starttls:
                if not smtp.has_extn("starttls"):
                    raise DeliveryError(f"{where} does not offer STARTTLS; not sending")
                context = ssl.create_default_context(
                    cafile=str(channel.ca_file) if channel.ca_file else None
                )
                smtp.starttls(context=context)
                smtp.ehlo()
            if channel.username and password is not None:
                smtp.login(channel.username, password.get_secret_value())
            refused = smtp.send_message(mail)
    except DeliveryError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(
            f"{where} refused the login of {channel.username}: {_smtp_reply(exc)}"
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(
            f"{where} refused every recipient ({len(exc.recipients)} of {len(channel.to)})"
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"{where} answered {_smtp_reply(exc)}") from None
    except ssl.SSLError as exc:
        raise DeliveryError(
            f"TLS with {where} failed: {exc.reason or type(exc).__name__}"
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"cannot send through {where}: {_os_reason(exc)}") from None
    if refused:
        return f"sent; {len(refused)} of {len(channel.to)} recipients refused"
    return f"sent to {len(channel.to)} recipient{'' if len(channel.to) == 1 else 's'}"


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
) -> str:
    try:
        secret = read_secret(channel.secret_file, channel.secret_env, "secret")
    except NotifyError as exc:
        raise DeliveryError(str(exc)) from None
    body, headers = webhook_request(
        channel, message, secret=secret.get_secret_value().encode("utf-8"), event_id=event_id,
        delivery_id=delivery_id, created_at=created_at,
    )  # fmt: skip
    where = channel.describe()
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.post(channel.url, content=body, headers=headers)
    except httpx.TimeoutException:
        raise DeliveryError(f"{where} did not answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise DeliveryError(f"cannot reach {where}: {_http_reason(exc)}") from None
    if 200 <= response.status_code < 300:
        return f"HTTP {response.status_code}"
    reason = response.reason_phrase or ""
    raise DeliveryError(f"{where} answered HTTP {response.status_code} {reason}".rstrip())


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
