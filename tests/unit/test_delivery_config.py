"""Notification channels in the business YAML, `config check`, and the outbox's rules."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from receptionist.business import ConfigError, load_business
from receptionist.delivery.channels import channels_for
from receptionist.delivery.outbox import Outbox, utcnow
from receptionist.service.config_check import ConfigReport, check_config
from receptionist.store.log import Store
from tests.unit.delivery_helpers import HEAD, make_business


def _check(tmp_path: Path, channels: list[dict[str, object]]) -> ConfigReport:
    (tmp_path / "b").mkdir()
    data = {**HEAD, "notifications": {"channels": channels}}
    (tmp_path / "b" / "test-co.yaml").write_text(yaml.safe_dump(data))
    return check_config(tmp_path / "b", None, {})


def test_check_lists_events_warns_about_private_hosts_and_missing_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_SUCH_SECRET", raising=False)
    report = _check(tmp_path, [
        {"name": "crm", "type": "webhook", "url": "http://10.1.2.3/hook",
         "secret": {"env": "NO_SUCH_SECRET"}, "events": ["message.taken", "call.ended"]},
        {"type": "webhook", "url": "http://127.0.0.1:9/hook", "format": "slack"},
        {"type": "email", "to": ["a@example.com"], "sender": "b@example.com",
         "events": ["call.ended"]},
    ])  # fmt: skip
    assert report.sends["test-co"] == [
        "crm (webhook, json): message.taken, call.ended",
        "webhook-2 (webhook, slack): message.taken",
        "email-3 (email to a@example.com): call.ended",
    ]
    warnings = " | ".join(report.warnings)
    assert "crm posts to a private address (10.1.2.3)" in warnings
    assert "webhook-2 posts to a loopback address" in warnings
    [error] = [e for e in report.errors if e.file.endswith("test-co.yaml")]
    assert error.field == "notifications.channels[0].secret"
    assert "NO_SUCH_SECRET is not set" in error.reason


@pytest.mark.parametrize(("channel", "reason"), [
    ({"type": "webhook", "url": "ftp://x.example"}, "URL scheme"),
    ({"type": "webhook", "url": "https://x.example", "events": ["message.lost"]}, "message.taken"),
    ({"type": "webhook", "url": "https://x.example", "format": "slack",
      "secret": {"env": "X"}}, "secret only applies"),
    ({"type": "webhook", "url": "https://x.example", "secret": "inline"}, "valid dictionary"),
    ({"type": "email", "to": ["nope"], "sender": "a@b.co"}, "not an email address"),
    ({"type": "email", "to": ["a@b.co"], "sender": "a@b.co", "username": "u"}, "go together"),
    ({"type": "pigeon"}, "does not match any of the expected tags"),
])  # fmt: skip
def test_bad_channels_are_refused(tmp_path: Path, channel: dict[str, object], reason: str) -> None:
    with pytest.raises(ConfigError) as error:
        make_business(tmp_path, [channel])
    assert reason in str(error.value)


def test_duplicate_names_refused_and_email_ports_follow_security(tmp_path: Path) -> None:
    hook = {"name": "x", "type": "webhook", "url": "https://x.example"}
    with pytest.raises(ConfigError, match="unique: x"):
        make_business(tmp_path, [hook, hook])
    mail = {"type": "email", "to": ["a@b.co"], "sender": "a@b.co"}
    business = make_business(tmp_path, [{**mail, "security": "tls"}, mail])
    assert [c.port for c in channels_for(business)] == [465, 587]  # type: ignore[union-attr]


def test_older_messages_webhook_and_email_still_load_as_channels(tmp_path: Path) -> None:
    data = {**HEAD, "messages": {"webhook": {"url": "https://x.example/h", "secret": "s3"},
                                 "email": {"to": ["a@b.co"], "sender": "c@d.co"}}}  # fmt: skip
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump(data))
    hook, mail = channels_for(load_business(path))
    assert hook.name == "messages-webhook" and hook.events == ("message.taken",)
    assert hook.secret is not None and hook.secret.read() == "s3"  # type: ignore[union-attr]
    assert mail.name == "messages-email" and mail.security == "none"  # type: ignore[union-attr]


def test_a_transferred_call_is_reported_ended_only_when_it_really_ends(tmp_path: Path) -> None:
    store = Store(tmp_path / "r.db")
    outbox = Outbox(store, "test-worker")
    store.start_call("c1", "test-co", "+15551230000", None)
    store.add_outcome("c1", "transferred")
    store.end_call("c1")  # the caller left for the desk phone
    now = utcnow()
    assert outbox.claim_events(now, 30, hold_transfers_s=45) == []  # held: it may come back
    store.add_outcome("c1", "transfer_failed")  # nobody answered: the caller is back
    assert store.get_call("c1").ended_at is None  # type: ignore[union-attr]
    store.add_message("c1", "test-co", "Sam", "+15552345678", "Call me")
    store.add_outcome("c1", "message_taken")
    store.end_call("c1")
    claimed = outbox.claim_events(now + timedelta(seconds=1), 300, hold_transfers_s=45)
    assert [e.type for e in claimed] == ["transfer.missed", "message.taken", "call.ended"]
    assert len({e.id for e in claimed}) == 3
    # An answered transfer's end is reported once the hold has passed.
    store.start_call("c2", "test-co", "+15551230001", None)
    store.add_outcome("c2", "transferred")
    store.end_call("c2")
    later = outbox.claim_events(utcnow() + timedelta(seconds=46), 30, hold_transfers_s=45)
    assert [(e.type, e.call_id) for e in later] == [("call.ended", "c2")]
    store.close()


def test_a_second_worker_cannot_claim_leased_work(tmp_path: Path) -> None:
    store = Store(tmp_path / "r.db")
    first, second = Outbox(store, "one"), Outbox(store, "two")
    store.add_message(None, "test-co", "Sam", "+15552345678", "Call me")
    now = utcnow()
    [event] = first.claim_events(now, 30, hold_transfers_s=45)
    assert second.claim_events(now, 30, hold_transfers_s=45) == []
    assert [e.id for e in second.claim_events(now + timedelta(seconds=31), 30,
                                             hold_transfers_s=45)] == [event.id]  # fmt: skip
    assert not first.prepare(event, {}, ["hook"], now)  # its lease was taken over
    store.close()
