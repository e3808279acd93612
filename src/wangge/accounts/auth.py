"""API authentication: hashed bearer tokens for machines, the session (with CSRF) for pages."""

from __future__ import annotations

from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from wangge.audit.context import Actor, client_ip_of, set_actor

from .models import ApiToken


class TokenAuth(HttpBearer):
    """``Authorization: Bearer wg_…``; the token's scopes narrow what its owner may do."""

    def authenticate(self, request, token: str):
        if not token.startswith("wg_"):
            return None
        try:
            api_token = ApiToken.objects.select_related("user__region").get(
                digest=ApiToken.digest_of(token)
            )
        except ApiToken.DoesNotExist:
            return None
        user = api_token.user
        if not api_token.is_usable or not user.is_active:
            return None
        now = timezone.now()
        # Touch at most once a minute: a sensor posting every second shouldn't write every time.
        if api_token.last_used_at is None or (now - api_token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
        request.user = user
        request.api_token = api_token
        set_actor(Actor.for_user(user, client_ip_of(request)))
        return user


class StaffSessionAuth(SessionAuth):
    """Session cookie auth for the pages' own API calls; CSRF is enforced by ninja."""

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        if user is not None:
            request.api_token = None
        return user


def api_auth() -> list:
    return [TokenAuth(), StaffSessionAuth()]
