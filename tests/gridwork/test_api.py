"""Grid matters API: apply, decide, refusals with their status."""

from __future__ import annotations

import pytest

from wangge.gridwork.models import MatterItem

pytestmark = pytest.mark.django_db

BODY = {"name": "流动人口登记", "basis": "《居住证暂行条例》", "duties": "登记新入住人员",
        "frequency": "on_demand", "fields": ["residence_type"]}


def test_apply_retry_decide_and_conflict(client, police_handler, reviewer):
    client.force_login(police_handler)
    first = client.post("/api/v1/gridwork/matters", BODY, content_type="application/json")
    again = client.post("/api/v1/gridwork/matters", BODY, content_type="application/json")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and MatterItem.objects.count() == 1
    pk = first.json()["id"]
    bad = client.post("/api/v1/gridwork/matters", {**BODY, "fields": ["nope"]},
                      content_type="application/json")
    assert bad.status_code == 422 and bad.json()["field"] == "fields"
    assert client.post(f"/api/v1/gridwork/matters/{pk}/admit", {},
                       content_type="application/json").status_code == 403
    client.force_login(reviewer)
    resp = client.post(f"/api/v1/gridwork/matters/{pk}/admit", {"on": "2026-05-01"},
                       content_type="application/json")
    assert resp.status_code == 200 and resp.json()["effective_from"] == "2026-05-01"
    resp = client.post(f"/api/v1/gridwork/matters/{pk}/refuse", {"note": "x"},
                       content_type="application/json")
    assert resp.status_code == 409
    assert [i["id"] for i in client.get("/api/v1/gridwork/matters").json()] == [pk]
