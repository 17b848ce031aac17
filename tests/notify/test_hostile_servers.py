"""What a server sends can never hold the daemon: an endless answer is not read to its end (the
daemon's memory would follow it), and `timeout_seconds` is a deadline for a whole delivery, so a
server that drips a byte at a time fails that delivery and holds up nobody else. The servers
here are raw sockets on 127.0.0.1 that misbehave on purpose."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from daemon.notify.channels import DeliveryError, send_email, send_webhook
from daemon.notify.config import NotifyConfig
from daemon.notify.messages import render
from daemon.notify.outbox import deliver_due, record_event, send_test

from .conftest import DISTRICT
from .servers import RawServer, read_request
from .test_outbox import T0, Clock

LOTS = 256 * 1024 * 1024  # what an endless server gets to send at most
NEAR_NOTHING = 32 * 1024 * 1024  # what it may get out when the client stops reading early


def _endless_http(server: RawServer, conn: socket.socket) -> None:
    read_request(conn)
    server.send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
    chunk = b"x" * 65536
    while server.sent < LOTS and not server.stopping.is_set():
        server.send(conn, chunk)


def _endless_ehlo(server: RawServer, conn: socket.socket) -> None:
    server.send(conn, b"220 relay ESMTP\r\n")
    conn.recv(1024)  # EHLO
    line = b"250-" + b"x" * 72 + b"\r\n"
    while server.sent < LOTS and not server.stopping.is_set():
        server.send(conn, line * 512)


def _drip(first: bytes) -> Callable[[RawServer, socket.socket], None]:
    def talk(server: RawServer, conn: socket.socket) -> None:
        if first.startswith(b"HTTP"):
            read_request(conn)
        for byte in (first + b"X-Slow: " + b"y" * 100_000).decode("latin-1"):
            if server.stopping.is_set():
                return
            server.send(conn, byte.encode("latin-1"))
            time.sleep(0.2)

    return talk


@pytest.fixture
def raw() -> Iterator[Callable[[Any], RawServer]]:
    started: list[RawServer] = []

    def start(talk: Any) -> RawServer:
        started.append(RawServer(talk).start())
        return started[-1]

    yield start
    for server in started:
        server.stop()


def _in_time(call: Callable[[], Any], seconds: float) -> Any:
    """`call()`'s result or exception, failing the test if it has not returned in `seconds`
    (a thread: a hang must fail the test, not stop the suite)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    if "error" in box:
        raise box["error"]
    return box["value"]


def _webhook_at(config: NotifyConfig, port: int, name: str | None = None) -> Any:
    return config.webhook[0].model_copy(
        update={"url": f"http://127.0.0.1:{port}/hook", "name": name}
    )


def _post(channel: Any, timeout: float) -> str:
    return send_webhook(
        channel, render("test", DISTRICT, {}), event_id=1, delivery_id="1-1",
        created_at=None, timeout=timeout,
    )  # fmt: skip


def test_an_endless_webhook_answer_is_not_read_to_its_end(notify_config, raw) -> None:
    server = raw(_endless_http)
    note = _in_time(lambda: _post(_webhook_at(notify_config, server.port), 10), 30)
    assert note == "HTTP 200"
    time.sleep(0.2)
    assert server.sent < NEAR_NOTHING


def test_an_endless_smtp_reply_ends_the_session(notify_config, raw) -> None:
    server = raw(_endless_ehlo)
    channel = notify_config.email[0].model_copy(update={"port": server.port})
    with pytest.raises(DeliveryError, match=r"sent a reply longer than 64 KiB; not sending"):
        _in_time(lambda: send_email(channel, render("test", DISTRICT, {}), timeout=10), 30)
    assert server.sent < NEAR_NOTHING


def test_a_webhook_that_drips_its_answer_fails_at_the_deadline(notify_config, raw) -> None:
    server = raw(_drip(b"HTTP/1.1 200 OK\r\n"))
    started = time.monotonic()
    with pytest.raises(DeliveryError, match=r"did not finish within 1 s \(timeout_seconds\)"):
        _in_time(lambda: _post(_webhook_at(notify_config, server.port), 1), 10)
    assert time.monotonic() - started < 3


def test_an_smtp_server_that_drips_its_greeting_fails_at_the_deadline(notify_config, raw) -> None:
    server = raw(_drip(b"220 relay"))
    channel = notify_config.email[0].model_copy(update={"port": server.port})
    started = time.monotonic()
    with pytest.raises(DeliveryError, match=r"did not finish within 1 s \(timeout_seconds\)"):
        _in_time(lambda: send_email(channel, render("test", DISTRICT, {}), timeout=1), 10)
    assert time.monotonic() - started < 3


def test_a_stuck_channel_holds_the_others_up_one_deadline_at_most(
    day1, notify_config, hooks, raw
) -> None:
    server = raw(_drip(b"HTTP/1.1 200 OK\r\n"))
    notify_config.email = []
    notify_config.timeout_seconds = 1
    notify_config.webhook = [
        _webhook_at(notify_config, server.port, "slow-chat"),
        notify_config.webhook[0].model_copy(update={"name": "it-pager"}),
    ]
    for run_id in (7, 8, 9):
        record_event(day1, notify_config, "run_failed", f"run_failed:{run_id}", {}, T0)
    started = time.monotonic()
    _in_time(lambda: deliver_due(day1, notify_config, Clock(T0 + timedelta(seconds=1))), 10)
    assert time.monotonic() - started < 2.5  # one deadline, not one per waiting delivery
    assert len(hooks.accepted()) == 3


def test_notify_test_answers_within_one_deadline_when_channels_drip(notify_config, raw) -> None:
    server = raw(_drip(b"HTTP/1.1 200 OK\r\n"))
    notify_config.timeout_seconds = 1
    notify_config.webhook = [
        _webhook_at(notify_config, server.port, f"chat-{i}") for i in (1, 2, 3)
    ]
    started = time.monotonic()
    results = _in_time(lambda: send_test(notify_config), 10)
    assert time.monotonic() - started < 2.5  # side by side, not one deadline after another
    assert [(r.channel, r.ok) for r in results] == [
        ("email-1", True), ("chat-1", False), ("chat-2", False), ("chat-3", False),
    ]  # fmt: skip
    assert results[1].detail.endswith("did not finish within 1 s (timeout_seconds); gave up")
