from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

from tests.factories import make_user
from wangge.accounts.roles import Role
from wangge.audit.context import Actor, acting_as
from wangge.audit.services import record, verify_chain

pytestmark = pytest.mark.django_db


def _seed(tree):
    west = Actor.for_user(make_user("w", Role.STAFF, tree["370102001001"]), "10.0.0.1")
    east = Actor.for_user(make_user("e", Role.STAFF, tree["370102001002"]), "10.0.0.2")
    with acting_as(west):
        record("regions.create", object_type="regions.region", object_id="A1")
    with acting_as(east):
        record("regions.create", object_type="regions.region", object_id="B1",
               purpose="survey")


def test_auditor_searches_the_trail_in_a_page(tree, auditor):
    _seed(tree)
    c = Client()
    c.force_login(auditor)
    page = c.get("/audit/", {"actor": "e"}).content.decode()
    assert "B1" in page and "survey" in page and "10.0.0.2" in page
    assert "A1" not in page
    assert "A1" in c.get("/audit/", {"node": "370102001001"}).content.decode()


def test_staff_cannot_read_the_trail(tree, community_staff):
    _seed(tree)
    c = Client()
    c.force_login(community_staff)
    assert c.get("/audit/").status_code == 403
    assert c.get("/api/v1/audit/records").status_code == 403


def test_node_bound_auditor_sees_only_own_subtree(tree):
    _seed(tree)
    auditor = make_user("district_auditor", Role.AUDITOR, tree["370102001001"])
    c = Client()
    c.force_login(auditor)
    resp = c.get("/api/v1/audit/records", {"action": "regions."})
    ids = [r["object_id"] for r in resp.json()["items"]]
    assert ids == ["A1"]


def test_audit_api_lists_and_verifies(tree, auditor):
    _seed(tree)
    c = Client()
    c.force_login(auditor)
    items = c.get("/api/v1/audit/records", {"action": "regions."}).json()["items"]
    assert [i["object_id"] for i in items] == ["B1", "A1"]  # newest first
    assert c.get("/api/v1/audit/verify").json() == {
        "ok": True, "checked": verify_chain().checked, "first_broken_seq": None, "reason": ""}


@pytest.mark.django_db(transaction=True)
def test_concurrent_appenders_never_fork_the_chain(tree):
    if connection.vendor == "sqlite":
        pytest.skip("the in-memory SQLite test database is not shared safely across threads")
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(25):
                record("test.concurrent", object_type="t", object_id=f"{n}-{i}")
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    result = verify_chain()
    assert result.ok, result.reason
    assert result.checked >= 100
