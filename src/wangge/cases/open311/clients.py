"""Open311 clients — 第三方上报客户端: a machine account and its API token.

An Open311 client is an account of role ``machine`` bound to the node whose cases it may
follow (usually the city), holding an ``accounts.ApiToken`` with the scopes ``cases:report``
(POST requests) and ``cases:read`` (its own requests in full). The token string is the
client's ``api_key``: only its digest is stored, it can expire and be revoked, and every
use is checked by the same code as the ``/api/v1`` bearer tokens.

Issue one for a machine account with
``wangge issue-token <username> --name open311 --scope cases:report --scope cases:read``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from wangge.accounts.auth import TokenAuth
from wangge.accounts.models import ApiToken, User
from wangge.accounts.permissions import has_permission
from wangge.accounts.roles import Role
from wangge.accounts.services import issue_token
from wangge.audit.services import record
from wangge.regions.models import Level, Region

from .errors import Open311Error

CLIENT_SCOPES = ["cases:read", "cases:report"]
DEMO_USERNAME = "open311_demo"
DEMO_KEY_LABEL = "Open311 demo client"
DEMO_CITY = "3701"  # 济南市, the demo city


@dataclass(frozen=True)
class Client:
    """Who is calling with an api_key: the owner account and the token it used."""

    user: User
    token: ApiToken

    def may(self, permission: str) -> bool:
        return has_permission(self.user, permission, self.token)


def client_for(request: HttpRequest, api_key: str | None, *, required: bool,
               permission: str) -> Client | None:
    """The client behind ``api_key``, or None when none was sent and none is required.

    A key that was sent but is unknown, revoked, expired, or lacks ``permission`` is
    refused (403) rather than ignored: a client that believes it is signed in must not
    silently receive the public view.
    """
    api_key = (api_key or "").strip()
    if not api_key:
        if required:
            raise Open311Error.one(403, "api_key is required: ask the platform administrator "
                                        "for an Open311 client key")
        return None
    # The same check as the /api/v1 bearer tokens (hash lookup, revocation, expiry, owner
    # active); it also makes the owner the actor of any audit record written from here on.
    user = TokenAuth().authenticate(request, api_key)
    if user is None:
        raise Open311Error.one(403, "invalid api_key: unknown, revoked or expired")
    client = Client(user=user, token=request.api_token)
    if not client.may(permission):
        scope = {"cases.report": "cases:report", "cases.view": "cases:read"}.get(permission,
                                                                                 permission)
        raise Open311Error.one(403, f"this api_key may not do that: its account role or the "
                                    f"token's scopes lack {scope}")
    return client


# -- the demo client ----------------------------------------------------------------------


def ensure_demo_open311_client(stdout: TextIO) -> str:
    """Make sure the demo city has an Open311 client and print a working key for it.

    Creates the machine account ``open311_demo`` bound to the city (3701 if present, else the
    first city-level node) on the first run; on every run revokes the demo key issued before
    and issues a new one — the key is shown once and never stored, so a re-run can only
    print a working key by making one. Writes ``Open311 api_key: <key>`` on a line of its
    own and returns the key.
    """
    city = (Region.objects.filter(code=DEMO_CITY).first()
            or Region.objects.filter(level=Level.CITY).order_by("code").first())
    if city is None:
        raise ValueError("no city-level region node to bind the Open311 demo client to; "
                         "build the demo city first")
    with transaction.atomic():
        user = _demo_user(city)
        _revoke_demo_tokens(user)
        _, key = issue_token(None, username=user.username, name=DEMO_KEY_LABEL,
                             scopes=CLIENT_SCOPES)
    stdout.write(f"Open311 api_key: {key}\n")
    return key


def _demo_user(city: Region) -> User:
    from wangge.demo.generator import demo_email

    user = User.objects.filter(username=DEMO_USERNAME).select_for_update().first()
    if user is not None:
        if user.role != Role.MACHINE or user.email != demo_email(DEMO_USERNAME):
            raise ValueError(f"user {DEMO_USERNAME!r} exists and is not the demo Open311 "
                             f"client (role {user.role}); rename it or use a fresh database")
        return user
    # Written here rather than through accounts.create_account because a machine client has
    # no password at all (create_account requires one); the demo e-mail marks it as a demo
    # account, so ``wangge demo --reset`` removes it (and its tokens) with the others.
    user = User(username=DEMO_USERNAME, role=Role.MACHINE, region=city,
                display_name=f"{city.name} Open311 客户端（演示）",
                email=demo_email(DEMO_USERNAME))
    user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    record("accounts.create", user, detail={"role": Role.MACHINE, "region": city.code,
                                            "department": None, "open311_client": True})
    return user


def _revoke_demo_tokens(user: User) -> None:
    now = timezone.now()
    for token in ApiToken.objects.filter(user=user, name=DEMO_KEY_LABEL, revoked_at__isnull=True):
        token.revoked_at = now
        token.save(update_fields=["revoked_at"])
        record("accounts.token_revoke", token, detail={"reason": "demo key renewed"})
