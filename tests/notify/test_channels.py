"""One message over one channel, against real servers on loopback: email over STARTTLS with
AUTH LOGIN, and webhooks the receiver can verify. Failures come back as words safe to keep."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from daemon.notify.channels import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    DeliveryError,
    send_email,
    send_webhook,
    sign,
    verify,
)
from daemon.notify.config import NotifyConfig
from daemon.notify.messages import render

from .conftest import DISTRICT, notify_values
from .servers import SMTP_PASSWORD, SMTP_USER, WEBHOOK_SECRET, secret_file

HELD = {"run_id": 7, "changes": 40, "rows_error": 2, "reasons": 1,
        "thresholds": [{"kind": "students", "archives": 30, "active": 100, "limit": 10,
                        "held": True}]}  # fmt: skip


def test_an_email_goes_over_starttls_with_a_login(notify_config, smtp) -> None:
    channel = notify_config.email[0]
    note = send_email(channel, render("run_held", DISTRICT, HELD), timeout=5)
    assert note == "sent to 2 recipients"
    [mail] = smtp.wait(1)
    assert mail.tls and mail.login == SMTP_USER
    assert mail.recipients == channel.to
    assert mail.subject == f"[Roster Sync] {DISTRICT}: run 7 is held"
    assert "roster-sync show 7" in mail.text
    assert mail.message["Auto-Submitted"] == "auto-generated"


def test_a_wrong_password_is_a_delivery_error_that_does_not_quote_it(
    notify_config, smtp, tmp_path: Path
) -> None:
    wrong = "hunter2-not-it"
    channel = notify_config.email[0]
    channel.password_file = secret_file(tmp_path / "wrong", wrong)
    with pytest.raises(DeliveryError) as caught:
        send_email(channel, render("test", DISTRICT, {}), timeout=5)
    assert f"refused the login of {SMTP_USER}: 535" in str(caught.value)
    assert wrong not in str(caught.value) and SMTP_PASSWORD not in str(caught.value)
    assert smtp.logins_refused == 1 and smtp.mails == []


def test_a_password_file_others_can_read_is_refused_before_connecting(
    notify_config, smtp, secrets
) -> None:
    secrets["password"].chmod(0o644)
    with pytest.raises(DeliveryError, match=r"has mode 0644; .* \(chmod 600"):
        send_email(notify_config.email[0], render("test", DISTRICT, {}), timeout=5)
    assert smtp.mails == [] and smtp.logins_refused == 0


def test_the_password_can_come_from_the_environment(notify_config, smtp, monkeypatch) -> None:
    monkeypatch.setenv("RS_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    channel = notify_config.email[0].model_copy(
        update={"password_file": None, "password_env": "RS_TEST_SMTP_PASSWORD"}
    )
    send_email(channel, render("test", DISTRICT, {}), timeout=5)
    assert len(smtp.wait(1)) == 1


def test_an_unknown_certificate_is_refused(notify_config, smtp) -> None:
    channel = notify_config.email[0].model_copy(update={"ca_file": None})
    with pytest.raises(
        DeliveryError, match=r"TLS with 127\.0\.0\.1:\d+ failed: CERTIFICATE_VERIFY"
    ):
        send_email(channel, render("test", DISTRICT, {}), timeout=5)
    assert smtp.mails == []


def test_a_webhook_is_signed_over_timestamp_and_body(notify_config, hooks) -> None:
    message = render("run_held", DISTRICT, HELD)
    note = send_webhook(
        notify_config.webhook[0], message, event_id=3, delivery_id="3-5",
        created_at="2026-09-14T12:00:00Z", timeout=5,
    )  # fmt: skip
    assert note == "HTTP 200"
    [hook] = hooks.wait(1)
    stamp, signature = hook.headers[TIMESTAMP_HEADER], hook.headers[SIGNATURE_HEADER]
    assert signature == sign(WEBHOOK_SECRET.encode(), stamp, hook.body)
    assert not verify(WEBHOOK_SECRET.encode(), str(int(stamp) + 1), hook.body, signature)
    body = hook.json
    assert body["event"] == "run_held" and body["event_id"] == 3 and body["delivery_id"] == "3-5"
    assert body["district"] == DISTRICT and body["command"] == "roster-sync show 7"
    assert body["data"]["thresholds"][0]["archives"] == 30
    assert hook.headers["X-Roster-Sync-Event"] == "run_held"


def test_a_receiver_that_refuses_the_signature_is_a_delivery_error(
    notify_config, hooks, tmp_path: Path
) -> None:
    channel = notify_config.webhook[0]
    channel.secret_file = secret_file(tmp_path / "other-secret", "not-the-shared-key")
    with pytest.raises(DeliveryError) as caught:
        send_webhook(
            channel, render("test", DISTRICT, {}), event_id=1, delivery_id="1-1",
            created_at=None, timeout=5,
        )  # fmt: skip
    assert str(caught.value) == f"http://127.0.0.1:{hooks.port}/… answered HTTP 401 Unauthorized"
    assert "t0k3n" not in str(caught.value)  # the path may hold a receiver's token


def test_an_unreachable_receiver_is_a_delivery_error_without_the_url(notify_config) -> None:
    channel = notify_config.webhook[0].model_copy(
        update={"url": "http://127.0.0.1:9/hooks/secret-path-token"}
    )
    with pytest.raises(DeliveryError) as caught:
        send_webhook(
            channel, render("test", DISTRICT, {}), event_id=1, delivery_id="1-1",
            created_at=None, timeout=2,
        )  # fmt: skip
    assert str(caught.value).startswith("cannot reach http://127.0.0.1:9/…: ")
    assert "secret-path-token" not in str(caught.value)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"email": [{"host": "h", "from": "a@b.c", "to": ["x@y.z"], "username": "u",
                     "password_env": "P", "starttls": False}]},
         "a login needs starttls = true"),
        ({"webhook": [{"url": "https://h.example/x", "secret_env": "S", "events": ["run_hold"]}]},
         "unknown event 'run_hold'"),
        ({"webhook": [{"url": "https://u:p@h.example/x", "secret_env": "S"}]},
         "url must not hold a user or password"),
        ({"webhook": [{"url": "https://h.example/x"}]}, "set one of secret_file and secret_env"),
        ({"daily_summary_at": "7am"}, "'7am' is not a time of day like 07:00"),
        ({"email": [{"host": "h", "from": "a@b.c", "to": ["x@y.z, w@v.u"]}]},
         "is not one email address"),
        ({"webhook": [{"url": "http://h.example:99999/x", "secret_env": "S"}]},
         "url has a port that is not a number from 1 to 65535"),
        ({"webhook": [{"url": "http://h.example:80x/x", "secret_env": "S"}]},
         "url has a port that is not a number from 1 to 65535"),
        ({"webhook": [{"url": "http://h.example/x\x00y", "secret_env": "S"}]},
         "url must not hold spaces or control characters"),
        ({"district": "Maplewood\nSchool District"},
         "district must be one line without control characters"),
    ],
)  # fmt: skip
def test_a_config_mistake_is_named(change, error) -> None:
    values = {"district": DISTRICT, **change}
    with pytest.raises(ValidationError, match=error):
        NotifyConfig.model_validate(values)


def test_channels_are_named_in_order_and_filter_events(smtp, hooks, secrets) -> None:
    values = notify_values(smtp, hooks, secrets)
    values["webhook"][0]["events"] = ["run_held", "run_failed"]
    config = NotifyConfig.model_validate(json.loads(json.dumps(values)))
    names = {name: channel for name, channel in config.channels()}
    assert list(names) == ["email-1", "webhook-1"]
    assert names["webhook-1"].wants("run_held") and not names["webhook-1"].wants("daily_summary")
    assert names["webhook-1"].wants("test") and names["email-1"].wants("daily_summary")


@pytest.mark.parametrize(
    ("channel", "setting"),
    [
        ({"email": [{"host": "h", "from": "a@b.c", "to": ["x@y.z"], "username": "u",
                     "password_env": "Sup3r-S3cret/Relay!pw"}]}, "password_env"),
        ({"webhook": [{"url": "https://h.example/x", "secret_env": "whsec 9f8e7d6c"}]},
         "secret_env"),
    ],
)  # fmt: skip
def test_a_secret_pasted_into_an_env_setting_is_refused_without_repeating_it(
    channel, setting
) -> None:
    with pytest.raises(ValidationError) as caught:
        NotifyConfig.model_validate({"district": DISTRICT, **channel})
    [error] = caught.value.errors()  # the config file's message is `msg` (no input value)
    assert f"{setting} must be the name of an environment variable" in error["msg"]
    assert "S3cret" not in error["msg"] and "9f8e7d6c" not in error["msg"]


def test_an_unset_env_secret_is_named_by_its_setting_not_its_value(notify_config) -> None:
    channel = notify_config.webhook[0].model_copy(
        update={"secret_file": None, "secret_env": "whsec_9f8e7d6c5b4a"}
    )
    with pytest.raises(DeliveryError) as caught:
        send_webhook(
            channel, render("test", DISTRICT, {}), event_id=1, delivery_id="1-1",
            created_at=None, timeout=5,
        )  # fmt: skip
    assert str(caught.value) == (
        "the environment variable named by secret_env is not set or is empty"
    )


def test_every_attempt_of_one_delivery_has_the_same_message_id(notify_config, smtp) -> None:
    channel = notify_config.email[0]
    message = render("run_held", DISTRICT, HELD)
    for delivery in ("3-5", "3-5", "3-6"):
        send_email(channel, message, timeout=5, delivery_id=delivery, created_at="2026-09-14")
    ids = [m.message["Message-ID"] for m in smtp.wait(3)]
    assert ids[0] == ids[1] != ids[2]
    assert ids[0].endswith("@riverbend.example.org>")
