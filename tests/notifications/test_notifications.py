"""The inbox and the outgoing channels as people and operators meet them."""

from __future__ import annotations

import logging
import re

import pytest
from django.db import transaction
from django.test import Client

from tests.cases.test_escalation import make_case
from tests.factories import make_user
from tests.notifications.wiring import API_PREFIX
from wangge.accounts.roles import Role
from wangge.accounts.services import issue_token
from wangge.audit.models import AuditRecord
from wangge.notifications.channels import (
    LOG_CHANNEL_LOGGER,
    LogChannel,
    SmsChannel,
    WeChatChannel,
)
from wangge.notifications.models import DeliveryAttempt, Notification
from wangge.notifications.services import deliver, mark_read, notify

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.notifications.wiring")]

SENT_TO: list[tuple] = []


def fake_sms_gateway(phone: str, text: str) -> str:
    SENT_TO.append((phone, text))
    return f"sms-{len(SENT_TO)}"


def silent_gateway(*args) -> str:
    return ""  # accepted nothing it can show


def broken_gateway(*args) -> str:
    raise ConnectionError("gateway unreachable")


@pytest.fixture
def alice(tree):
    return make_user("alice", Role.STAFF, tree["370102001001"])


@pytest.fixture
def bob(tree):
    return make_user("bob", Role.STAFF, tree["370102001002"])


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _inbox_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'class="card inbox-item[^"]*" data-id="(\d+)"', html)]


# --- Inbox --------------------------------------------------------------------------------

def test_each_user_sees_only_their_own_messages(alice, bob):
    notify([alice], "给 alice", "only hers", channels=[])
    notify([bob], "给 bob", "only his", channels=[])
    html = _client(alice).get("/notifications/").content.decode()
    assert "给 alice" in html and "给 bob" not in html
    assert re.search(r'data-testid="unread-count">\s*1 ', html)
    api = _client(bob).get(API_PREFIX)
    assert api.status_code == 200
    assert [n["subject"] for n in api.json()["items"]] == ["给 bob"]


def test_someone_elses_message_cannot_be_marked_read(alice, bob):
    (note,) = notify([bob], "给 bob", "", channels=[])
    assert _client(alice).post(f"/notifications/{note.pk}/read/").status_code == 404
    assert _client(alice).post(f"{API_PREFIX}/{note.pk}/read").status_code == 404
    with pytest.raises(Notification.DoesNotExist):
        mark_read(alice, note.pk)
    note.refresh_from_db()
    assert note.read_at is None


def test_mark_read_on_the_page(alice):
    first, = notify([alice], "第一条", "", channels=[])
    second, = notify([alice], "第二条", "", channels=[])
    c = _client(alice)
    resp = c.post(f"/notifications/{first.pk}/read/", {"return_query": "unread=1&evil=x"})
    assert resp.status_code == 302 and resp["Location"] == "/notifications/?unread=1"
    first.refresh_from_db()
    assert first.read_at is not None
    html = c.get("/notifications/?unread=1").content.decode()
    assert _inbox_ids(html) == [second.pk]
    assert AuditRecord.objects.filter(action="notifications.read", object_id=str(first.pk)).exists()
    c.post("/notifications/read-all/")
    assert not Notification.objects.filter(user=alice, read_at__isnull=True).exists()
    html = c.get("/notifications/?unread=1").content.decode()
    assert _inbox_ids(html) == []
    assert re.search(r'data-testid="unread-count">\s*0 ', html)


def test_mark_read_through_the_api(alice):
    note, = notify([alice], "接口", "body", channels=[])
    c = _client(alice)
    assert c.get(API_PREFIX, {"unread": True}).json()["count"] == 1
    resp = c.post(f"{API_PREFIX}/{note.pk}/read")
    assert resp.status_code == 200 and resp.json()["read_at"] is not None
    assert c.get(API_PREFIX, {"unread": True}).json()["count"] == 0
    # Reading twice keeps the first time.
    first_read = resp.json()["read_at"]
    assert c.post(f"{API_PREFIX}/{note.pk}/read").json()["read_at"] == first_read
    notify([alice], "再来", "", channels=[])
    assert c.post(f"{API_PREFIX}/read-all").json() == {"marked": 1}


def test_inbox_needs_a_signed_in_person(alice):
    notify([alice], "x", "", channels=[])
    resp = Client().get("/notifications/")
    assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]
    assert Client().get(API_PREFIX).status_code == 401


def test_api_tokens_have_no_inbox(tree):
    machine = make_user("sensor", Role.MACHINE, tree["370102001001"])
    notify([machine], "x", "", channels=[])
    _token, secret = issue_token(None, username="sensor", name="sensor", scopes=["cases:read"])
    resp = Client().get(API_PREFIX, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert resp.status_code == 403


def test_a_case_link_shows_the_case_code(alice, tree):
    case = make_case(tree["370102001001001"])
    notify([alice], "超期", "", case=case, channels=[])
    html = _client(alice).get("/notifications/").content.decode()
    assert case.code in html


def test_inactive_and_repeated_recipients(alice, bob):
    bob.is_active = False
    bob.save()
    notes = notify([alice, alice, bob], "一次", "", channels=[])
    assert [n.user_id for n in notes] == [alice.pk]
    assert Notification.objects.count() == 1
    assert notify([], "nobody", "") == []


def test_unknown_channel_writes_nothing(alice):
    with pytest.raises(ValueError, match="unknown notification channel 'fax'"):
        notify([alice], "x", "", channels=["fax"])
    assert not Notification.objects.exists()


# --- Channels: nothing claims a send that did not happen ------------------------------------

def test_sms_and_wechat_are_skipped_until_configured(alice, settings):
    settings.NOTIFY_SMS_GATEWAY = ""
    settings.NOTIFY_WECHAT_GATEWAY = ""
    for channel in (SmsChannel(), WeChatChannel()):
        result = channel.send(alice, "s", "b")
        assert (result.status, result.detail) == ("skipped", "not configured")


def test_sms_with_a_gateway_needs_a_phone_and_a_receipt(alice, settings):
    settings.NOTIFY_SMS_GATEWAY = "tests.notifications.test_notifications.fake_sms_gateway"
    SENT_TO.clear()
    result = SmsChannel().send(alice, "s", "b")
    assert result.status == "skipped" and "phone" in result.detail
    assert SENT_TO == []
    alice.phone = "13800000000"  # the registry will supply this; an attribute is enough here
    result = SmsChannel().send(alice, "超期提醒", "案件 X")
    assert result.status == "sent" and result.detail == "message id sms-1"
    assert SENT_TO == [("13800000000", "超期提醒\n案件 X")]
    settings.NOTIFY_SMS_GATEWAY = "tests.notifications.test_notifications.silent_gateway"
    assert SmsChannel().send(alice, "s", "b").status == "failed"
    settings.NOTIFY_SMS_GATEWAY = "tests.notifications.test_notifications.broken_gateway"
    result = SmsChannel().send(alice, "s", "b")
    assert result.status == "failed" and "gateway unreachable" in result.detail
    settings.NOTIFY_SMS_GATEWAY = "tests.notifications.no_such_module.send"
    assert SmsChannel().send(alice, "s", "b").status == "failed"


def test_log_channel_says_sent_only_when_a_handler_took_the_record(alice, caplog, settings):
    settings.NOTIFY_LOG_LEVEL = "INFO"
    logger = logging.getLogger(LOG_CHANNEL_LOGGER)
    caplog.set_level(logging.WARNING, logger=LOG_CHANNEL_LOGGER)
    result = LogChannel().send(alice, "未记录", "b")
    assert result.status == "skipped"
    assert "未记录" not in caplog.text
    caplog.set_level(logging.INFO, logger=LOG_CHANNEL_LOGGER)
    result = LogChannel().send(alice, "已记录", "正文")
    assert result.status == "sent"
    assert "alice" in caplog.text and "已记录" in caplog.text and "正文" in caplog.text
    # A logger that propagates nowhere and has no handler of its own writes nowhere.
    saved_handlers, saved_propagate = logger.handlers[:], logger.propagate
    logger.handlers, logger.propagate = [], False
    try:
        result = LogChannel().send(alice, "无处可写", "b")
    finally:
        logger.handlers, logger.propagate = saved_handlers, saved_propagate
    assert result.status == "skipped" and "no log handler" in result.detail


def test_delivery_is_recorded_after_commit_and_honestly(alice, settings, caplog,
                                                        django_capture_on_commit_callbacks):
    settings.NOTIFY_SMS_GATEWAY = ""
    caplog.set_level(logging.INFO, logger=LOG_CHANNEL_LOGGER)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        note, = notify([alice], "派遣", "案件已派遣", channels=["sms", "wechat", "log"])
        assert not DeliveryAttempt.objects.exists()  # nothing goes out before the commit
    assert len(callbacks) == 1
    got = {a.channel: (a.status, a.detail) for a in note.deliveries.all()}
    assert got["sms"] == ("skipped", "not configured")
    assert got["wechat"] == ("skipped", "not configured")
    assert got["log"][0] == "sent"
    assert AuditRecord.objects.filter(action="notifications.notify").exists()


def test_a_rolled_back_change_sends_nothing(alice, django_capture_on_commit_callbacks):
    with (django_capture_on_commit_callbacks(execute=True) as callbacks,
          pytest.raises(RuntimeError), transaction.atomic()):
        notify([alice], "回滚", "", channels=["log"])
        raise RuntimeError("the escalation failed")
    assert callbacks == []
    assert not Notification.objects.exists()


def test_a_broken_adapter_is_recorded_as_failed(alice, monkeypatch):
    note, = notify([alice], "x", "", channels=[])

    def explode(self, user, subject, body):
        raise RuntimeError("adapter bug")

    monkeypatch.setattr(WeChatChannel, "send", explode)
    attempts = deliver([note.pk], ["wechat", "sms"])
    assert [(a.channel, a.status) for a in attempts] == [("wechat", "failed"),
                                                         ("sms", "skipped")]
    assert "adapter bug" in attempts[0].detail


def test_unread_badge_counts_only_when_asked(alice, rf, django_assert_num_queries):
    from django.contrib.auth.models import AnonymousUser

    from wangge.notifications.context_processors import unread_messages

    notify([alice], "一", "", channels=[])
    notify([alice], "二", "", channels=[])
    request = rf.get("/")
    request.user = alice
    with django_assert_num_queries(0):
        context = unread_messages(request)
    assert context["unread_messages"]() == 2
    request.user = AnonymousUser()
    assert unread_messages(request) == {}
