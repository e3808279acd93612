from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import translation

from wangge.accounts.models import Department, User
from wangge.accounts.roles import Role
from wangge.accounts.services import create_account
from wangge.audit.models import AuditRecord

pytestmark = pytest.mark.django_db
GOOD = "Wangge-tests-2026!"


def test_create_account_binds_node_and_department_and_audits(tree, admin_user):
    Department.objects.create(code="370102-CG", name="城管局", region=tree["370102"])
    user = create_account(admin_user, username="h1", role=Role.HANDLER, password=GOOD,
                          region_code="370102", department_code="370102-CG")
    assert user.region.code == "370102" and user.department.name == "城管局"
    assert user.password.startswith("argon2")
    assert AuditRecord.objects.filter(action="accounts.create", object_id=str(user.pk)).exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"role": Role.STAFF, "region_code": None}, "must be bound to a region node"),
        ({"role": Role.STAFF, "region_code": "999999"}, "no region node '999999'"),
        ({"role": Role.HANDLER, "region_code": "370102"}, "needs a department"),
        ({"role": Role.STAFF, "region_code": "370102", "department_code": "NOPE"},
         "no department 'NOPE'"),
        ({"role": Role.STAFF, "region_code": "370102", "password": "83920174650193"},
         "entirely numeric"),
    ],
)
def test_bad_accounts_are_refused_with_the_reason(tree, admin_user, kwargs, message):
    args = {"username": "x1", "password": GOOD, **kwargs}
    with translation.override("en"), pytest.raises(ValidationError, match=message):
        create_account(admin_user, **args)
    assert not User.objects.filter(username="x1").exists()


def test_staff_cannot_create_accounts(tree, community_staff):
    with pytest.raises(PermissionDenied):
        create_account(community_staff, username="x2", role=Role.STAFF, password=GOOD,
                       region_code="370102001001")


def test_create_account_command(tree, capsys):
    call_command("create_account", "gw1", "--role", "grid_worker", "--region",
                 "370102001001001", "--password", GOOD)
    assert "created gw1" in capsys.readouterr().out
    with pytest.raises(CommandError, match="taken"):
        call_command("create_account", "gw1", "--role", "grid_worker", "--region",
                     "370102001001001", "--password", GOOD)


def test_departments_api_is_scoped(tree, community_staff):
    Department.objects.create(code="370102-CG", name="城管局", region=tree["370102"])
    Department.objects.create(code="370102001-SQ", name="社区服务", region=tree["370102001001"])
    c = Client()
    c.force_login(community_staff)
    codes = [d["code"] for d in c.get("/api/v1/accounts/departments").json()]
    assert codes == ["370102001-SQ"]
