from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.utils import timezone

from tests.factories import PASSWORD, make_user
from wangge.accounts.models import ApiToken
from wangge.accounts.roles import Role
from wangge.accounts.services import issue_token
from wangge.audit.models import AuditRecord

pytestmark = pytest.mark.django_db


def _post_login(client: Client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_passwords_are_stored_with_argon2(community_staff):
    assert community_staff.password.startswith("argon2")


def test_login_form_signs_in_and_is_audited(community_staff):
    c = Client()
    resp = _post_login(c, "west_staff", PASSWORD)
    assert resp.status_code == 302
    assert c.get("/api/v1/accounts/me").json()["region_code"] == "370102001001"
    assert AuditRecord.objects.filter(action="accounts.login", actor="west_staff").exists()


def test_wrong_password_is_refused_and_audited(community_staff):
    c = Client()
    resp = _post_login(c, "west_staff", "wrong-password-1")
    assert resp.status_code == 200  # the form again, with an error
    assert c.get("/api/v1/accounts/me").status_code == 401
    assert AuditRecord.objects.filter(action="accounts.login_failed",
                                      object_id="west_staff").count() == 1


def test_repeated_failures_lock_the_account_out(community_staff, settings):
    c = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _post_login(c, "west_staff", "wrong-password-1")
    # Now even the right password is refused: the pair (user, address) is locked.
    resp = _post_login(c, "west_staff", PASSWORD)
    assert resp.status_code == 429
    assert "Too many failed sign-in attempts" in resp.content.decode() or \
        "登录失败次数过多" in resp.content.decode()
    assert c.get("/api/v1/accounts/me").status_code == 401


def test_login_pages_carry_csrf_protection(community_staff):
    c = Client(enforce_csrf_checks=True)
    resp = c.post("/accounts/login/", {"username": "west_staff", "password": PASSWORD})
    assert resp.status_code == 403


def test_session_api_writes_need_csrf(tree, admin_user):
    make_user("sensor", Role.MACHINE, tree["3701"])
    c = Client(enforce_csrf_checks=True)
    c.force_login(admin_user)
    resp = c.post("/api/v1/accounts/tokens",
                  {"user": "sensor", "name": "t", "scopes": ["regions:read"]},
                  content_type="application/json")
    assert resp.status_code == 403


def _bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_token_is_stored_hashed_and_authenticates(tree):
    make_user("sensor", Role.MACHINE, tree["370102001"])
    token, secret = issue_token(None, username="sensor", name="noise sensor",
                                scopes=["regions:read"])
    assert secret not in {token.digest, token.prefix}
    assert ApiToken.objects.filter(digest=ApiToken.digest_of(secret)).count() == 1
    c = Client()
    resp = c.get("/api/v1/accounts/me", **_bearer(secret))
    assert resp.status_code == 200 and resp.json()["username"] == "sensor"


def test_token_scope_narrows_what_its_owner_may_do(tree):
    make_user("sensor", Role.MACHINE, tree["370102001"])
    _, secret = issue_token(None, username="sensor", name="s", scopes=["regions:locate"])
    c = Client()
    # The owner's role (machine) holds regions.view? No — and the token lacks the scope too.
    assert c.get("/api/v1/regions/370102001", **_bearer(secret)).status_code == 403


def test_token_reads_only_its_owners_subtree(tree):
    make_user("hotline", Role.COMMAND, tree["370102001"])
    _, secret = issue_token(None, username="hotline", name="12345 import",
                            scopes=["regions:read"])
    c = Client()
    assert c.get("/api/v1/regions/370102001001", **_bearer(secret)).status_code == 200
    assert c.get("/api/v1/regions/370102002", **_bearer(secret)).status_code == 404


def test_expired_revoked_and_bogus_tokens_are_refused(tree, admin_user):
    make_user("hotline", Role.COMMAND, tree["370102001"])
    token, secret = issue_token(None, username="hotline", name="t", scopes=["regions:read"])
    c = Client()
    assert c.get("/api/v1/regions/370102001", **_bearer(secret)).status_code == 200
    token.expires_at = timezone.now() - timedelta(seconds=1)
    token.save(update_fields=["expires_at"])
    assert c.get("/api/v1/regions/370102001", **_bearer(secret)).status_code == 401
    token2, secret2 = issue_token(None, username="hotline", name="t2", scopes=["regions:read"])
    admin = Client()
    admin.force_login(admin_user)
    assert admin.delete(f"/api/v1/accounts/tokens/{token2.pk}").status_code == 204
    assert c.get("/api/v1/regions/370102001", **_bearer(secret2)).status_code == 401
    assert c.get("/api/v1/regions/370102001", **_bearer("wg_nothing_here")).status_code == 401
    assert AuditRecord.objects.filter(action="accounts.token_revoke").count() == 1


def test_admin_issues_token_through_api_and_secret_is_shown_once(tree, admin_user):
    make_user("sensor", Role.MACHINE, tree["3701"])
    c = Client()
    c.force_login(admin_user)
    resp = c.post("/api/v1/accounts/tokens",
                  {"user": "sensor", "name": "camera 7", "scopes": ["regions:locate"]},
                  content_type="application/json")
    assert resp.status_code == 201
    secret = resp.json()["token"]
    assert secret.startswith("wg_")
    assert Client().get("/api/v1/accounts/me", **_bearer(secret)).json()["role"] == "machine"
    bad = c.post("/api/v1/accounts/tokens",
                 {"user": "sensor", "name": "x", "scopes": ["cases:delete-everything"]},
                 content_type="application/json")
    assert bad.status_code == 422 and "cases:delete-everything" in bad.content.decode()


def test_non_admin_cannot_issue_tokens(tree, community_staff):
    c = Client()
    c.force_login(community_staff)
    resp = c.post("/api/v1/accounts/tokens",
                  {"user": "west_staff", "name": "x", "scopes": ["regions:read"]},
                  content_type="application/json")
    assert resp.status_code == 403
    assert not ApiToken.objects.exists()


def test_issue_token_command_prints_secret_once(tree, capsys):
    make_user("sensor", Role.MACHINE, tree["3701"])
    call_command("issue_token", "sensor", "--name", "gate", "--scope", "regions:locate")
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("wg_")
    assert ApiToken.objects.get().digest == ApiToken.digest_of(out[-1])


def test_openapi_document_is_served_locally(admin_user):
    c = Client()
    c.force_login(admin_user)
    schema = c.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/regions/{code}" in schema.json()["paths"]
    docs = c.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in docs
    assert "cdn." not in docs


def test_a_token_revoked_by_another_process_is_refused_within_the_trust_period(tree,
                                                                               monkeypatch):
    """A server process trusts a token it has read for TOKEN_TRUST_SECONDS; a revocation or
    a deactivated account made elsewhere (here: a bulk update, which sends no signal to
    this process) is refused as soon as that period is over."""
    from wangge.accounts.auth import TOKEN_TRUST_SECONDS
    from wangge.core import memo

    owner = make_user("hotline", Role.COMMAND, tree["370102001"])
    token, secret = issue_token(None, username="hotline", name="t", scopes=["regions:read"])
    c = Client()
    assert c.get("/api/v1/regions/370102001", **_bearer(secret)).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    now = memo.time.monotonic()
    monkeypatch.setattr(memo.time, "monotonic", lambda: now + TOKEN_TRUST_SECONDS + 0.1)
    assert c.get("/api/v1/regions/370102001", **_bearer(secret)).status_code == 401

    _, secret2 = issue_token(None, username="hotline", name="t2", scopes=["regions:read"])
    assert c.get("/api/v1/regions/370102001", **_bearer(secret2)).status_code == 200
    type(owner).objects.filter(pk=owner.pk).update(is_active=False)
    monkeypatch.setattr(memo.time, "monotonic", lambda: now + 2 * TOKEN_TRUST_SECONDS + 0.2)
    assert c.get("/api/v1/regions/370102001", **_bearer(secret2)).status_code == 401


def test_what_one_request_caches_on_its_user_does_not_reach_the_next(tree):
    """Requests with the same token share the memory of the token, not the user object."""
    from wangge.accounts.auth import TokenAuth
    from wangge.audit.context import reset_actor, set_actor

    make_user("hotline", Role.COMMAND, tree["370102001"])
    _, secret = issue_token(None, username="hotline", name="t", scopes=["regions:read"])
    auth = TokenAuth()
    # Called outside a request, authenticate's "who is acting" must not outlive the test.
    before = set_actor(None)
    try:
        first = auth.authenticate(RequestFactory().get("/"), secret)
        first.marked_by_first_request = True
        second = auth.authenticate(RequestFactory().get("/"), secret)
    finally:
        reset_actor(before)
    assert second is not first and second.pk == first.pk
    assert not hasattr(second, "marked_by_first_request")
