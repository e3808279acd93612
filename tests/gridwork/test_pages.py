"""Grid matters pages: apply, review, item history and the public list (no login)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from wangge.gridwork import service
from wangge.gridwork.models import MatterItem, MatterStatus

pytestmark = pytest.mark.django_db

APPLY = {"name": "独居老人探访", "basis": "《山东省养老服务条例》第二十条",
         "duties": "每月上门探访一次", "frequency": "monthly",
         "fields": ["living_alone", "health_note"]}


def test_workflow_through_pages_reaches_public_list(client, handler, reviewer):
    client.force_login(handler)
    resp = client.post(reverse("gridwork:index"), APPLY)
    item = MatterItem.objects.get()
    assert resp.status_code == 302 and item.status == MatterStatus.APPLIED
    client.force_login(reviewer)
    assert "独居老人探访" in client.get(reverse("gridwork:queue")).content.decode()
    resp = client.post(reverse("gridwork:act", args=[item.pk, "admit"]), {"on": "2026-03-01"})
    assert resp.status_code == 302
    client.logout()
    page = client.get(reverse("gridwork_public:matters")).content.decode()
    assert "独居老人探访" in page and "2026-03-01" in page and "mz_handler" not in page
    # exit: the department applies, the district approves, the public list shows the date
    client.force_login(handler)
    client.post(reverse("gridwork:act", args=[item.pk, "apply_exit"]), {"note": "已移交社区"})
    client.force_login(reviewer)
    client.post(reverse("gridwork:act", args=[item.pk, "approve_exit"]), {"on": "2026-09-30"})
    client.logout()
    page = client.get(reverse("gridwork_public:matters")).content.decode()
    assert 'data-testid="exited"' in page and "2026-09-30" in page
    client.force_login(handler)
    history = client.get(reverse("gridwork:item", args=[item.pk])).content.decode()
    for action in ("apply", "admit", "apply_exit", "approve_exit"):
        assert f'data-action="{action}"' in history
    assert "已移交社区" in history


def test_public_list_hides_pending_and_refused(client, handler, reviewer):
    item = service.apply(handler, service.Application(**{**APPLY, "fields": ()}))
    page = client.get(reverse("gridwork_public:matters")).content.decode()
    assert "独居老人探访" not in page
    service.decide(reviewer, item.pk, "refuse", "依据不足")
    assert "独居老人探访" not in client.get(reverse("gridwork_public:matters")).content.decode()


def test_bad_field_shows_on_form(client, handler):
    client.force_login(handler)
    resp = client.post(reverse("gridwork:index"), {**APPLY, "basis": " "})
    assert resp.status_code == 422 and not MatterItem.objects.exists()


def test_refuse_without_note_and_wrong_state_answer_with_words(client, handler, reviewer):
    item = service.apply(handler, service.Application(**{**APPLY, "fields": ()}))
    client.force_login(reviewer)
    resp = client.post(reverse("gridwork:act", args=[item.pk, "refuse"]), {"note": ""})
    assert resp.status_code == 422
    resp = client.post(reverse("gridwork:act", args=[item.pk, "approve_exit"]))
    assert resp.status_code == 409 and 'data-testid="refused"' in resp.content.decode()


def test_wrong_role_and_out_of_scope(client, handler, police_handler, reviewer, street_command):
    item = service.apply(handler, service.Application(**{**APPLY, "fields": ()}))
    client.force_login(handler)
    assert client.post(reverse("gridwork:act", args=[item.pk, "admit"])).status_code == 403
    assert client.get(reverse("gridwork:queue")).status_code == 403
    client.force_login(police_handler)
    assert client.get(reverse("gridwork:item", args=[item.pk])).status_code == 404
    client.force_login(street_command)
    assert client.post(reverse("gridwork:act", args=[item.pk, "admit"])).status_code == 404
    client.force_login(reviewer)
    assert client.post(reverse("gridwork:index"), APPLY).status_code == 403
    item.refresh_from_db()
    assert item.status == MatterStatus.APPLIED


def test_login_required_for_staff_pages(client):
    resp = client.get(reverse("gridwork:index"))
    assert resp.status_code == 302 and "login" in resp["Location"]
