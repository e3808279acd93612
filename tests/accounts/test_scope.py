from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import make_user
from wangge.accounts.roles import Role
from wangge.accounts.scope import visible_to
from wangge.regions.models import Region


def _login(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.mark.django_db
def test_staff_sees_only_own_subtree(tree, community_staff):
    codes = set(visible_to(Region, community_staff).values_list("code", flat=True))
    assert codes == {"370102001001", "370102001001001", "370102001001002"}


@pytest.mark.django_db
def test_unbound_staff_sees_nothing(tree):
    user = make_user("floating", Role.STAFF, None)
    assert not visible_to(Region, user).exists()


@pytest.mark.django_db
def test_admin_without_node_sees_everything(tree, admin_user):
    assert visible_to(Region, admin_user).count() == Region.objects.count()


@pytest.mark.django_db
def test_guessed_code_from_another_community_is_404_in_page_and_api(tree, community_staff):
    c = _login(community_staff)
    assert c.get("/regions/370102001001001/").status_code == 200
    assert c.get("/regions/370102001002001/").status_code == 404
    assert c.get("/api/v1/regions/370102001001001").status_code == 200
    assert c.get("/api/v1/regions/370102001002001").status_code == 404
    # A node that does not exist answers the same way: nothing to learn from guessing.
    assert c.get("/api/v1/regions/999999999999999").status_code == 404
    # Ancestors are outside the subtree too.
    assert c.get("/api/v1/regions/370102001").status_code == 404


@pytest.mark.django_db
def test_resident_cannot_browse_regions(tree):
    resident = make_user("resident1", Role.RESIDENT, tree["370102001001001"])
    c = _login(resident)
    assert c.get("/regions/370102001001001/").status_code == 403
    assert c.get("/api/v1/regions/370102001001001").status_code == 403


@pytest.mark.django_db
def test_anonymous_is_sent_to_login_and_api_says_401(tree):
    c = Client()
    resp = c.get("/regions/")
    assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]
    assert c.get("/api/v1/regions/37").status_code == 401
